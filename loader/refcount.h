/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Who holds a module, and what an unload request may do about it. */
#ifndef KHELP_REFCOUNT_H
#define KHELP_REFCOUNT_H

#include <stddef.h>
#include <json-c/json.h>

struct refcount_input {
	const char *const *containers;	/* containers that use the module (directly or as a dependency) */
	size_t ncontainers;
	const char *const *dependents;	/* loaded or waiting modules that depend on it */
	size_t ndependents;
	int connections;		/* live connections holding its data, or using it as their CC;
					   -errno when they could not be counted */
};

enum unload_verdict {
	UNLOAD_NOW,		/* nothing holds it */
	UNLOAD_BUSY,		/* held, and no --drain: EBUSY */
	UNLOAD_DRAIN,		/* --drain: no new connections, unload when the last one closes */
	UNLOAD_BLOCKED,		/* --drain, but a dependent module must go first: EBUSY */
	UNLOAD_UNKNOWN,		/* its connections could not be counted (connections < 0): refuse */
};

/* The refcount; holders (may be NULL) gets "container X", "module Y", "N connections". */
int refcount__holders(const struct refcount_input *in, json_object *holders);
enum unload_verdict refcount__unload(const struct refcount_input *in, int drain);
/* A draining module unloads once no connection holds it (its containers let go at once). */
int refcount__drained(const struct refcount_input *in);

#endif
