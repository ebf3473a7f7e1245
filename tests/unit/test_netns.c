// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelpd never runs on in a container's network namespace: when setns back
 * to its own fails, it aborts. setns goes through the kops table, faked
 * here; each case runs in a child process, whose end the parent checks.
 * The list of every namespace has no fixed size and is never cut short.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

/* A fake /proc and /run/netns under a temporary directory: nproc processes in
 * nproc + 1 - share namespaces (the last `share` link to the first one's), nnamed named ones. */
static char *fake_roots(int nproc, int share, int nnamed)
{
	static char root[64];
	char path[PATH_MAX];

	snprintf(root, sizeof(root), "/tmp/khelp-unit-netns.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/proc", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/named", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/proc/self", root);	/* not a pid: skipped */
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 1; i <= nproc; i++) {
		char first[PATH_MAX];
		FILE *f;

		snprintf(path, sizeof(path), "%s/proc/%d", root, i);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/proc/%d/ns", root, i);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/proc/%d/ns/net", root, i);
		snprintf(first, sizeof(first), "%s/proc/1/ns/net", root);
		if (i > nproc - share) {
			assert_int_equal(link(first, path), 0);
			continue;
		}
		f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	for (int i = 0; i < nnamed; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/named/ns%d", root, i);
		f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	return root;
}

static void rm_roots(const char *root)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static int list_in(const char *root, int **fds)
{
	char proc[PATH_MAX], named[PATH_MAX];

	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(named, sizeof(named), "%s/named", root);
	return netns__all_in(proc, named, fds);
}

static void test_more_than_1024_namespaces_are_all_listed_once(void **state)
{
	struct rlimit lim;
	char *root;
	int *fds = NULL, n;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_max < 2000)
		skip();
	lim.rlim_cur = lim.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	/* 1500 processes, 20 of them in the first one's namespace; 100 named namespaces */
	root = fake_roots(1500, 20, 100);
	n = list_in(root, &fds);
	assert_int_equal(n, 1480 + 100);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	rm_roots(root);
}

static int list_with_few_fds(void)
{
	struct rlimit lim = { 64, 64 };
	char *root = fake_roots(200, 0, 0);
	int *fds = NULL, n;

	if (setrlimit(RLIMIT_NOFILE, &lim))
		return 2;
	n = list_in(root, &fds);
	rm_roots(root);
	return n == -EMFILE ? 0 : 1;
}

static void test_namespaces_that_cannot_be_opened_fail_the_list_instead_of_leaving_it_short(void **state)
{
	int st = in_child(list_with_few_fds, 0);

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
		cmocka_unit_test(test_more_than_1024_namespaces_are_all_listed_once),
		cmocka_unit_test(test_namespaces_that_cannot_be_opened_fail_the_list_instead_of_leaving_it_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
