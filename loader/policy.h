/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-container policy files: parse (syntax, known keys) and validate (semantics). */
#ifndef KHELP_POLICY_H
#define KHELP_POLICY_H

#include <limits.h>
#include <stddef.h>
#include <khelp/abi.h>
#include "meta.h"

#define POLICY_MAX_HELPERS	32
#define POLICY_MAX_PARAMS	128
#define POLICY_NAME_MAX		64	/* container name = file name without .conf */
#define POLICY_VALUE_MAX	256

struct policy_param {
	char module[KHELP_NAME_MAX];
	char key[KHELP_PARAM_NAME_MAX];
	char value[64];
	long long parsed;		/* set by policy__validate */
	int line;
};

struct policy {
	char path[PATH_MAX];
	char name[POLICY_NAME_MAX];
	char cgroup[POLICY_VALUE_MAX];
	int cgroup_line;
	char netns[POLICY_VALUE_MAX];
	int netns_line;
	char congestion[KHELP_NAME_MAX];
	int congestion_line;
	char helpers[POLICY_MAX_HELPERS][KHELP_NAME_MAX];
	unsigned int nhelpers;
	int helpers_line;
	struct policy_param params[POLICY_MAX_PARAMS];
	unsigned int nparams;
	char offload_interface[POLICY_VALUE_MAX];
	int offload_interface_line;
	char offload_policy[POLICY_VALUE_MAX];
	int offload_policy_line;
	char offload_datapath[8];	/* "auto" (or ""), "xdp", "tc" */
	int offload_datapath_line;
};

/* What validation needs to know about the world. */
struct policy_env {
	void *ctx;
	/* metadata of a loaded module, or NULL */
	const struct khelp_meta *(*module)(void *ctx, const char *name);
	/* 1 if name is a congestion control the kernel offers (built in or registered) */
	int (*kernel_cc)(void *ctx, const char *name);
	/* modules the container ends up with (helpers + congestion + dependencies), or -errno */
	int (*closure)(void *ctx, const struct policy *p, const char **out, size_t outmax, char *err,
		       size_t errlen);
};

/* 0 or -errno with "FILE:LINE: ..." in err. name: the container name (file name without .conf). */
int policy__parse_buf(const char *path, const char *buf, size_t len, struct policy *p, char *err,
		      size_t errlen);
int policy__parse_file(const char *path, struct policy *p, char *err, size_t errlen);
int policy__validate(struct policy *p, const struct policy_env *env, char *err, size_t errlen);
/* Container name from a policy file path: basename without ".conf", or -EINVAL. */
int policy__name_from_path(const char *path, char *name, size_t size);
/* Parse a parameter value as its declared type and check the range; 0 or -errno with a message. */
int policy__param_value(const struct khelp_param_desc *d, const char *value, long long *out, char *err,
			size_t errlen);
/* The value of module parameter `key` in p (index into params), or -1. */
int policy__find_param(const struct policy *p, const char *module, const char *key);

#endif
