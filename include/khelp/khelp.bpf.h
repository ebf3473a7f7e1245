/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header a khelp module author includes.
 *
 *   #define KHELP_PARAMS(P)  P(limit, KHELP_PARAM_UINT, 10, 1, 100)
 *   #include <khelp/khelp.bpf.h>
 *
 *   struct mydata { __u64 pkts; };
 *   KHELP_DATA(my_mod, struct mydata);          // own per-connection data
 *
 *   static __always_inline void my_out(struct khelp_ctx *ctx, struct mydata *d)
 *   { d->pkts++; }
 *
 *   #define KHELP_HOOKS(H)   H(tcp_est_out, my_out)
 *   KHELP_DEPENDS("h_ertt");                      // optional, any number
 *   KHELP_MODULE(my_mod, "1.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct mydata);
 *
 * A hook function is `void fn(struct khelp_ctx *ctx, T *data)`; data is the
 * module's own per-connection data (never NULL for a NEEDS_DATA module: the
 * hook is skipped on connections that have none, as FreeBSD skips helpers
 * without an OSD block), or NULL for modules without data. Read a
 * dependency's data with KHELP_DATA(dep, type) + khelp_data_of(dep, ctx->sk).
 * Read a parameter with khelp_param(ctx, name); KHELP_PARAMS(P), a list of
 * P(name, type, default, min, max), must be defined before the #include.
 *
 * KHELP_MODULE generates the metadata sections and, for TCP helpers, the
 * sockops entry program (named after the module) that sets exactly the callback flags the module's
 * hooks need and calls the hooks. Congestion control modules use
 * KHELP_CC_MODULE instead and define their struct_ops map themselves.
 */
#ifndef KHELP_BPF_H
#define KHELP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include <khelp/abi.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __khelp_used __attribute__((used))

/*
 * Hook contexts: which connection, which point, the module's config.
 * tcp_est_in runs from tp_btf/tcp_probe (every segment a hooked socket
 * receives in ESTABLISHED, before ACK processing), not from sockops: there
 * skops, sk and cfg are NULL (parameters read their declared defaults) and
 * tsk/skb are set (skb->data is the TCP header). Every other hook has skops,
 * sk and cfg, and tsk/skb NULL.
 */
struct khelp_ctx {
	struct bpf_sock_ops *skops;		/* the sockops context of the callback */
	struct bpf_sock *sk;			/* skops->sk, checked non-NULL: pass this to
						 * khelp_data_of() (a re-read of skops->sk is
						 * maybe-NULL to the verifier) */
	const struct khelp_cgrp_cfg *cfg;	/* this container's config of the module */
	struct sock *tsk;			/* tcp_est_in: the receiving socket */
	const struct sk_buff *skb;		/* tcp_est_in: the received segment */
	__u32 hook;				/* enum khelp_hook_id */
};

/* ---- per-connection data ------------------------------------------------ */

#define KHELP__DATA_T(mod)	struct khelp_data_##mod

/*
 * Declare the per-connection data map of module `mod` with data type `type`.
 * Used by the module itself and by every module that depends on it; khelpd
 * makes all of them share one map (reused by name), one copy per connection.
 */
#define KHELP_DATA(mod, dtype)							\
	KHELP__DATA_T(mod) { struct khelp_conn_hdr kh; dtype d; };		\
	struct {								\
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);				\
		__uint(map_flags, BPF_F_NO_PREALLOC);				\
		__type(key, int);						\
		__type(value, KHELP__DATA_T(mod));				\
	} khelp_data_##mod SEC(".maps")

/* The data of module `mod` for socket `sk` (any socket pointer), or NULL. */
#define khelp_data_of(mod, sk)							\
	({									\
		KHELP__DATA_T(mod) *__v = bpf_sk_storage_get(&khelp_data_##mod, \
							      (void *)(sk), 0, 0); \
		__v ? &__v->d : (void *)0;					\
	})

/* ---- parameters ----------------------------------------------------------- */

