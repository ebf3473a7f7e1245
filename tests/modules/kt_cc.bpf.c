// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test congestion control: Reno through the kernel's kfuncs, recording in
 * its per-connection data which version of the module initialised it. */
#define KHELP_CC 1
#include <khelp/khelp.bpf.h>

#ifndef KT_VERSION
#define KT_VERSION	1
#endif
#define KT_STR(x)	#x
#define KT_VSTR(x)	KT_STR(x) ".0.0"

struct kt_cc { __u64 version; __u64 acks; };
KHELP_DATA(kt_cc, struct kt_cc);

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

SEC("struct_ops")
void BPF_PROG(kt_cc_init, struct sock *sk)
{
	KHELP__DATA_T(kt_cc) *v = bpf_sk_storage_get(&khelp_data_kt_cc, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (v)
		v->d.version = KT_VERSION;
}

SEC("struct_ops")
void BPF_PROG(kt_cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kt_cc *d = khelp_data_of(kt_cc, sk);

	if (d)
		d->acks++;
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops")
__u32 BPF_PROG(kt_cc_ssthresh, struct sock *sk) { return tcp_reno_ssthresh(sk); }

SEC("struct_ops")
__u32 BPF_PROG(kt_cc_undo_cwnd, struct sock *sk) { return tcp_reno_undo_cwnd(sk); }

SEC(".struct_ops.link")
struct tcp_congestion_ops kt_cc = {
	.init = (void *)kt_cc_init,
	.cong_avoid = (void *)kt_cc_cong_avoid,
	.ssthresh = (void *)kt_cc_ssthresh,
	.undo_cwnd = (void *)kt_cc_undo_cwnd,
	.name = "kt_cc",
};

KHELP_CC_MODULE(kt_cc, KT_VSTR(KT_VERSION), KHELP_F_NEEDS_DATA, struct kt_cc);
