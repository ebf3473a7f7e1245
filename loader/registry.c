// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The module registry: the list of modules, what happens when a file in the
 * module directory appears, changes or goes, and modules waiting for their
 * dependencies. It never touches containers: a replacement in place is
 * recorded (new->replaced) for the layer above to finish.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "depgraph.h"
#include "log.h"
#include "registry.h"
#include "sysctl.h"

static void waiting__explain(struct daemon *d);

struct module *registry__find(struct daemon *d, const char *name)
{
	return module__find(d->modules, name);
}

struct module *registry__find_file(struct daemon *d, const char *file)
{
	struct module *rejected = NULL;

	for (struct module *m = d->modules; m; m = m->next) {
		if (strcmp(m->file, file))
			continue;
		if (m->state != MOD_REJECTED)
			return m;
		rejected = m;
	}
	return rejected;
}

static void registry__push(struct daemon *d, struct module *m)
{
	m->next = d->modules;
	d->modules = m;
}

static struct module *registry__new(struct daemon *d, const char *file)
{
	struct module *m = module__new(file);

	if (m)
		registry__push(d, m);
	return m;
}

static void registry__unlink(struct daemon *d, struct module *m)
{
	for (struct module **pp = &d->modules; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			return;
		}
}

static void registry__free(struct daemon *d, struct module *m, int unpin)
{
	module__close(m, d->cfg.bpffs, unpin);
	registry__unlink(d, m);
	free(m);
}

static void file__id(const struct stat *st, struct file_id *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	id->size = st->st_size;
}

static int deps__ready(struct daemon *d, const struct khelp_meta *meta, char *missing, size_t size)
{
	for (unsigned int i = 0; i < meta->ndeps; i++) {
		struct module *dep = registry__find(d, meta->deps[i].name);

		if (!dep || dep->state != MOD_ACTIVE) {
			snprintf(missing, size, "%s", meta->deps[i].name);
			return 0;
		}
	}
	return 1;
}

static void module__reject(struct daemon *d, const char *file, const char *why)
{
	struct module *m = NULL;

	for (struct module *it = d->modules; it; it = it->next)
		if (it->state == MOD_REJECTED && !strcmp(it->file, file))
			m = it;
	if (!m)
		m = registry__new(d, file);
	if (!m)
		return;
	m->state = MOD_REJECTED;
	snprintf(m->reason, sizeof(m->reason), "%s", why);
	pr_warn("module file %s rejected: %s\n", file, why);
}

static void rejected__forget(struct daemon *d, const char *file)
{
	for (struct module *m = d->modules, *next; m; m = next) {
		next = m->next;
		if (m->state == MOD_REJECTED && !strcmp(m->file, file))
			registry__free(d, m, 0);
	}
}

/* file was not taken: the version in force (cur) stays and says why, or the file is listed as rejected. */
static void file__refused(struct daemon *d, const char *file, struct module *cur, const char *why)
{
	if (!cur) {
		module__reject(d, file, why);
		return;
	}
	snprintf(cur->reason, sizeof(cur->reason), "new file rejected, previous version kept: %s", why);
	pr_warn("module file %s rejected, %s %s stays loaded: %s\n", file, cur->meta.desc.name,
		cur->meta.desc.version, why);
}

