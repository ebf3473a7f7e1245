// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy files (loader/policy.c): parsing (syntax, known keys, FILE:LINE in
 * every error), validation against the loaded modules, parameter values.
 * Validation runs against a fake world: a few modules described by hand and a
 * kernel that offers "cubic" and "reno".
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "depgraph.h"
#include "policy.h"

#define PATH "/etc/khelp/policies/web.conf"

static struct policy pol;	/* large: keep it off the stack */
static char err[1024];

static int parse(const char *text)
{
	memset(err, 0, sizeof(err));
	return policy__parse_buf(PATH, text, strlen(text), &pol, err, sizeof(err));
}

/* ---- the fake world ---- */

static struct khelp_param_desc param(const char *name, unsigned int type, unsigned int index, long long def,
				     long long min, long long max)
{
	struct khelp_param_desc d = { .type = type, .index = index, .def = def, .min = min, .max = max };

	snprintf(d.name, sizeof(d.name), "%s", name);
	return d;
}

static struct khelp_meta fake_mods[6];
static size_t nfake_mods;

static struct khelp_meta *fake_module(const char *name, unsigned int classes, unsigned int flags)
{
	struct khelp_meta *m = &fake_mods[nfake_mods++];

	memset(m, 0, sizeof(*m));
	m->desc.magic = KHELP_META_MAGIC;
	m->desc.abi_version = KHELP_ABI_VERSION;
	snprintf(m->desc.name, sizeof(m->desc.name), "%s", name);
	snprintf(m->desc.version, sizeof(m->desc.version), "1.0");
	m->desc.classes = classes;
	m->desc.flags = flags;
	m->desc.hooks = classes & KHELP_CLASS_CC ? KHELP_HOOK_BIT(KHELP_HOOK_CC)
						 : KHELP_HOOK_BIT(KHELP_HOOK_TCP_EST_IN);
	return m;
}

static void add_dep(struct khelp_meta *m, const char *dep)
{
	snprintf(m->deps[m->ndeps++].name, KHELP_NAME_MAX, "%s", dep);
}

static void add_param(struct khelp_meta *m, struct khelp_param_desc d)
{
	m->params[m->desc.nparams++] = d;
}

/*
 * h_ertt    tcp, needs data, param samples (uint 1..64, default 8)
 * kh_vegas  cc, depends on h_ertt, params alpha, beta (int 1..100), ecn (bool)
 * h_other   tcp, param level (int -5..5)
 * h_dep     tcp, depends on h_missing, which is not loaded
 * h_plain   tcp, no params
 */
static int setup_world(void **state)
{
	struct khelp_meta *m;

	(void)state;
	nfake_mods = 0;
	m = fake_module("h_ertt", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA);
	m->desc.data_size = 32;
	snprintf(m->desc.data_type, sizeof(m->desc.data_type), "struct h_ertt");
	add_param(m, param("samples", KHELP_PARAM_UINT, 0, 8, 1, 64));
	m = fake_module("kh_vegas", KHELP_CLASS_CC, 0);
	add_dep(m, "h_ertt");
	add_param(m, param("alpha", KHELP_PARAM_INT, 0, 2, 1, 100));
	add_param(m, param("beta", KHELP_PARAM_INT, 1, 4, 1, 100));
	add_param(m, param("ecn", KHELP_PARAM_BOOL, 2, 0, 0, 1));
	m = fake_module("h_other", KHELP_CLASS_TCP, 0);
	add_param(m, param("level", KHELP_PARAM_INT, 0, 0, -5, 5));
	m = fake_module("h_dep", KHELP_CLASS_TCP, 0);
	add_dep(m, "h_missing");
	fake_module("h_plain", KHELP_CLASS_TCP, 0);
	return 0;
}

static const struct khelp_meta *env_module(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < nfake_mods; i++)
		if (!strcmp(fake_mods[i].desc.name, name))
			return &fake_mods[i];
	return NULL;
}

static int env_kernel_cc(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "cubic") || !strcmp(name, "reno");
}

