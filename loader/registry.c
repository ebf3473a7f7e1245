// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The module registry: validate a dropped .bpf.o, load it once with the
 * generic bpf_object API (never a skeleton: CC objects carry struct_ops
 * maps), share dependencies' per-connection data maps by name, pin it, and
 * unload it only when nothing holds it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "daemon.h"
#include "depgraph.h"
#include "log.h"
#include "refcount.h"
#include <khelp/platform.h>
#include "khelp_iter.skel.h"

#define VERIFIER_LOG_MAX	(256 << 10)

static void waiting__explain(struct daemon *d);

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int module__event(struct module *m, enum khelp_init_event event, const struct container *c)
{
	struct khelp_init_ctx ctx = { .event = event };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	if (m->init_fd < 0)
		return 0;
	if (c) {
		ctx.container_id = c->cgroup_id;
		snprintf(ctx.container, sizeof(ctx.container), "%s", c->name);
	}
	if (bpf_prog_test_run_opts(m->init_fd, &o)) {
		pr_warn("module %s: cannot run khelp_init: %s\n", m->meta.desc.name, strerror(errno));
		return -errno;
	}
	return (int)o.retval;
}

const char *module__state_name(enum module_state s)
{
	switch (s) {
	case MOD_ACTIVE: return "active";
	case MOD_WAITING: return "waiting";
	case MOD_REJECTED: return "rejected";
	case MOD_DRAINING: return "draining";
	}
	return "?";
}

static int module__is_live(const struct module *m)
{
	return m->state == MOD_ACTIVE || m->state == MOD_DRAINING;
}

struct module *registry__find(struct daemon *d, const char *name)
{
	for (struct module *m = d->modules; m; m = m->next)
		if (module__is_live(m) && !strcmp(m->meta.desc.name, name))
			return m;
	return NULL;
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

static struct module *module__new(struct daemon *d, const char *file)
{
	struct module *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	snprintf(m->file, sizeof(m->file), "%s", file);
	m->prog_fd = m->cgrp_fd = m->data_fd = m->ccfg_fd = m->init_fd = -1;
	m->next = d->modules;
	d->modules = m;
	return m;
}

static void module__unlink(struct daemon *d, struct module *m)
{
	for (struct module **pp = &d->modules; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			return;
		}
}

/* Close what the module holds; pins stay unless unpin is set. */
static void module__close(struct daemon *d, struct module *m, int unpin)
{
	char path[PATH_MAX];

	if (unpin && m->meta_ok && m->obj) {
		pins__path(path, sizeof(path), d->cfg.bpffs, "modules", m->meta.desc.name, NULL);
		pins__remove_tree(path);
	}
	if (m->iter)
		khelp_iter__destroy(m->iter);
	m->iter = NULL;
	if (m->ops_link)
		bpf_link__destroy(m->ops_link);
	m->ops_link = NULL;
	if (m->obj)
		bpf_object__close(m->obj);
	m->obj = NULL;
	m->prog_fd = m->cgrp_fd = m->data_fd = m->ccfg_fd = m->init_fd = -1;
}

static void module__free(struct daemon *d, struct module *m, int unpin)
{
	module__close(d, m, unpin);
	module__unlink(d, m);
	free(m);
}

static int file__id(const char *path, struct file_id *id)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	id->size = st.st_size;
	return 0;
}

/* The verifier's reason: the last lines of its log before the statistics. */
static void verifier_reason(const char *log, char *out, size_t size)
{
	const char *end = strstr(log, "processed ");
	const char *begin, *p;
	int lines = 0;

	if (!end)
		end = strstr(log, "-- END PROG LOAD LOG --");
	if (!end) {
		/* no verifier log: take libbpf's last error line */
		const char *last = NULL;

		for (p = log; (p = strstr(p, "libbpf: ")); p++)
			last = p;
		snprintf(out, size, "%.*s", last ? (int)strcspn(last, "\n") : 0, last ? last : "");
		return;
	}
	begin = end;
	while (begin > log && lines < 2) {
		begin--;
		if (*begin == '\n' && begin + 1 < end)
			lines++;
	}
	if (*begin == '\n')
		begin++;
	snprintf(out, size, "%.*s", (int)(end - begin), begin);
	for (char *c = out; *c; c++)
		if (*c == '\n')
			*c = c[1] ? ';' : '\0';
}

