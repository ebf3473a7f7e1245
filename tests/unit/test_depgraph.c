// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Dependency resolution (loader/depgraph.c): which modules a request needs and
 * in which order khelpd loads them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "depgraph.h"

/* dependency lists, NULL-terminated; node() counts them */
static const char *const no_deps[] = { NULL };

static struct dep_node node(const char *name, const char *const *deps)
{
	size_t n = 0;

	while (deps[n])
		n++;
	return (struct dep_node){ .name = name, .deps = deps, .ndeps = n };
}

struct result {
	int ret;
	const char *out[DEPGRAPH_MAX];
	char err[256];
};

static void resolve(const struct dep_node *nodes, size_t nnodes, const char *const *req, size_t nreq,
		    struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->ret = depgraph__resolve(nodes, nnodes, req, nreq, r->out, ARRAY_SIZE(r->out), r->err,
				   sizeof(r->err));
}

static int position(const struct result *r, const char *name)
{
	int pos = -1;

	for (int i = 0; i < r->ret; i++) {
		if (!strcmp(r->out[i], name)) {
			if (pos >= 0)
				fail_msg("%s appears twice in the order (at %d and %d)", name, pos, i);
			pos = i;
		}
	}
	return pos;
}

/* every dependency of every resolved node comes before it */
static void assert_deps_first(const struct dep_node *nodes, size_t nnodes, const struct result *r)
{
	for (int i = 0; i < r->ret; i++) {
		for (size_t k = 0; k < nnodes; k++) {
			if (strcmp(nodes[k].name, r->out[i]))
				continue;
			for (size_t d = 0; d < nodes[k].ndeps; d++) {
				int pd = position(r, nodes[k].deps[d]);

				if (pd < 0 || pd >= i)
					fail_msg("%s (at %d) needs %s, which is at %d", r->out[i], i,
						 nodes[k].deps[d], pd);
			}
		}
	}
}

