// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Floors for bench/hertt.sh: what a sockops program costs per callback
 * before it does any work, measured with the same kernel bpf_stats as
 * h_ertt. Each program asks for the callbacks h_ertt asks for
 * (WRITE_HDR_OPT: every sent skb, RETRANS), so the run counts compare.
 *   hertt_floor0  sets the flags, nothing else
 *   hertt_floor1  the same plus one bpf_sk_storage_get (h_ertt's data lookup)
 *   hertt_floor_in  tp_btf/tcp_probe doing what khelp's tcp_est_in entry
 *                   does before the hook (KHELP__EST_IN_PROG_1): pass
 *                   sockets without the callback flags after one load,
 *                   then one bpf_sk_storage_get: the floor of h_ertt_in
 * bpftool loads and attaches them directly (no khelpd); built twice, the
 * tcp_probe program with -DHF_TCP_PROBE (bpftool autoattaches that object;
 * it reuses the sockops object's pinned hf_data map).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define HF_FLAGS	(BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG | BPF_SOCK_OPS_RETRANS_CB_FLAG)

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} hf_data SEC(".maps");

#ifndef HF_TCP_PROBE
static __always_inline int hf_start(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;

	if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | HF_FLAGS);
		return 1;
	}
	return 0;
}

SEC("sockops")
int hertt_floor0(struct bpf_sock_ops *skops)
{
	hf_start(skops);
	return 1;
}

SEC("sockops")
int hertt_floor1(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	__u64 *v;

	if (!sk)
		return 1;
	v = bpf_sk_storage_get(&hf_data, sk, 0, hf_start(skops) ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	if (v)
		*v += 1;
	return 1;
}

#else
SEC("tp_btf/tcp_probe")
int hertt_floor_in(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	__u64 *v;

	if ((bpf_core_cast(sk, struct tcp_sock)->bpf_sock_ops_cb_flags & HF_FLAGS) != HF_FLAGS)
		return 0;
	v = bpf_sk_storage_get(&hf_data, sk, 0, 0);

	if (v)
		*v += 1;
	return 0;
}
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";