/* Scalar members of the data type, for conns output. */
static int module__read_fields(struct module *m, char *err, size_t errlen)
{
	struct btf *btf = bpf_object__btf(m->obj);
	const struct btf_type *t;
	const struct btf_member *mem;
	__s32 id;

	m->nfields = 0;
	if (!(m->meta.desc.flags & KHELP_F_NEEDS_DATA))
		return 0;
	if (!btf) {
		snprintf(err, errlen, "module %s has no BTF: build it with -g", m->meta.desc.name);
		return -EINVAL;
	}
	id = btf__find_by_name_kind(btf, meta__data_type(&m->meta), BTF_KIND_STRUCT);
	if (id < 0) {
		snprintf(err, errlen, "module %s: data type 'struct %s' not in its BTF", m->meta.desc.name,
			 meta__data_type(&m->meta));
		return -ENOENT;
	}
	if (btf__resolve_size(btf, id) != m->meta.desc.data_size) {
		snprintf(err, errlen, "module %s: data type size %lld differs from declared %u",
			 m->meta.desc.name, (long long)btf__resolve_size(btf, id), m->meta.desc.data_size);
		return -EINVAL;
	}
	t = btf__type_by_id(btf, id);
	mem = btf_members(t);
	for (unsigned int i = 0; i < btf_vlen(t) && m->nfields < KHELP_MAX_FIELDS; i++, mem++) {
		const struct btf_type *mt = btf__type_by_id(btf, btf__resolve_type(btf, mem->type));
		struct data_field *f = &m->fields[m->nfields];
		const char *name = btf__name_by_offset(btf, mem->name_off);

		if (!mt || !name || !name[0] || btf_member_bitfield_size(t, i))
			continue;
		if (btf_is_int(mt) && mt->size <= 8) {
			f->is_signed = !!(btf_int_encoding(mt) & BTF_INT_SIGNED);
		} else if (btf_is_enum(mt) && mt->size <= 8) {
			f->is_signed = 0;
		} else {
			continue;	/* arrays, nested structs: not shown */
		}
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->offset = btf_member_bit_offset(t, i) / 8;
		f->size = mt->size;
		m->nfields++;
	}
	return 0;
}

/* Reuse a pinned map of an earlier instance of this module when it fits. */
static void module__reuse_pinned(struct daemon *d, struct module *m, struct bpf_map *map, const char *pin)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd;

	if (pins__path(path, sizeof(path), d->cfg.bpffs, "modules", m->meta.desc.name, pin))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_map_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(map) &&
	    info.value_size == bpf_map__value_size(map) && info.key_size == bpf_map__key_size(map) &&
	    !bpf_map__reuse_fd(map, fd))
		pr_debug("module %s: reusing pinned map %s\n", m->meta.desc.name, pin);
	close(fd);
}