/* Load (or wait, or reject) one file; never retries others and never touches containers. */
static int registry__load_file(struct daemon *d, const char *file, char *err, size_t errlen)
{
	char path[PATH_MAX], why[KHELP_REASON_MAX], missing[KHELP_NAME_MAX];
	struct module *cur, *m, *other;
	struct module *deps[KHELP_MAX_DEPS];
	struct khelp_meta meta;
	struct file_id fid;
	struct stat st;
	size_t len = 0;
	char *buf = NULL;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", d->cfg.modules, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* one read: the metadata checked is that of the bytes loaded */
	ret = meta__slurp(path, &buf, &len, &st, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", file, why);
		return ret == -EINVAL ? -ENOENT : ret;
	}
	file__id(&st, &fid);
	cur = registry__find_file(d, file);
	if (cur && cur->state != MOD_REJECTED && !memcmp(&cur->fid, &fid, sizeof(fid))) {
		free(buf);
		return 0;	/* unchanged */
	}
	if (cur && cur->state == MOD_REJECTED)
		cur = NULL;	/* a rejected entry is replaced by module__reject/rejected__forget */

	ret = meta__parse(buf, len, &meta, why, sizeof(why));
	if (!ret) {
		other = registry__find(d, meta.desc.name);
		for (struct module *it = d->modules; !other && it; it = it->next)
			if (it->state == MOD_WAITING && !strcmp(it->meta.desc.name, meta.desc.name))
				other = it;
		if (other && strcmp(other->file, file)) {
			snprintf(why, sizeof(why), "module name %s is already provided by %s", meta.desc.name,
				 other->file);
			ret = -EEXIST;
		}
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", file, why);
		file__refused(d, file, cur, why);
		free(buf);
		return ret;
	}

	if (cur && strcmp(cur->meta.desc.name, meta.desc.name)) {
		snprintf(err, errlen, "%s: now declares module %s instead of %s; remove the file and drop the new one",
			 file, meta.desc.name, cur->meta.desc.name);
		snprintf(cur->reason, sizeof(cur->reason), "new file rejected, previous version kept: renamed module");
		free(buf);
		return -EINVAL;
	}

	rejected__forget(d, file);
	if (cur && cur->state == MOD_WAITING) {
		registry__free(d, cur, 0);
		cur = NULL;
	}
	m = module__new(file);
	if (!m) {
		free(buf);
		return -ENOMEM;
	}
	module__set_meta(m, &meta);
	m->fid = fid;
	if (!deps__ready(d, &meta, missing, sizeof(missing))) {
		m->state = MOD_WAITING;
		snprintf(m->reason, sizeof(m->reason), "waiting for dependency %s to load", missing);
		registry__push(d, m);
		pr_info("module %s waits: %s\n", meta.desc.name, m->reason);
		if (cur)	/* a replacement with a missing dependency: keep the old one */
			snprintf(cur->reason, sizeof(cur->reason), "new version waits for dependency %s", missing);
		free(buf);
		return 0;
	}
	for (unsigned int i = 0; i < meta.ndeps; i++)
		deps[i] = registry__find(d, meta.deps[i].name);
	ret = module__load(m, buf, len, deps, meta.ndeps, d->cfg.bpffs, why, sizeof(why));
	free(buf);
	if (ret) {
		free(m);
		snprintf(err, errlen, "%s: %s", file, why);
		file__refused(d, file, cur, why);
		return ret;
	}
	m->state = MOD_ACTIVE;
	registry__push(d, m);
	if (cur) {
		/* replace in place: the layer above moves the containers, then retires cur */
		m->replaced = cur;
		pr_info("module %s: version %s from %s replaces %s\n", meta.desc.name, meta.desc.version, file,
			cur->meta.desc.version);
	} else {
		pr_info("module %s %s loaded from %s\n", meta.desc.name, meta.desc.version, file);
	}
	return 0;
}

int registry__file_changed(struct daemon *d, const char *file, char *err, size_t errlen)
{
	int ret = registry__load_file(d, file, err, errlen);

	waiting__explain(d);
	return ret;
}

/* Why a waiting module waits: the dependency chain, or the cycle it is part of. */
static void waiting__explain(struct daemon *d)
{
	struct dep_node *nodes;
	const char **out;
	size_t n = 0, max = 0;
	int waiting = 0;

	for (struct module *m = d->modules; m; m = m->next) {
		max++;
		waiting |= m->state == MOD_WAITING;
	}
	if (!waiting)
		return;
	nodes = calloc(max ? max : 1, sizeof(*nodes));
	out = calloc(max ? max : 1, sizeof(*out));
	if (!nodes || !out) {
		free(nodes);
		free(out);
		return;
	}
	for (struct module *m = d->modules; m; m = m->next) {
		if (m->state == MOD_REJECTED || !m->meta_ok)
			continue;
		nodes[n] = (struct dep_node){ .name = m->meta.desc.name, .deps = m->dep_names,
					      .ndeps = m->meta.ndeps };
		n++;
	}
	for (struct module *m = d->modules; m; m = m->next) {
		const char *req[1] = { m->meta.desc.name };
		char why[KHELP_REASON_MAX - 64];
		int ret;

		if (m->state != MOD_WAITING)
			continue;
		ret = depgraph__resolve(nodes, n, req, 1, out, max, why, sizeof(why));
		if (ret == -ELOOP) {
			snprintf(m->reason, sizeof(m->reason), "refused: dependency cycle %s", why);
			pr_warn("module %s refused: dependency cycle %s\n", m->meta.desc.name, why);
		} else if (ret < 0) {
			snprintf(m->reason, sizeof(m->reason), "waiting for a dependency: %s", why);
		}
	}
	free(nodes);
	free(out);
}

/* Load waiting modules whose dependencies are there, until none is left to load (no recursion). */
void registry__retry_waiting(struct daemon *d)
{
	int progress = 1;

	while (progress) {
		progress = 0;
		for (struct module *m = d->modules; m; m = m->next) {
			char err[KHELP_REASON_MAX], file[NAME_MAX + 1], missing[KHELP_NAME_MAX];

			if (m->state != MOD_WAITING || !deps__ready(d, &m->meta, missing, sizeof(missing)))
				continue;
			snprintf(file, sizeof(file), "%s", m->file);
			registry__free(d, m, 0);
			registry__load_file(d, file, err, sizeof(err));
			progress = 1;
			break;
		}
	}
	waiting__explain(d);
}

struct module *registry__next_replacement(struct daemon *d)
{
	for (struct module *m = d->modules; m; m = m->next)
		if (m->replaced)
			return m;
	return NULL;
}

void registry__retire_replaced(struct daemon *d, struct module *m)
{
	struct module *old = m->replaced;

	m->replaced = NULL;
	module__event(old, KHELP_EV_MODULE_DESTROY, 0, NULL);
	registry__free(d, old, 0);
	pr_info("module %s replaced by version %s\n", m->meta.desc.name, m->meta.desc.version);
}

