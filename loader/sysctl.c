// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The TCP congestion-control sysctls. Lists are read whole, whatever their
 * length: a list cut at a buffer size and written back would remove the
 * congestion controls that did not fit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sysctl.h"

#define SYSCTL_AVAILABLE "/proc/sys/net/ipv4/tcp_available_congestion_control"
#define SYSCTL_ALLOWED	"/proc/sys/net/ipv4/tcp_allowed_congestion_control"
#define SYSCTL_DEFAULT	"/proc/sys/net/ipv4/tcp_congestion_control"

/* The whole file, without its trailing newline; NULL with errno. */
static char *read_all(const char *path)
{
	size_t cap = 1024, len = 0;
	char *buf = malloc(cap), *nb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	ssize_t n;

	if (fd < 0 || !buf)
		goto fail;
	for (;;) {
		if (len + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
fail:
	e = errno ? errno : ENOMEM;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = e;
	return NULL;
}

static int write_all(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

int sysctl__cc_default(char *out, size_t size)
{
	char *s = read_all(SYSCTL_DEFAULT);

	if (!s)
		return -errno;
	if (snprintf(out, size, "%s", s) >= (int)size) {
		free(s);
		return -ENAMETOOLONG;
	}
	free(s);
	return 0;
}

char *sysctl__cc_available(void)
{
	return read_all(SYSCTL_AVAILABLE);
}

static int list__has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");

		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

int sysctl__cc_is_available(const char *name)
{
	char *avail = sysctl__cc_available();
	int found;

	if (!avail)
		return 0;
	found = list__has(avail, name);
	free(avail);
	return found;
}

char *sysctl__list_with(const char *list, const char *name, int allow)
{
	size_t n = strlen(name), len = 0;
	char *next = malloc(strlen(list) + n + 2);

	if (!next)
		return NULL;
	next[0] = '\0';
	for (const char *p = list + strspn(list, " "); *p;) {
		size_t l = strcspn(p, " ");

		if (!(l == n && !strncmp(p, name, n)))
			len += sprintf(next + len, "%s%.*s", len ? " " : "", (int)l, p);
		p += l;
		p += strspn(p, " ");
	}
	if (allow)
		sprintf(next + len, "%s%s", len ? " " : "", name);
	return next;
}

int sysctl__cc_allow(const char *name, int allow)
{
	char *cur = read_all(SYSCTL_ALLOWED), *next;
	int ret;

	if (!cur)
		return -errno;
	if (list__has(cur, name) == !!allow) {
		free(cur);
		return 0;
	}
	next = sysctl__list_with(cur, name, allow);
	free(cur);
	if (!next)
		return -ENOMEM;
	ret = write_all(SYSCTL_ALLOWED, next);
	free(next);
	return ret;
}