/* Bind the object's shared maps: own data/config, dependencies' data. */
static int module__bind_maps(struct daemon *d, struct module *m, char *err, size_t errlen)
{
	const size_t plen = strlen(KHELP_DATA_MAP_PREFIX);
	struct bpf_map *map;

	bpf_object__for_each_map(map, m->obj) {
		const char *name = bpf_map__name(map);
		struct module *dep;
		const char *owner;
		int declared = 0;

		if (!strcmp(name, KHELP_CGRP_MAP_NAME)) {
			module__reuse_pinned(d, m, map, "cgrp");
			continue;
		}
		if (!strcmp(name, KHELP_HOOKS_MAP_NAME)) {
			module__reuse_pinned(d, m, map, "hooks");
			continue;
		}
		if (!strcmp(name, "khelp_ccfg")) {
			module__reuse_pinned(d, m, map, "ccfg");
			continue;
		}
		if (strncmp(name, KHELP_DATA_MAP_PREFIX, plen))
			continue;
		owner = name + plen;
		if (!strcmp(owner, m->meta.desc.name)) {
			if (!(m->meta.desc.flags & KHELP_F_NEEDS_DATA)) {
				snprintf(err, errlen, "module %s has a data map but not the needs-data flag", owner);
				return -EINVAL;
			}
			module__reuse_pinned(d, m, map, "data");
			continue;
		}
		for (unsigned int i = 0; i < m->meta.ndeps; i++)
			declared |= !strcmp(m->meta.deps[i].name, owner);
		if (!declared) {
			snprintf(err, errlen, "module %s reads the data of %s without declaring the dependency (KHELP_DEPENDS(\"%s\"))",
				 m->meta.desc.name, owner, owner);
			return -EINVAL;
		}
		dep = registry__find(d, owner);
		if (!dep || dep->data_fd < 0) {
			snprintf(err, errlen, "module %s reads the data of %s, which keeps none", m->meta.desc.name,
				 owner);
			return -ENOENT;
		}
		if (bpf_map__value_size(map) != dep->meta.desc.data_size + sizeof(struct khelp_conn_hdr)) {
			snprintf(err, errlen, "module %s was built against another layout of %s's data (%u bytes, %s has %u): rebuild it",
				 m->meta.desc.name, owner,
				 (unsigned)(bpf_map__value_size(map) - sizeof(struct khelp_conn_hdr)), owner,
				 dep->meta.desc.data_size);
			return -EINVAL;
		}
		if (bpf_map__reuse_fd(map, dep->data_fd)) {
			snprintf(err, errlen, "module %s: cannot share %s's data map", m->meta.desc.name, owner);
			return -EINVAL;
		}
	}
	return 0;
}