/* helpers + congestion (if it is a module) + their dependencies, like khelpd */
static int env_closure(void *ctx, const struct policy *p, const char **out, size_t outmax, char *e,
		       size_t elen)
{
	const char *dep_names[ARRAY_SIZE(fake_mods)][KHELP_MAX_DEPS];
	struct dep_node nodes[ARRAY_SIZE(fake_mods)];
	const char *req[POLICY_MAX_HELPERS + 1];
	size_t nreq = 0;

	(void)ctx;
	for (size_t i = 0; i < nfake_mods; i++) {
		for (unsigned int k = 0; k < fake_mods[i].ndeps; k++)
			dep_names[i][k] = fake_mods[i].deps[k].name;
		nodes[i] = (struct dep_node){ .name = fake_mods[i].desc.name, .deps = dep_names[i],
					      .ndeps = fake_mods[i].ndeps };
	}
	for (unsigned int i = 0; i < p->nhelpers; i++)
		req[nreq++] = p->helpers[i];
	if (p->congestion[0] && env_module(NULL, p->congestion))
		req[nreq++] = p->congestion;
	return depgraph__resolve(nodes, nfake_mods, req, nreq, out, outmax, e, elen);
}

static const struct policy_env env = {
	.module = env_module,
	.kernel_cc = env_kernel_cc,
	.closure = env_closure,
};

static int parse_and_validate(const char *text)
{
	int ret = parse(text);

	if (ret)
		fail_msg("parse failed (%d): %s", ret, err);
	return policy__validate(&pol, &env, err, sizeof(err));
}

/* ---- parsing ---- */

static const char full_policy[] =
	"# the web tier\n"				/* 1 */
	"[container]\n"					/* 2 */
	"cgroup = /sys/fs/cgroup/web\n"			/* 3 */
	"netns = /run/netns/web\n"			/* 4 */
	"\n"						/* 5 */
	"[tcp]\n"					/* 6 */
	"congestion = kh_vegas\n"			/* 7 */
	"helpers = h_ertt, h_other\n"			/* 8 */
	"\n"						/* 9 */
	"; vegas tuning\n"				/* 10 */
	"[kh_vegas]\n"					/* 11 */
	"alpha = 3\n"					/* 12 */
	"beta = 0x10\n"					/* 13 */
	"ecn = yes\n"					/* 14 */
	"\n"						/* 15 */
	"[offload]\n"					/* 16 */
	"interface = eth0\n"				/* 17 */
	"policy = /etc/khelp/offload/web.json\n";	/* 18 */

static void test_parses_full_policy_into_struct(void **state)
{
	(void)state;
	assert_int_equal(parse(full_policy), 0);
	assert_string_equal(pol.path, PATH);
	assert_string_equal(pol.name, "web");
	assert_string_equal(pol.cgroup, "/sys/fs/cgroup/web");
	assert_int_equal(pol.cgroup_line, 3);
	assert_string_equal(pol.netns, "/run/netns/web");
	assert_int_equal(pol.netns_line, 4);
	assert_string_equal(pol.congestion, "kh_vegas");
	assert_int_equal(pol.congestion_line, 7);
	assert_int_equal(pol.nhelpers, 2);
	assert_string_equal(pol.helpers[0], "h_ertt");
	assert_string_equal(pol.helpers[1], "h_other");
	assert_int_equal(pol.helpers_line, 8);
	assert_int_equal(pol.nparams, 3);
	assert_string_equal(pol.params[0].module, "kh_vegas");
	assert_string_equal(pol.params[0].key, "alpha");
	assert_string_equal(pol.params[0].value, "3");
	assert_int_equal(pol.params[0].line, 12);
	assert_string_equal(pol.params[1].key, "beta");
	assert_string_equal(pol.params[1].value, "0x10");
	assert_int_equal(pol.params[1].line, 13);
	assert_string_equal(pol.params[2].key, "ecn");
	assert_string_equal(pol.params[2].value, "yes");
	assert_int_equal(pol.params[2].line, 14);
	assert_string_equal(pol.offload_interface, "eth0");
	assert_int_equal(pol.offload_interface_line, 17);
	assert_string_equal(pol.offload_policy, "/etc/khelp/offload/web.json");
	assert_int_equal(pol.offload_policy_line, 18);
	assert_int_equal(policy__find_param(&pol, "kh_vegas", "beta"), 1);
	assert_int_equal(policy__find_param(&pol, "kh_vegas", "gamma"), -1);
	assert_int_equal(policy__find_param(&pol, "h_ertt", "alpha"), -1);
}

static void test_parses_minimal_policy_with_only_cgroup(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /sys/fs/cgroup/web\n"), 0);
	assert_string_equal(pol.cgroup, "/sys/fs/cgroup/web");
	assert_string_equal(pol.netns, "");
	assert_string_equal(pol.congestion, "");
	assert_int_equal(pol.nhelpers, 0);
	assert_int_equal(pol.nparams, 0);
	assert_int_equal(pol.offload_interface_line, 0);
}

