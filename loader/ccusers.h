/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which congestion control each live TCP connection uses, in every network
 * namespace, and moving connections off one (--migrate). The iterator
 * programs are loaded once, on first use.
 */
#ifndef KHELP_CCUSERS_H
#define KHELP_CCUSERS_H

#include <stddef.h>
#include <linux/types.h>
#include <json-c/json.h>

/* Connections (not listeners) using CC name, or -errno when the walk failed. */
int ccusers__count(const char *name);
/* names (a JSON object) gets name -> connections for every CC in use; 0 or -errno. */
int ccusers__counts(json_object *names);

/* Where a migrated connection goes: the default CC of the container of its cgroup. */
struct ccusers_target {
	__u64 cgroup_id;
	const char *cc;
};
/*
 * Move every connection using `from` to its container's default (targets,
 * by the socket's cgroup or an ancestor) or to `fallback`. 0 with *moved,
 * or -errno with err.
 */
int ccusers__migrate(const char *from, const char *fallback, const struct ccusers_target *targets, size_t n,
		     int *moved, char *err, size_t errlen);
void ccusers__free(void);

#endif
