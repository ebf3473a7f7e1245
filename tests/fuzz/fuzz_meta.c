// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the module metadata reader over arbitrary bytes, as
 * khelpd reads any file dropped into its modules directory. A crash, a
 * sanitizer report, a write into the (const) input, or metadata accepted
 * although it breaks the rules meta.c promises, is a finding.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "meta.h"

/* the accepted metadata is what the rest of khelpd relies on */
static void check_accepted(const struct khelp_meta *m)
{
	const struct khelp_module_desc *d = &m->desc;

	if (d->magic != KHELP_META_MAGIC || d->abi_version != KHELP_ABI_VERSION)
		__builtin_trap();
	if (!memchr(d->name, '\0', sizeof(d->name)) || !meta__name_valid(d->name))
		__builtin_trap();
	if (!memchr(d->version, '\0', sizeof(d->version)) || !d->version[0])
		__builtin_trap();
	if (!memchr(d->data_type, '\0', sizeof(d->data_type)))
		__builtin_trap();
	if (!d->classes || (d->classes & ~KHELP_CLASSES_ALL) || (d->flags & ~KHELP_FLAGS_ALL))
		__builtin_trap();
	if (!d->hooks || (d->hooks & ~KHELP_HOOKS_ALL))
		__builtin_trap();
	if (!!(d->flags & KHELP_F_NEEDS_DATA) != !!d->data_size || d->data_size > KHELP_DATA_MAX)
		__builtin_trap();
	if (d->nparams > KHELP_MAX_PARAMS || m->ndeps > KHELP_MAX_DEPS)
		__builtin_trap();
	for (unsigned int i = 0; i < m->ndeps; i++) {
		if (!memchr(m->deps[i].name, '\0', KHELP_NAME_MAX) || !meta__name_valid(m->deps[i].name) ||
		    !strcmp(m->deps[i].name, d->name))
			__builtin_trap();
	}
	for (unsigned int i = 0; i < d->nparams; i++) {
		const struct khelp_param_desc *p = &m->params[i];

		if (!memchr(p->name, '\0', sizeof(p->name)) || meta__param(m, p->name) != p)
			__builtin_trap();
		if (p->index != i || p->min > p->max || p->def < p->min || p->def > p->max)
			__builtin_trap();
		if (strcmp(meta__param_type_name(p->type), "?") == 0)
			__builtin_trap();
	}
	(void)meta__data_type(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct khelp_meta m;
	char err[256];
	int ret;

	err[0] = '\0';
	ret = meta__parse(data, size, &m, err, sizeof(err));
	if (ret > 0)
		__builtin_trap();
	if (ret == 0)
		check_accepted(&m);
	else if (!err[0] || !memchr(err, '\0', sizeof(err)))
		__builtin_trap();	/* every failure says why */
	return 0;
}
