/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One module object: opened from the bytes its metadata was read from,
 * bound to its dependencies' data maps, loaded, pinned, closed; its
 * lifecycle program; the scalar fields of its data type (from BTF).
 */
#ifndef KHELP_MODULE_H
#define KHELP_MODULE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "config.h"
#include "meta.h"

#define KHELP_MAX_FIELDS	64	/* scalar fields of a data type shown by conns */

struct khelp_iter;
struct bpf_object;
struct bpf_link;

/* Identity of a module file, so an unchanged file is not loaded twice. */
struct file_id {
	dev_t dev;
	ino_t ino;
	long long mtime_ns;
	long long size;
};

enum module_state {
	MOD_ACTIVE,	/* loaded, attachable */
	MOD_WAITING,	/* valid, waiting for its dependencies to load */
	MOD_REJECTED,	/* not a valid module or failed to load: reason says why */
	MOD_DRAINING,	/* unload requested: no new connections, gone when nothing holds it */
};

struct data_field {
	char name[64];
	__u32 offset;		/* in the module data (after the khelp_conn_hdr) */
	__u32 size;
	int is_signed;
};

struct module {
	struct module *next;
	char file[NAME_MAX + 1];	/* basename in the module directory */
	struct file_id fid;
	enum module_state state;
	char reason[KHELP_REASON_MAX];
	int meta_ok;
	struct khelp_meta meta;
	const char *dep_names[KHELP_MAX_DEPS];	/* meta.deps[i].name, for dependency graphs */
	struct bpf_object *obj;
	int prog_fd;			/* sockops entry, -1 without */
	int cgrp_fd;			/* cgroup storage of per-container config, -1 without */
	int data_fd;			/* per-connection data (sk_storage), -1 without */
	int ccfg_fd;			/* CC per-container config (hash), -1 without */
	int init_fd;			/* optional lifecycle program (khelp_init), -1 without */
	int in_prog_fd;			/* tcp_est_in entry (tp_btf/tcp_probe), -1 without */
	int in_link_fd;			/* its link while a container uses the module (tracing.c) */
	struct bpf_link *ops_link;	/* CC: struct_ops registration */
	struct khelp_iter *iter;	/* conns dumper over data_fd, loaded once with the module */
	struct data_field fields[KHELP_MAX_FIELDS];
	unsigned int nfields;
	int unload_when_free;		/* file removed or unload --drain: unload once free */
	struct module *replaced;	/* the version this one replaces in place, until it is retired */
	int ops_created;		/* this load registered the CC (not taken over from a pin) */
	long long loaded_ns;
};

/* A new module object for file (not loaded, every fd -1); NULL without memory. */
struct module *module__new(const char *file);
/*
 * Load module m (m->meta set) from buf, the same bytes its metadata came from.
 * deps: the loaded modules m depends on, whose data maps it may share.
 * Pins go under bpffs/modules/<name>/. 0, or -errno with err set and nothing
 * of m left in the kernel (a CC registration is undone, MODULE_DESTROY runs
 * if MODULE_INIT did).
 */
int module__load(struct module *m, const void *buf, size_t len, struct module *const *deps, size_t ndeps,
		 const char *bpffs, char *err, size_t errlen);
/* Set m's metadata (and dep_names). */
void module__set_meta(struct module *m, const struct khelp_meta *meta);
/*
 * m stays after a replacement was abandoned: pin its objects again and
 * give the CC registration back its programs. 0 or -errno.
 */
int module__reinstate(struct module *m, const char *bpffs);
/* Close what the module holds; its pins stay unless unpin is set. */
void module__close(struct module *m, const char *bpffs, int unpin);
/* Run the module's lifecycle program (container_id 0 / name NULL for module events). */
int module__event(struct module *m, enum khelp_init_event event, __u64 container_id, const char *container);
const char *module__state_name(enum module_state s);
/* Active or draining: its programs are in the kernel. */
int module__is_live(const struct module *m);
/* The live module called name in list, or NULL. */
struct module *module__find(struct module *list, const char *name);

#endif