#define KHELP__PARAM_IDX(pname, ptype, pdef, pmin, pmax)	khelp_param_idx_##pname,
#define KHELP__PARAM_DEF(pname, ptype, pdef, pmin, pmax)	(pdef),
#define KHELP__PARAM_DESC(pname, ptype, pdef, pmin, pmax)			\
	{ .name = #pname, .type = (ptype), .index = khelp_param_idx_##pname,	\
	  .def = (pdef), .min = (pmin), .max = (pmax) },

#ifndef KHELP_PARAMS
#define KHELP_PARAMS(P)
#endif

enum { KHELP_PARAMS(KHELP__PARAM_IDX) khelp__nparams };
_Static_assert(khelp__nparams <= KHELP_MAX_PARAMS, "too many parameters (KHELP_MAX_PARAMS)");

/* Declared defaults, used until khelpd has configured the container. */
static const __s64 khelp__param_defaults[KHELP_MAX_PARAMS + 1] = { KHELP_PARAMS(KHELP__PARAM_DEF) 0 };

/* Value of parameter `pname` in this connection's container. */
#define khelp_param(ctx, pname)							\
	((ctx)->cfg && (ctx)->cfg->ready ? (ctx)->cfg->params[khelp_param_idx_##pname] \
					 : khelp__param_defaults[khelp_param_idx_##pname])

/* ---- dependencies ---------------------------------------------------------- */

/* KHELP_DEPENDS("a", "b", ...): this module needs modules a and b. */
/* (laid out as struct khelp_dep_desc[]: a char[KHELP_NAME_MAX] each) */
#define KHELP_DEPENDS(...)							\
	static const char khelp__deps[][KHELP_NAME_MAX]				\
		SEC(KHELP_SEC_DEPS) __khelp_used = { __VA_ARGS__ }

/* ---- lifecycle ----------------------------------------------------------------- */

/*
 * KHELP_INIT(fn): fn(const struct khelp_init_ctx *ctx) runs for module and
 * container init/destroy events (see enum khelp_init_event); return 0, or a
 * negative errno from an init event to refuse.
 */
#define KHELP_INIT(fn)								\
	SEC("syscall")								\
	int khelp_init(struct khelp_init_ctx *ctx)				\
	{									\
		return fn(ctx);							\
	}

/* ---- hook points -------------------------------------------------------------- */

/* Does sockops callback `op` belong to hook point `point`? (tcp_est_in: never,
 * it has its own entry program, KHELP__EST_IN) */
#define khelp__is_tcp_est_in(op, s)	0
/* HDR_OPT_LEN_CB also runs without a packet (MSS computation): skip those. */
#define khelp__is_tcp_est_out(op, s)	((op) == BPF_SOCK_OPS_HDR_OPT_LEN_CB && (s)->skb_tcp_flags)
#define khelp__is_tcp_rtt(op, s)	((op) == BPF_SOCK_OPS_RTT_CB)
#define khelp__is_tcp_state(op, s)	((op) == BPF_SOCK_OPS_STATE_CB)
#define khelp__is_tcp_retrans(op, s)	((op) == BPF_SOCK_OPS_RETRANS_CB)
#define khelp__is_tcp_rto(op, s)	((op) == BPF_SOCK_OPS_RTO_CB)
#define khelp__is_tcp_connect(op, s)	((op) == BPF_SOCK_OPS_TCP_CONNECT_CB)
#define khelp__is_tcp_accept(op, s)	((op) == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
#define khelp__is_tcp_listen(op, s)	((op) == BPF_SOCK_OPS_TCP_LISTEN_CB)
#define khelp__is_tcp_established(op, s) ((op) == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || \
					  (op) == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)

#define khelp__id_tcp_est_in		KHELP_HOOK_TCP_EST_IN
#define khelp__id_tcp_est_out		KHELP_HOOK_TCP_EST_OUT
#define khelp__id_tcp_rtt		KHELP_HOOK_TCP_RTT
#define khelp__id_tcp_state		KHELP_HOOK_TCP_STATE
#define khelp__id_tcp_retrans		KHELP_HOOK_TCP_RETRANS
#define khelp__id_tcp_rto		KHELP_HOOK_TCP_RTO
#define khelp__id_tcp_connect		KHELP_HOOK_TCP_CONNECT
#define khelp__id_tcp_accept		KHELP_HOOK_TCP_ACCEPT
#define khelp__id_tcp_listen		KHELP_HOOK_TCP_LISTEN
#define khelp__id_tcp_established	KHELP_HOOK_TCP_ESTABLISHED

/* Callback flag a hook point needs on the socket (0: always delivered). */
#define khelp__flag_tcp_est_in		0
#define khelp__flag_tcp_est_out		BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG
#define khelp__flag_tcp_rtt		BPF_SOCK_OPS_RTT_CB_FLAG
#define khelp__flag_tcp_state		BPF_SOCK_OPS_STATE_CB_FLAG
#define khelp__flag_tcp_retrans		BPF_SOCK_OPS_RETRANS_CB_FLAG
#define khelp__flag_tcp_rto		BPF_SOCK_OPS_RTO_CB_FLAG
#define khelp__flag_tcp_connect		0
#define khelp__flag_tcp_accept		0
#define khelp__flag_tcp_listen		0
#define khelp__flag_tcp_established	0

#define KHELP__HOOK_BIT(point, fn)	| KHELP_HOOK_BIT(khelp__id_##point)
#define KHELP__HOOK_FLAG(point, fn)	| khelp__flag_##point
#define KHELP__HOOK_MATCH(point, fn)	|| khelp__is_##point(op, skops)
#define KHELP__HOOK_COUNT(point)	__hs->point.callbacks++;
#define KHELP__HOOK_CALL(point, fn)						\
	if (khelp__is_##point(op, skops)) {					\
		ctx.hook = khelp__id_##point;					\
		fn(&ctx, data);							\
		KHELP__HOOK_COUNT(point)					\
	}

/*
 * tcp_est_in: an entry program of its own on tp_btf/tcp_probe, which the
 * kernel runs at the start of tcp_rcv_established() for every segment of
 * every TCP socket, fast path included (PARSE_HDR_OPT_CB misses the fast
 * path). It is named after the module with "_in" appended; khelpd loads and
 * attaches it only for modules that hook tcp_est_in, and only while some
 * container uses the module. It passes only sockets that have the module's
 * data (created by the sockops entry for its containers' connections), so a
 * tcp_est_in hook needs KHELP_F_NEEDS_DATA. Hooks run in declaration order.
 */
#define KHELP__EST_IN_CALL(point, fn)	KHELP__EST_IN_CALL_##point(fn)
#define KHELP__EST_IN_CALL_tcp_est_in(fn)	fn(&ctx, &__v->d);
#define KHELP__EST_IN_CALL_tcp_est_out(fn)
#define KHELP__EST_IN_CALL_tcp_rtt(fn)
#define KHELP__EST_IN_CALL_tcp_state(fn)
#define KHELP__EST_IN_CALL_tcp_retrans(fn)
#define KHELP__EST_IN_CALL_tcp_rto(fn)
#define KHELP__EST_IN_CALL_tcp_connect(fn)
#define KHELP__EST_IN_CALL_tcp_accept(fn)
#define KHELP__EST_IN_CALL_tcp_listen(fn)
#define KHELP__EST_IN_CALL_tcp_established(fn)
#define KHELP__EST_IN_PROG_0(mname, dtype)					\
	_Static_assert(!((0 KHELP_HOOKS(KHELP__HOOK_BIT)) &			\
			 KHELP_HOOK_BIT(KHELP_HOOK_TCP_EST_IN)),		\
		       "a tcp_est_in hook needs KHELP_F_NEEDS_DATA");
#define KHELP__EST_IN_PROG_1(mname, dtype)					\
	SEC("tp_btf/tcp_probe")							\
	int mname##_in(__u64 *tctx)						\
	{									\
		struct sock *tsk = (struct sock *)tctx[0];			\
		struct khelp_ctx ctx = { .hook = KHELP_HOOK_TCP_EST_IN };	\
		const __u32 __flags = 0 KHELP_HOOKS(KHELP__HOOK_FLAG);		\
		KHELP__DATA_T(mname) *__v;					\
									\
		/* the sockops entry set these callback flags on every socket	\
		 * with the module's data before it reached ESTABLISHED: a	\
		 * socket without them is passed for a load, not a lookup */	\
		if (__flags && (bpf_core_cast(tsk, struct tcp_sock)->bpf_sock_ops_cb_flags & \
				__flags) != __flags)				\
			return 0;						\
		__v = bpf_sk_storage_get(&khelp_data_##mname, tsk, 0, 0);	\
		if (!__v)							\
			return 0;						\
		ctx.tsk = tsk;							\
		ctx.skb = (const struct sk_buff *)tctx[1];			\
		KHELP_HOOKS(KHELP__EST_IN_CALL)					\
		return 0;							\
	}

#define KHELP__DESC(mname, mversion, mclasses, mflags, mhooks, dsize, dtype)	\
	static const struct khelp_module_desc khelp__module			\
		SEC(KHELP_SEC_MODULE) __khelp_used = {				\
		.magic = KHELP_META_MAGIC,					\
		.abi_version = KHELP_ABI_VERSION,				\
		.name = #mname,							\
		.version = mversion,						\
		.classes = (mclasses),						\
		.flags = (mflags),						\
		.hooks = (mhooks),						\
		.data_size = (dsize),						\
		.nparams = khelp__nparams,					\
		.data_type = dtype,						\
	};									\
	_Static_assert(sizeof(#mname) <= KHELP_NAME_MAX, "module name longer than 15 chars"); \
	_Static_assert((dsize) <= KHELP_DATA_MAX, "per-connection data larger than KHELP_DATA_MAX"); \
	static const struct khelp_param_desc khelp__params[khelp__nparams + 1] \
		SEC(KHELP_SEC_PARAMS) __khelp_used = { KHELP_PARAMS(KHELP__PARAM_DESC) }; \
	char LICENSE[] SEC("license") = "Dual BSD/GPL"

/* Per-container config, written by khelpd for each container's cgroup. */
#define KHELP__CGRP_MAP								\
	struct {								\
		__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);			\
		__type(key, struct bpf_cgroup_storage_key);			\
		__type(value, struct khelp_cgrp_cfg);				\
	} khelp_cgrp SEC(".maps")

/* Hook state per container (struct khelp_hook_stats): per-CPU, no atomics on the hot path. */
#define KHELP__HOOKS_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);		\
		__type(key, struct bpf_cgroup_storage_key);			\
		__type(value, struct khelp_hook_stats);				\
	} khelp_hooks SEC(".maps")
#define KHELP__HOOK_NEWCONN(point, fn)	__hs->point.conns_with_data++;

/* Data plumbing of the entry program, with and without per-connection data. */
#define KHELP__ENTRY_DATA_1(mod, dtype)						\
	KHELP__DATA_T(mod) *__v;						\
	dtype *data;								\
	if (start) {								\
		if (ctx.cfg->draining)						\
			return 1;						\
		__v = bpf_sk_storage_get(&khelp_data_##mod, sk, 0,		\
					 BPF_SK_STORAGE_GET_F_CREATE);		\
		if (__v && !__v->kh.created_ns) {				\
			__v->kh.container_id = ctx.cfg->container_id;		\
			__v->kh.created_ns = bpf_ktime_get_ns();		\
			KHELP_HOOKS(KHELP__HOOK_NEWCONN)			\
		}								\
	} else {								\
		__v = bpf_sk_storage_get(&khelp_data_##mod, sk, 0, 0);		\
	}									\
	if (!__v)								\
		return 1;							\
	/* nested containers: the nearest one wins. A descendant cgroup's	\
	 * programs run before its ancestors', so the nearest container	\
	 * using this module created the data; an outer copy stops. A copy	\
	 * that is not outer takes over a connection another container made:	\
	 * that one went away, or it is an ancestor and this one is nearer. */	\
	if (__v->kh.container_id != ctx.cfg->container_id) {			\
		if (ctx.cfg->nest & KHELP_NEST_OUTER)				\
			return 1;						\
		__v->kh.container_id = ctx.cfg->container_id;			\
	}									\
	data = &__v->d;
#define KHELP__ENTRY_DATA_0(mod, dtype)						\
	void *data = (void *)0;							\
	if (start && ctx.cfg->draining)						\
		return 1;							\
	/* nested containers: only when khelpd says this one is nested */	\
	if (ctx.cfg->nest && khelp__nest_stand_aside(sk, ctx.cfg))		\
		return 1;

/*
 * Modules without data, nested containers (see enum khelp_nest): the marker
 * of which container's copy runs for a connection. Descendants' programs
 * run first, so the nearest inner copy claims the connection (or re-claims
 * it when the claim is of an older nesting generation); a copy stands aside
 * when the connection is claimed, in the current generation, by another.
 */
#define KHELP__NEST_0								\
	struct {								\
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);				\
		__uint(map_flags, BPF_F_NO_PREALLOC);				\
		__type(key, int);						\
		__type(value, struct khelp_nest_mark);				\
	} khelp_nest SEC(".maps");						\
	static __always_inline int khelp__nest_stand_aside(struct bpf_sock *sk,	\
				const struct khelp_cgrp_cfg *cfg)		\
	{									\
		int inner = cfg->nest & KHELP_NEST_INNER;			\
		struct khelp_nest_mark *m;					\
									\
		m = bpf_sk_storage_get(&khelp_nest, sk, 0,			\
				       inner ? BPF_SK_STORAGE_GET_F_CREATE : 0);\
		if (!m)								\
			return 0;						\
		if (m->gen != cfg->nest_gen) {					\
			if (inner) {						\
				m->container_id = cfg->container_id;		\
				m->gen = cfg->nest_gen;				\
			}							\
			return 0;						\
		}								\
		return m->container_id != cfg->container_id;			\
	}
#define KHELP__NEST_1

#define KHELP__ENTRY_DATA(needs, mod, dtype)	KHELP__ENTRY_DATA_##needs(mod, dtype)

/*
 * The sockops program's head, shared by the entry and KHELP_PLAIN: named
 * after the module (bpftool prog/cgroup/link show it by name); callbacks
 * none of its hooks wants (e.g. HDR_OPT_LEN_CB without a packet) cost a
 * compare, not a lookup. It opens the function body; the user closes it.
 * KHELP__SET_CB_FLAGS turns on, when the connection starts, the callback
 * flags the module's hooks need.
 */
#define KHELP__SOCKOPS_HEAD(mname)						\
	SEC("sockops")								\
	int mname(struct bpf_sock_ops *skops)					\
	{									\
		struct khelp_ctx ctx = { .skops = skops };			\
		__u32 op = skops->op;						\
		int start = op == BPF_SOCK_OPS_TCP_CONNECT_CB ||		\
			    op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||		\
			    op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;		\
									\
		if (!start && !(0 KHELP_HOOKS(KHELP__HOOK_MATCH)))		\
			return 1;
#define KHELP__SET_CB_FLAGS							\
	if (khelp__cb_flags && op != BPF_SOCK_OPS_TCP_CONNECT_CB && start)	\
		bpf_sock_ops_cb_flags_set(skops,				\
			skops->bpf_sock_ops_cb_flags | khelp__cb_flags);

/*
 * KHELP_MODULE(name, version, classes, flags, data_type)
 *   flags is 0 or KHELP_F_NEEDS_DATA (a literal: it selects the entry code);
 *   data_type is the per-connection data type (declared with KHELP_DATA),
 *   or `void` without data.
 * The module defines KHELP_HOOKS(H) before this line.
 */
#define KHELP_MODULE(mname, mversion, mclasses, mflags, dtype)		\
	KHELP__MODULE_X(mname, mversion, mclasses, mflags, dtype)
#define KHELP__NEEDS_0	0
#define KHELP__NEEDS_KHELP_F_NEEDS_DATA 1
#define KHELP__NEEDS(f)	KHELP__NEEDS_##f
#define KHELP__CAT(a, b)	a##b
#define KHELP__XCAT(a, b)	KHELP__CAT(a, b)
#define KHELP__MODULE_X(mname, mversion, mclasses, mflags, dtype)		\
	KHELP__MODULE_N(mname, mversion, mclasses, mflags, dtype, KHELP__NEEDS(mflags))
#define KHELP__MODULE_N(mname, mversion, mclasses, mflags, dtype, needs)	\
	KHELP__MODULE_I(mname, mversion, mclasses, mflags, dtype, needs)
/* flags, data size and data type name of the descriptor, by `needs` */
#define KHELP__FLAGS_1			KHELP_F_NEEDS_DATA
#define KHELP__FLAGS_0			0
#define KHELP__DSIZE_1(dtype)		sizeof(dtype)
#define KHELP__DSIZE_0(dtype)		0
#define KHELP__DTYPE_1(dtype)		#dtype
#define KHELP__DTYPE_0(dtype)		""
#define KHELP__MODULE_I(mname, mversion, mclasses, mflags, dtype, needs)	\
	KHELP__DESC(mname, mversion, mclasses, KHELP__FLAGS_##needs,		\
		    0 KHELP_HOOKS(KHELP__HOOK_BIT),				\
		    KHELP__DSIZE_##needs(dtype), KHELP__DTYPE_##needs(dtype));	\
	KHELP__CGRP_MAP;							\
	KHELP__HOOKS_MAP;							\
	KHELP__NEST_##needs							\
	KHELP__EST_IN_PROG_##needs(mname, dtype)				\
	/* Callback flags this module's hooks need on a socket. */		\
	static const __u32 khelp__cb_flags = 0 KHELP_HOOKS(KHELP__HOOK_FLAG);	\
	KHELP__SOCKOPS_HEAD(mname)						\
		ctx.cfg = bpf_get_local_storage(&khelp_cgrp, 0);		\
		/* cgroup storage: never NULL */				\
		struct khelp_hook_stats *__hs =					\
			bpf_get_local_storage(&khelp_hooks, 0);			\
		if (ctx.cfg->netns_cookie &&					\
		    bpf_get_netns_cookie(skops) != ctx.cfg->netns_cookie)	\
			return 1;						\
		struct bpf_sock *sk = skops->sk;				\
		if (!sk)							\
			return 1;						\
		ctx.sk = sk;							\
		KHELP__ENTRY_DATA(needs, mname, dtype)				\
		KHELP__SET_CB_FLAGS						\
		KHELP_HOOKS(KHELP__HOOK_CALL)					\
		return 1;							\
	}

/*
 * KHELP_PLAIN (benchmarks only, -DKHELP_PLAIN): the same module source built
 * as plain programs without khelp's entry code, for the floor "the module's
 * logic alone" (bench/hookpath.sh, attached with bpftool, no khelpd). The
 * sockops program keeps what any program with per-connection data needs
 * (callback filter, socket check, one sk_storage lookup, created at
 * connection start, the callback flags) and drops what khelp adds: the
 * container config and hook counters (cgroup storage), the netns check, the
 * draining and nearest-container checks, the data header's bookkeeping and
 * the metadata sections. Parameters read their declared defaults. The
 * tcp_est_in program is the same as under khelp (it has no entry code).
 */
#ifdef KHELP_PLAIN
#define KHELP__PLAIN_DATA_1(mod, dtype)						\
	KHELP__DATA_T(mod) *__v = bpf_sk_storage_get(&khelp_data_##mod, sk, 0,	\
				start ? BPF_SK_STORAGE_GET_F_CREATE : 0);	\
	if (!__v)								\
		return 1;							\
	dtype *data = &__v->d;
#define KHELP__PLAIN_DATA_0(mod, dtype)	void *data = (void *)0;
/* hooks are called as under khelp, without the counters */
#undef KHELP__HOOK_COUNT
#define KHELP__HOOK_COUNT(point)
#undef KHELP__MODULE_I
#define KHELP__MODULE_I(mname, mversion, mclasses, mflags, dtype, needs)	\
	char LICENSE[] SEC("license") = "Dual BSD/GPL";				\
	KHELP__EST_IN_PROG_##needs(mname, dtype)				\
	static const __u32 khelp__cb_flags = 0 KHELP_HOOKS(KHELP__HOOK_FLAG);	\
	KHELP__SOCKOPS_HEAD(mname)						\
		struct bpf_sock *sk = skops->sk;				\
		if (!sk)							\
			return 1;						\
		ctx.sk = sk;							\
		KHELP__PLAIN_DATA_##needs(mname, dtype)				\
		KHELP__SET_CB_FLAGS						\
		KHELP_HOOKS(KHELP__HOOK_CALL)					\
		return 1;							\
	}
#endif /* KHELP_PLAIN */

/*
 * KHELP_CC_MODULE(name, version, flags, data_type): a congestion control
 * module. It defines its own SEC(".struct_ops.link") tcp_congestion_ops map;
 * name must equal the ops' .name.
 */
#define KHELP_CC_MODULE(mname, mversion, mflags, dtype)				\
	KHELP__CC_N(mname, mversion, mflags, dtype, KHELP__NEEDS(mflags))
#define KHELP__CC_N(mname, mversion, mflags, dtype, needs)			\
	KHELP__CC_I(mname, mversion, mflags, dtype, needs)
#define KHELP__CC_I(mname, mversion, mflags, dtype, needs)			\
	KHELP__DESC(mname, mversion, KHELP_CLASS_CC, KHELP__FLAGS_##needs,	\
		    KHELP_HOOK_BIT(KHELP_HOOK_CC), KHELP__DSIZE_##needs(dtype),	\
		    KHELP__DTYPE_##needs(dtype))


/* ---- congestion control modules: per-container parameters ------------------ */
#ifdef KHELP_CC
/*
 * A CC module defines KHELP_CC before the #include. khelpd writes one entry
 * per container that uses the module into khelp_ccfg (key: the container's
 * cgroup id). A connection's container is the nearest ancestor cgroup of the
 * socket's cgroup that has an entry; look it up once (in .init) and keep the
 * values in icsk_ca_priv: never per ACK.
 */
#define KHELP_CC_MAX_CONTAINERS	4096
#define KHELP_CGROUP_MAX_DEPTH	16	/* ancestors searched for a container */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KHELP_CC_MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct khelp_cgrp_cfg);
} khelp_ccfg SEC(".maps");

/* The container config of socket sk for this CC, or NULL (use defaults). */
static __always_inline const struct khelp_cgrp_cfg *khelp_cc_cfg(struct sock *sk)
{
	struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	int level, i;

	if (!cg)
		return (void *)0;
	level = BPF_CORE_READ(cg, level);
	for (i = 0; i < KHELP_CGROUP_MAX_DEPTH; i++) {
		struct khelp_cgrp_cfg *cfg;
		struct cgroup *anc;
		__u64 id;

		if (level - i < 0)
			break;
		anc = BPF_CORE_READ(cg, ancestors[level - i]);
		id = BPF_CORE_READ(anc, kn, id);
		cfg = bpf_map_lookup_elem(&khelp_ccfg, &id);
		if (cfg && cfg->ready)
			return cfg;
	}
	return (void *)0;
}

/* Value of parameter pname from cfg (from khelp_cc_cfg), or its declared default. */
#define khelp_cc_param(cfg, pname)						\
	((cfg) ? (cfg)->params[khelp_param_idx_##pname]				\
	       : khelp__param_defaults[khelp_param_idx_##pname])
#endif /* KHELP_CC */

#endif /* KHELP_BPF_H */
