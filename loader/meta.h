/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Module metadata: read from a .bpf.o with libelf, without loading it. */
#ifndef KHELP_META_H
#define KHELP_META_H

#include <stddef.h>
#include <khelp/abi.h>

#define KHELP_MAX_DEPS	64	/* sanity bound on .khelp.deps entries */

struct khelp_meta {
	struct khelp_module_desc desc;
	struct khelp_dep_desc deps[KHELP_MAX_DEPS];
	unsigned int ndeps;
	struct khelp_param_desc params[KHELP_MAX_PARAMS];
};

/* 0 or -errno; on error err holds the reason. */
int meta__parse(const void *buf, size_t len, struct khelp_meta *m, char *err, size_t errlen);
struct stat;
/* Read a module file whole from one open (fstat + read): *buf (the caller frees), *len, *st. */
int meta__slurp(const char *path, char **buf, size_t *len, struct stat *st, char *err, size_t errlen);
int meta__read_file(const char *path, struct khelp_meta *m, char *err, size_t errlen);
/* 1 if s is a valid module name: [a-z0-9_], starts with a letter, 1..15 chars. */
int meta__name_valid(const char *s);
/* Names of hook points, classes and parameter types for output. */
const char *meta__hook_name(unsigned int id);
int meta__hook_id(const char *name);
const char *meta__param_type_name(unsigned int type);
const struct khelp_param_desc *meta__param(const struct khelp_meta *m, const char *name);
/* data_type without a leading "struct " */
const char *meta__data_type(const struct khelp_meta *m);

#endif