static void test_strips_inline_comments(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\n"
			       "cgroup = /sys/fs/cgroup/web   # the web tier\n"
			       "netns = /run/netns/web ; its netns\n"
			       "[tcp]\n"
			       "helpers = h_ertt # measures RTT\n"
			       "[kh_vegas] # parameters\n"
			       "alpha = 5 # more aggressive\n"),
			 0);
	assert_string_equal(pol.cgroup, "/sys/fs/cgroup/web");
	assert_string_equal(pol.netns, "/run/netns/web");
	assert_int_equal(pol.nhelpers, 1);
	assert_string_equal(pol.helpers[0], "h_ertt");
	assert_string_equal(pol.params[0].value, "5");
}

static void test_hash_without_space_before_it_is_part_of_the_value(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /sys/fs/cgroup/a#b\n"), 0);
	assert_string_equal(pol.cgroup, "/sys/fs/cgroup/a#b");
}

static void test_accepts_crlf_and_missing_final_newline(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\r\ncgroup = /sys/fs/cgroup/web\r\n[tcp]\r\nhelpers = h_ertt"), 0);
	assert_string_equal(pol.cgroup, "/sys/fs/cgroup/web");
	assert_string_equal(pol.helpers[0], "h_ertt");
	assert_int_equal(pol.helpers_line, 4);
}

static void test_splits_helpers_on_commas_and_blanks(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\nhelpers = h_a,h_b  h_c ,\th_d\n"), 0);
	assert_int_equal(pol.nhelpers, 4);
	assert_string_equal(pol.helpers[0], "h_a");
	assert_string_equal(pol.helpers[1], "h_b");
	assert_string_equal(pol.helpers[2], "h_c");
	assert_string_equal(pol.helpers[3], "h_d");
}

static void test_rejects_unknown_key_in_container(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\ncgroups = /d\n"), -EINVAL);
	assert_contains(err, PATH ":3: ");
	assert_contains(err, "[container] unknown key 'cgroups'");
	assert_contains(err, "valid: cgroup, netns");
}

static void test_rejects_unknown_key_in_tcp(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n\n[tcp]\nhelper = h_ertt\n"), -EINVAL);
	assert_contains(err, PATH ":5: ");
	assert_contains(err, "[tcp] unknown key 'helper'");
	assert_contains(err, "valid: congestion, helpers");
}

static void test_rejects_unknown_key_in_offload(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[offload]\ninterface = eth0\nmode = fast\n"), -EINVAL);
	assert_contains(err, PATH ":5: ");
	assert_contains(err, "[offload] unknown key 'mode'");
	assert_contains(err, "valid: interface, policy, datapath");
}

static void test_offload_datapath_is_auto_xdp_or_tc(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[offload]\ninterface = eth0\npolicy = w.cop\ndatapath = tc\n"),
			 0);
	assert_int_equal(parse("[container]\ncgroup = /c\n[offload]\ndatapath = dpdk\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "[offload] datapath: 'dpdk' (valid: auto, xdp, tc)");
}

static void test_rejects_section_name_with_invalid_characters(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[kh-vegas]\nalpha = 1\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "unknown section [kh-vegas]");
}

static void test_rejects_uppercase_section_name(void **state)
{
	(void)state;
	assert_int_equal(parse("[Container]\ncgroup = /c\n"), -EINVAL);
	assert_contains(err, PATH ":2: ");
	assert_contains(err, "unknown section [Container]");
}

static void test_rejects_key_before_any_section(void **state)
{
	(void)state;
	assert_int_equal(parse("cgroup = /c\n[container]\ncgroup = /c\n"), -EINVAL);
	assert_contains(err, PATH ":1: ");
	assert_contains(err, "'cgroup' is outside any section");
}

static void test_rejects_text_after_section_header(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp] congestion = reno\n"), -EINVAL);
	assert_contains(err, PATH ":3: text after a [section] header");
}

static void test_rejects_line_longer_than_inih_takes(void **state)
{
	char text[600];

	(void)state;
	snprintf(text, sizeof(text), "[container]\ncgroup = /%0*d/netns=/evil\n", 250, 0);
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, PATH ":2: line longer than");
}

