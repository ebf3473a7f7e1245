// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelpd never runs on in a container's network namespace: when setns back
 * to its own fails, it aborts. setns goes through the kops table, faked
 * here; each case runs in a child process, whose end the parent checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "kops.h"
#include "netns.h"

static int setns_calls, setns_fail_at;	/* fail the Nth call (1-based), 0: never */

static int fake_setns(int fd, int nstype)
{
	(void)fd; (void)nstype;
	if (++setns_calls == setns_fail_at) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Run fn in a child with setns failing at call fail_at; the child's wait status. */
static int in_child(int (*fn)(void), int fail_at)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		kops.setns = fake_setns;
		setns_calls = 0;
		setns_fail_at = fail_at;
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int visit(void)
{
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (ns < 0 || netns__enter(ns))
		return 2;
	netns__leave();
	close(ns);
	return 0;
}

static int cookie(void)
{
	__u64 c = 0;
	int ret = netns__cookie("/proc/self/ns/net", &c);

	return ret == -EPERM ? 3 : ret ? 4 : 0;
}

static void test_a_visit_that_cannot_return_aborts(void **state)
{
	int st = in_child(visit, 2);	/* in: fine; back: fails */

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void test_a_cookie_lookup_that_cannot_return_aborts(void **state)
{
	int st = in_child(cookie, 2);

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void test_a_namespace_that_cannot_be_entered_is_an_error_not_an_abort(void **state)
{
	int st = in_child(cookie, 1);	/* in: fails, so there is nothing to return from */

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
}

static void test_a_visit_that_returns_goes_on(void **state)
{
	int st = in_child(visit, 0);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_visit_that_cannot_return_aborts),
		cmocka_unit_test(test_a_cookie_lookup_that_cannot_return_aborts),
		cmocka_unit_test(test_a_namespace_that_cannot_be_entered_is_an_error_not_an_abort),
		cmocka_unit_test(test_a_visit_that_returns_goes_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