static int module__pin(struct daemon *d, struct module *m, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *name = m->meta.desc.name;
	struct {
		int fd;
		const char *pin;
	} pins[] = { { m->prog_fd, "sockops" }, { m->cgrp_fd, "cgrp" }, { m->data_fd, "data" },
		     { m->ccfg_fd, "ccfg" }, { m->init_fd, "init" }, { -1, "hooks" } };
	struct bpf_map *hooks = bpf_object__find_map_by_name(m->obj, KHELP_HOOKS_MAP_NAME);
	int ret;

	/* per container and hook point: callbacks run, connections with data */
	if (hooks)
		pins[5].fd = bpf_map__fd(hooks);

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		if (pins[i].fd < 0)
			continue;
		pins__path(path, sizeof(path), d->cfg.bpffs, "modules", name, pins[i].pin);
		ret = pins__replace_fd(pins[i].fd, path);
		if (ret) {
			snprintf(err, errlen, "cannot pin %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	if (m->iter) {
		union bpf_iter_link_info linfo = { .map.map_fd = m->data_fd };
		LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &linfo, .link_info_len = sizeof(linfo));
		struct bpf_link *l = bpf_program__attach_iter(m->iter->progs.dump_text, &o);

		if (!l) {
			snprintf(err, errlen, "cannot create the conns iterator: %s", strerror(errno));
			return -errno;
		}
		pins__path(path, sizeof(path), d->cfg.bpffs, "modules", name, "conns");
		ret = pins__replace_fd(bpf_link__fd(l), path);
		bpf_link__destroy(l);
		if (ret) {
			snprintf(err, errlen, "cannot pin %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* CC: register the struct_ops, or take over the registration an earlier khelpd pinned. */
static int module__register_cc(struct daemon *d, struct module *m, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct bpf_map *map, *ops = NULL;
	struct bpf_link *old;

	bpf_object__for_each_map(map, m->obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			ops = map;
	if (!ops) {
		snprintf(err, errlen, "congestion control module %s has no tcp_congestion_ops (SEC(\".struct_ops.link\"))",
			 m->meta.desc.name);
		return -EINVAL;
	}
	pins__path(path, sizeof(path), d->cfg.bpffs, "modules", m->meta.desc.name, NULL);
	pins__mkdir(path);
	pins__path(path, sizeof(path), d->cfg.bpffs, "modules", m->meta.desc.name, "ops");
	old = bpf_link__open(path);
	if (old) {
		if (!bpf_link__update_map(old, ops)) {
			m->ops_link = old;
			return 0;
		}
		bpf_link__destroy(old);
		unlink(path);
	}
	m->ops_link = bpf_map__attach_struct_ops(ops);
	if (!m->ops_link) {
		int e = errno;

		snprintf(err, errlen, "cannot register congestion control %s: %s%s", m->meta.desc.name, strerror(e),
			 e == EEXIST ? " (the kernel already has a congestion control of that name)" : "");
		return -e;
	}
	if (bpf_link__pin(m->ops_link, path)) {
		snprintf(err, errlen, "cannot pin %s: %s", path, strerror(errno));
		return -errno;
	}
	cc__allow(m->meta.desc.name, 1);
	return 0;
}

static int module__open_iter(struct module *m, char *err, size_t errlen)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (m->data_fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(m->data_fd, &info, &len))
		return -errno;
	m->iter = khelp_iter__open();
	if (!m->iter) {
		snprintf(err, errlen, "cannot open the conns iterator: %s", strerror(errno));
		return -errno;
	}
	m->iter->rodata->value_size = info.value_size;
	/* the module's own fields, printed by name by `cat .../conns` */
	for (unsigned int i = 0; i < m->nfields && i < KHELP_ITER_MAX_FIELDS; i++) {
		struct khelp_iter_field *f = (struct khelp_iter_field *)&m->iter->rodata->fields[i];

		snprintf(f->name, sizeof(f->name), "%s", m->fields[i].name);
		f->offset = m->fields[i].offset;
		f->size = m->fields[i].size;
		f->is_signed = m->fields[i].is_signed;
		m->iter->rodata->nfields = i + 1;
	}
	if (khelp_iter__load(m->iter)) {
		snprintf(err, errlen, "cannot load the conns iterator: %s", strerror(errno));
		khelp_iter__destroy(m->iter);
		m->iter = NULL;
		return -EINVAL;
	}
	return 0;
}

/* Load a validated module file; on failure nothing of it stays. */
static int module__load(struct daemon *d, struct module *m, const char *path, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = m->meta.desc.name);
	struct bpf_program *prog;
	struct bpf_map *map;
	char *log;
	int ret;

	m->obj = bpf_object__open_file(path, &opts);
	if (!m->obj) {
		ret = -errno;
		snprintf(err, errlen, "libbpf cannot open it: %s", strerror(errno));
		return ret;
	}
	ret = module__bind_maps(d, m, err, errlen);
	if (ret)
		goto fail;
	/* only the sockops entry and struct_ops programs are ours to load */
	bpf_object__for_each_program(prog, m->obj) {
		enum bpf_prog_type t = bpf_program__type(prog);

		if (t != BPF_PROG_TYPE_SOCK_OPS && t != BPF_PROG_TYPE_STRUCT_OPS &&
		    !(t == BPF_PROG_TYPE_SYSCALL && !strcmp(bpf_program__name(prog), KHELP_INIT_PROG))) {
			snprintf(err, errlen, "program %s has type %s; modules carry sockops and struct_ops programs and a syscall program khelp_init only",
				 bpf_program__name(prog), libbpf_bpf_prog_type_str(t));
			ret = -EINVAL;
			goto fail;
		}
	}
	log = calloc(1, VERIFIER_LOG_MAX);
	log__capture(log, log ? VERIFIER_LOG_MAX : 0);
	ret = bpf_object__load(m->obj);
	log__capture(NULL, 0);
	if (ret) {
		char why[600] = "";

		if (log)
			verifier_reason(log, why, sizeof(why));
		snprintf(err, errlen, "the kernel refused it: %s%s%s", strerror(-ret), why[0] ? ": " : "", why);
		free(log);
		goto fail;
	}
	free(log);

	prog = bpf_object__find_program_by_name(m->obj, m->meta.desc.name);
	if (prog && bpf_program__type(prog) != BPF_PROG_TYPE_SOCK_OPS)
		prog = NULL;
	if (!!prog != !!(m->meta.desc.classes & KHELP_CLASS_TCP)) {
		snprintf(err, errlen, "%s: a tcp helper has a sockops entry named after it (from KHELP_MODULE), a cc has none",
			 m->meta.desc.name);
		ret = -EINVAL;
		goto fail;
	}
	m->prog_fd = prog ? bpf_program__fd(prog) : -1;
	if ((map = bpf_object__find_map_by_name(m->obj, KHELP_CGRP_MAP_NAME)))
		m->cgrp_fd = bpf_map__fd(map);
	if ((map = bpf_object__find_map_by_name(m->obj, "khelp_ccfg")))
		m->ccfg_fd = bpf_map__fd(map);
	{
		char dname[64];

		snprintf(dname, sizeof(dname), KHELP_DATA_MAP_PREFIX "%s", m->meta.desc.name);
		if ((map = bpf_object__find_map_by_name(m->obj, dname)))
			m->data_fd = bpf_map__fd(map);
	}
	if ((m->meta.desc.flags & KHELP_F_NEEDS_DATA) && m->data_fd < 0) {
		snprintf(err, errlen, "module %s needs per-connection data but has no map %s%s (KHELP_DATA)",
			 m->meta.desc.name, KHELP_DATA_MAP_PREFIX, m->meta.desc.name);
		ret = -EINVAL;
		goto fail;
	}
	if (prog && m->cgrp_fd < 0) {
		snprintf(err, errlen, "module %s has no %s map", m->meta.desc.name, KHELP_CGRP_MAP_NAME);
		ret = -EINVAL;
		goto fail;
	}
	if ((prog = bpf_object__find_program_by_name(m->obj, KHELP_INIT_PROG)))
		m->init_fd = bpf_program__fd(prog);
	ret = module__read_fields(m, err, errlen);
	if (!ret)
		ret = module__open_iter(m, err, errlen);
	if (!ret && (ret = module__event(m, KHELP_EV_MODULE_INIT, NULL))) {
		snprintf(err, errlen, "module %s refused to initialise (khelp_init returned %d: %s)",
			 m->meta.desc.name, ret, strerror(ret < 0 ? -ret : ret));
		ret = -ECANCELED;
	}
	if (!ret && (m->meta.desc.classes & KHELP_CLASS_CC))
		ret = module__register_cc(d, m, err, errlen);
	if (!ret)
		ret = module__pin(d, m, err, errlen);
	if (ret)
		goto fail;
	m->loaded_ns = now_ns();
	return 0;
fail:
	module__close(d, m, 0);
	return ret ? ret : -EINVAL;
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
		m = module__new(d, file);
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
			module__free(d, m, 0);
	}
}

int registry__file_changed(struct daemon *d, const char *file, char *err, size_t errlen)
{
	char path[PATH_MAX], why[KHELP_REASON_MAX], missing[KHELP_NAME_MAX];
	struct module *cur, *m, *other;
	struct khelp_meta meta;
	struct file_id fid;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", d->cfg.modules, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (file__id(path, &fid)) {
		snprintf(err, errlen, "%s: not a regular file", file);
		return -ENOENT;
	}
	cur = registry__find_file(d, file);
	if (cur && cur->state != MOD_REJECTED && !memcmp(&cur->fid, &fid, sizeof(fid)))
		return 0;	/* unchanged */
	if (cur && cur->state == MOD_REJECTED)
		cur = NULL;	/* a rejected entry is replaced by module__reject/rejected__forget */

	ret = meta__read_file(path, &meta, why, sizeof(why));
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
		if (cur) {
			/* keep the version in force; say why the new file was not taken */
			snprintf(cur->reason, sizeof(cur->reason), "new file rejected, previous version kept: %s", why);
			pr_warn("module file %s rejected, %s %s stays loaded: %s\n", file, cur->meta.desc.name,
				cur->meta.desc.version, why);
		} else {
			module__reject(d, file, why);
		}
		return ret;
	}

	if (cur && strcmp(cur->meta.desc.name, meta.desc.name)) {
		snprintf(err, errlen, "%s: now declares module %s instead of %s; remove the file and drop the new one",
			 file, meta.desc.name, cur->meta.desc.name);
		snprintf(cur->reason, sizeof(cur->reason), "new file rejected, previous version kept: renamed module");
		return -EINVAL;
	}

	rejected__forget(d, file);
	if (cur && cur->state == MOD_WAITING) {
		module__free(d, cur, 0);
		cur = NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	snprintf(m->file, sizeof(m->file), "%s", file);
	m->prog_fd = m->cgrp_fd = m->data_fd = m->ccfg_fd = m->init_fd = -1;
	m->meta = meta;
	m->meta_ok = 1;
	m->fid = fid;
	if (!deps__ready(d, &meta, missing, sizeof(missing))) {
		m->state = MOD_WAITING;
		snprintf(m->reason, sizeof(m->reason), "waiting for dependency %s to load", missing);
		m->next = d->modules;
		d->modules = m;
		waiting__explain(d);
		pr_info("module %s waits: %s\n", meta.desc.name, m->reason);
		if (cur)	/* a replacement with a missing dependency: keep the old one */
			snprintf(cur->reason, sizeof(cur->reason), "new version waits for dependency %s", missing);
		return 0;
	}
	ret = module__load(d, m, path, why, sizeof(why));
	if (ret) {
		free(m);
		snprintf(err, errlen, "%s: %s", file, why);
		if (cur) {
			snprintf(cur->reason, sizeof(cur->reason), "new file rejected, previous version kept: %s", why);
			pr_warn("module %s: new file rejected, version %s stays: %s\n", meta.desc.name,
				cur->meta.desc.version, why);
		} else {
			module__reject(d, file, why);
		}
		return ret;
	}
	m->state = MOD_ACTIVE;
	m->next = d->modules;
	d->modules = m;
	if (cur) {
		/* replace in place: containers move to the new programs, live data stays */
		container__replace_module(d, cur, m);
		module__event(cur, KHELP_EV_MODULE_DESTROY, NULL);
		module__free(d, cur, 0);
		pr_info("module %s replaced by version %s from %s\n", meta.desc.name, meta.desc.version, file);
	} else {
		pr_info("module %s %s loaded from %s\n", meta.desc.name, meta.desc.version, file);
	}
	registry__retry_waiting(d);
	container__reapply_all(d);
	return 0;
}

/* Why a waiting module waits: the dependency chain, or the cycle it is part of. */
static void waiting__explain(struct daemon *d)
{
	struct dep_node nodes[DEPGRAPH_MAX];
	const char *deps[DEPGRAPH_MAX][KHELP_MAX_DEPS], *out[DEPGRAPH_MAX];
	size_t n = 0;

	for (struct module *m = d->modules; m && n < DEPGRAPH_MAX; m = m->next) {
		if (m->state == MOD_REJECTED || !m->meta_ok)
			continue;
		for (unsigned int i = 0; i < m->meta.ndeps; i++)
			deps[n][i] = m->meta.deps[i].name;
		nodes[n] = (struct dep_node){ .name = m->meta.desc.name, .deps = deps[n], .ndeps = m->meta.ndeps };
		n++;
	}
	for (struct module *m = d->modules; m; m = m->next) {
		const char *req[1] = { m->meta.desc.name };
		char why[KHELP_REASON_MAX - 64];
		int ret;

		if (m->state != MOD_WAITING)
			continue;
		ret = depgraph__resolve(nodes, n, req, 1, out, DEPGRAPH_MAX, why, sizeof(why));
		if (ret == -ELOOP) {
			snprintf(m->reason, sizeof(m->reason), "refused: dependency cycle %s", why);
			pr_warn("module %s refused: dependency cycle %s\n", m->meta.desc.name, why);
		} else if (ret < 0) {
			snprintf(m->reason, sizeof(m->reason), "waiting for a dependency: %s", why);
		}
	}
}

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
			m->fid.ino = 0;	/* force a reload */
			module__free(d, m, 0);
			registry__file_changed(d, file, err, sizeof(err));
			progress = 1;
			break;
		}
	}
	waiting__explain(d);
}

