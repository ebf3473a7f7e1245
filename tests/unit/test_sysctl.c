// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The allowed-CC list is edited whole: no entry is lost, however long the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sysctl.h"

/* 300 names of 8-10 characters: about 3000 bytes, well past any one-line buffer */
static char *long_list(void)
{
	char *s = calloc(1, 4096);

	for (int i = 0; i < 300; i++)
		sprintf(s + strlen(s), "%scc_%05d", i ? " " : "", i);
	return s;
}

static void test_adding_to_a_long_list_keeps_every_entry(void **state)
{
	char *list = long_list(), *next = sysctl__list_with(list, "kh_vegas", 1);

	(void)state;
	assert_non_null(next);
	assert_int_equal(strncmp(next, list, strlen(list)), 0);
	assert_string_equal(next + strlen(list), " kh_vegas");
	free(next);
	free(list);
}

static void test_removing_from_a_long_list_removes_only_that_entry(void **state)
{
	char *list = long_list(), *next = sysctl__list_with(list, "cc_00150", 0);

	(void)state;
	assert_non_null(next);
	assert_int_equal(strlen(next), strlen(list) - strlen(" cc_00150"));
	assert_null(strstr(next, "cc_00150"));
	assert_non_null(strstr(next, "cc_00149 cc_00151"));
	assert_non_null(strstr(next, "cc_00299"));
	free(next);
	free(list);
}

static void test_a_name_is_not_matched_by_its_prefix(void **state)
{
	char *next = sysctl__list_with("reno kh_cubic cubic", "cubic", 0);

	(void)state;
	assert_string_equal(next, "reno kh_cubic");
	free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adding_to_a_long_list_keeps_every_entry),
		cmocka_unit_test(test_removing_from_a_long_list_removes_only_that_entry),
		cmocka_unit_test(test_a_name_is_not_matched_by_its_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
