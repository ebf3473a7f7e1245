/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The khelp module ABI, shared by BPF modules and user space.
 *
 * A module (.bpf.o) carries its metadata in three ELF sections that khelpd
 * reads with libelf without loading the object:
 *   .khelp.module  exactly one struct khelp_module_desc
 *   .khelp.deps    zero or more struct khelp_dep_desc    (any number)
 *   .khelp.params  zero or more struct khelp_param_desc  (at most KHELP_MAX_PARAMS)
 * Only fixed-width types and explicit padding: the layout is the ABI.
 */
#ifndef KHELP_ABI_H
#define KHELP_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KHELP_ABI_VERSION	1
#define KHELP_META_MAGIC	0x504c484bU	/* "KHLP" little endian */

#define KHELP_SEC_MODULE	".khelp.module"
#define KHELP_SEC_DEPS		".khelp.deps"
#define KHELP_SEC_PARAMS	".khelp.params"

#define KHELP_NAME_MAX		16	/* module name incl. NUL: at most 15 chars, like HELPER_NAME_MAXLEN */
#define KHELP_VERSION_MAX	16	/* version string incl. NUL */
#define KHELP_PARAM_NAME_MAX	32	/* parameter name incl. NUL */
#define KHELP_TYPE_NAME_MAX	32	/* per-connection data type name incl. NUL */
#define KHELP_MAX_PARAMS	16	/* parameters one module may declare */
#define KHELP_DATA_MAX		4080	/* largest per-connection data (+ header: one page) */

/* Names of the maps a module object shares with khelpd and other modules. */
#define KHELP_DATA_MAP_PREFIX	"khelp_data_"	/* + module name: per-connection data (sk_storage) */
#define KHELP_CGRP_MAP_NAME	"khelp_cgrp"	/* per-container config (cgroup storage) */

/* Hook points. The bit of a hook point in khelp_module_desc.hooks is 1 << id. */
enum khelp_hook_id {
	KHELP_HOOK_TCP_EST_IN		= 0,	/* tp_btf/tcp_probe: every segment received in ESTABLISHED, pre-ACK */
	KHELP_HOOK_TCP_EST_OUT		= 1,	/* HDR_OPT_LEN_CB with a real skb: sent segment */
	KHELP_HOOK_TCP_RTT		= 2,	/* RTT_CB: an ACK produced an RTT sample */
	KHELP_HOOK_TCP_STATE		= 3,	/* STATE_CB */
	KHELP_HOOK_TCP_RETRANS		= 4,	/* RETRANS_CB */
	KHELP_HOOK_TCP_RTO		= 5,	/* RTO_CB */
	KHELP_HOOK_TCP_CONNECT		= 6,	/* TCP_CONNECT_CB (always delivered) */
	KHELP_HOOK_TCP_ACCEPT		= 7,	/* PASSIVE_ESTABLISHED_CB (always delivered) */
	KHELP_HOOK_TCP_LISTEN		= 8,	/* TCP_LISTEN_CB (always delivered) */
	KHELP_HOOK_TCP_ESTABLISHED	= 9,	/* ACTIVE_/PASSIVE_ESTABLISHED_CB (always delivered) */
	KHELP_HOOK_CC			= 10,	/* struct_ops tcp_congestion_ops */
	KHELP_HOOK__MAX
};
#define KHELP_HOOK_BIT(id)	(1ULL << (id))
#define KHELP_HOOKS_ALL		(KHELP_HOOK_BIT(KHELP_HOOK__MAX) - 1)

/* Module classes (FreeBSD HELPER_CLASS_*). */
enum khelp_class {
	KHELP_CLASS_TCP	= 0x1,	/* a helper hooking TCP sockops points */
	KHELP_CLASS_CC	= 0x2,	/* a congestion control algorithm (struct_ops) */
};
#define KHELP_CLASSES_ALL	(KHELP_CLASS_TCP | KHELP_CLASS_CC)

/* Module flags (FreeBSD HELPER_NEEDS_OSD). */
enum khelp_module_flag {
	KHELP_F_NEEDS_DATA = 0x1,	/* keeps per-connection data in sk_storage */
};
#define KHELP_FLAGS_ALL		(KHELP_F_NEEDS_DATA)

enum khelp_param_type {
	KHELP_PARAM_INT		= 1,	/* signed 64-bit */
	KHELP_PARAM_UINT	= 2,	/* unsigned, 0..INT64_MAX */
	KHELP_PARAM_BOOL	= 3,	/* 0 or 1 */
};

struct khelp_module_desc {
	__u32 magic;				/* KHELP_META_MAGIC */
	__u32 abi_version;			/* KHELP_ABI_VERSION */
	char name[KHELP_NAME_MAX];
	char version[KHELP_VERSION_MAX];
	__u32 classes;				/* enum khelp_class bits */
	__u32 flags;				/* enum khelp_module_flag bits */
	__u64 hooks;				/* KHELP_HOOK_BIT(enum khelp_hook_id) */
	__u32 data_size;			/* sizeof per-connection data, 0 without NEEDS_DATA */
	__u32 nparams;				/* entries in .khelp.params */
	char data_type[KHELP_TYPE_NAME_MAX];	/* BTF struct name of the data, "" without */
};

struct khelp_dep_desc {
	char name[KHELP_NAME_MAX];
};