/* The inputs of the refcount rules for module m (names point into d's state). */
static void refcount__gather(struct daemon *d, struct module *m, struct refcount_input *in,
			     const char **cts, const char **deps, size_t max)
{
	int conns;

	*in = (struct refcount_input){ .containers = cts, .dependents = deps };
	for (struct container *c = d->containers; c && in->ncontainers < max; c = c->next)
		if (container__uses(c, m))
			cts[in->ncontainers++] = c->name;
	for (struct module *o = d->modules; o && in->ndependents < max; o = o->next) {
		if (o == m || o->state == MOD_REJECTED || !o->meta_ok)
			continue;
		for (unsigned int i = 0; i < o->meta.ndeps; i++)
			if (!strcmp(o->meta.deps[i].name, m->meta.desc.name))
				deps[in->ndependents++] = o->meta.desc.name;
	}
	conns = conns__count(d, m);
	if (m->meta.desc.classes & KHELP_CLASS_CC) {
		/* a CC is held by the connections that use it, data or not */
		int users = cc__connections(m->meta.desc.name);

		if (users > conns)
			conns = users;
	}
	in->connections = conns;
}

#define HOLDERS_MAX	1024

int registry__holders(struct daemon *d, struct module *m, json_object *holders)
{
	const char *cts[HOLDERS_MAX], *deps[HOLDERS_MAX];
	struct refcount_input in;

	refcount__gather(d, m, &in, cts, deps, HOLDERS_MAX);
	return refcount__holders(&in, holders);
}

