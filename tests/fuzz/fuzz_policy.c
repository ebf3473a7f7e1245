// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a policy file of arbitrary bytes, parsed as fuzz.conf and,
 * when it parses, validated against a fake set of loaded modules (with a
 * dependency, a missing dependency, a cycle and a module with the most
 * parameters of the longest names) and a kernel offering cubic and reno.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "depgraph.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct khelp_meta mods[7];
static size_t nmods;

static struct khelp_meta *add_module(const char *name, unsigned int classes)
{
	struct khelp_meta *m = &mods[nmods++];

	m->desc.magic = KHELP_META_MAGIC;
	m->desc.abi_version = KHELP_ABI_VERSION;
	snprintf(m->desc.name, sizeof(m->desc.name), "%s", name);
	snprintf(m->desc.version, sizeof(m->desc.version), "1.0");
	m->desc.classes = classes;
	m->desc.hooks = classes & KHELP_CLASS_CC ? KHELP_HOOK_BIT(KHELP_HOOK_CC)
						 : KHELP_HOOK_BIT(KHELP_HOOK_TCP_EST_IN);
	return m;
}

static void add_dep(struct khelp_meta *m, const char *dep)
{
	snprintf(m->deps[m->ndeps++].name, KHELP_NAME_MAX, "%s", dep);
}

static void add_param(struct khelp_meta *m, const char *name, unsigned int type, long long min, long long max)
{
	struct khelp_param_desc *p = &m->params[m->desc.nparams];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = type;
	p->index = m->desc.nparams++;
	p->min = min;
	p->max = max;
	p->def = min;
}

static void setup(void)
{
	struct khelp_meta *m;
	char name[KHELP_PARAM_NAME_MAX];

	m = add_module("h_ertt", KHELP_CLASS_TCP);
	m->desc.flags = KHELP_F_NEEDS_DATA;
	m->desc.data_size = 32;
	snprintf(m->desc.data_type, sizeof(m->desc.data_type), "struct h_ertt");
	add_param(m, "samples", KHELP_PARAM_UINT, 1, 64);
	m = add_module("kh_vegas", KHELP_CLASS_CC);
	add_dep(m, "h_ertt");
	add_param(m, "alpha", KHELP_PARAM_INT, 1, 100);
	add_param(m, "beta", KHELP_PARAM_INT, 1, 100);
	add_param(m, "ecn", KHELP_PARAM_BOOL, 0, 1);
	m = add_module("h_other", KHELP_CLASS_TCP);
	add_param(m, "level", KHELP_PARAM_INT, INT64_MIN, INT64_MAX);
	m = add_module("h_dep", KHELP_CLASS_TCP);
	add_dep(m, "h_missing");
	m = add_module("h_cyca", KHELP_CLASS_TCP);
	add_dep(m, "h_cycb");
	m = add_module("h_cycb", KHELP_CLASS_TCP);
	add_dep(m, "h_cyca");
	m = add_module("h_many", KHELP_CLASS_TCP | KHELP_CLASS_CC);
	m->desc.hooks |= KHELP_HOOK_BIT(KHELP_HOOK_TCP_RTT);
	for (int i = 0; i < KHELP_MAX_PARAMS; i++) {
		snprintf(name, sizeof(name), "p%02d_a_parameter_with_long_name", i);
		add_param(m, name, i % 3 + 1, 0, 1);
	}
}

static const struct khelp_meta *env_module(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < nmods; i++)
		if (!strcmp(mods[i].desc.name, name))
			return &mods[i];
	return NULL;
}

static int env_kernel_cc(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "cubic") || !strcmp(name, "reno");
}

static int env_closure(void *ctx, const struct policy *p, const char **out, size_t outmax, char *err,
		       size_t errlen)
{
	static const char *dep_names[ARRAY_SIZE(mods)][KHELP_MAX_DEPS];
	struct dep_node nodes[ARRAY_SIZE(mods)];
	const char *req[POLICY_MAX_HELPERS + 1];
	size_t nreq = 0;

	(void)ctx;
	for (size_t i = 0; i < nmods; i++) {
		for (unsigned int k = 0; k < mods[i].ndeps; k++)
			dep_names[i][k] = mods[i].deps[k].name;
		nodes[i] = (struct dep_node){ .name = mods[i].desc.name, .deps = dep_names[i],
					      .ndeps = mods[i].ndeps };
	}
	for (unsigned int i = 0; i < p->nhelpers; i++)
		req[nreq++] = p->helpers[i];
	if (p->congestion[0] && env_module(NULL, p->congestion))
		req[nreq++] = p->congestion;
	return depgraph__resolve(nodes, nmods, req, nreq, out, outmax, err, errlen);
}

static const struct policy_env env = {
	.module = env_module,
	.kernel_cc = env_kernel_cc,
	.closure = env_closure,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy p;
	char err[512];
	int ret;

	if (!nmods)
		setup();
	err[0] = '\0';
	ret = policy__parse_buf("fuzz.conf", (const char *)data, size, &p, err, sizeof(err));
	if (ret > 0 || (ret < 0 && (!err[0] || strncmp(err, "fuzz.conf:", 10))))
		__builtin_trap();	/* every parse error names the file */
	if (ret)
		return 0;
	if (!p.cgroup[0] || p.nhelpers > POLICY_MAX_HELPERS || p.nparams > POLICY_MAX_PARAMS)
		__builtin_trap();
	err[0] = '\0';
	ret = policy__validate(&p, &env, err, sizeof(err));
	if (ret > 0 || (ret < 0 && (!err[0] || strncmp(err, "fuzz.conf:", 10))))
		__builtin_trap();
	if (ret == 0) {
		/* every parameter of a valid policy is within its declared range */
		for (unsigned int i = 0; i < p.nparams; i++) {
			const struct khelp_meta *m = env_module(NULL, p.params[i].module);
			const struct khelp_param_desc *d = m ? meta__param(m, p.params[i].key) : NULL;

			if (!d || p.params[i].parsed < d->min || p.params[i].parsed > d->max)
				__builtin_trap();
		}
	}
	return 0;
}
