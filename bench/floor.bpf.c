// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Floors for the per-callback cost (bench/hookpath.sh), attached directly with
 * bpftool, no khelpd: the cheapest sockops programs that get the same per-packet
 * callbacks as a khelp module hooking tcp_est_out (every sent segment; tcp_est_in
 * is a tp_btf program, whose floor is bench/floor_in.bpf.c).
 *   fl_empty   sets the callback flags at establishment, returns: what
 *              bpf_stats and the kernel's program call cost by themselves
 *   fl_lookup  the same plus one bpf_sk_storage_get per callback and a
 *              counter: the least any module with per-connection data does
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define FL_FLAGS	BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG

#include "floor.h"

static __always_inline int fl_start(__u32 op)
{
	return op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
}

SEC("sockops")
int fl_empty(struct bpf_sock_ops *skops)
{
	if (fl_start(skops->op))
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | FL_FLAGS);
	return 1;
}

SEC("sockops")
int fl_lookup(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	int start = fl_start(skops->op);
	struct fl_data *d;

	if (!sk)
		return 1;
	d = bpf_sk_storage_get(&fl_data, sk, 0, start ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	if (!d)
		return 1;
	d->n++;
	if (start)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | FL_FLAGS);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
