// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelpd's control commands over a daemon state built in memory (no kernel):
 * what `khelpctl modules` lists.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "daemon.h"

/* n rejected modules (no kernel objects), files m00000.bpf.o.. linked in reverse order */
static struct daemon *daemon_with_modules(size_t n)
{
	struct daemon *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->stats_fd = -1;
	for (size_t i = 0; i < n; i++) {
		struct module *m = calloc(1, sizeof(*m));

		assert_non_null(m);
		snprintf(m->file, sizeof(m->file), "m%05zu.bpf.o", i);
		m->state = MOD_REJECTED;
		m->prog_fd = m->cgrp_fd = m->data_fd = m->ccfg_fd = m->init_fd = -1;
		snprintf(m->reason, sizeof(m->reason), "not a module");
		m->next = d->modules;
		d->modules = m;
	}
	return d;
}

static void daemon_free(struct daemon *d)
{
	while (d->modules) {
		struct module *m = d->modules;

		d->modules = m->next;
		free(m);
	}
	free(d);
}

static json_object *call(struct daemon *d, const char *cmd)
{
	json_object *req = json_object_new_object(), *resp, *ok;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	resp = server__handle(d, req);
	json_object_put(req);
	if (!json_object_object_get_ex(resp, "ok", &ok))
		fail_msg("%s failed: %s", cmd, json_object_to_json_string(resp));
	json_object_get(ok);
	json_object_put(resp);
	return ok;
}

/* beyond the 1024 a fixed array once held: every module is listed, sorted by file */
static void test_modules_lists_every_module_sorted_by_file(void **state)
{
	enum { N = 3000 };
	struct daemon *d = daemon_with_modules(N);
	json_object *list = call(d, "modules");
	char want[32];

	(void)state;
	assert_int_equal(json_object_array_length(list), N);
	for (size_t i = 0; i < N; i++) {
		json_object *m = json_object_array_get_idx(list, i), *f;

		snprintf(want, sizeof(want), "m%05zu.bpf.o", i);
		assert_true(json_object_object_get_ex(m, "file", &f));
		assert_string_equal(json_object_get_string(f), want);
	}
	json_object_put(list);
	daemon_free(d);
}

static void test_modules_of_an_empty_registry_is_an_empty_list(void **state)
{
	struct daemon *d = daemon_with_modules(0);
	json_object *list = call(d, "modules");

	(void)state;
	assert_true(json_object_is_type(list, json_type_array));
	assert_int_equal(json_object_array_length(list), 0);
	json_object_put(list);
	daemon_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modules_lists_every_module_sorted_by_file),
		cmocka_unit_test(test_modules_of_an_empty_registry_is_an_empty_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