static void assert_order(const struct result *r, const char *const *want, size_t nwant)
{
	assert_int_equal(r->ret, (int)nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(r->out[i], want[i]);
}

static void test_orders_dependency_before_dependent(void **state)
{
	static const char *const vegas_deps[] = { "h_ertt", NULL };
	struct dep_node nodes[] = { node("kh_vegas", vegas_deps), node("h_ertt", no_deps) };
	const char *req[] = { "kh_vegas" };
	const char *want[] = { "h_ertt", "kh_vegas" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_order(&r, want, ARRAY_SIZE(want));
}

static void test_orders_independent_modules_by_name(void **state)
{
	struct dep_node nodes[] = { node("h_c", no_deps), node("h_a", no_deps), node("h_b", no_deps) };
	const char *req[] = { "h_c", "h_a", "h_b" };
	const char *want[] = { "h_a", "h_b", "h_c" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_order(&r, want, ARRAY_SIZE(want));
}

static void test_only_requested_modules_and_their_deps_are_resolved(void **state)
{
	static const char *const b_deps[] = { "c", NULL };
	struct dep_node nodes[] = { node("a", no_deps), node("b", b_deps), node("c", no_deps),
				    node("d", no_deps) };
	const char *req[] = { "b" };
	const char *want[] = { "c", "b" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_order(&r, want, ARRAY_SIZE(want));
}

/* next permutation of idx[0..n) in lexicographic order; 0 after the last */
static int next_perm(size_t *idx, size_t n)
{
	size_t i = n - 1, j = n - 1, t;

	while (i > 0 && idx[i - 1] >= idx[i])
		i--;
	if (i == 0)
		return 0;
	while (idx[j] <= idx[i - 1])
		j--;
	t = idx[i - 1], idx[i - 1] = idx[j], idx[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = idx[i], idx[i] = idx[j], idx[j] = t;
	return 1;
}

static void test_order_does_not_depend_on_input_order(void **state)
{
	static const char *const x_deps[] = { "m", "b", NULL };
	static const char *const b_deps[] = { "z", NULL };
	static const char *const y_deps[] = { "a", NULL };
	static const char *const x_deps_rev[] = { "b", "m", NULL };
	const struct dep_node base[] = { node("x", x_deps), node("b", b_deps), node("y", y_deps),
					 node("a", no_deps), node("m", no_deps), node("z", no_deps) };
	const char *req_base[] = { "y", "x", "z", "a" };
	size_t nidx[ARRAY_SIZE(base)], ridx[ARRAY_SIZE(req_base)];
	struct result first, r;
	int runs = 0;

	(void)state;
	resolve(base, ARRAY_SIZE(base), req_base, ARRAY_SIZE(req_base), &first);
	assert_int_equal(first.ret, 6);
	assert_deps_first(base, ARRAY_SIZE(base), &first);

	for (size_t i = 0; i < ARRAY_SIZE(nidx); i++)
		nidx[i] = i;
	do {
		struct dep_node nodes[ARRAY_SIZE(base)];

		for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
			nodes[i] = base[nidx[i]];
		/* the order of one node's dependency list does not matter either */
		if (nidx[0] & 1)
			for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
				if (!strcmp(nodes[i].name, "x"))
					nodes[i].deps = x_deps_rev;
		for (size_t i = 0; i < ARRAY_SIZE(ridx); i++)
			ridx[i] = i;
		do {
			const char *req[ARRAY_SIZE(req_base)];

			for (size_t i = 0; i < ARRAY_SIZE(req); i++)
				req[i] = req_base[ridx[i]];
			resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
			assert_int_equal(r.ret, first.ret);
			for (int i = 0; i < r.ret; i++)
				if (strcmp(r.out[i], first.out[i]))
					fail_msg("position %d: %s, but %s with another input order", i,
						 r.out[i], first.out[i]);
			runs++;
		} while (next_perm(ridx, ARRAY_SIZE(ridx)));
	} while (next_perm(nidx, ARRAY_SIZE(nidx)));
	assert_int_equal(runs, 720 * 24);
}

static void test_diamond_dependency_appears_once_before_both_users(void **state)
{
	static const char *const a_deps[] = { "b", "c", NULL };
	static const char *const b_deps[] = { "d", NULL };
	static const char *const c_deps[] = { "d", NULL };
	struct dep_node nodes[] = { node("a", a_deps), node("b", b_deps), node("c", c_deps),
				    node("d", no_deps) };
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, 4);
	assert_int_equal(position(&r, "d"), 0);
	assert_true(position(&r, "b") > 0);
	assert_true(position(&r, "c") > 0);
	assert_int_equal(position(&r, "a"), 3);
	assert_deps_first(nodes, ARRAY_SIZE(nodes), &r);
}

static void test_requesting_a_module_twice_resolves_it_once(void **state)
{
	static const char *const vegas_deps[] = { "h_ertt", NULL };
	struct dep_node nodes[] = { node("kh_vegas", vegas_deps), node("h_ertt", no_deps) };
	/* kh_vegas twice, and h_ertt both requested and pulled in as a dependency */
	const char *req[] = { "kh_vegas", "h_ertt", "kh_vegas", "h_ertt" };
	const char *want[] = { "h_ertt", "kh_vegas" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_order(&r, want, ARRAY_SIZE(want));
}

static void test_empty_request_resolves_to_nothing(void **state)
{
	struct dep_node nodes[] = { node("a", no_deps) };
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, 0, &r);
	assert_int_equal(r.ret, 0);
	assert_null(r.out[0]);
	resolve(NULL, 0, req, 0, &r);
	assert_int_equal(r.ret, 0);
}

static void test_rejects_cycle_of_two_naming_the_chain(void **state)
{
	static const char *const a_deps[] = { "b", NULL };
	static const char *const b_deps[] = { "a", NULL };
	struct dep_node nodes[] = { node("a", a_deps), node("b", b_deps) };
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ELOOP);
	assert_contains(r.err, "a -> b -> a");
	assert_contains(r.err, "cycle");
}

static void test_rejects_cycle_of_three_naming_the_chain(void **state)
{
	static const char *const a_deps[] = { "b", NULL };
	static const char *const b_deps[] = { "c", NULL };
	static const char *const c_deps[] = { "a", NULL };
	struct dep_node nodes[] = { node("c", c_deps), node("a", a_deps), node("b", b_deps) };
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ELOOP);
	assert_contains(r.err, "a -> b -> c -> a");
	assert_contains(r.err, "cycle");
}

static void test_rejects_cycle_below_the_requested_module(void **state)
{
	static const char *const top_deps[] = { "a", NULL };
	static const char *const a_deps[] = { "b", NULL };
	static const char *const b_deps[] = { "a", NULL };
	struct dep_node nodes[] = { node("top", top_deps), node("a", a_deps), node("b", b_deps) };
	const char *req[] = { "top" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ELOOP);
	/* the chain is the cycle, not the path that led to it */
	assert_string_equal(r.err, "a -> b -> a: dependency cycle");
}

static void test_rejects_module_depending_on_itself(void **state)
{
	static const char *const a_deps[] = { "a", NULL };
	struct dep_node nodes[] = { node("a", a_deps) };
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ELOOP);
	assert_contains(r.err, "a -> a");
}

static void test_rejects_missing_dependency_naming_chain_and_module(void **state)
{
	static const char *const vegas_deps[] = { "h_ertt", NULL };
	struct dep_node nodes[] = { node("kh_vegas", vegas_deps) };
	const char *req[] = { "kh_vegas" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ENOENT);
	assert_string_equal(r.err, "kh_vegas -> h_ertt: h_ertt is not loaded");
}

static void test_rejects_missing_indirect_dependency_naming_whole_chain(void **state)
{
	static const char *const a_deps[] = { "b", NULL };
	static const char *const b_deps[] = { "h_gone", NULL };
	struct dep_node nodes[] = { node("a", a_deps), node("b", b_deps) };
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ENOENT);
	assert_contains(r.err, "a -> b -> h_gone");
	assert_contains(r.err, "h_gone is not loaded");
}

