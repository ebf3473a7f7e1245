// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rules that span the module registry and the containers, which never call
 * each other: who holds a module, unloading (now, --drain, --migrate),
 * replacing a module in place, and re-applying policies after modules
 * changed. That re-apply is batched: however many modules one event-loop
 * turn loads, every policy is applied once, at the end of the turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ccusers.h"
#include "conns.h"
#include "containers.h"
#include "lifecycle.h"
#include "log.h"
#include "refcount.h"
#include "registry.h"
#include "sysctl.h"

/* Finish what the registry left to us: move containers to replacements, or keep the old version. */
static void replacements__settle(struct daemon *d)
{
	struct module *m;

	while ((m = registry__next_replacement(d))) {
		char err[KHELP_REASON_MAX];

		if (container__replace_module(d, m->replaced, m, err, sizeof(err)))
			registry__abandon_replacement(d, m, err);
		else
			registry__retire_replaced(d, m);
	}
}

/* Containers' names and dependents' names of m (malloc'ed arrays), and its connections. */
struct holders {
	struct refcount_input in;
	const char **cts;
	const char **deps;
};

static int holders__gather(struct daemon *d, struct module *m, struct holders *h)
{
	size_t nct = 0, ndep = 0;
	int conns;

	memset(h, 0, sizeof(*h));
	for (struct container *c = d->containers; c; c = c->next)
		nct += container__uses(c, m);
	ndep = registry__dependents(d, m, NULL, 0);
	h->cts = calloc(nct ? nct : 1, sizeof(*h->cts));
	h->deps = calloc(ndep ? ndep : 1, sizeof(*h->deps));
	if (!h->cts || !h->deps) {
		free(h->cts);
		free(h->deps);
		return -ENOMEM;
	}
	h->in.containers = h->cts;
	h->in.dependents = h->deps;
	for (struct container *c = d->containers; c; c = c->next)
		if (container__uses(c, m))
			h->cts[h->in.ncontainers++] = c->name;
	h->in.ndependents = registry__dependents(d, m, h->deps, ndep);
	conns = conns__count(m);
	if (conns >= 0 && (m->meta.desc.classes & KHELP_CLASS_CC)) {
		/* a CC is held by the connections that use it, data or not */
		int users = ccusers__count(m->meta.desc.name);

		if (users < 0 || users > conns)
			conns = users;
	}
	if (conns < 0)
		pr_warn("module %s: cannot count its connections: %s\n", m->meta.desc.name, strerror(-conns));
	h->in.connections = conns;
	return 0;
}

static void holders__free(struct holders *h)
{
	free(h->cts);
	free(h->deps);
}

int lifecycle__holders(struct daemon *d, struct module *m, json_object *holders)
{
	struct holders h;
	int n;

	if (holders__gather(d, m, &h))
		return -ENOMEM;
	n = refcount__holders(&h.in, holders);
	holders__free(&h);
	return n;
}

int lifecycle__scan(struct daemon *d)
{
	int ret = registry__scan(d);

	replacements__settle(d);
	d->reapply = 1;
	return ret;
}

int lifecycle__module_changed(struct daemon *d, const char *file, char *err, size_t errlen)
{
	int ret = registry__file_changed(d, file, err, errlen);

	replacements__settle(d);
	if (ret)
		return ret;
	registry__retry_waiting(d);
	replacements__settle(d);
	d->reapply = 1;
	return 0;
}

static void lifecycle__unload_now(struct daemon *d, struct module *m)
{
	container__detach_module_everywhere(d, m);
	registry__remove(d, m);
}

int lifecycle__module_removed(struct daemon *d, const char *file)
{
	struct module *m = registry__find_file(d, file);
	int n;

	if (!m)
		return 0;
	if (!registry__forget_file(d, file))
		return 0;	/* rejected or waiting */
	n = lifecycle__holders(d, m, NULL);
	if (!n) {
		pr_info("module file %s removed: unloading %s\n", file, m->meta.desc.name);
		lifecycle__unload_now(d, m);
		return 0;
	}
	m->unload_when_free = 1;
	snprintf(m->reason, sizeof(m->reason), "file removed: unloads when nothing holds it (EBUSY until then)");
	pr_info("module file %s removed but %s is in use: unload pending\n", file, m->meta.desc.name);
	return -EBUSY;
}

