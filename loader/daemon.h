/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* khelpd's state: the module registry, the containers, the paths. */
#ifndef KHELP_DAEMON_H
#define KHELP_DAEMON_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include <json-c/json.h>
#include "meta.h"
#include "policy.h"

#define KHELP_VERSION		"0.1.0"
#define KHELP_DEFAULT_BPFFS	"/sys/fs/bpf/khelp"
#define KHELP_DEFAULT_SOCKET	"/run/khelp/khelpd.sock"
#define KHELP_MAX_FIELDS	64	/* scalar fields of a data type shown by conns */
#define KHELP_REASON_MAX	1024
#define CONTAINER_MAX_MODULES	64

struct khelp_iter;
struct bpf_object;
struct bpf_link;

struct config {
	char path[PATH_MAX];		/* the config file, "" for the built-in default */
	char modules[PATH_MAX];
	char policies[PATH_MAX];
	char bpffs[PATH_MAX];
	char socket[PATH_MAX];
	char cgroup_root[PATH_MAX];	/* cgroup v2 mount, found at start if not set */
	int stats;			/* keep kernel bpf_stats on while running */
	gid_t group;			/* group allowed on the control socket besides root */
	int has_group;
};

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
	struct bpf_object *obj;
	int prog_fd;			/* sockops entry, -1 without */
	int cgrp_fd;			/* cgroup storage of per-container config, -1 without */
	int data_fd;			/* per-connection data (sk_storage), -1 without */
	int ccfg_fd;			/* CC per-container config (hash), -1 without */
	int init_fd;			/* optional lifecycle program (khelp_init), -1 without */
	int in_prog_fd;			/* tcp_est_in entry (tp_btf/tcp_probe), -1 without */
	int in_link_fd;			/* its link while a container uses the module (tracing.c) */
	struct bpf_link *ops_link;	/* CC: struct_ops registration */
	struct khelp_iter *iter;	/* conns dumper over data_fd */
	struct data_field fields[KHELP_MAX_FIELDS];
	unsigned int nfields;
	int unload_when_free;		/* file removed or unload --drain: unload once free */
	long long loaded_ns;
};

struct attachment {
	struct module *m;
	int link_fd;			/* cgroup link of the module's sockops entry, -1 for CC */
};

enum container_state {
	CT_ACTIVE,	/* policy in force, modules attached */
	CT_WAITING,	/* policy valid, its cgroup does not exist yet */
	CT_INVALID,	/* its policy file was rejected and no earlier policy is in force */
};

struct container {
	struct container *next;
	char name[POLICY_NAME_MAX];
	struct policy pol;		/* the policy in force */
	enum container_state state;
	char error[KHELP_REASON_MAX];	/* last rejected edit of its policy file, "" if none */
	char cgroup_path[PATH_MAX];
	__u64 cgroup_id;
	__u64 netns_cookie;
	struct attachment att[CONTAINER_MAX_MODULES];
	unsigned int natt;
	int ccsel_fd;			/* link of the default-CC selector, -1 without */
};

struct daemon {
	struct config cfg;
	struct module *modules;
	struct container *containers;
	int stats_fd;
	long long started_ns;
	int shutdown;			/* khelpctl shutdown: 1 keep the datapath, 2 detached */
};

/* config.c */
int config__load(struct config *cfg, const char *path, char *err, size_t errlen);
int config__find_cgroup_root(char *out, size_t size);

/* pins.c */
int pins__mkdir(const char *path);
int pins__ensure_bpffs(const char *root, char *err, size_t errlen);
int pins__path(char *out, size_t size, const char *root, const char *a, const char *b, const char *c);
int pins__remove_tree(const char *path);
int pins__replace_fd(int fd, const char *path);

/* registry.c */
struct module *registry__find(struct daemon *d, const char *name);	/* active or draining */
struct module *registry__find_file(struct daemon *d, const char *file);
int registry__scan(struct daemon *d);
/* A file in the module directory appeared or changed: validate, load; 0 or -errno. */
int registry__file_changed(struct daemon *d, const char *file, char *err, size_t errlen);
int registry__file_removed(struct daemon *d, const char *file);
int registry__unload(struct daemon *d, const char *name, int drain, int migrate, char *err, size_t errlen);
/* Refcount and who holds a module: containers, dependent modules, live connections. */
int registry__holders(struct daemon *d, struct module *m, json_object *holders);
void registry__retry_waiting(struct daemon *d);
void registry__reap(struct daemon *d);
void registry__free_all(struct daemon *d);
int registry__detach_all(struct daemon *d);
const char *module__state_name(enum module_state s);
/* Run the module's lifecycle program for event (c NULL for module events): its return value. */
int module__event(struct module *m, enum khelp_init_event event, const struct container *c);

/* container.c */
struct container *container__find(struct daemon *d, const char *name);
int container__policy_changed(struct daemon *d, const char *path, char *err, size_t errlen);
int container__policy_removed(struct daemon *d, const char *name);
int container__check(struct daemon *d, const char *path, char *err, size_t errlen);
int container__reapply_all(struct daemon *d);
void container__poll_waiting(struct daemon *d);
int container__uses(const struct container *c, const struct module *m);
int container__set_param(struct daemon *d, struct container *c, struct module *m, const char *key,
			 const char *value, char *err, size_t errlen);
void container__detach_module_everywhere(struct daemon *d, struct module *m);
/* Move every attachment of old to new (replace in place), atomically per container. */
void container__replace_module(struct daemon *d, struct module *old, struct module *new);
/* Stop giving module m to new connections in every container. */
void container__drain_module(struct daemon *d, struct module *m);
void container__free_all(struct daemon *d);
int container__detach_everything(struct daemon *d);
struct container *container__by_cgroup_id(struct daemon *d, __u64 id);
int container__closure(struct daemon *d, const struct policy *p, const char **out, size_t outmax,
		       char *err, size_t errlen);

/* conns.c: one row per live connection holding data of some module */
int conns__dump(struct daemon *d, const char *container, const char *module, json_object *rows);
int conns__count(struct daemon *d, struct module *m);

/* cc.c */
int cc__system_default(char *out, size_t size);
void cc__allow(const char *name, int allow);
int cc__container_default(struct daemon *d, struct container *c, const char *name, char *err, size_t errlen);
int cc__connections(const char *name);
int cc__migrate(struct daemon *d, const char *from, int *moved, char *err, size_t errlen);
json_object *cc__list(struct daemon *d);
void cc__free(void);

/* tracing.c: attach tcp_est_in entries while some container uses their module */
void tracing__sync(struct daemon *d);
void tracing__release(struct module *m);

/* notify.c: systemd readiness and status (no-op outside systemd) */
void notify__ready(struct daemon *d);
void notify__reloading(void);
void notify__stopping(const char *how);
void notify__status(struct daemon *d);
void notify__status_text(struct daemon *d, char *out, size_t size);

/* server.c */
json_object *server__handle(struct daemon *d, json_object *req);

#endif