static void test_rejects_unknown_requested_module(void **state)
{
	struct dep_node nodes[] = { node("a", no_deps) };
	const char *req[] = { "a", "h_nope" };
	struct result r;

	(void)state;
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, -ENOENT);
	assert_contains(r.err, "h_nope is not loaded");
}

static void test_rejects_result_larger_than_output(void **state)
{
	static const char *const b_deps[] = { "a", NULL };
	struct dep_node nodes[] = { node("a", no_deps), node("b", b_deps) };
	const char *req[] = { "b" };
	const char *out[1];
	char err[128] = "";
	int ret;

	(void)state;
	ret = depgraph__resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), out, ARRAY_SIZE(out), err,
				sizeof(err));
	assert_int_equal(ret, -E2BIG);
	assert_contains(err, "too large");
}

/* far beyond the old fixed limit of 256: 10,000 modules, a 5,000-deep chain, a node with 3,000 deps */
static void test_resolves_graphs_beyond_the_old_limit(void **state)
{
	enum { N = 10000, CHAIN = 5000, WIDE = 3000 };
	static char names[N][8];
	static const char *chain_deps[N][2];
	static const char *wide_deps[WIDE + 1];
	static struct dep_node nodes[N];
	static const char *out[N];
	const char *req[] = { names[0], names[CHAIN] };
	char err[128] = "";
	int ret;

	(void)state;
	for (int i = 0; i < N; i++)
		snprintf(names[i], sizeof(names[i]), "m%05d", i);
	/* m00000 -> m00001 -> ... -> m04999 */
	for (int i = 0; i < CHAIN; i++) {
		chain_deps[i][0] = i + 1 < CHAIN ? names[i + 1] : NULL;
		nodes[i] = node(names[i], chain_deps[i]);
	}
	/* m05000 depends on m05001..m08000; those have none */
	for (int i = 0; i < WIDE; i++)
		wide_deps[i] = names[CHAIN + 1 + i];
	wide_deps[WIDE] = NULL;
	nodes[CHAIN] = node(names[CHAIN], wide_deps);
	for (int i = CHAIN + 1; i < N; i++)
		nodes[i] = node(names[i], no_deps);
	/* listed in reverse: the index, not the input order, finds them */
	for (int i = 0; i < N / 2; i++) {
		struct dep_node t = nodes[i];

		nodes[i] = nodes[N - 1 - i];
		nodes[N - 1 - i] = t;
	}
	ret = depgraph__resolve(nodes, N, req, ARRAY_SIZE(req), out, N, err, sizeof(err));
	assert_string_equal(err, "");
	assert_int_equal(ret, CHAIN + 1 + WIDE);
	for (int i = 0; i < CHAIN; i++)
		assert_string_equal(out[i], names[CHAIN - 1 - i]);
	for (int i = 0; i < WIDE; i++)
		assert_string_equal(out[CHAIN + i], names[CHAIN + 1 + i]);
	assert_string_equal(out[CHAIN + WIDE], names[CHAIN]);
	/* a closure larger than the caller's array is refused, naming the limit */
	ret = depgraph__resolve(nodes, N, req, ARRAY_SIZE(req), out, 4999, err, sizeof(err));
	assert_int_equal(ret, -E2BIG);
	assert_contains(err, "more than 4999 modules");
}

