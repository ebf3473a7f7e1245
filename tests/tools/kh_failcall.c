// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * LD_PRELOAD shim for tests: the libc call named by KH_FAIL_CALL fails
 * instead of running (timerfd_create, timerfd_settime and sigprocmask with
 * ENOMEM, link with EPERM), so a test can show that khelpd checks what it
 * returns.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int failing(const char *name)
{
	const char *f = getenv("KH_FAIL_CALL");

	return f && !strcmp(f, name);
}

int timerfd_create(int clockid, int flags)
{
	static int (*real)(int, int);

	if (failing("timerfd_create")) {
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "timerfd_create");
	return real(clockid, flags);
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	static int (*real)(int, int, const struct itimerspec *, struct itimerspec *);

	if (failing("timerfd_settime")) {
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "timerfd_settime");
	return real(fd, flags, new, old);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	static int (*real)(int, const sigset_t *, sigset_t *);

	if (failing("sigprocmask")) {
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "sigprocmask");
	return real(how, set, old);
}

int link(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);

	if (failing("link")) {
		errno = EPERM;
		return -1;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "link");
	return real(from, to);
}
