// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prototype of the design khelp did not take (docs/design.md, "Hook dispatch"),
 * for bench/dispatch.sh only: ONE sockops program per container, kd_disp, does
 * the entry work once (callback filter, container config, netns check, socket
 * check, callback flags) and tail-calls the container's modules in order
 * through kd_slots; module i does what a kt_pp test module's hooks do (its own
 * per-connection data, one counter per segment) and tail-calls slot i + 1.
 * An empty slot ends the chain. bpf_stats time the whole chain as kd_disp's.
 * bench/dispatch.sh loads one copy per container and fills 1, 4 or 8 slots.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define KD_SLOTS	8
#define KD_FLAGS	(BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG | BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG)

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, KD_SLOTS + 1);
	__type(key, __u32);
	__type(value, __u32);
} kd_slots SEC(".maps");

/* the container's config, as khelp_cgrp_cfg has it (0: any netns) */
volatile __u64 kd_netns_cookie;

struct kd_data { __u64 in; __u64 out; };

static __always_inline int kd_start(__u32 op)
{
	return op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
}

static __always_inline int kd_per_packet(struct bpf_sock_ops *skops, __u32 op)
{
	return op == BPF_SOCK_OPS_PARSE_HDR_OPT_CB ||
	       (op == BPF_SOCK_OPS_HDR_OPT_LEN_CB && skops->skb_tcp_flags);
}

SEC("sockops")
int kd_disp(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	int start = kd_start(op);

	if (!start && !kd_per_packet(skops, op))
		return 1;
	if (kd_netns_cookie && bpf_get_netns_cookie(skops) != kd_netns_cookie)
		return 1;
	if (!skops->sk)
		return 1;
	if (start)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | KD_FLAGS);
	bpf_tail_call(skops, &kd_slots, 0);
	return 1;
}

/* module i: its own data map, the kt_pp hooks, then the next slot */
#define KD_MODULE(i)								\
	struct {								\
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);				\
		__uint(map_flags, BPF_F_NO_PREALLOC);				\
		__type(key, int);						\
		__type(value, struct kd_data);					\
	} kd_data##i SEC(".maps");						\
	SEC("sockops")								\
	int kd_m##i(struct bpf_sock_ops *skops)					\
	{									\
		__u32 op = skops->op;						\
		struct bpf_sock *sk = skops->sk;				\
		struct kd_data *d;						\
									\
		if (!sk)							\
			return 1;						\
		d = bpf_sk_storage_get(&kd_data##i, sk, 0,			\
				       kd_start(op) ? BPF_SK_STORAGE_GET_F_CREATE : 0); \
		if (d) {							\
			if (op == BPF_SOCK_OPS_PARSE_HDR_OPT_CB)		\
				d->in++;					\
			else if (op == BPF_SOCK_OPS_HDR_OPT_LEN_CB)		\
				d->out++;					\
		}								\
		bpf_tail_call(skops, &kd_slots, (i) + 1);			\
		return 1;							\
	}

KD_MODULE(0)
KD_MODULE(1)
KD_MODULE(2)
KD_MODULE(3)
KD_MODULE(4)
KD_MODULE(5)
KD_MODULE(6)
KD_MODULE(7)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
