// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* khelpd's side of the control protocol: one handler per command, JSON out. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "ccusers.h"
#include "conns.h"
#include "containers.h"
#include "lifecycle.h"
#include "log.h"
#include "notify.h"
#include "offload_ct.h"
#include "pins.h"
#include "registry.h"
#include "server.h"
#include "sysctl.h"

struct reply {
	json_object *ok;
	char err[KHELP_REASON_MAX * 2];
	int errnum;
};

static const char *arg_str(json_object *req, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int arg_bool(json_object *req, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(req, key, &v) && json_object_get_boolean(v);
}

static int fail(struct reply *r, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct reply *r, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->errnum = errnum < 0 ? -errnum : errnum;
	return -1;
}

static json_object *strs(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmd_status(struct daemon *d, json_object *req, struct reply *r)
{
	json_object *o = json_object_new_object(), *paths = json_object_new_object();
	int mods = 0, rejected = 0, cts = 0, active = 0, atts = 0;

	(void)req;
	for (struct module *m = d->modules; m; m = m->next)
		m->state == MOD_REJECTED ? rejected++ : mods++;
	for (struct container *c = d->containers; c; c = c->next, cts++) {
		active += c->state == CT_ACTIVE;
		atts += c->natt;
	}
	json_object_object_add(o, "version", json_object_new_string(KHELP_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uptime_s", json_object_new_int64((mono_ns() - d->started_ns) / 1000000000LL));
	json_object_object_add(o, "modules", json_object_new_int(mods));
	json_object_object_add(o, "rejected", json_object_new_int(rejected));
	json_object_object_add(o, "containers", json_object_new_int(cts));
	json_object_object_add(o, "containers_active", json_object_new_int(active));
	json_object_object_add(o, "attachments", json_object_new_int(atts));
	json_object_object_add(o, "bpf_stats", json_object_new_boolean(d->stats_fd >= 0));
	json_object_object_add(paths, "config", json_object_new_string(d->cfg.path[0] ? d->cfg.path : "(built-in)"));
	json_object_object_add(paths, "modules", json_object_new_string(d->cfg.modules));
	json_object_object_add(paths, "policies", json_object_new_string(d->cfg.policies));
	json_object_object_add(paths, "bpffs", json_object_new_string(d->cfg.bpffs));
	json_object_object_add(paths, "socket", json_object_new_string(d->cfg.socket));
	json_object_object_add(paths, "cgroup_root", json_object_new_string(d->cfg.cgroup_root));
	json_object_object_add(o, "paths", paths);
	r->ok = o;
	return 0;
}

static json_object *module__json(struct daemon *d, struct module *m)
{
	json_object *o = json_object_new_object();
	const struct khelp_module_desc *desc = &m->meta.desc;

	json_object_object_add(o, "name", m->meta_ok ? json_object_new_string(desc->name) : NULL);
	json_object_object_add(o, "file", json_object_new_string(m->file));
	json_object_object_add(o, "state", json_object_new_string(module__state_name(m->state)));
	json_object_object_add(o, "reason", m->reason[0] ? json_object_new_string(m->reason) : NULL);
	if (!m->meta_ok)
		return o;
	{
		const char *classes[2], *hooks[KHELP_HOOK__MAX], *deps[KHELP_MAX_DEPS];
		size_t nc = 0, nh = 0;
		json_object *params = json_object_new_array(), *holders = json_object_new_array();

		if (desc->classes & KHELP_CLASS_TCP)
			classes[nc++] = "tcp";
		if (desc->classes & KHELP_CLASS_CC)
			classes[nc++] = "cc";
		for (unsigned int i = 0; i < KHELP_HOOK__MAX; i++)
			if (desc->hooks & KHELP_HOOK_BIT(i))
				hooks[nh++] = meta__hook_name(i);
		for (unsigned int i = 0; i < m->meta.ndeps; i++)
			deps[i] = m->meta.deps[i].name;
		json_object_object_add(o, "version", json_object_new_string(desc->version));
		json_object_object_add(o, "classes", strs(classes, nc));
		json_object_object_add(o, "hooks", strs(hooks, nh));
		json_object_object_add(o, "deps", strs(deps, m->meta.ndeps));
		json_object_object_add(o, "data_type", desc->data_type[0] ? json_object_new_string(desc->data_type) : NULL);
		json_object_object_add(o, "data_size", json_object_new_int(desc->data_size));
		for (unsigned int i = 0; i < desc->nparams; i++) {
			const struct khelp_param_desc *p = &m->meta.params[i];
			json_object *po = json_object_new_object();

			json_object_object_add(po, "name", json_object_new_string(p->name));
			json_object_object_add(po, "type", json_object_new_string(meta__param_type_name(p->type)));
			json_object_object_add(po, "default", json_object_new_int64(p->def));
			json_object_object_add(po, "min", json_object_new_int64(p->min));
			json_object_object_add(po, "max", json_object_new_int64(p->max));
			json_object_array_add(params, po);
		}
		json_object_object_add(o, "params", params);
		json_object_object_add(o, "refcount",
				       json_object_new_int(module__is_live(m) ? lifecycle__holders(d, m, holders) : 0));
		json_object_object_add(o, "holders", holders);
		if (m->prog_fd >= 0) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);

			if (!bpf_prog_get_info_by_fd(m->prog_fd, &info, &len)) {
				json_object_object_add(o, "prog_id", json_object_new_int(info.id));
				json_object_object_add(o, "run_cnt", json_object_new_uint64(info.run_cnt));
				json_object_object_add(o, "run_time_ns", json_object_new_uint64(info.run_time_ns));
			}
		}
	}
	return o;
}

static int cmp_module_file(const void *a, const void *b)
{
	return strcmp((*(struct module *const *)a)->file, (*(struct module *const *)b)->file);
}

static int cmd_modules(struct daemon *d, json_object *req, struct reply *r)
{
	struct module **sorted;
	size_t n = 0, i = 0;
	json_object *a;

	(void)req;
	for (struct module *m = d->modules; m; m = m->next)
		n++;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return fail(r, ENOMEM, "out of memory listing %zu modules", n);
	for (struct module *m = d->modules; m; m = m->next)
		sorted[i++] = m;
	/* by file name: stable output */
	qsort(sorted, n, sizeof(*sorted), cmp_module_file);
	a = json_object_new_array_ext(n);
	for (i = 0; i < n; i++)
		json_object_array_add(a, module__json(d, sorted[i]));
	free(sorted);
	r->ok = a;
	return 0;
}

static const char *ct_state(enum container_state s)
{
	return s == CT_ACTIVE ? "active" : s == CT_WAITING ? "waiting-for-cgroup" : "invalid";
}

static int cmd_containers(struct daemon *d, json_object *req, struct reply *r)
{
	json_object *a = json_object_new_array();

	(void)req;
	for (struct container *c = d->containers; c; c = c->next) {
		json_object *o = json_object_new_object(), *mods = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "state", json_object_new_string(ct_state(c->state)));
		const struct policy *p = c->pol;

		json_object_object_add(o, "policy", p && p->path[0] ? json_object_new_string(p->path) : NULL);
		json_object_object_add(o, "cgroup", c->cgroup_path ? json_object_new_string(c->cgroup_path)
						    : p && p->cgroup[0] ? json_object_new_string(p->cgroup) : NULL);
		json_object_object_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id));
		json_object_object_add(o, "netns", p && p->netns[0] ? json_object_new_string(p->netns) : NULL);
		json_object_object_add(o, "congestion", p && p->congestion[0] ? json_object_new_string(p->congestion) : NULL);
		for (unsigned int i = 0; i < c->natt; i++)
			json_object_array_add(mods, json_object_new_string(c->att[i].m->meta.desc.name));
		json_object_object_add(o, "modules", mods);
		json_object_object_add(o, "error", c->error ? json_object_new_string(c->error) : NULL);
		json_object_array_add(a, o);
	}
	r->ok = a;
	return 0;
}

