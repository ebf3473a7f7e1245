// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rollback paths of containers.c and lifecycle's replace in place, without
 * root: the kernel calls go through the kops table, faked here. "Cgroups"
 * and the bpffs root are temporary directories; a fake link is an eventfd
 * (so closing it is real and a double close shows), a fake pin an empty file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "containers.h"
#include "kops.h"
#include "module.h"
#include "pins.h"

static struct {
	int creates, fail_create_at;	/* fail the Nth link_create (1-based), 0: never */
	int updates, fail_update_at;
	int prog_of[1024];		/* fake link fd -> the program it runs */
	__u64 cgroup_of[1024];		/* fake link fd -> its cgroup id */
} fk;

static int fake_link_create(int prog_fd, int target_fd, enum bpf_attach_type type,
			    const struct bpf_link_create_opts *opts)
{
	struct stat st;
	int fd;

	(void)type; (void)opts;
	if (++fk.creates == fk.fail_create_at) {
		errno = EPERM;
		return -1;
	}
	fd = eventfd(0, EFD_CLOEXEC);
	fstat(target_fd, &st);
	fk.prog_of[fd] = prog_fd;
	fk.cgroup_of[fd] = st.st_ino;
	return fd;
}

static int fake_link_update(int link_fd, int prog_fd, const struct bpf_link_update_opts *opts)
{
	(void)opts;
	if (++fk.updates == fk.fail_update_at) {
		errno = EIO;
		return -1;
	}
	fk.prog_of[link_fd] = prog_fd;
	return 0;
}

/* a pinned fake link: its file holds the cgroup id */
static int fake_obj_pin(int fd, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%llu %d\n", (unsigned long long)fk.cgroup_of[fd], fk.prog_of[fd]);
	return fclose(f);
}

static int fake_obj_get(const char *path)
{
	unsigned long long cg;
	int prog, fd;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%llu %d", &cg, &prog) != 2) {
		fclose(f);
		errno = EINVAL;
		return -1;
	}
	fclose(f);
	fd = eventfd(0, EFD_CLOEXEC);
	fk.cgroup_of[fd] = cg;
	fk.prog_of[fd] = prog;
	return fd;
}

static int fake_link_info(int fd, struct bpf_link_info *info, __u32 *len)
{
	(void)len;
	info->type = BPF_LINK_TYPE_CGROUP;
	info->cgroup.cgroup_id = fk.cgroup_of[fd];
	return 0;
}

#define FULL_MAP_FD	555	/* a CC config map with no room left */