void registry__abandon_replacement(struct daemon *d, struct module *m, const char *why)
{
	struct module *old = m->replaced;
	int ret;

	m->replaced = NULL;
	module__event(m, KHELP_EV_MODULE_DESTROY, 0, NULL);
	registry__free(d, m, 0);
	ret = module__reinstate(old, d->cfg.bpffs);
	snprintf(old->reason, sizeof(old->reason), "new file rejected, previous version kept: %s%s", why,
		 ret ? " (its pins could not all be restored)" : "");
	pr_warn("module %s: new version rejected, version %s stays: %s\n", old->meta.desc.name,
		old->meta.desc.version, why);
}

int registry__dependents(struct daemon *d, const struct module *m, const char **out, size_t max)
{
	size_t n = 0;

	for (struct module *o = d->modules; o; o = o->next) {
		if (o == m || o->state == MOD_REJECTED || !o->meta_ok)
			continue;
		for (unsigned int i = 0; i < o->meta.ndeps; i++)
			if (!strcmp(o->meta.deps[i].name, m->meta.desc.name)) {
				if (n < max)
					out[n] = o->meta.desc.name;
				n++;
			}
	}
	return n;
}

int registry__forget_waiting(struct daemon *d, const char *name)
{
	for (struct module *m = d->modules; m; m = m->next)
		if (m->meta_ok && m->state == MOD_WAITING && !strcmp(m->meta.desc.name, name)) {
			registry__free(d, m, 0);
			return 0;
		}
	return -ENOENT;
}

int registry__forget_file(struct daemon *d, const char *file)
{
	struct module *m = registry__find_file(d, file);

	if (!m || (m->state != MOD_REJECTED && m->state != MOD_WAITING))
		return -ENOENT;
	registry__free(d, m, 0);
	return 0;
}

/* Unload m, nothing holding it; keep_file: its file stays (khelpctl shutdown --detach). */
static void registry__unload(struct daemon *d, struct module *m, int keep_file)
{
	char path[PATH_MAX], hidden[PATH_MAX];
	struct file_id fid;
	struct stat st;
	int ret;

	/*
	 * The file leaves the directory so a restart does not bring it back, but
	 * only the file that was loaded: when the unload follows the removal of the
	 * file, a new file may already stand at that name (install(1) unlinks, then
	 * writes); it is the next module, and its own event loads it.
	 */
	snprintf(path, sizeof(path), "%s/%s", d->cfg.modules, m->file);
	snprintf(hidden, sizeof(hidden), "%s/.%s.unloaded", d->cfg.modules, m->file);
	if (!keep_file && !stat(path, &st)) {
		file__id(&st, &fid);
		if (!memcmp(&fid, &m->fid, sizeof(fid)) && rename(path, hidden))
			pr_warn("cannot move %s aside: %s\n", path, strerror(errno));
	}
	if (m->obj) {
		module__event(m, KHELP_EV_MODULE_DESTROY, 0, NULL);
		if ((m->meta.desc.classes & KHELP_CLASS_CC) && (ret = sysctl__cc_allow(m->meta.desc.name, 0)))
			pr_warn("cannot remove %s from the allowed congestion controls: %s\n", m->meta.desc.name,
				strerror(-ret));
		pr_info("module %s %s\n", m->meta.desc.name, keep_file ? "detached" : "unloaded");
	}
	registry__free(d, m, 1);
}

void registry__remove(struct daemon *d, struct module *m)
{
	registry__unload(d, m, 0);
}

void registry__detach(struct daemon *d, struct module *m)
{
	registry__unload(d, m, 1);
}

struct module *registry__leaf(struct daemon *d)
{
	for (struct module *c = d->modules; c; c = c->next) {
		int needed = 0;

		for (struct module *o = d->modules; o && !needed; o = o->next)
			if (o != c && o->meta_ok && c->meta_ok)
				for (unsigned int i = 0; i < o->meta.ndeps; i++)
					needed |= !strcmp(o->meta.deps[i].name, c->meta.desc.name);
		if (!needed)
			return c;
	}
	return d->modules;
}

int registry__is_module_file(const char *file)
{
	size_t len = strlen(file);

	return file[0] != '.' && len > 6 && !strcmp(file + len - 6, ".bpf.o");
}

int registry__scan(struct daemon *d)
{
	struct dirent **ents;
	int n;

	n = scandir(d->cfg.modules, &ents, NULL, alphasort);
	if (n < 0) {
		pr_warn("cannot read module directory %s: %s\n", d->cfg.modules, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char err[KHELP_REASON_MAX];

		if (registry__is_module_file(ents[i]->d_name))
			registry__load_file(d, ents[i]->d_name, err, sizeof(err));
		free(ents[i]);
	}
	free(ents);
	registry__retry_waiting(d);
	return 0;
}

void registry__free_all(struct daemon *d)
{
	while (d->modules)
		registry__free(d, d->modules, 0);
}
