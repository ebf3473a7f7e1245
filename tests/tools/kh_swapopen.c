// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * LD_PRELOAD shim for tests: the first open of KH_SWAP_PATH opens it, every
 * later one opens KH_SWAP_WITH instead, as if the file had been replaced
 * between two opens. A loader that reads a module's metadata from one open
 * and loads the object from another loads other bytes than it checked.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static int opens;

static const char *swap(const char *path)
{
	const char *watch = getenv("KH_SWAP_PATH"), *with = getenv("KH_SWAP_WITH");

	if (!watch || !with || !path || strcmp(path, watch))
		return path;
	return opens++ ? with : path;
}

#define KH_MODE(flags, mode)							\
	do {									\
		if ((flags) & (O_CREAT | O_TMPFILE)) {				\
			va_list ap;						\
			va_start(ap, flags);					\
			mode = va_arg(ap, mode_t);				\
			va_end(ap);						\
		}								\
	} while (0)

int open(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	mode_t mode = 0;

	KH_MODE(flags, mode);
	if (!real)
		real = dlsym(RTLD_NEXT, "open");
	return real(swap(path), flags, mode);
}

int open64(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	mode_t mode = 0;

	KH_MODE(flags, mode);
	if (!real)
		real = dlsym(RTLD_NEXT, "open64");
	return real(swap(path), flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;

	KH_MODE(flags, mode);
	if (!real)
		real = dlsym(RTLD_NEXT, "openat");
	return real(dirfd, swap(path), flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;

	KH_MODE(flags, mode);
	if (!real)
		real = dlsym(RTLD_NEXT, "openat64");
	return real(dirfd, swap(path), flags, mode);
}
