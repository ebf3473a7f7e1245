// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One module object. It is opened from the bytes its metadata was read
 * from (one read of the file: what was checked is what is loaded), bound to
 * the data maps of the modules it depends on, loaded with the generic
 * bpf_object API (never a skeleton: CC objects carry struct_ops maps) and
 * pinned. A load that fails leaves nothing in the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <khelp/platform.h>
#include "kops.h"
#include "log.h"
#include "module.h"
#include "pins.h"
#include "sysctl.h"
#include "khelp_iter.skel.h"

#define VERIFIER_LOG_MAX	(256 << 10)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int module__event(struct module *m, enum khelp_init_event event, __u64 container_id, const char *container)
{
	struct khelp_init_ctx ctx = { .event = event, .container_id = container_id };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	if (m->init_fd < 0)
		return 0;
	if (container)
		snprintf(ctx.container, sizeof(ctx.container), "%s", container);
	if (kops.prog_test_run_opts(m->init_fd, &o)) {
		int e = errno;

		pr_warn("module %s: cannot run khelp_init: %s\n", m->meta.desc.name, strerror(e));
		return -e;
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

int module__is_live(const struct module *m)
{
	return m->state == MOD_ACTIVE || m->state == MOD_DRAINING;
}

struct module *module__find(struct module *list, const char *name)
{
	for (struct module *m = list; m; m = m->next)
		if (module__is_live(m) && !strcmp(m->meta.desc.name, name))
			return m;
	return NULL;
}

struct module *module__new(const char *file)
{
	struct module *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	snprintf(m->file, sizeof(m->file), "%s", file);
	m->prog_fd = m->cgrp_fd = m->data_fd = m->ccfg_fd = m->init_fd = m->in_prog_fd = -1;
	m->in_link_fd = -1;
	return m;
}

void module__close(struct module *m, const char *bpffs, int unpin)
{
	char path[PATH_MAX];

	if (unpin && m->meta_ok && m->obj &&
	    !pins__path(path, sizeof(path), bpffs, "modules", m->meta.desc.name, NULL) && pins__remove_tree(path))
		pr_warn("module %s: cannot remove its pins under %s: %s\n", m->meta.desc.name, path, strerror(errno));
	if (m->in_link_fd >= 0)
		close(m->in_link_fd);	/* its pin (tracing.c) keeps it attached while khelpd is down */
	m->in_link_fd = -1;
	if (m->iter)
		khelp_iter__destroy(m->iter);
	m->iter = NULL;
	if (m->ops_link)
		bpf_link__destroy(m->ops_link);
	m->ops_link = NULL;
	if (m->obj)
		bpf_object__close(m->obj);
	m->obj = NULL;
	m->prog_fd = m->cgrp_fd = m->data_fd = m->ccfg_fd = m->init_fd = m->in_prog_fd = -1;
}

void module__set_meta(struct module *m, const struct khelp_meta *meta)
{
	m->meta = *meta;
	m->meta_ok = 1;
	for (unsigned int i = 0; i < m->meta.ndeps; i++)
		m->dep_names[i] = m->meta.deps[i].name;
}

/* Undo a registration this load created: the pin goes, the kernel forgets the CC. */
static void module__unregister_cc(struct module *m, const char *bpffs)
{
	char path[PATH_MAX];
	int ret;

	if (!m->ops_link || !m->ops_created)
		return;
	if (!pins__path(path, sizeof(path), bpffs, "modules", m->meta.desc.name, "ops") && unlink(path) &&
	    errno != ENOENT)
		pr_warn("cannot remove %s: %s\n", path, strerror(errno));
	if (bpf_link__detach(m->ops_link))
		pr_warn("module %s: cannot unregister its congestion control: %s\n", m->meta.desc.name,
			strerror(errno));
	ret = sysctl__cc_allow(m->meta.desc.name, 0);
	if (ret)
		pr_warn("cannot remove %s from the allowed congestion controls: %s\n", m->meta.desc.name,
			strerror(-ret));
	m->ops_created = 0;
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
static void module__reuse_pinned(const char *bpffs, struct module *m, struct bpf_map *map, const char *pin)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd;

	if (pins__path(path, sizeof(path), bpffs, "modules", m->meta.desc.name, pin))
		return;
	fd = kops.obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_map_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(map) &&
	    info.value_size == bpf_map__value_size(map) && info.key_size == bpf_map__key_size(map) &&
	    !bpf_map__reuse_fd(map, fd))
		pr_debug("module %s: reusing pinned map %s\n", m->meta.desc.name, pin);
	close(fd);
}

/* The module's own maps that outlive an instance, and their pin names under modules/<m>/. */
static const struct {
	const char *map, *pin;
} own_pinned[] = {
	{ KHELP_CGRP_MAP_NAME, "cgrp" },
	{ KHELP_HOOKS_MAP_NAME, "hooks" },
	{ "khelp_ccfg", "ccfg" },
	{ KHELP_NEST_MAP_NAME, "nest" },	/* nested containers' claims survive a replace in place and a restart */
};

/* Bind the object's shared maps: own data/config, dependencies' data. */
static int module__bind_maps(struct module *m, struct module *const *deps, size_t ndeps, const char *bpffs,
			     char *err, size_t errlen)
{
	const size_t plen = strlen(KHELP_DATA_MAP_PREFIX);
	struct bpf_map *map;

	bpf_object__for_each_map(map, m->obj) {
		const char *name = bpf_map__name(map);
		struct module *dep;
		const char *owner;
		int declared = 0, own = 0;

		for (size_t i = 0; i < sizeof(own_pinned) / sizeof(own_pinned[0]) && !own; i++)
			if ((own = !strcmp(name, own_pinned[i].map)))
				module__reuse_pinned(bpffs, m, map, own_pinned[i].pin);
		if (own || strncmp(name, KHELP_DATA_MAP_PREFIX, plen))
			continue;
		owner = name + plen;
		if (!strcmp(owner, m->meta.desc.name)) {
			if (!(m->meta.desc.flags & KHELP_F_NEEDS_DATA)) {
				snprintf(err, errlen, "module %s has a data map but not the needs-data flag", owner);
				return -EINVAL;
			}
			module__reuse_pinned(bpffs, m, map, "data");
			continue;
		}
		for (unsigned int i = 0; i < m->meta.ndeps; i++)
			declared |= !strcmp(m->meta.deps[i].name, owner);
		if (!declared) {
			snprintf(err, errlen, "module %s reads the data of %s without declaring the dependency (KHELP_DEPENDS(\"%s\"))",
				 m->meta.desc.name, owner, owner);
			return -EINVAL;
		}
		dep = NULL;
		for (size_t i = 0; i < ndeps && !dep; i++)
			if (!strcmp(deps[i]->meta.desc.name, owner))
				dep = deps[i];
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

static int module__pin(struct module *m, const char *bpffs, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *name = m->meta.desc.name;
	/* hooks: per container and hook point, callbacks run and connections with data;
	 * nest: for modules without data, which nested container's copy runs for a connection */
	struct bpf_map *hooks = bpf_object__find_map_by_name(m->obj, KHELP_HOOKS_MAP_NAME);
	struct bpf_map *nest = bpf_object__find_map_by_name(m->obj, KHELP_NEST_MAP_NAME);
	struct {
		int fd;
		const char *pin;
	} pins[] = { { m->prog_fd, "sockops" }, { m->cgrp_fd, "cgrp" }, { m->data_fd, "data" },
		     { m->ccfg_fd, "ccfg" }, { m->init_fd, "init" }, { m->in_prog_fd, "est_in_prog" },
		     { hooks ? bpf_map__fd(hooks) : -1, "hooks" }, { nest ? bpf_map__fd(nest) : -1, "nest" } };
	int ret;

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		if (pins[i].fd < 0)
			continue;
		ret = pins__path(path, sizeof(path), bpffs, "modules", name, pins[i].pin);
		if (!ret)
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
		ret = pins__path(path, sizeof(path), bpffs, "modules", name, "conns");
		if (!ret)
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
static int module__register_cc(struct module *m, const char *bpffs, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct bpf_map *map, *ops = NULL;
	struct bpf_link *old;
	int e;

	bpf_object__for_each_map(map, m->obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			ops = map;
	if (!ops) {
		snprintf(err, errlen, "congestion control module %s has no tcp_congestion_ops (SEC(\".struct_ops.link\"))",
			 m->meta.desc.name);
		return -EINVAL;
	}
	if ((e = pins__path(path, sizeof(path), bpffs, "modules", m->meta.desc.name, NULL)) ||
	    (e = pins__mkdir(path)) ||
	    (e = pins__path(path, sizeof(path), bpffs, "modules", m->meta.desc.name, "ops"))) {
		snprintf(err, errlen, "cannot make %s: %s", path, strerror(-e));
		return e;
	}
	old = bpf_link__open(path);
	if (old) {
		if (!bpf_link__update_map(old, ops)) {
			m->ops_link = old;
			return 0;
		}
		bpf_link__destroy(old);
		if (unlink(path) && errno != ENOENT) {
			e = errno;
			snprintf(err, errlen, "cannot remove the stale registration %s: %s", path, strerror(e));
			return -e;
		}
	}
	m->ops_link = bpf_map__attach_struct_ops(ops);
	if (!m->ops_link) {
		e = errno;
		snprintf(err, errlen, "cannot register congestion control %s: %s%s", m->meta.desc.name, strerror(e),
			 e == EEXIST ? " (the kernel already has a congestion control of that name)" : "");
		return -e;
	}
	m->ops_created = 1;
	if (bpf_link__pin(m->ops_link, path)) {
		int e = errno;

		snprintf(err, errlen, "cannot pin %s: %s", path, strerror(e));
		return -e;
	}
	e = sysctl__cc_allow(m->meta.desc.name, 1);
	if (e) {
		snprintf(err, errlen, "cannot allow %s in net.ipv4.tcp_allowed_congestion_control: %s",
			 m->meta.desc.name, strerror(-e));
		return e;
	}
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
int module__load(struct module *m, const void *buf, size_t len, struct module *const *deps, size_t ndeps,
		 const char *bpffs, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = m->meta.desc.name);
	struct bpf_program *prog;
	char in_name[KHELP_NAME_MAX + 4];
	struct bpf_map *map;
	char *log;
	int ret, inited = 0;

	m->obj = bpf_object__open_mem(buf, len, &opts);
	if (!m->obj) {
		ret = -errno;
		snprintf(err, errlen, "libbpf cannot open it: %s", strerror(errno));
		return ret;
	}
	ret = module__bind_maps(m, deps, ndeps, bpffs, err, errlen);
	if (ret)
		goto fail;
	/* only the sockops entry, its tcp_est_in entry and struct_ops programs are ours to load */
	snprintf(in_name, sizeof(in_name), "%s_in", m->meta.desc.name);
	bpf_object__for_each_program(prog, m->obj) {
		enum bpf_prog_type t = bpf_program__type(prog);

		if (t == BPF_PROG_TYPE_TRACING && !strcmp(bpf_program__name(prog), in_name)) {
			/* KHELP_MODULE makes one for every module with data: load it if it is used */
			bpf_program__set_autoload(prog, !!(m->meta.desc.hooks & KHELP_HOOK_BIT(KHELP_HOOK_TCP_EST_IN)));
			continue;
		}
		if (t != BPF_PROG_TYPE_SOCK_OPS && t != BPF_PROG_TYPE_STRUCT_OPS &&
		    !(t == BPF_PROG_TYPE_SYSCALL && !strcmp(bpf_program__name(prog), KHELP_INIT_PROG))) {
			snprintf(err, errlen, "program %s has type %s; modules carry sockops and struct_ops programs, a tp_btf program <module>_in and a syscall program khelp_init only",
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
	if ((prog = bpf_object__find_program_by_name(m->obj, in_name)) && bpf_program__autoload(prog))
		m->in_prog_fd = bpf_program__fd(prog);
	if ((m->meta.desc.hooks & KHELP_HOOK_BIT(KHELP_HOOK_TCP_EST_IN)) && m->in_prog_fd < 0) {
		snprintf(err, errlen, "module %s hooks tcp_est_in but has no tp_btf program %s (KHELP_MODULE with KHELP_F_NEEDS_DATA makes it)",
			 m->meta.desc.name, in_name);
		ret = -EINVAL;
		goto fail;
	}
	ret = module__read_fields(m, err, errlen);
	if (!ret)
		ret = module__open_iter(m, err, errlen);
	if (!ret && (ret = module__event(m, KHELP_EV_MODULE_INIT, 0, NULL))) {
		snprintf(err, errlen, "module %s refused to initialise (khelp_init returned %d: %s)",
			 m->meta.desc.name, ret, strerror(ret < 0 ? -ret : ret));
		ret = -ECANCELED;
		goto fail;
	}
	if (!ret)
		inited = 1;
	if (!ret)
		ret = module__pin(m, bpffs, err, errlen);
	/* last: from here on the kernel offers the CC to every socket */
	if (!ret && (m->meta.desc.classes & KHELP_CLASS_CC))
		ret = module__register_cc(m, bpffs, err, errlen);
	if (ret)
		goto fail;
	m->loaded_ns = now_ns();
	return 0;
fail:
	if (inited)
		module__event(m, KHELP_EV_MODULE_DESTROY, 0, NULL);
	module__unregister_cc(m, bpffs);
	module__close(m, bpffs, 0);
	return ret ? ret : -EINVAL;
}

int module__reinstate(struct module *m, const char *bpffs)
{
	char err[256];
	int ret = module__pin(m, bpffs, err, sizeof(err));
	struct bpf_map *map;

	if (ret)
		pr_warn("module %s: %s\n", m->meta.desc.name, err);
	if (!m->ops_link)
		return ret;
	bpf_object__for_each_map(map, m->obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS && bpf_link__update_map(m->ops_link, map)) {
			ret = -errno;
			pr_warn("module %s: cannot give its congestion control back its programs: %s\n",
				m->meta.desc.name, strerror(errno));
		}
	return ret;
}