static void test_param_value_is_decimal_not_octal(void **state)
{
	struct khelp_param_desc d = { .name = "n", .type = KHELP_PARAM_INT, .min = 0, .max = 100 };
	long long v = 0;

	(void)state;
	assert_int_equal(policy__param_value(&d, "010", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(policy__param_value(&d, "0x10", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 16);
}

static void test_rejects_key_set_twice_naming_first_line(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /a\nnetns = /n\ncgroup = /b\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "[container] cgroup: set twice (first at line 2)");
}

static void test_rejects_key_set_twice_across_repeated_sections(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /a\n[tcp]\ncongestion = cubic\n"
			       "[container]\nnetns = /n\n[tcp]\ncongestion = reno\n"),
			 -EINVAL);
	assert_contains(err, PATH ":8: ");
	assert_contains(err, "[tcp] congestion: set twice (first at line 4)");
}

static void test_rejects_module_param_set_twice_naming_first_line(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /a\n[kh_vegas]\nalpha = 1\nbeta = 2\nalpha = 3\n"), -EINVAL);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "[kh_vegas] alpha: set twice (first at line 4)");
}

static void test_rejects_missing_cgroup(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\nnetns = /n\n[tcp]\nhelpers = h_ertt\n"), -EINVAL);
	assert_contains(err, PATH ":");
	assert_contains(err, "[container] cgroup is required");
}

static void test_rejects_empty_file_for_missing_cgroup(void **state)
{
	(void)state;
	assert_int_equal(parse(""), -EINVAL);
	assert_contains(err, PATH ":1: ");
	assert_contains(err, "[container] cgroup is required");
}

static void test_rejects_empty_cgroup(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\n\ncgroup =\n"), -EINVAL);
	assert_contains(err, PATH ":3: ");
	assert_contains(err, "[container] cgroup: empty path");
}

static void test_rejects_helper_listed_twice(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\nhelpers = h_ertt, h_other, h_ertt\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "[tcp] helpers: h_ertt listed twice");
}

static void test_rejects_invalid_module_name_in_helpers(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\nhelpers = h_ertt, H_Bad\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "'H_Bad' is not a module name");
}

static void test_rejects_too_long_module_name_in_helpers(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\nhelpers = h_a_rather_long_1\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "'h_a_rather_long_1' is not a module name");
	/* 15 characters is the longest name */
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\nhelpers = h_a_rather_long\n"), 0);
}

static void test_rejects_more_helpers_than_the_limit(void **state)
{
	char text[512];
	int off;

	(void)state;
	off = snprintf(text, sizeof(text), "[container]\ncgroup = /c\n[tcp]\nhelpers =");
	for (int i = 0; i <= POLICY_MAX_HELPERS; i++)
		off += snprintf(text + off, sizeof(text) - off, " m%d", i);
	snprintf(text + off, sizeof(text) - off, "\n");
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "more than 32 modules");
}

static void test_rejects_too_long_congestion_name(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\ncongestion = a_very_long_cc_name\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "[tcp] congestion: 'a_very_long_cc_name' is not a congestion control name");
	/* 16 characters are one too many, 15 fit */
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_sixteen_chars\n"), -EINVAL);
	assert_contains(err, "'kh_sixteen_chars' is not a congestion control name");
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_fifteen_char\n"), 0);
	assert_string_equal(pol.congestion, "kh_fifteen_char");
}

static void test_rejects_too_long_param_value(void **state)
{
	char text[256], value[80];

	(void)state;
	memset(value, '7', 64);
	value[64] = '\0';
	snprintf(text, sizeof(text), "[container]\ncgroup = /c\n[kh_vegas]\nalpha = %s\n", value);
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "[kh_vegas] alpha:");
	assert_contains(err, "is not a value");
	/* 63 characters fit */
	value[63] = '\0';
	snprintf(text, sizeof(text), "[container]\ncgroup = /c\n[kh_vegas]\nalpha = %s\n", value);
	assert_int_equal(parse(text), 0);
	assert_string_equal(pol.params[0].value, value);
}

static void test_rejects_empty_param_value(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[kh_vegas]\nalpha =\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "[kh_vegas] alpha: '' is not a value");
}

static void test_rejects_too_long_param_name(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n[kh_vegas]\n"
			       "a_parameter_name_of_32_chars_xxx = 1\n"),
			 -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "a_parameter_name_of_32_chars_xxx: parameter name too long");
	/* 31 characters fit */
	assert_int_equal(parse("[container]\ncgroup = /c\n[kh_vegas]\na_parameter_name_of_31_chars_xx = 1\n"), 0);
	assert_string_equal(pol.params[0].key, "a_parameter_name_of_31_chars_xx");
}