/* Each row gets the name of its container (by cgroup id: one hash lookup per row). */
static void conns__name_containers(struct daemon *d, json_object *rows)
{
	json_object *names = json_object_new_object();
	size_t n = json_object_array_length(rows);
	char key[24];

	for (struct container *c = d->containers; c; c = c->next)
		if (c->state == CT_ACTIVE) {
			snprintf(key, sizeof(key), "%llu", (unsigned long long)c->cgroup_id);
			json_object_object_add(names, key, json_object_new_string(c->name));
		}
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(rows, i), *id, *name = NULL;

		if (json_object_object_get_ex(row, "container_id", &id)) {
			snprintf(key, sizeof(key), "%llu", (unsigned long long)json_object_get_uint64(id));
			json_object_object_get_ex(names, key, &name);
		}
		json_object_object_add(row, "container", name ? json_object_get(name) : NULL);
	}
	json_object_put(names);
}

static int cmd_conns(struct daemon *d, json_object *req, struct reply *r)
{
	const char *ct = arg_str(req, "container"), *mod = arg_str(req, "module");
	json_object *rows;

	if (ct && !container__find(d, ct))
		return fail(r, ENOENT, "no container %s (see khelpctl containers)", ct);
	if (mod && !registry__find(d, mod))
		return fail(r, ENOENT, "no module %s is loaded (see khelpctl modules)", mod);
	rows = json_object_new_array();
	if (ct) {
		struct container *c = container__find(d, ct);

		/* a container without its cgroup has no connections */
		if (c->state == CT_ACTIVE)
			conns__dump(d->modules, mod, 1, c->cgroup_id, rows);
	} else {
		conns__dump(d->modules, mod, 0, 0, rows);
	}
	conns__name_containers(d, rows);
	r->ok = rows;
	return 0;
}

