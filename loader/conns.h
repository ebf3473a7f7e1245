/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Live connections and their per-connection module data (a bpf_iter over each module's sk_storage). */
#ifndef KHELP_CONNS_H
#define KHELP_CONNS_H

#include <linux/types.h>
#include <json-c/json.h>
#include "module.h"

/* Live connections holding m's data, or -errno when they cannot be counted. */
int conns__count(struct module *m);
/*
 * Append one row per live connection holding data of a live module in list
 * (only module `module` if not NULL; only connections of cgroup `container_id`
 * if has_container) to rows: cookie, local, remote, state, container_id,
 * modules: {name: {field: value}}. Linear in the connections. 0, or -ENOENT
 * if module names no live module with data.
 */
int conns__dump(struct module *list, const char *module, int has_container, __u64 container_id,
		json_object *rows);

#endif