static int fake_map_update(int fd, const void *key, const void *value, __u64 flags)
{
	(void)key; (void)value; (void)flags;
	if (fd == FULL_MAP_FD) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

static int fake_map_delete(int fd, const void *key)
{
	(void)fd; (void)key;
	return 0;
}

static char root[PATH_MAX];
static struct daemon d;
static struct module *m1, *m2;

static struct module *fake_module(const char *name, int prog_fd)
{
	struct module *m = module__new(name);
	struct khelp_meta meta = {};

	snprintf(meta.desc.name, sizeof(meta.desc.name), "%s", name);
	snprintf(meta.desc.version, sizeof(meta.desc.version), "1.0.0");
	meta.desc.classes = KHELP_CLASS_TCP;
	module__set_meta(m, &meta);
	m->state = MOD_ACTIVE;
	m->prog_fd = prog_fd;
	m->cgrp_fd = 1000 + prog_fd;	/* only compared, never used: map calls are fakes */
	m->next = d.modules;
	d.modules = m;
	return m;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/khelp-unit-ct.XXXXXX";

	(void)state;
	memset(&fk, 0, sizeof(fk));
	kops.link_create = fake_link_create;
	kops.link_update = fake_link_update;
	kops.link_get_info_by_fd = fake_link_info;
	kops.map_update_elem = fake_map_update;
	kops.map_delete_elem = fake_map_delete;
	kops.obj_get = fake_obj_get;
	kops.obj_pin = fake_obj_pin;
	snprintf(root, sizeof(root), "%s", mkdtemp(tmpl));
	memset(&d, 0, sizeof(d));
	snprintf(d.cfg.cgroup_root, sizeof(d.cfg.cgroup_root), "%s/cg", root);
	snprintf(d.cfg.bpffs, sizeof(d.cfg.bpffs), "%s/bpffs", root);
	snprintf(d.cfg.policies, sizeof(d.cfg.policies), "%s/policies", root);
	pins__mkdir(d.cfg.cgroup_root);
	pins__mkdir(d.cfg.policies);
	mkdir(d.cfg.bpffs, 0700);
	for (const char *cg = "a"; cg; cg = !strcmp(cg, "a") ? "b" : NULL) {
		char p[PATH_MAX + 4];

		snprintf(p, sizeof(p), "%s/%s", d.cfg.cgroup_root, cg);
		mkdir(p, 0700);
	}
	m1 = fake_module("m_one", 101);
	m2 = fake_module("m_two", 102);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	container__free_all(&d);
	while (d.modules) {
		struct module *m = d.modules;

		d.modules = m->next;
		free(m);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

static int policy(const char *name, const char *cgroup, const char *helpers, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", d.cfg.policies, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[container]\ncgroup = %s\n[tcp]\nhelpers = %s\n", cgroup, helpers);
	fclose(f);
	return container__policy_changed(&d, path, err, errlen);
}

static int pinned(const char *container, const char *module)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/containers/%s/%s", d.cfg.bpffs, container, module);
	return !access(path, F_OK);
}

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_failed_apply_keeps_the_policy_in_force(void **state)
{
	char err[1024];
	struct container *c;
	int link;

	(void)state;
	assert_int_equal(policy("web", "a", "m_one", err, sizeof(err)), 0);
	c = container__find(&d, "web");
	assert_int_equal(c->natt, 1);
	link = c->att[0].link_fd;
	/* the second link of the new policy cannot be created */
	fk.fail_create_at = fk.creates + 1;
	assert_int_not_equal(policy("web", "a", "m_one, m_two", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot attach m_two"));
	assert_int_equal(c->natt, 1);
	assert_ptr_equal(c->att[0].m, m1);
	assert_int_equal(c->att[0].link_fd, link);
	assert_true(fd_open(link));
	assert_true(pinned("web", "m_one"));
	assert_false(pinned("web", "m_two"));
	assert_string_equal(c->pol->helpers[0], "m_one");
	assert_int_equal(c->pol->nhelpers, 1);
}

static void test_failed_move_keeps_the_old_cgroup_and_its_pins(void **state)
{
	char err[1024];
	struct container *c;
	__u64 old_id;
	int link;

	(void)state;
	assert_int_equal(policy("web", "a", "m_one, m_two", err, sizeof(err)), 0);
	c = container__find(&d, "web");
	old_id = c->cgroup_id;
	link = c->att[1].link_fd;
	/* moving to b: the second new link fails after the first was made */
	fk.fail_create_at = fk.creates + 2;
	assert_int_not_equal(policy("web", "b", "m_one, m_two", err, sizeof(err)), 0);
	assert_int_equal(c->cgroup_id, old_id);
	assert_int_equal(c->natt, 2);
	assert_true(fd_open(link));
	/* the pins of the links in force were not taken away by the attempt */
	assert_true(pinned("web", "m_one"));
	assert_true(pinned("web", "m_two"));
	{
		int fd = fake_obj_get(strcat(strcpy(err, d.cfg.bpffs), "/containers/web/m_one"));

		assert_int_equal(fk.cgroup_of[fd], old_id);
		close(fd);
	}
}

static void test_successful_move_pins_the_new_links(void **state)
{
	char err[1024], path[PATH_MAX + 64];
	struct container *c;
	int fd;

	(void)state;
	assert_int_equal(policy("web", "a", "m_one", err, sizeof(err)), 0);
	assert_int_equal(policy("web", "b", "m_one", err, sizeof(err)), 0);
	c = container__find(&d, "web");
	snprintf(path, sizeof(path), "%s/containers/web/m_one", d.cfg.bpffs);
	fd = fake_obj_get(path);
	assert_int_equal(fk.cgroup_of[fd], c->cgroup_id);
	close(fd);
}

static void test_replace_in_place_is_all_or_nothing(void **state)
{
	char err[1024];
	struct container *a, *b;
	struct module *v2;

	(void)state;
	assert_int_equal(policy("web", "a", "m_one", err, sizeof(err)), 0);
	assert_int_equal(policy("db", "b", "m_one", err, sizeof(err)), 0);
	a = container__find(&d, "web");
	b = container__find(&d, "db");
	v2 = fake_module("m_one", 201);
	/* the first container switches, the second cannot */
	fk.fail_update_at = fk.updates + 2;
	assert_int_not_equal(container__replace_module(&d, m1, v2, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot switch container"));
	assert_ptr_equal(a->att[0].m, m1);
	assert_ptr_equal(b->att[0].m, m1);
	/* and the one that switched runs the old program again */
	assert_int_equal(fk.prog_of[a->att[0].link_fd], 101);
	assert_int_equal(fk.prog_of[b->att[0].link_fd], 101);
	/* when every update works, every container moves */
	fk.fail_update_at = 0;
	assert_int_equal(container__replace_module(&d, m1, v2, err, sizeof(err)), 0);
	assert_ptr_equal(a->att[0].m, v2);
	assert_ptr_equal(b->att[0].m, v2);
	assert_int_equal(fk.prog_of[a->att[0].link_fd], 201);
}

static void test_one_closure_limit_from_check_to_apply(void **state)
{
	char err[1024], helpers[1024] = "", path[PATH_MAX + 64];
	FILE *f;

	(void)state;
	/* 32 helpers (the most a [tcp] line takes), each with its own dependency: 64 + 1 modules */
	for (int i = 0; i < 33; i++) {
		char dep[16], name[16];
		struct module *m;

		snprintf(dep, sizeof(dep), "d%02d", i);
		fake_module(dep, 300 + i);
		if (i == 32)
			break;
		snprintf(name, sizeof(name), "h%02d", i);
		m = fake_module(name, 400 + i);
		snprintf(m->meta.deps[0].name, sizeof(m->meta.deps[0].name), "%s", dep);
		m->meta.ndeps = 1;
		m->dep_names[0] = m->meta.deps[0].name;
		snprintf(helpers + strlen(helpers), sizeof(helpers) - strlen(helpers), "%s%s", i ? ", " : "", name);
	}
	/* 32 + 32 = 64: allowed */
	assert_int_equal(policy("web", "a", helpers, err, sizeof(err)), 0);
	assert_int_equal(container__find(&d, "web")->natt, 64);
	/* one more through a dependency: refused by check and apply alike, with the limit named */
	container__find(&d, "web");
	{
		struct module *h = module__find(d.modules, "h00");

		snprintf(h->meta.deps[1].name, sizeof(h->meta.deps[1].name), "d32");
		h->meta.ndeps = 2;
		h->dep_names[1] = h->meta.deps[1].name;
	}
	snprintf(path, sizeof(path), "%s/check.conf", d.cfg.policies);
	f = fopen(path, "w");
	fprintf(f, "[container]\ncgroup = b\n[tcp]\nhelpers = %s\n", helpers);
	fclose(f);
	assert_int_equal(container__check(&d, path, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "more than 64 modules"));
}

static void test_a_full_cc_config_map_fails_the_apply_clearly(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(policy("web", "a", "m_one", err, sizeof(err)), 0);
	/* m_two keeps per-container config in a hash (as CCs do) that is full */
	m2->ccfg_fd = FULL_MAP_FD;
	assert_int_equal(policy("web", "a", "m_one, m_two", err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "khelp_ccfg map is full"));
	assert_int_equal(container__find(&d, "web")->natt, 1);
	assert_false(pinned("web", "m_two"));
	m2->ccfg_fd = -1;
}

static int failing_obj_pin(int fd, const char *path)
{
	(void)fd; (void)path;
	errno = ENOSPC;
	return -1;
}

/* A pin being replaced never disappears: a failed pin leaves the old one. */
static void test_pin_replacement_keeps_the_old_pin_when_pinning_fails(void **state)
{
	char path[PATH_MAX + 64];
	int fd = eventfd(0, EFD_CLOEXEC);

	(void)state;
	snprintf(path, sizeof(path), "%s/bpffs/x", root);
	assert_int_equal(pins__replace_fd(fd, path), 0);
	kops.obj_pin = failing_obj_pin;
	assert_int_equal(pins__replace_fd(fd, path), -ENOSPC);
	assert_int_equal(access(path, F_OK), 0);
	close(fd);
}

static struct attachment *att_of(const char *container, const struct module *m)
{
	struct container *c = container__find(&d, container);

	assert_non_null(c);
	for (unsigned int i = 0; i < c->natt; i++)
		if (c->att[i].m == m)
			return &c->att[i];
	fail_msg("%s has no %s", container, m->meta.desc.name);
	return NULL;
}

static void mkcg(const char *cg)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/%s", d.cfg.cgroup_root, cg);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void test_nesting_bits_name_the_nearest_container_of_a_module(void **state)
{
	char err[1024];
	__u32 gen;

	(void)state;
	mkcg("a/b");
	mkcg("a/b/c");
	mkcg("a-x");	/* sorts between "a" and "a/b" byte-wise: not a descendant of a */
	assert_int_equal(policy("outer", "a", "m_one, m_two", err, sizeof(err)), 0);
	assert_int_equal(policy("beside", "a-x", "m_one", err, sizeof(err)), 0);
	assert_int_equal(policy("mid", "a/b", "m_one", err, sizeof(err)), 0);
	assert_int_equal(policy("deep", "a/b/c", "m_two", err, sizeof(err)), 0);
	assert_true(d.nest_dirty);
	container__nest_sync(&d);
	assert_false(d.nest_dirty);
	assert_int_equal(att_of("outer", m1)->nest, KHELP_NEST_OUTER);
	assert_int_equal(att_of("outer", m2)->nest, KHELP_NEST_OUTER);
	assert_int_equal(att_of("mid", m1)->nest, KHELP_NEST_INNER);
	assert_int_equal(att_of("deep", m2)->nest, KHELP_NEST_INNER);	/* its grandparent's */
	assert_int_equal(att_of("beside", m1)->nest, 0);
	gen = att_of("outer", m1)->nest_gen;
	assert_int_not_equal(gen, 0);
	assert_int_equal(att_of("deep", m2)->nest_gen, gen);
	assert_int_equal(att_of("beside", m1)->nest_gen, 0);

	/* the middle container goes: m_one is no longer nested, m_two still is, in a new generation */
	assert_int_equal(unlink(strcat(strcpy(err, d.cfg.policies), "/mid.conf")), 0);
	assert_int_equal(container__policy_removed(&d, "mid"), 0);
	container__nest_sync(&d);
	assert_int_equal(att_of("outer", m1)->nest, 0);
	assert_int_equal(att_of("outer", m2)->nest, KHELP_NEST_OUTER);
	assert_int_equal(att_of("deep", m2)->nest, KHELP_NEST_INNER);
	assert_int_not_equal(att_of("deep", m2)->nest_gen, gen);
	assert_int_equal(att_of("deep", m2)->nest_gen, att_of("outer", m2)->nest_gen);

	/* a module with per-connection data gets the bits too: its outer copy must know
	 * to leave an inner container's connections alone, and no other copy does */
	m2->meta.desc.flags |= KHELP_F_NEEDS_DATA;
	assert_int_equal(policy("deep", "a/b/c", "m_two, m_one", err, sizeof(err)), 0);
	container__nest_sync(&d);
	assert_int_equal(att_of("deep", m2)->nest, KHELP_NEST_INNER);
	assert_int_equal(att_of("outer", m2)->nest, KHELP_NEST_OUTER);
	assert_int_equal(att_of("deep", m1)->nest, KHELP_NEST_INNER);
	assert_int_equal(att_of("outer", m1)->nest, KHELP_NEST_OUTER);
}

static void test_nesting_bits_that_cannot_be_written_are_tried_again(void **state)
{
	char err[1024];

	(void)state;
	mkcg("a/b");
	assert_int_equal(policy("outer", "a", "m_one", err, sizeof(err)), 0);
	assert_int_equal(policy("inner", "a/b", "m_one", err, sizeof(err)), 0);
	m1->cgrp_fd = FULL_MAP_FD;
	container__nest_sync(&d);
	assert_int_equal(att_of("outer", m1)->nest, 0);
	assert_int_equal(att_of("inner", m1)->nest, 0);
	assert_true(d.nest_dirty);
	m1->cgrp_fd = 1101;
	container__nest_sync(&d);
	assert_int_equal(att_of("outer", m1)->nest, KHELP_NEST_OUTER);
	assert_int_equal(att_of("inner", m1)->nest, KHELP_NEST_INNER);
	assert_false(d.nest_dirty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_apply_keeps_the_policy_in_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_move_keeps_the_old_cgroup_and_its_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_successful_move_pins_the_new_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_in_place_is_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_closure_limit_from_check_to_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_replacement_keeps_the_old_pin_when_pinning_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_cc_config_map_fails_the_apply_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nesting_bits_name_the_nearest_container_of_a_module,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nesting_bits_that_cannot_be_written_are_tried_again, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