/* Copy src into the module directory under its own name, atomically. */
static int copy_into(struct daemon *d, const char *src, const char *base, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dst[PATH_MAX], buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s/.%s.khelpctl", d->cfg.modules, base);
	snprintf(dst, sizeof(dst), "%s/%s", d->cfg.modules, base);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -errno;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(in);
	if (close(out) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, dst))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		snprintf(err, errlen, "cannot copy %s into %s: %s", src, d->cfg.modules, strerror(-ret));
	}
	return ret;
}

static int cmd_load(struct daemon *d, json_object *req, struct reply *r)
{
	const char *path = arg_str(req, "path");
	char err[KHELP_REASON_MAX * 2], base[NAME_MAX + 1], prev[PATH_MAX], dst[PATH_MAX], pathcopy[PATH_MAX];
	struct khelp_meta meta;
	struct module *m;
	int had_prev, ret;

	if (!path)
		return fail(r, EINVAL, "load needs a file");
	snprintf(pathcopy, sizeof(pathcopy), "%s", path);
	snprintf(base, sizeof(base), "%s", basename(pathcopy));
	if (!registry__is_module_file(base))
		return fail(r, EINVAL, "%s: a module file is named <name>.bpf.o", path);
	/* reject what is not a module before it reaches the directory */
	ret = meta__read_file(path, &meta, err, sizeof(err));
	if (ret)
		return fail(r, ret, "%s: %s", path, err);
	snprintf(dst, sizeof(dst), "%s/%s", d->cfg.modules, base);
	snprintf(prev, sizeof(prev), "%s/.%s.prev", d->cfg.modules, base);
	/* keep the previous file under a second name until the new one is in force */
	if (unlink(prev) && errno != ENOENT)
		return fail(r, errno, "cannot remove the stale %s: %s", prev, strerror(errno));
	had_prev = !link(dst, prev);
	if (!had_prev && errno != ENOENT)
		return fail(r, errno, "cannot keep %s as %s: %s; nothing changed", dst, prev, strerror(errno));
	ret = copy_into(d, path, base, err, sizeof(err));
	if (!ret)
		ret = lifecycle__module_changed(d, base, err, sizeof(err));
	if (ret) {
		const struct module *was = registry__find_file(d, base);

		/* the previous file (and version) stay */
		if (had_prev && rename(prev, dst))
			return fail(r, ret, "%s; and the previous file could not be put back (%s): it is %s",
				    err, strerror(errno), prev);
		if (!had_prev && was && was->state == MOD_REJECTED && unlink(dst) && errno != ENOENT)
			return fail(r, ret, "%s; and the rejected %s could not be removed: %s", err, dst,
				    strerror(errno));
		return fail(r, ret, "%s", err);
	}
	if (had_prev && unlink(prev) && errno != ENOENT)
		pr_warn("cannot remove %s (the replaced module file): %s\n", prev, strerror(errno));
	lifecycle__flush(d);	/* the reply shows the containers that took it */
	m = registry__find(d, meta.desc.name);
	r->ok = m ? module__json(d, m) : json_object_new_string("waiting for dependencies");
	return 0;
}

static int cmd_unload(struct daemon *d, json_object *req, struct reply *r)
{
	const char *name = arg_str(req, "name");
	char err[KHELP_REASON_MAX * 2];
	int ret;

	if (!name)
		return fail(r, EINVAL, "unload needs a module name");
	ret = lifecycle__unload(d, name, arg_bool(req, "drain"), arg_bool(req, "migrate"), err, sizeof(err));
	if (ret == -EINPROGRESS) {
		r->ok = json_object_new_string("draining");
		return 0;
	}
	if (ret)
		return fail(r, ret, "%s", err);
	r->ok = json_object_new_string("unloaded");
	return 0;
}

static int cmd_policy_check(struct daemon *d, json_object *req, struct reply *r)
{
	const char *path = arg_str(req, "path");
	char err[KHELP_REASON_MAX * 2];
	int ret;

	if (!path)
		return fail(r, EINVAL, "policy check needs a file");
	ret = container__check(d, path, err, sizeof(err));
	if (ret)
		return fail(r, ret, "%s", err);
	r->ok = json_object_new_string("valid");
	return 0;
}

