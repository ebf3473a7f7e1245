// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include "refcount.h"

int refcount__holders(const struct refcount_input *in, json_object *holders)
{
	int conns = in->connections > 0 ? in->connections : 0;
	char s[96];

	for (size_t i = 0; holders && i < in->ncontainers; i++) {
		snprintf(s, sizeof(s), "container %s", in->containers[i]);
		json_object_array_add(holders, json_object_new_string(s));
	}
	for (size_t i = 0; holders && i < in->ndependents; i++) {
		snprintf(s, sizeof(s), "module %s", in->dependents[i]);
		json_object_array_add(holders, json_object_new_string(s));
	}
	if (holders && conns) {
		snprintf(s, sizeof(s), "%d connection%s", conns, conns == 1 ? "" : "s");
		json_object_array_add(holders, json_object_new_string(s));
	}
	return (int)(in->ncontainers + in->ndependents) + conns;
}

enum unload_verdict refcount__unload(const struct refcount_input *in, int drain)
{
	/* an unknown count is not zero: unloading could pull a module from under live connections */
	if (in->connections < 0)
		return UNLOAD_UNKNOWN;
	if (!refcount__holders(in, NULL))
		return UNLOAD_NOW;
	if (!drain)
		return UNLOAD_BUSY;
	return in->ndependents ? UNLOAD_BLOCKED : UNLOAD_DRAIN;
}

int refcount__drained(const struct refcount_input *in)
{
	return in->connections == 0 && !in->ndependents;
}
