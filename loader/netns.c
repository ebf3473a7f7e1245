// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Visiting network namespaces. A TCP iterator and a socket see the namespace
 * they were created in, so khelpd enters a container's namespace for a
 * moment. If it cannot return to its own, every later socket, iterator and
 * netns cookie would be wrong: it aborts instead of running on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kops.h"
#include "log.h"
#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static int self_fd = -1;

int netns__self(void)
{
	if (self_fd < 0) {
		self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self_fd < 0)
			return -errno;
	}
	return self_fd;
}

int netns__enter(int ns)
{
	int self = netns__self();

	if (self < 0)
		return self;
	return kops.setns(ns, CLONE_NEWNET) ? -errno : 0;
}

void netns__leave(void)
{
	if (kops.setns(self_fd, CLONE_NEWNET)) {
		pr_warn("cannot return to khelpd's own network namespace: %s; aborting\n", strerror(errno));
		abort();
	}
}

int netns__cookie(const char *path, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int ns, s, ret;

	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	ret = netns__enter(ns);
	close(ns);
	if (ret)
		return ret;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ret = s < 0 ? -errno : 0;
	netns__leave();
	if (!ret && getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		ret = -errno;
	if (s >= 0)
		close(s);
	return ret;
}

static void netns__close_all(int *fds, int n, ino_t *seen)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	free(seen);
}

/* Room for namespace n in *fds and *seen; 0 or -ENOMEM (what was there stays). */
static int netns__grow(int **fds, ino_t **seen, int n, int *cap)
{
	int ncap = *cap ? *cap * 2 : 64;
	ino_t *ns;
	int *nf;

	if (n < *cap)
		return 0;
	ns = realloc(*seen, ncap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	*seen = ns;
	nf = realloc(*fds, ncap * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	*fds = nf;
	*cap = ncap;
	return 0;
}

int netns__all(int **fds)
{
	return netns__all_in("/proc", "/run/netns", fds);
}

int netns__all_in(const char *proc, const char *named, int **fds)
{
	const char *dirs[] = { proc, named };
	ino_t *seen = NULL;
	int n = 0, cap = 0, ret = 0;

	*fds = NULL;
	for (size_t k = 0; k < 2 && !ret; k++) {
		DIR *dir = opendir(dirs[k]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			char path[PATH_MAX];
			struct stat st;
			int dup = 0, fd;

			if (k == 0 && (e->d_name[0] < '0' || e->d_name[0] > '9'))
				continue;
			if (k == 1 && e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), k == 0 ? "%s/%s/ns/net" : "%s/%s", dirs[k], e->d_name);
			if (stat(path, &st))
				continue;	/* the process exited */
			for (int i = 0; i < n && !dup; i++)
				dup = seen[i] == st.st_ino;
			if (dup)
				continue;
			ret = netns__grow(fds, &seen, n, &cap);
			if (ret)
				break;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 && (errno == ENOENT || errno == ESRCH))
				continue;	/* the process exited */
			if (fd < 0) {
				/* e.g. EMFILE: a list with namespaces left out would count their sockets as none */
				ret = -errno;
				pr_warn("cannot open %s: %s (network namespaces: %d so far)\n", path, strerror(-ret), n);
				break;
			}
			seen[n] = st.st_ino;
			(*fds)[n++] = fd;
		}
		closedir(dir);
	}
	if (ret) {
		netns__close_all(*fds, n, seen);
		*fds = NULL;
		return ret;
	}
	free(seen);
	return n;
}