static int param_target(struct daemon *d, json_object *req, struct reply *r, struct container **c,
			struct module **m)
{
	const char *ct = arg_str(req, "container"), *mod = arg_str(req, "module");

	if (!ct || !mod)
		return fail(r, EINVAL, "param needs CONTAINER MODULE");
	*c = container__find(d, ct);
	if (!*c || (*c)->state != CT_ACTIVE)
		return fail(r, ENOENT, "no active container %s (see khelpctl containers)", ct);
	*m = registry__find(d, mod);
	if (!*m || !container__uses(*c, *m))
		return fail(r, ENOENT, "container %s does not use module %s", ct, mod);
	return 0;
}

static int cmd_param_get(struct daemon *d, json_object *req, struct reply *r)
{
	const char *key = arg_str(req, "key");
	struct container *c;
	struct module *m;
	json_object *o;

	if (param_target(d, req, r, &c, &m))
		return -1;
	if (key && !meta__param(&m->meta, key))
		return fail(r, ENOENT, "module %s has no parameter '%s'", m->meta.desc.name, key);
	o = json_object_new_object();
	for (unsigned int i = 0; i < m->meta.desc.nparams; i++) {
		const struct khelp_param_desc *p = &m->meta.params[i];
		int k;

		if (key && strcmp(key, p->name))
			continue;
		k = policy__find_param(c->pol, m->meta.desc.name, p->name);
		json_object_object_add(o, p->name, json_object_new_int64(k >= 0 ? c->pol->params[k].parsed : p->def));
	}
	r->ok = o;
	return 0;
}

static int cmd_param_set(struct daemon *d, json_object *req, struct reply *r)
{
	const char *key = arg_str(req, "key"), *value = arg_str(req, "value");
	char err[KHELP_REASON_MAX];
	struct container *c;
	struct module *m;
	int ret;

	if (param_target(d, req, r, &c, &m))
		return -1;
	if (!key || !value)
		return fail(r, EINVAL, "param set needs CONTAINER MODULE KEY VALUE");
	ret = container__set_param(d, c, m, key, value, err, sizeof(err));
	if (ret)
		return fail(r, ret, "%s", err);
	return cmd_param_get(d, req, r);
}