static void test_rejects_line_longer_than_the_line_limit(void **state)
{
	char text[512], path[300];

	(void)state;
	memset(path, 'p', 250);
	path[250] = '\0';
	snprintf(text, sizeof(text), "[container]\ncgroup = /%s\n", path);
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, PATH ":");
}

static void test_rejects_more_module_params_than_the_limit(void **state)
{
	static char text[8192];
	int off;

	(void)state;
	off = snprintf(text, sizeof(text), "[container]\ncgroup = /c\n[kh_vegas]\n");
	for (int i = 0; i <= POLICY_MAX_PARAMS; i++)
		off += snprintf(text + off, sizeof(text) - off, "p%d = 1\n", i);
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, PATH ":132: ");
	assert_contains(err, "more than 128 module parameters");
}

static void test_rejects_syntax_error_naming_its_line(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\n\n[tcp]\nhelpers h_ertt\n"), -EINVAL);
	assert_contains(err, PATH ":5: syntax error");
	assert_int_equal(parse("[container]\ncgroup = /c\n[tcp\n"), -EINVAL);
	assert_contains(err, PATH ":3: syntax error");
}

static void test_stops_at_first_error(void **state)
{
	(void)state;
	assert_int_equal(parse("[container]\ncgroup = /c\nbad1 = x\nbad2 = y\n"), -EINVAL);
	assert_contains(err, PATH ":3: ");
	assert_contains(err, "'bad1'");
	assert_null(strstr(err, "bad2"));
}

static void test_nul_byte_in_file_is_not_end_of_file(void **state)
{
	static const char text[] = "[container]\ncgroup = /c\n\0bad = 1\n";

	(void)state;
	assert_int_equal(policy__parse_buf(PATH, text, sizeof(text) - 1, &pol, err, sizeof(err)), -EINVAL);
	assert_contains(err, PATH ":3: ");
	assert_contains(err, "bad");
}

static void test_rejects_badly_named_policy_file(void **state)
{
	static const char text[] = "[container]\ncgroup = /c\n";

	(void)state;
	assert_int_equal(policy__parse_buf("/etc/khelp/web.ini", text, strlen(text), &pol, err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "/etc/khelp/web.ini: a policy file is named <container>.conf");
}

static void test_short_error_buffer_is_truncated_not_overrun(void **state)
{
	static const char text[] = "[container]\ncgroup = /c\nbogus = 1\n";
	char small[24];

	(void)state;
	for (size_t len = 1; len < sizeof(small); len++) {
		memset(small, 'X', sizeof(small));
		assert_int_equal(policy__parse_buf(PATH, text, strlen(text), &pol, small, len), -EINVAL);
		assert_non_null(memchr(small, '\0', len));
		for (size_t i = len; i < sizeof(small); i++)
			assert_int_equal(small[i], 'X');
	}
}

static void test_parse_file_reads_policy_from_disk(void **state)
{
	char dir[] = "/tmp/khelp-test-policy-XXXXXX", path[PATH_MAX];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full_policy, f);
	fclose(f);
	memset(err, 0, sizeof(err));
	assert_int_equal(policy__parse_file(path, &pol, err, sizeof(err)), 0);
	assert_string_equal(pol.name, "db");
	assert_string_equal(pol.path, path);
	assert_string_equal(pol.offload_policy, "/etc/khelp/offload/web.json");
	unlink(path);
	rmdir(dir);
}

static void test_parse_file_reports_missing_file(void **state)
{
	(void)state;
	assert_int_equal(policy__parse_file("/nonexistent/khelp/web.conf", &pol, err, sizeof(err)), -ENOENT);
	assert_contains(err, "/nonexistent/khelp/web.conf: cannot open");
}

/* ---- validation ---- */

static void test_validates_good_policy_and_parses_values(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					    "helpers = h_other\n[kh_vegas]\nalpha = 3\nbeta = 0x10\n"
					    "ecn = yes\n[h_other]\nlevel = -5\n"),
			 0);
	assert_int_equal(pol.params[0].parsed, 3);
	assert_int_equal(pol.params[1].parsed, 16);
	assert_int_equal(pol.params[2].parsed, 1);
	assert_int_equal(pol.params[3].parsed, -5);
}

static void test_validates_full_example_policy(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate(full_policy), 0);
}

static void test_accepts_kernel_congestion_control(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = cubic\n"
					    "helpers = h_ertt\n"),
			 0);
}

static void test_accepts_param_of_module_pulled_in_as_dependency(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					    "[h_ertt]\nsamples = 16\n"),
			 0);
	assert_int_equal(pol.params[0].parsed, 16);
}