static void module__unload_now(struct daemon *d, struct module *m)
{
	char path[PATH_MAX], hidden[PATH_MAX];

	container__detach_module_everywhere(d, m);
	/* the file leaves the directory so a restart does not bring it back */
	snprintf(path, sizeof(path), "%s/%s", d->cfg.modules, m->file);
	snprintf(hidden, sizeof(hidden), "%s/.%s.unloaded", d->cfg.modules, m->file);
	if (!access(path, F_OK))
		rename(path, hidden);
	module__event(m, KHELP_EV_MODULE_DESTROY, NULL);
	if (m->meta.desc.classes & KHELP_CLASS_CC)
		cc__allow(m->meta.desc.name, 0);
	pr_info("module %s unloaded\n", m->meta.desc.name);
	module__free(d, m, 1);
}

int registry__unload(struct daemon *d, const char *name, int drain, int migrate, char *err, size_t errlen)
{
	struct module *m = registry__find(d, name);
	json_object *holders;
	const char *list;
	int n;

	if (!m) {
		for (struct module *it = d->modules; it; it = it->next)
			if (it->meta_ok && !strcmp(it->meta.desc.name, name) && it->state == MOD_WAITING) {
				module__free(d, it, 0);
				return 0;
			}
		snprintf(err, errlen, "no module %s is loaded (see khelpctl modules)", name);
		return -ENOENT;
	}
	if (migrate) {
		int moved = 0, ret;

		if (!(m->meta.desc.classes & KHELP_CLASS_CC)) {
			snprintf(err, errlen, "--migrate is for congestion control modules; %s is a helper", name);
			return -EINVAL;
		}
		for (struct container *c = d->containers; c; c = c->next)
			if (container__uses(c, m)) {
				snprintf(err, errlen, "module %s is in use by container %s (its default or a dependency): change that policy first",
					 name, c->name);
				return -EBUSY;
			}
		ret = cc__migrate(d, name, &moved, err, errlen);
		if (ret)
			return ret;
	}
	{
		const char *cts[HOLDERS_MAX], *deps[HOLDERS_MAX];
		struct refcount_input in;

		refcount__gather(d, m, &in, cts, deps, HOLDERS_MAX);
		holders = json_object_new_array();
		n = refcount__holders(&in, holders);
		list = json_object_to_json_string_ext(holders, JSON_C_TO_STRING_PLAIN);
		switch (refcount__unload(&in, drain)) {
		case UNLOAD_NOW:
			json_object_put(holders);
			module__unload_now(d, m);
			return 0;
		case UNLOAD_BUSY:
			snprintf(err, errlen, "module %s is in use (refcount %d), held by %s; use --drain to unload it when free",
				 name, n, list);
			json_object_put(holders);
			return -EBUSY;
		case UNLOAD_BLOCKED:
			snprintf(err, errlen, "module %s is a dependency of %s: unload %s first", name, deps[0],
				 deps[0]);
			json_object_put(holders);
			return -EBUSY;
		case UNLOAD_DRAIN:
			json_object_put(holders);
			break;
		}
	}
	m->state = MOD_DRAINING;
	m->unload_when_free = 1;
	container__drain_module(d, m);
	snprintf(m->reason, sizeof(m->reason), "draining: unloads when its last connection closes");
	pr_info("module %s draining\n", name);
	return -EINPROGRESS;
}

