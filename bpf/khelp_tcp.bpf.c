// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iter/tcp over the sockets of one network namespace (the one khelpd is in
 * when it creates the iterator):
 *   cc_dump:    one struct khelp_cc_rec per full TCP socket (its CC name)
 *   cc_migrate: sockets using CC `migrate_from` move to their container's
 *               default (cc_target map, by cgroup id of the socket or an
 *               ancestor), or to `migrate_fallback`, with bpf_setsockopt.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <khelp/platform.bpf.h>

#define SOL_TCP		6
#define TCP_CONGESTION	13
#define AF_INET		2
#define CGROUP_MAX_DEPTH 16

/* set by khelpd before each migration walk: the programs are loaded once */
volatile char migrate_from[KHELP_NAME_MAX];
volatile char migrate_fallback[KHELP_NAME_MAX];

struct cc_name { char name[KHELP_NAME_MAX]; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct cc_name);
} cc_target SEC(".maps");

static __always_inline void rec__fill(struct khelp_cc_rec *r, struct sock_common *skc, struct tcp_sock *tp)
{
	const struct inet_connection_sock *icsk = (void *)tp;
	const struct tcp_congestion_ops *ops = BPF_CORE_READ(icsk, icsk_ca_ops);

	if (ops)
		bpf_probe_read_kernel_str(r->cc, sizeof(r->cc), ops->name);
	r->cookie = bpf_get_socket_cookie(tp);
	r->state = BPF_CORE_READ(skc, skc_state);
	r->family = BPF_CORE_READ(skc, skc_family);
	r->sport = BPF_CORE_READ(skc, skc_num);
	r->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	if (r->family == AF_INET) {
		__u32 s = BPF_CORE_READ(skc, skc_rcv_saddr), d = BPF_CORE_READ(skc, skc_daddr);

		__builtin_memcpy(r->saddr, &s, 4);
		__builtin_memcpy(r->daddr, &d, 4);
	} else {
		BPF_CORE_READ_INTO(&r->saddr, skc, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&r->daddr, skc, skc_v6_daddr.in6_u.u6_addr8);
	}
}

SEC("iter/tcp")
int cc_dump(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct khelp_cc_rec r = {};
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;	/* request and time-wait sockets have no CC of their own */
	rec__fill(&r, skc, tp);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/tcp")
int cc_migrate(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct khelp_cc_rec r = {};
	char target[KHELP_NAME_MAX] = {};
	struct tcp_sock *tp;
	struct cgroup *cg;
	int level;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	rec__fill(&r, skc, tp);
	if (!khelp_name_eq(r.cc, migrate_from) || r.state == KHELP_TCP_LISTEN)
		return 0;
	for (int i = 0; i < KHELP_NAME_MAX; i++)
		target[i] = migrate_fallback[i];
	cg = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup);
	level = cg ? BPF_CORE_READ(cg, level) : -1;
	for (int i = 0; i < CGROUP_MAX_DEPTH; i++) {
		struct cc_name *n;
		__u64 id;

		if (level - i < 0)
			break;
		id = BPF_CORE_READ(cg, ancestors[level - i], kn, id);
		n = bpf_map_lookup_elem(&cc_target, &id);
		if (n) {
			__builtin_memcpy(target, n->name, sizeof(target));
			break;
		}
	}
	r.migrated = bpf_setsockopt(tp, SOL_TCP, TCP_CONGESTION, target, sizeof(target));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
