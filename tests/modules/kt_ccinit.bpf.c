// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test congestion control (Reno through the kernel's kfuncs) with a lifecycle
 * program that counts its module events where a test can see them after the
 * module is gone: in its khelp_ccfg map, at key 0 (no cgroup has id 0),
 * params[0] the MODULE_INITs and params[1] the MODULE_DESTROYs. A test pins
 * a map of that layout first; khelpd reuses it and the test keeps a pin. */
#define KHELP_CC 1
#include <khelp/khelp.bpf.h>

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

SEC("struct_ops")
void BPF_PROG(kt_ccinit_cong_avoid, struct sock *sk, __u32 ack, __u32 acked) { tcp_reno_cong_avoid(sk, ack, acked); }

SEC("struct_ops")
__u32 BPF_PROG(kt_ccinit_ssthresh, struct sock *sk) { return tcp_reno_ssthresh(sk); }

SEC("struct_ops")
__u32 BPF_PROG(kt_ccinit_undo_cwnd, struct sock *sk) { return tcp_reno_undo_cwnd(sk); }

SEC(".struct_ops.link")
struct tcp_congestion_ops kt_ccinit = {
	.cong_avoid = (void *)kt_ccinit_cong_avoid,
	.ssthresh = (void *)kt_ccinit_ssthresh,
	.undo_cwnd = (void *)kt_ccinit_undo_cwnd,
	.name = "kt_ccinit",
};

static __always_inline int count_event(const struct khelp_init_ctx *ctx)
{
	struct khelp_cgrp_cfg zero = {}, *v;
	__u64 key = 0;

	if (ctx->event != KHELP_EV_MODULE_INIT && ctx->event != KHELP_EV_MODULE_DESTROY)
		return 0;
	v = bpf_map_lookup_elem(&khelp_ccfg, &key);
	if (!v) {
		bpf_map_update_elem(&khelp_ccfg, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&khelp_ccfg, &key);
		if (!v)
			return 0;
	}
	if (ctx->event == KHELP_EV_MODULE_INIT)
		v->params[0]++;
	else
		v->params[1]++;
	return 0;
}
KHELP_INIT(count_event)

KHELP_CC_MODULE(kt_ccinit, "1.0.0", 0, void);