int registry__file_removed(struct daemon *d, const char *file)
{
	struct module *m = registry__find_file(d, file);
	int n;

	if (!m)
		return 0;
	if (m->state == MOD_REJECTED || m->state == MOD_WAITING) {
		module__free(d, m, 0);
		return 0;
	}
	n = registry__holders(d, m, NULL);
	if (!n) {
		pr_info("module file %s removed: unloading %s\n", file, m->meta.desc.name);
		module__unload_now(d, m);
		return 0;
	}
	m->unload_when_free = 1;
	snprintf(m->reason, sizeof(m->reason), "file removed: unloads when nothing holds it (EBUSY until then)");
	pr_info("module file %s removed but %s is in use: unload pending\n", file, m->meta.desc.name);
	return -EBUSY;
}

/* Periodic: finish drains and pending unloads whose holders are gone. */
void registry__reap(struct daemon *d)
{
	for (struct module *m = d->modules, *next; m; m = next) {
		next = m->next;
		if (!m->unload_when_free)
			continue;
		const char *cts[HOLDERS_MAX], *deps[HOLDERS_MAX];
		struct refcount_input in;

		refcount__gather(d, m, &in, cts, deps, HOLDERS_MAX);
		if (m->state == MOD_DRAINING ? refcount__drained(&in) : refcount__holders(&in, NULL) == 0) {
			module__unload_now(d, m);
			next = d->modules;	/* the list changed */
		}
	}
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
		const char *f = ents[i]->d_name;
		size_t len = strlen(f);
		char err[KHELP_REASON_MAX];

		if (f[0] != '.' && len > 6 && !strcmp(f + len - 6, ".bpf.o"))
			registry__file_changed(d, f, err, sizeof(err));
		free(ents[i]);
	}
	free(ents);
	return 0;
}

