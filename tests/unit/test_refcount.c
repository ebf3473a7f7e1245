// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Refcount rules: who holds a module, and what unload / --drain may do. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "refcount.h"

static const char *const two_containers[] = { "web", "batch" };
static const char *const one_dependent[] = { "kh_vegas" };

static void test_free_module_has_refcount_zero_and_unloads_now(void **state)
{
	struct refcount_input in = {};

	(void)state;
	assert_int_equal(refcount__holders(&in, NULL), 0);
	assert_int_equal(refcount__unload(&in, 0), UNLOAD_NOW);
	assert_int_equal(refcount__unload(&in, 1), UNLOAD_NOW);
}

static void test_refcount_adds_containers_dependents_and_connections(void **state)
{
	struct refcount_input in = { .containers = two_containers, .ncontainers = 2,
				     .dependents = one_dependent, .ndependents = 1, .connections = 3 };
	json_object *h = json_object_new_array();

	(void)state;
	assert_int_equal(refcount__holders(&in, h), 6);
	assert_int_equal(json_object_array_length(h), 4);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(h, 0)), "container web");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(h, 1)), "container batch");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(h, 2)), "module kh_vegas");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(h, 3)), "3 connections");
	json_object_put(h);
}

static void test_one_connection_is_named_in_the_singular(void **state)
{
	struct refcount_input in = { .connections = 1 };
	json_object *h = json_object_new_array();

	(void)state;
	assert_int_equal(refcount__holders(&in, h), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(h, 0)), "1 connection");
	json_object_put(h);
}

static void test_failed_connection_count_does_not_lower_the_refcount(void **state)
{
	struct refcount_input in = { .containers = two_containers, .ncontainers = 1, .connections = -13 };

	(void)state;
	assert_int_equal(refcount__holders(&in, NULL), 1);
}

static void test_held_module_is_busy_without_drain(void **state)
{
	struct refcount_input by_container = { .containers = two_containers, .ncontainers = 1 };
	struct refcount_input by_connection = { .connections = 1 };
	struct refcount_input by_dependent = { .dependents = one_dependent, .ndependents = 1 };

	(void)state;
	assert_int_equal(refcount__unload(&by_container, 0), UNLOAD_BUSY);
	assert_int_equal(refcount__unload(&by_connection, 0), UNLOAD_BUSY);
	assert_int_equal(refcount__unload(&by_dependent, 0), UNLOAD_BUSY);
}

static void test_drain_waits_for_connections_and_containers(void **state)
{
	struct refcount_input in = { .containers = two_containers, .ncontainers = 2, .connections = 2 };

	(void)state;
	assert_int_equal(refcount__unload(&in, 1), UNLOAD_DRAIN);
	assert_false(refcount__drained(&in));
	in.connections = 0;
	/* containers let go when the drain finishes: only connections keep it */
	assert_true(refcount__drained(&in));
}

static void test_dependent_module_blocks_drain_of_its_dependency(void **state)
{
	struct refcount_input in = { .dependents = one_dependent, .ndependents = 1 };

	(void)state;
	assert_int_equal(refcount__unload(&in, 1), UNLOAD_BLOCKED);
	assert_false(refcount__drained(&in));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_module_has_refcount_zero_and_unloads_now),
		cmocka_unit_test(test_refcount_adds_containers_dependents_and_connections),
		cmocka_unit_test(test_one_connection_is_named_in_the_singular),
		cmocka_unit_test(test_failed_connection_count_does_not_lower_the_refcount),
		cmocka_unit_test(test_held_module_is_busy_without_drain),
		cmocka_unit_test(test_drain_waits_for_connections_and_containers),
		cmocka_unit_test(test_dependent_module_blocks_drain_of_its_dependency),
	};

	return cmocka_run_group_tests_name("refcount", tests, NULL, NULL);
}
