// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The bpffs tree: modules/<m>/..., containers/<c>/<m>, offload/<ifname>/. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/magic.h>
#include "kops.h"
#include "pins.h"

int pins__mkdir(const char *path)
{
	char tmp[PATH_MAX];

	/* the common case, one syscall: the parent is there */
	if (!mkdir(path, 0700) || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int pins__path(char *out, size_t size, const char *root, const char *a, const char *b, const char *c)
{
	int n = snprintf(out, size, "%s/%s%s%s%s%s", root, a, b ? "/" : "", b ? b : "", c ? "/" : "",
			 c ? c : "");

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* The bpffs root must be on a BPF file system; mount one at /sys/fs/bpf if nothing is there. */
int pins__ensure_bpffs(const char *root, char *err, size_t errlen)
{
	struct statfs st;
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", root);
	/* walk up to the nearest existing directory */
	while (statfs(parent, &st)) {
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			break;
		*slash = '\0';
	}
	if (statfs(parent, &st) || st.f_type != BPF_FS_MAGIC) {
		if (!strncmp(root, "/sys/fs/bpf", 11) && !statfs("/sys/fs/bpf", &st) &&
		    st.f_type != BPF_FS_MAGIC && !mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			/* mounted the standard bpffs */
		} else if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC ||
			   strncmp(root, "/sys/fs/bpf", 11)) {
			snprintf(err, errlen, "%s is not on a BPF file system (mount -t bpf bpf /sys/fs/bpf)", root);
			return -ENOTDIR;
		}
	}
	if (pins__mkdir(root)) {
		snprintf(err, errlen, "cannot create %s: %s", root, strerror(errno));
		return -errno;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int pins__remove_tree(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -(errno ? errno : EIO) : 0;
}

/*
 * Pin fd at path, replacing whatever was pinned there: pinned under a
 * temporary name first and renamed over the old pin, so the path always
 * names either the old object or the new one, never nothing.
 */
int pins__replace_fd(int fd, const char *path)
{
	char dir[PATH_MAX], tmp[PATH_MAX], *slash;
	int ret;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		ret = pins__mkdir(dir);
		if (ret)
			return ret;
	}
	if (snprintf(tmp, sizeof(tmp), "%s-new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (unlink(tmp) && errno != ENOENT)
		return -errno;
	if (kops.obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		ret = -errno;
		unlink(tmp);
		return ret;
	}
	return 0;
}

int pins__lock(const char *root, char *err, size_t errlen)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open %s: %s", root, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "another khelpd owns %s: stop it first, or give this one another [paths] bpffs",
				 root);
		else
			snprintf(err, errlen, "cannot lock %s: %s", root, strerror(e));
		return -(e == EWOULDBLOCK ? EBUSY : e);
	}
	return fd;
}