/* cc list: every CC the kernel offers, ours marked, where it is a default, how many use it. */
static int cmd_cc_list(struct daemon *d, json_object *req, struct reply *r)
{
	json_object *rows, *counts, *v;
	char def[KHELP_NAME_MAX] = "", *avail, *save = NULL;
	int ret;

	(void)req;
	avail = sysctl__cc_available();
	if (!avail)
		return fail(r, errno, "cannot read the available congestion controls: %s", strerror(errno));
	counts = json_object_new_object();
	ret = ccusers__counts(counts);
	if (ret) {
		free(avail);
		json_object_put(counts);
		return fail(r, ret, "cannot count the connections per congestion control: %s", strerror(-ret));
	}
	sysctl__cc_default(def, sizeof(def));
	rows = json_object_new_array();
	for (char *t = strtok_r(avail, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		json_object *row = json_object_new_object(), *in = json_object_new_array();
		struct module *m = registry__find(d, t);

		json_object_object_add(row, "name", json_object_new_string(t));
		json_object_object_add(row, "module", m ? json_object_new_string(m->file) : NULL);
		json_object_object_add(row, "version", m ? json_object_new_string(m->meta.desc.version) : NULL);
		json_object_object_add(row, "system_default", json_object_new_boolean(!strcmp(t, def)));
		for (struct container *c = d->containers; c; c = c->next)
			if (c->state == CT_ACTIVE && !strcmp(c->pol->congestion, t))
				json_object_array_add(in, json_object_new_string(c->name));
		json_object_object_add(row, "default_in", in);
		json_object_object_add(row, "connections",
				       json_object_new_int(json_object_object_get_ex(counts, t, &v) ? json_object_get_int(v) : 0));
		json_object_array_add(rows, row);
	}
	json_object_put(counts);
	free(avail);
	r->ok = rows;
	return 0;
}

/*
 * shutdown: khelpd exits after this answer. With detach it first removes
 * everything khelp created: container links and CC selectors, modules with
 * their struct_ops registrations, the kh_ names it added to the allowed-CC
 * sysctl, and every pin under the bpffs root. Without, the datapath stays
 * pinned, as on SIGTERM.
 */
static int cmd_shutdown(struct daemon *d, json_object *req, struct reply *r)
{
	json_object *o = json_object_new_object();

	if (!arg_bool(req, "detach")) {
		d->shutdown = 1;
		json_object_object_add(o, "detached", json_object_new_boolean(0));
		json_object_object_add(o, "bpffs", json_object_new_string(d->cfg.bpffs));
		r->ok = o;
		return 0;
	}
	pr_info("shutdown --detach: removing every attachment, module and pin\n");
	json_object_object_add(o, "detached", json_object_new_boolean(1));
	json_object_object_add(o, "containers", json_object_new_int(container__detach_everything(d)));
	json_object_object_add(o, "modules", json_object_new_int(lifecycle__detach_all(d)));
	attach__free();
	ccusers__free();
	if (pins__remove_tree(d->cfg.bpffs))
		pr_warn("cannot remove %s: %s\n", d->cfg.bpffs, strerror(errno));
	json_object_object_add(o, "bpffs", json_object_new_string(d->cfg.bpffs));
	d->shutdown = 2;
	r->ok = o;
	return 0;
}

static int cmd_offload_probe(struct daemon *d, json_object *req, struct reply *r)
{
	char err[KHELP_REASON_MAX];
	int ret;

	(void)d;
	ret = offload_ct__probe(arg_str(req, "interface"), &r->ok, err, sizeof(err));
	return ret ? fail(r, ret, "%s", err) : 0;
}

static int cmd_offload_check(struct daemon *d, json_object *req, struct reply *r)
{
	const char *file = arg_str(req, "file"), *budget = arg_str(req, "budget");
	char err[KHELP_REASON_MAX * 2], *end = NULL;
	long b = -1;
	int ret;

	(void)d;
	if (!file)
		return fail(r, EINVAL, "offload check needs FILE");
	if (budget) {
		b = strtol(budget, &end, 10);
		if (!budget[0] || *end || b < 0 || b > 1000000)
			return fail(r, EINVAL, "--budget %s: not a number of filter slots (0-1000000)", budget);
	}
	ret = offload_ct__check_file(file, arg_str(req, "chip"), (int)b, arg_str(req, "filtermode"), &r->ok, err,
				     sizeof(err));
	return ret ? fail(r, ret, "%s", err) : 0;
}

static int cmd_offload_show(struct daemon *d, json_object *req, struct reply *r)
{
	(void)req;
	return offload_ct__show(d, &r->ok) ? fail(r, ENOMEM, "out of memory") : 0;
}

static int cmd_offload_conns(struct daemon *d, json_object *req, struct reply *r)
{
	const char *ct = arg_str(req, "container");

	/* here, not in offload_ct.c: containers.c calls offload_ct.c, never the other way */
	if (ct && ct[0] && !container__find(d, ct))
		return fail(r, ENOENT, "no container '%s'", ct);
	return offload_ct__conns(d, ct, &r->ok);
}

static const struct {
	const char *name;
	int (*fn)(struct daemon *d, json_object *req, struct reply *r);
} cmds[] = {
	{ "status", cmd_status },
	{ "modules", cmd_modules },
	{ "containers", cmd_containers },
	{ "conns", cmd_conns },
	{ "load", cmd_load },
	{ "unload", cmd_unload },
	{ "policy-check", cmd_policy_check },
	{ "param-get", cmd_param_get },
	{ "param-set", cmd_param_set },
	{ "cc-list", cmd_cc_list },
	{ "shutdown", cmd_shutdown },
	{ "offload-probe", cmd_offload_probe },
	{ "offload-check", cmd_offload_check },
	{ "offload-show", cmd_offload_show },
	{ "offload-conns", cmd_offload_conns },
};

json_object *server__handle(struct daemon *d, json_object *req)
{
	struct reply r = {};
	const char *cmd = req ? arg_str(req, "cmd") : NULL;
	json_object *resp;

	if (!cmd) {
		fail(&r, EINVAL, "bad request: expected a JSON object with a \"cmd\" string");
	} else {
		size_t i;

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (!strcmp(cmds[i].name, cmd))
				break;
		if (i == sizeof(cmds) / sizeof(cmds[0]))
			fail(&r, EINVAL, "unknown command '%.64s'", cmd);
		else
			cmds[i].fn(d, req, &r);
	}
	if (!r.ok)
		return server__error(r.errnum, "%s", r.err);
	resp = json_object_new_object();
	json_object_object_add(resp, "ok", r.ok);
	return resp;
}

json_object *server__error(int errnum, const char *fmt, ...)
{
	json_object *resp = json_object_new_object();
	char msg[KHELP_REASON_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(resp, "error", json_object_new_string(msg));
	json_object_object_add(resp, "errno", json_object_new_int(errnum));
	return resp;
}