/*
 * khelpctl shutdown --detach: unload every module (containers are already
 * detached) with its pins and CC registration; the module files stay, so a
 * new khelpd loads them again. Dependents go before what they depend on.
 */
int registry__detach_all(struct daemon *d)
{
	int n = 0;

	while (d->modules) {
		struct module *m = d->modules, *leaf = NULL;

		/* a module no other live module depends on */
		for (struct module *c = d->modules; c && !leaf; c = c->next) {
			int needed = 0;

			for (struct module *o = d->modules; o && !needed; o = o->next)
				if (o != c && o->meta_ok && c->meta_ok)
					for (unsigned int i = 0; i < o->meta.ndeps; i++)
						needed |= !strcmp(o->meta.deps[i].name, c->meta.desc.name);
			if (!needed)
				leaf = c;
		}
		m = leaf ? leaf : m;
		if (m->obj) {
			container__detach_module_everywhere(d, m);
			module__event(m, KHELP_EV_MODULE_DESTROY, NULL);
			if (m->meta.desc.classes & KHELP_CLASS_CC)
				cc__allow(m->meta.desc.name, 0);
			pr_info("module %s detached\n", m->meta.desc.name);
			n++;
		}
		module__free(d, m, 1);
	}
	return n;
}

void registry__free_all(struct daemon *d)
{
	while (d->modules)
		module__free(d, d->modules, 0);
}