static void test_cycle_deep_in_a_long_chain_is_named(void **state)
{
	enum { N = 3000 };
	static char names[N][8];
	static const char *deps[N][2];
	static struct dep_node nodes[N];
	const char *req[] = { names[0] };
	static const char *out[N];
	char err[256];

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "m%04d", i);
		/* the last one points back to m2998 */
		deps[i][0] = i + 1 < N ? names[i + 1] : names[N - 2];
		nodes[i] = node(names[i], deps[i]);
	}
	assert_int_equal(depgraph__resolve(nodes, N, req, 1, out, N, err, sizeof(err)), -ELOOP);
	assert_string_equal(err, "m2998 -> m2999 -> m2998: dependency cycle");
}

static void test_first_of_two_nodes_with_one_name_is_used(void **state)
{
	static const char *const b_deps[] = { "b", NULL };
	static struct dep_node nodes[300];
	const char *req[] = { "a" };
	struct result r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		nodes[i] = node("a", i ? b_deps : no_deps);
	resolve(nodes, ARRAY_SIZE(nodes), req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, 1);
	assert_string_equal(r.out[0], "a");
}

static void test_resolves_long_chain_in_order(void **state)
{
	enum { N = 100 };
	static char names[N][8];
	static const char *dep_lists[N][2];
	static struct dep_node nodes[N];
	const char *req[] = { "m000" };
	struct result r;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "m%03d", i);
		dep_lists[i][0] = i + 1 < N ? names[i + 1] : NULL;
		dep_lists[i][1] = NULL;
	}
	for (int i = 0; i < N; i++)
		nodes[i] = node(names[i], dep_lists[i]);
	resolve(nodes, N, req, ARRAY_SIZE(req), &r);
	assert_int_equal(r.ret, N);
	for (int i = 0; i < N; i++)
		assert_string_equal(r.out[i], names[N - 1 - i]);
}

static void test_short_error_buffer_is_truncated_not_overrun(void **state)
{
	static const char *const a_deps[] = { "b", NULL };
	static const char *const b_deps[] = { "c", NULL };
	static const char *const c_deps[] = { "a", NULL };
	struct dep_node nodes[] = { node("a", a_deps), node("b", b_deps), node("c", c_deps) };
	const char *req[] = { "a" };
	const char *out[8];
	char err[16];

	(void)state;
	for (size_t len = 1; len < sizeof(err); len++) {
		memset(err, 'X', sizeof(err));
		assert_int_equal(depgraph__resolve(nodes, ARRAY_SIZE(nodes), req, 1, out, 8, err, len), -ELOOP);
		assert_non_null(memchr(err, '\0', len));
		for (size_t i = len; i < sizeof(err); i++)
			assert_int_equal(err[i], 'X');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_dependency_before_dependent),
		cmocka_unit_test(test_orders_independent_modules_by_name),
		cmocka_unit_test(test_only_requested_modules_and_their_deps_are_resolved),
		cmocka_unit_test(test_order_does_not_depend_on_input_order),
		cmocka_unit_test(test_diamond_dependency_appears_once_before_both_users),
		cmocka_unit_test(test_requesting_a_module_twice_resolves_it_once),
		cmocka_unit_test(test_empty_request_resolves_to_nothing),
		cmocka_unit_test(test_rejects_cycle_of_two_naming_the_chain),
		cmocka_unit_test(test_rejects_cycle_of_three_naming_the_chain),
		cmocka_unit_test(test_rejects_cycle_below_the_requested_module),
		cmocka_unit_test(test_rejects_module_depending_on_itself),
		cmocka_unit_test(test_rejects_missing_dependency_naming_chain_and_module),
		cmocka_unit_test(test_rejects_missing_indirect_dependency_naming_whole_chain),
		cmocka_unit_test(test_rejects_unknown_requested_module),
		cmocka_unit_test(test_rejects_result_larger_than_output),
		cmocka_unit_test(test_resolves_graphs_beyond_the_old_limit),
		cmocka_unit_test(test_cycle_deep_in_a_long_chain_is_named),
		cmocka_unit_test(test_first_of_two_nodes_with_one_name_is_used),
		cmocka_unit_test(test_resolves_long_chain_in_order),
		cmocka_unit_test(test_short_error_buffer_is_truncated_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
