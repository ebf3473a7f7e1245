/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Rules that span modules and containers: who holds a module, unload /
 * drain / migrate, replace in place, and the one re-apply of every policy
 * per event-loop turn after modules changed.
 */
#ifndef KHELP_LIFECYCLE_H
#define KHELP_LIFECYCLE_H

#include <stddef.h>
#include <json-c/json.h>
#include "daemon.h"
#include "module.h"

/* Refcount of m; holders (may be NULL) gets who holds it. */
int lifecycle__holders(struct daemon *d, struct module *m, json_object *holders);
/* Load every module file, then (at the end of the turn) apply every policy. */
int lifecycle__scan(struct daemon *d);
/* A module file appeared/changed (0 or -errno with err), or went. */
int lifecycle__module_changed(struct daemon *d, const char *file, char *err, size_t errlen);
int lifecycle__module_removed(struct daemon *d, const char *file);
/* 0 (unloaded), -EINPROGRESS (draining) or -errno with err. */
int lifecycle__unload(struct daemon *d, const char *name, int drain, int migrate, char *err, size_t errlen);
/* Periodic: finish drains and pending unloads whose holders are gone. */
void lifecycle__reap(struct daemon *d);
/*
 * khelpctl shutdown --detach: unload every module (containers are detached
 * first), pins and CC registrations included; the files stay. How many.
 */
int lifecycle__detach_all(struct daemon *d);
/* End of an event-loop turn: the one re-apply of every policy, if modules changed; the nesting bits. */
void lifecycle__flush(struct daemon *d);

#endif