static void test_rejects_unknown_helper_module(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = h_ertt, h_nope\n"),
			 -ENOENT);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "unknown module 'h_nope'");
}

static void test_rejects_congestion_control_listed_in_helpers(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = kh_vegas\n"), -EINVAL);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "kh_vegas is a congestion control");
	assert_contains(err, "congestion =");
}

static void test_rejects_helper_as_congestion(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\n\ncongestion = h_ertt\n"), -EINVAL);
	assert_contains(err, PATH ":5: ");
	assert_contains(err, "h_ertt is a helper, not a congestion control");
}

static void test_rejects_unknown_congestion_control(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = bbr9\n"), -ENOENT);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "unknown congestion control 'bbr9'");
}

static void test_rejects_missing_dependency_naming_the_chain(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = h_dep\n"), -ENOENT);
	assert_contains(err, PATH ":4: ");
	assert_contains(err, "h_dep -> h_missing: h_missing is not loaded");
}

static void test_rejects_param_out_of_range_naming_valid_range(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					    "[kh_vegas]\nalpha = 3\nbeta = 101\n"),
			 -ERANGE);
	assert_contains(err, PATH ":7: ");
	assert_contains(err, "[kh_vegas] beta:");
	assert_contains(err, "101 is out of range (valid: 1..100)");
}

static void test_rejects_param_below_range(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = h_other\n"
					    "[h_other]\nlevel = -6\n"),
			 -ERANGE);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "-6 is out of range (valid: -5..5)");
}

static void test_rejects_non_integer_param(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					    "[kh_vegas]\nalpha = 3x\n"),
			 -ERANGE);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "'3x' is not an integer (valid: 1..100)");
}

static void test_rejects_param_of_module_the_container_does_not_use(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = h_ertt\n"
					    "[h_other]\nlevel = 1\n"),
			 -EINVAL);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "module h_other is not used by this container");
}

static void test_rejects_param_of_unknown_module(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = h_ertt\n"
					    "[h_nope]\nlevel = 1\n"),
			 -ENOENT);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "unknown module 'h_nope'");
}

static void test_rejects_unknown_param_listing_valid_ones(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					    "[kh_vegas]\ngamma = 1\n"),
			 -ENOENT);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "[kh_vegas] unknown parameter 'gamma' (valid: alpha, beta, ecn)");
}

static void test_rejects_param_of_module_without_params(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\nhelpers = h_plain\n"
					    "[h_plain]\nx = 1\n"),
			 -ENOENT);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "unknown parameter 'x' (valid: none)");
}

static void test_parses_bool_params_in_all_spellings(void **state)
{
	static const struct {
		const char *text;
		long long want;
	} cases[] = {
		{ "1", 1 }, { "yes", 1 }, { "true", 1 }, { "on", 1 }, { "YES", 1 }, { "True", 1 },
		{ "0", 0 }, { "no", 0 }, { "false", 0 }, { "off", 0 }, { "OFF", 0 }, { "No", 0 },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					     "[kh_vegas]\necn = %s\n", cases[i].text);
		if (parse_and_validate(text))
			fail_msg("ecn = %s: %s", cases[i].text, err);
		assert_int_equal(pol.params[0].parsed, cases[i].want);
	}
}

static void test_rejects_invalid_bool_param(void **state)
{
	(void)state;
	assert_int_equal(parse_and_validate("[container]\ncgroup = /c\n[tcp]\ncongestion = kh_vegas\n"
					    "[kh_vegas]\necn = maybe\n"),
			 -ERANGE);
	assert_contains(err, PATH ":6: ");
	assert_contains(err, "[kh_vegas] ecn: 'maybe' is not a bool");
}

/* ---- policy__param_value ---- */

static long long value_of(const struct khelp_param_desc *d, const char *text, int want_ret)
{
	long long v = 0x5a5a;
	int ret;

	memset(err, 0, sizeof(err));
	ret = policy__param_value(d, text, &v, err, sizeof(err));
	if (ret != want_ret)
		fail_msg("'%s': returned %d, expected %d (%s)", text, ret, want_ret, err);
	if (ret)
		assert_int_equal(v, 0x5a5a);	/* untouched on error */
	return v;
}