/* --migrate: move live connections off CC m to their container's default (or the system default). */
static int lifecycle__migrate(struct daemon *d, struct module *m, char *err, size_t errlen)
{
	const char *name = m->meta.desc.name;
	char fallback[KHELP_NAME_MAX] = "";
	struct ccusers_target *targets;
	size_t n = 0, max = 0;
	int moved = 0, ret;

	if (!(m->meta.desc.classes & KHELP_CLASS_CC)) {
		snprintf(err, errlen, "--migrate is for congestion control modules; %s is a helper", name);
		return -EINVAL;
	}
	for (struct container *c = d->containers; c; c = c->next) {
		if (container__uses(c, m)) {
			snprintf(err, errlen, "module %s is in use by container %s (its default or a dependency): change that policy first",
				 name, c->name);
			return -EBUSY;
		}
		max++;
	}
	ret = sysctl__cc_default(fallback, sizeof(fallback));
	if (ret) {
		snprintf(err, errlen, "cannot read the system default congestion control: %s", strerror(-ret));
		return ret;
	}
	if (!strcmp(fallback, name)) {
		snprintf(err, errlen, "%s is the system default congestion control: nothing to migrate to", name);
		return -EBUSY;
	}
	targets = calloc(max ? max : 1, sizeof(*targets));
	if (!targets)
		return -ENOMEM;
	for (struct container *c = d->containers; c; c = c->next)
		if (c->state == CT_ACTIVE && c->pol->congestion[0] && strcmp(c->pol->congestion, name))
			targets[n++] = (struct ccusers_target){ .cgroup_id = c->cgroup_id, .cc = c->pol->congestion };
	ret = ccusers__migrate(name, fallback, targets, n, &moved, err, errlen);
	free(targets);
	return ret;
}

int lifecycle__unload(struct daemon *d, const char *name, int drain, int migrate, char *err, size_t errlen)
{
	struct module *m = registry__find(d, name);
	struct holders h;
	json_object *holders;
	const char *list;
	int n, ret;

	if (!m) {
		if (!registry__forget_waiting(d, name))
			return 0;
		snprintf(err, errlen, "no module %s is loaded (see khelpctl modules)", name);
		return -ENOENT;
	}
	if (migrate && (ret = lifecycle__migrate(d, m, err, errlen)))
		return ret;
	if (holders__gather(d, m, &h))
		return -ENOMEM;
	holders = json_object_new_array();
	n = refcount__holders(&h.in, holders);
	list = json_object_to_json_string_ext(holders, JSON_C_TO_STRING_PLAIN);
	switch (refcount__unload(&h.in, drain)) {
	case UNLOAD_NOW:
		ret = 0;
		break;
	case UNLOAD_BUSY:
		snprintf(err, errlen, "module %s is in use (refcount %d), held by %s; use --drain to unload it when free",
			 name, n, list);
		ret = -EBUSY;
		break;
	case UNLOAD_BLOCKED:
		snprintf(err, errlen, "module %s is a dependency of %s: unload %s first", name, h.deps[0], h.deps[0]);
		ret = -EBUSY;
		break;
	case UNLOAD_UNKNOWN:
		snprintf(err, errlen, "module %s: cannot count its live connections (%s), so it stays loaded; try again",
			 name, strerror(-h.in.connections));
		ret = -EAGAIN;
		break;
	case UNLOAD_DRAIN:
		ret = -EINPROGRESS;
		break;
	}
	json_object_put(holders);
	holders__free(&h);
	if (!ret) {
		lifecycle__unload_now(d, m);
		return 0;
	}
	if (ret != -EINPROGRESS)
		return ret;
	m->state = MOD_DRAINING;
	m->unload_when_free = 1;
	if (container__drain_module(d, m, err, errlen))
		pr_warn("module %s: %s\n", name, err);
	snprintf(m->reason, sizeof(m->reason), "draining: unloads when its last connection closes");
	pr_info("module %s draining\n", name);
	return -EINPROGRESS;
}

void lifecycle__reap(struct daemon *d)
{
	for (struct module *m = d->modules, *next; m; m = next) {
		struct holders h;
		int done;

		next = m->next;
		if (!m->unload_when_free || holders__gather(d, m, &h))
			continue;
		done = m->state == MOD_DRAINING ? refcount__drained(&h.in)
						 : h.in.connections >= 0 && refcount__holders(&h.in, NULL) == 0;
		holders__free(&h);
		if (done) {
			lifecycle__unload_now(d, m);
			next = d->modules;	/* the list changed */
		}
	}
}

int lifecycle__detach_all(struct daemon *d)
{
	struct module *m;
	int n = 0;

	/* dependents before what they depend on */
	while ((m = registry__leaf(d))) {
		n += !!m->obj;
		container__detach_module_everywhere(d, m);
		registry__detach(d, m);
	}
	return n;
}

void lifecycle__flush(struct daemon *d)
{
	if (d->reapply) {
		d->reapply = 0;
		container__reapply_all(d);
	}
	container__nest_sync(d);
}
