/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The module list: files that appear, change and go; modules waiting for dependencies. */
#ifndef KHELP_REGISTRY_H
#define KHELP_REGISTRY_H

#include <stddef.h>
#include "daemon.h"
#include "module.h"

struct module *registry__find(struct daemon *d, const char *name);	/* active or draining */
struct module *registry__find_file(struct daemon *d, const char *file);
/* A module file's name: <name>.bpf.o, not hidden. */
int registry__is_module_file(const char *file);
/* Load every module file in the directory (and what then stops waiting). */
int registry__scan(struct daemon *d);
/*
 * A file in the module directory appeared or changed: validate, load; 0 or
 * -errno with err. A new version of a loaded module is loaded beside it with
 * m->replaced set: the caller moves the containers, then retires or abandons it.
 */
int registry__file_changed(struct daemon *d, const char *file, char *err, size_t errlen);
/* Load the waiting modules whose dependencies are loaded now (iteratively). */
void registry__retry_waiting(struct daemon *d);
/* A module that replaces another in place and waits for the caller, or NULL. */
struct module *registry__next_replacement(struct daemon *d);
/* The containers moved to m: its predecessor goes (MODULE_DESTROY, closed, pins stay m's). */
void registry__retire_replaced(struct daemon *d, struct module *m);
/* The containers could not move to m: m goes, its predecessor stays in force, with why as its reason. */
void registry__abandon_replacement(struct daemon *d, struct module *m, const char *why);
/* Names of the modules that depend on m (up to max in out); their count. */
int registry__dependents(struct daemon *d, const struct module *m, const char **out, size_t max);
/* Drop a waiting module by name / a rejected or waiting entry by file; 0 or -ENOENT. */
int registry__forget_waiting(struct daemon *d, const char *name);
int registry__forget_file(struct daemon *d, const char *file);
/* Unload m now (nothing holds it: the caller checked): file aside, MODULE_DESTROY, pins removed. */
void registry__remove(struct daemon *d, struct module *m);
/* The same, but the module file stays (khelpctl shutdown --detach). */
void registry__detach(struct daemon *d, struct module *m);
/* A module no other module depends on (any module if there is a cycle), or NULL if none is left. */
struct module *registry__leaf(struct daemon *d);
void registry__free_all(struct daemon *d);

#endif