static void test_param_value_parses_int_in_range(void **state)
{
	struct khelp_param_desc d = param("x", KHELP_PARAM_INT, 0, 0, -10, 10);

	(void)state;
	assert_int_equal(value_of(&d, "-10", 0), -10);
	assert_int_equal(value_of(&d, "10", 0), 10);
	assert_int_equal(value_of(&d, "0", 0), 0);
	assert_int_equal(value_of(&d, "0xa", 0), 10);
	assert_int_equal(value_of(&d, "+7", 0), 7);
}

static void test_param_value_rejects_int_out_of_range(void **state)
{
	struct khelp_param_desc d = param("x", KHELP_PARAM_INT, 0, 0, -10, 10);

	(void)state;
	value_of(&d, "11", -ERANGE);
	assert_string_equal(err, "11 is out of range (valid: -10..10)");
	value_of(&d, "-11", -ERANGE);
	assert_contains(err, "-11 is out of range (valid: -10..10)");
}

static void test_param_value_rejects_non_integers(void **state)
{
	static const char *const bad[] = { "", "abc", "1.5", "12abc", "0x", "1 2",
					   "99999999999999999999", "-99999999999999999999" };
	struct khelp_param_desc d = param("x", KHELP_PARAM_INT, 0, 0, LLONG_MIN, LLONG_MAX);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		value_of(&d, bad[i], -EINVAL);
		assert_contains(err, "is not an integer");
	}
}

static void test_param_value_accepts_int64_extremes(void **state)
{
	struct khelp_param_desc d = param("x", KHELP_PARAM_INT, 0, 0, INT64_MIN, INT64_MAX);

	(void)state;
	assert_true(value_of(&d, "9223372036854775807", 0) == INT64_MAX);
	assert_true(value_of(&d, "-9223372036854775808", 0) == INT64_MIN);
}

static void test_param_value_rejects_negative_uint(void **state)
{
	struct khelp_param_desc d = param("x", KHELP_PARAM_UINT, 0, 1, 0, 100);

	(void)state;
	assert_int_equal(value_of(&d, "100", 0), 100);
	assert_int_equal(value_of(&d, "0", 0), 0);
	value_of(&d, "-1", -ERANGE);
	assert_contains(err, "-1 is out of range (valid: 0..100)");
	value_of(&d, "101", -ERANGE);
}

static void test_param_value_parses_bool(void **state)
{
	struct khelp_param_desc d = param("x", KHELP_PARAM_BOOL, 0, 0, 0, 1);

	(void)state;
	assert_int_equal(value_of(&d, "On", 0), 1);
	assert_int_equal(value_of(&d, "FALSE", 0), 0);
	value_of(&d, "2", -EINVAL);
	assert_contains(err, "'2' is not a bool (valid: 0/1, yes/no, true/false, on/off)");
	value_of(&d, "", -EINVAL);
	value_of(&d, "yess", -EINVAL);
}

static void test_param_value_applies_range_to_bool(void **state)
{
	struct khelp_param_desc d = param("x", KHELP_PARAM_BOOL, 0, 1, 1, 1);

	(void)state;
	assert_int_equal(value_of(&d, "yes", 0), 1);
	value_of(&d, "no", -ERANGE);
	assert_contains(err, "0 is out of range (valid: 1..1)");
}

/* ---- policy__name_from_path ---- */

static void test_name_from_path_strips_dir_and_conf(void **state)
{
	static const struct {
		const char *path, *name;
	} ok[] = {
		{ "/etc/khelp/policies/web.conf", "web" },
		{ "web.conf", "web" },
		{ "x.conf", "x" },
		{ "dir/a.b-c_D9.conf", "a.b-c_D9" },
		{ "/a.conf/b.conf", "b" },
	};
	char name[POLICY_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		memset(name, 0, sizeof(name));
		if (policy__name_from_path(ok[i].path, name, sizeof(name)))
			fail_msg("%s rejected", ok[i].path);
		assert_string_equal(name, ok[i].name);
	}
}