struct khelp_param_desc {
	char name[KHELP_PARAM_NAME_MAX];
	__u32 type;				/* enum khelp_param_type */
	__u32 index;				/* position in khelp_cgrp_cfg.params */
	__s64 def;
	__s64 min;
	__s64 max;
};

/*
 * Per-container config of one module, in the module's cgroup storage map
 * (key: cgroup id + attach type). khelpd writes it after attaching the
 * module to a container's cgroup; until `ready` is set hooks use the
 * declared defaults.
 */
struct khelp_cgrp_cfg {
	__u64 container_id;			/* cgroup id of the container */
	__u64 netns_cookie;			/* only sockets of this netns, 0 = any */
	__u32 ready;				/* 1 once khelpd has written this */
	__u32 draining;				/* 1: no data for new connections */
	__s64 params[KHELP_MAX_PARAMS];
	__u32 nest;				/* enum khelp_nest bits */
	__u32 nest_gen;				/* nesting generation the claims below are valid in */
};

/*
 * Nested containers that use one module: the nearest container's copy runs,
 * the others stand aside. A module with per-connection data tells the
 * copies apart by the container in the data's header (an OUTER copy leaves
 * another container's connection alone; any other copy takes it over, as
 * its maker went away or is an ancestor). A module without data: khelpd sets
 * KHELP_NEST_INNER in a container's config when an ancestor container uses
 * the module too, KHELP_NEST_OUTER when a descendant does; neither is set
 * (and the entry program checks nothing) without nesting. The kernel runs a
 * descendant cgroup's programs first, so an inner copy claims the connection
 * (struct khelp_nest_mark in the module's khelp_nest sk_storage) and every
 * outer copy that finds another container's claim of the current
 * generation returns. khelpd changes nest_gen whenever the nesting changes,
 * so a claim of a container that went away is ignored and re-made.
 */
enum khelp_nest {
	KHELP_NEST_INNER = 0x1,	/* an ancestor container uses this module: claim connections */
	KHELP_NEST_OUTER = 0x2,	/* a descendant container uses it: leave its claims alone */
};
#define KHELP_NEST_MAP_NAME	"khelp_nest"

struct khelp_nest_mark {
	__u64 container_id;			/* the container whose copy runs for this connection */
	__u32 gen;				/* khelp_cgrp_cfg.nest_gen when it was claimed */
	__u32 pad;
};

/*
 * Optional lifecycle program of a module (FreeBSD mod_init/mod_destroy, and
 * per-vnet init): SEC("syscall") int khelp_init(struct khelp_init_ctx *ctx),
 * run by khelpd with BPF_PROG_TEST_RUN. A non-zero return from MODULE_INIT
 * aborts the module's load; from CONTAINER_INIT it aborts that policy apply.
 * Destroy events are run in reverse dependency order; their return is ignored.
 */
#define KHELP_INIT_PROG		"khelp_init"

enum khelp_init_event {
	KHELP_EV_MODULE_INIT		= 1,	/* after load, before any attach */
	KHELP_EV_MODULE_DESTROY		= 2,	/* before unload */
	KHELP_EV_CONTAINER_INIT		= 3,	/* a container starts using the module */
	KHELP_EV_CONTAINER_DESTROY	= 4,	/* a container stops using it */
};

struct khelp_init_ctx {
	__u32 event;				/* enum khelp_init_event */
	__u32 pad;
	__u64 container_id;			/* cgroup id, 0 for module events */
	char container[64];			/* container name, "" for module events */
};

/*
 * Hook state a TCP module keeps per container (its per-CPU cgroup storage
 * khelp_hooks, pinned at modules/<m>/hooks): for each hook point, how often
 * the module's hook ran and how many connections got the module's data (counted
 * once per connection, when the data is created, for each hook point the module
 * has). `bpftool map dump pinned .../hooks` prints it by name, one value per CPU.
 * The members are in enum khelp_hook_id order.
 */
struct khelp_hook_stat {
	__u64 callbacks;
	__u64 conns_with_data;
};
struct khelp_hook_stats {
	struct khelp_hook_stat tcp_est_in;
	struct khelp_hook_stat tcp_est_out;
	struct khelp_hook_stat tcp_rtt;
	struct khelp_hook_stat tcp_state;
	struct khelp_hook_stat tcp_retrans;
	struct khelp_hook_stat tcp_rto;
	struct khelp_hook_stat tcp_connect;
	struct khelp_hook_stat tcp_accept;
	struct khelp_hook_stat tcp_listen;
	struct khelp_hook_stat tcp_established;
};
#define KHELP_HOOKS_MAP_NAME	"khelp_hooks"

/* Header that precedes every module's per-connection data in its sk_storage. */
struct khelp_conn_hdr {
	__u64 container_id;			/* cgroup id of the container the connection started in */
	__u64 created_ns;			/* bpf_ktime_get_ns() at creation */
};

/* Record the conns iterator writes per socket: header + raw data follows. */
struct khelp_conn_rec {
	__u32 family;				/* AF_INET or AF_INET6 */
	__u32 state;				/* TCP state (TCP_ESTABLISHED = 1 ...) */
	__u8 saddr[16];				/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;				/* host order */
	__u16 dport;				/* host order */
	__u32 data_len;				/* bytes of module data after this record */
	__u64 cookie;				/* socket cookie */
	__u64 netns_cookie;
	struct khelp_conn_hdr hdr;
};

#endif /* KHELP_ABI_H */