static void test_name_from_path_rejects_bad_names(void **state)
{
	static const char *const bad[] = {
		".conf", "/etc/.conf", ".hidden.conf", "web.cfg", "web.conf.bak", "web.CONF", "web conf.conf",
		"we$b.conf", "/etc/khelp/", "", "conf", "/etc/khelp/policies/web.conf/",
	};
	char name[POLICY_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (policy__name_from_path(bad[i], name, sizeof(name)) != -EINVAL)
			fail_msg("'%s' not rejected with -EINVAL", bad[i]);
}

static void test_name_from_path_limits_length(void **state)
{
	char path[128], name[POLICY_NAME_MAX], big[2 * POLICY_NAME_MAX];

	(void)state;
	memset(path, 'a', 63);
	strcpy(path + 63, ".conf");
	assert_int_equal(policy__name_from_path(path, name, sizeof(name)), 0);
	assert_int_equal(strlen(name), 63);
	memset(path, 'a', 64);
	strcpy(path + 64, ".conf");
	assert_int_equal(policy__name_from_path(path, name, sizeof(name)), -ENAMETOOLONG);
	/* a container name has at most POLICY_NAME_MAX - 1 characters, whatever the buffer */
	assert_int_equal(policy__name_from_path(path, big, sizeof(big)), -ENAMETOOLONG);
	/* the caller's buffer bounds it too */
	assert_int_equal(policy__name_from_path("web.conf", name, 3), -ENAMETOOLONG);
	assert_int_equal(policy__name_from_path("web.conf", name, 4), 0);
	assert_string_equal(name, "web");
}

#define T(f) cmocka_unit_test_setup(f, setup_world)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parses_full_policy_into_struct),
		T(test_parses_minimal_policy_with_only_cgroup),
		T(test_strips_inline_comments),
		T(test_hash_without_space_before_it_is_part_of_the_value),
		T(test_accepts_crlf_and_missing_final_newline),
		T(test_splits_helpers_on_commas_and_blanks),
		T(test_rejects_unknown_key_in_container),
		T(test_rejects_unknown_key_in_tcp),
		T(test_rejects_unknown_key_in_offload),
		T(test_offload_datapath_is_auto_xdp_or_tc),
		T(test_rejects_section_name_with_invalid_characters),
		T(test_rejects_uppercase_section_name),
		T(test_rejects_key_before_any_section),
		T(test_rejects_text_after_section_header),
		T(test_rejects_line_longer_than_inih_takes),
		T(test_param_value_is_decimal_not_octal),
		T(test_rejects_key_set_twice_naming_first_line),
		T(test_rejects_key_set_twice_across_repeated_sections),
		T(test_rejects_module_param_set_twice_naming_first_line),
		T(test_rejects_missing_cgroup),
		T(test_rejects_empty_file_for_missing_cgroup),
		T(test_rejects_empty_cgroup),
		T(test_rejects_helper_listed_twice),
		T(test_rejects_invalid_module_name_in_helpers),
		T(test_rejects_too_long_module_name_in_helpers),
		T(test_rejects_more_helpers_than_the_limit),
		T(test_rejects_too_long_congestion_name),
		T(test_rejects_too_long_param_value),
		T(test_rejects_empty_param_value),
		T(test_rejects_too_long_param_name),
		T(test_rejects_line_longer_than_the_line_limit),
		T(test_rejects_more_module_params_than_the_limit),
		T(test_rejects_syntax_error_naming_its_line),
		T(test_stops_at_first_error),
		T(test_nul_byte_in_file_is_not_end_of_file),
		T(test_rejects_badly_named_policy_file),
		T(test_short_error_buffer_is_truncated_not_overrun),
		T(test_parse_file_reads_policy_from_disk),
		T(test_parse_file_reports_missing_file),
		T(test_validates_good_policy_and_parses_values),
		T(test_validates_full_example_policy),
		T(test_accepts_kernel_congestion_control),
		T(test_accepts_param_of_module_pulled_in_as_dependency),
		T(test_rejects_unknown_helper_module),
		T(test_rejects_congestion_control_listed_in_helpers),
		T(test_rejects_helper_as_congestion),
		T(test_rejects_unknown_congestion_control),
		T(test_rejects_missing_dependency_naming_the_chain),
		T(test_rejects_param_out_of_range_naming_valid_range),
		T(test_rejects_param_below_range),
		T(test_rejects_non_integer_param),
		T(test_rejects_param_of_module_the_container_does_not_use),
		T(test_rejects_param_of_unknown_module),
		T(test_rejects_unknown_param_listing_valid_ones),
		T(test_rejects_param_of_module_without_params),
		T(test_parses_bool_params_in_all_spellings),
		T(test_rejects_invalid_bool_param),
		T(test_param_value_parses_int_in_range),
		T(test_param_value_rejects_int_out_of_range),
		T(test_param_value_rejects_non_integers),
		T(test_param_value_accepts_int64_extremes),
		T(test_param_value_rejects_negative_uint),
		T(test_param_value_parses_bool),
		T(test_param_value_applies_range_to_bool),
		T(test_name_from_path_strips_dir_and_conf),
		T(test_name_from_path_rejects_bad_names),
		T(test_name_from_path_limits_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
