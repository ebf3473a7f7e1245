// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_dctcp: FreeBSD's DCTCP (cc_dctcp(4)) as a BPF tcp_congestion_ops.
 *
 * Sender: alpha, the EWMA (gain 1/2^shift_g) of the fraction of data ACKed
 * with ECE, is updated once per window of data; an ECN signal sets
 * ssthresh = cwnd (1 - alpha / 2048), at most once per window. Loss halves
 * ssthresh as NewReno. With `slowstart` the first ECN signal halves instead
 * and resets alpha to its maximum. Receiver: ECE echoes the CE state of the
 * data exactly, and a change of CE state is ACKed at once.
 * The module asks Linux for ECN on every connection (TCP_CONG_NEEDS_ECN).
 * A connection that did not negotiate ECN switches to the kernel's reno
 * before it sends data, as Linux's dctcp falls back to dctcp-reno: that
 * clears the ECT bits the handshake set (FreeBSD never sends ECT without
 * ECN), which a struct_ops program cannot clear otherwise.
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)							\
	P(alpha,	KHELP_PARAM_UINT, 1024, 0, 1024)		\
	P(shift_g,	KHELP_PARAM_UINT, 4, 0, 10)			\
	P(slowstart,	KHELP_PARAM_BOOL, 0, 0, 1)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"

#define DCTCP_FALLBACK_CC	"reno"	/* without ECN (Linux's dctcp: dctcp-reno) */
#define DCTCP_MAX_ALPHA		1024U
#define DCTCP_ALPHA_SHIFT	10	/* alpha is a fraction << 10 */

/* flags */
#define DCTCP_ECE		0x01	/* this ACK carries ECE */
#define DCTCP_CE_PREV		0x02	/* receiver: the last data segment was CE marked */

struct kh_dctcp {
	__u32 alpha;			/* fraction of marked data << 10 */
	__u32 init_alpha;		/* parameter `alpha`, restored after idle */
	__u32 shift_g;
	__u32 slowstart;
	__u32 flags;
	__u32 save_sndnxt;		/* end of the current observation window */
	__u32 old_delivered;		/* tp->delivered at the window start */
	__u32 old_delivered_ce;		/* tp->delivered_ce at the window start */
	__u32 num_cong_events;
	__u32 cwnd_prev;		/* cwnd at the last ECN signal */
	/* state before the last ssthresh(), for an RTO override */
	__u32 saved_num_cong_events;
	__u32 saved_alpha;
	__u32 saved_save_sndnxt;
	__u32 saved_old_delivered;
	__u32 saved_old_delivered_ce;
	__u32 prior_rcv_nxt;		/* receiver: rcv_nxt when the CE state was last seen */
};
KHCC_PRIV_FITS(struct kh_dctcp);

static __always_inline struct kh_dctcp *dctcp_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

static __always_inline int dctcp_ecn_ok(const struct tcp_sock *tp)
{
	return tp->ecn_flags & KHCC_TCP_ECN_OK;
}

/* Start a new observation window. */
static __always_inline void dctcp_reset_window(struct kh_dctcp *ca, const struct tcp_sock *tp)
{
	ca->save_sndnxt = tp->snd_nxt;
	ca->old_delivered = tp->delivered;
	ca->old_delivered_ce = tp->delivered_ce;
}

/*
 * No ECN on an established connection: leave for reno. The kernel's
 * tcp_reinit_congestion_control() then clears the socket's ECT bits
 * (INET_ECN_dontxmit), as Linux's dctcp_init() does. Checked at .init and
 * at CA_EVENT_TX_START: a CC chosen in SYN_SENT (at connect(), khelp's
 * container default) is initialised there, before the handshake decided
 * ECN, and not again (tcp_init_transfer() skips an initialised CC); the
 * first data segment raises TX_START before its IP header takes the ECT bits.
 */
static __always_inline int dctcp_fallback(struct sock *sk, const struct tcp_sock *tp)
{
	char name[] = DCTCP_FALLBACK_CC;
	int err;

	khcc_dbg("kh_dctcp: ECN check: state %u ecn_flags %x", sk->__sk_common.skc_state, tp->ecn_flags);
	if (dctcp_ecn_ok(tp) ||
	    ((1 << sk->__sk_common.skc_state) & (TCPF_SYN_SENT | TCPF_LISTEN | TCPF_CLOSE)))
		return 0;
	err = bpf_setsockopt(sk, KHCC_SOL_TCP, KHCC_TCP_CONGESTION, name, sizeof(name));
	khcc_dbg("kh_dctcp: no ECN: to %s: %d", name, err);
	return !err;
}

SEC("struct_ops")
void BPF_PROG(kh_dctcp_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_dctcp *ca = dctcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	if (dctcp_fallback(sk, tp))
		return;		/* the socket is reno's now: icsk_ca_priv is not ours */
	__builtin_memset(ca, 0, sizeof(*ca));
	ca->init_alpha = khcc_min((__u32)khelp_cc_param(cfg, alpha), DCTCP_MAX_ALPHA);
	ca->shift_g = khcc_min((__u32)khelp_cc_param(cfg, shift_g), (__u32)DCTCP_ALPHA_SHIFT);
	ca->slowstart = khelp_cc_param(cfg, slowstart);
	ca->alpha = ca->init_alpha;
	ca->prior_rcv_nxt = tp->rcv_nxt;
	dctcp_reset_window(ca, tp);
}

/*
 * dctcp_update_alpha(): alpha = (1 - g) alpha + g F, F = marked / total of
 * the window. Linux counts ACKed packets (delivered, delivered_ce: packets
 * ACKed by an ACK with ECE), FreeBSD counts bytes.
 */
static __always_inline void dctcp_update_alpha(struct kh_dctcp *ca, const struct tcp_sock *tp)
{
	__u32 total = tp->delivered - ca->old_delivered;
	__u32 marked = tp->delivered_ce - ca->old_delivered_ce;
	__u32 g = ca->shift_g & 0xf;
	__u64 alpha = ca->alpha;

	if (g > DCTCP_ALPHA_SHIFT)
		g = DCTCP_ALPHA_SHIFT;
	total = khcc_max(total, 1U);
	alpha = alpha - (alpha >> g) + (((__u64)marked << (DCTCP_ALPHA_SHIFT - g)) / total);
	ca->alpha = (__u32)khcc_min(alpha, (__u64)DCTCP_MAX_ALPHA);
	dctcp_reset_window(ca, tp);
}

/* Every ACK: FreeBSD's dctcp_ack_received() accounting. */
SEC("struct_ops")
void BPF_PROG(kh_dctcp_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_dctcp *ca = dctcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	if (flags & CA_ACK_ECE)
		ca->flags |= DCTCP_ECE;
	else
		ca->flags &= ~DCTCP_ECE;
	if (!dctcp_ecn_ok(tp))
		return;
	/* End of the observation window. */
	if (khcc_after(tp->snd_una, ca->save_sndnxt))
		dctcp_update_alpha(ca, tp);
}

/* The NewReno window increase (ECN marks are not a reason to stop growing). */
SEC("struct_ops")
void BPF_PROG(kh_dctcp_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	khcc_newreno_increase(sk, acked);
}

SEC("struct_ops")
__u32 BPF_PROG(kh_dctcp_ssthresh, struct sock *sk)
{
	struct kh_dctcp *ca = dctcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 cwnd = tp->snd_cwnd, ss;

	ca->saved_num_cong_events = ca->num_cong_events;
	ca->saved_alpha = ca->alpha;
	ca->saved_save_sndnxt = ca->save_sndnxt;
	ca->saved_old_delivered = ca->old_delivered;
	ca->saved_old_delivered_ce = ca->old_delivered_ce;

	if (!(ca->flags & DCTCP_ECE)) {
		/* CC_NDUPACK */
		ca->num_cong_events++;
		return khcc_max(cwnd / 2, 2U);
	}
	/* CC_ECN */
	ca->cwnd_prev = cwnd;
	if (ca->slowstart && ca->num_cong_events++ == 0) {
		/* Leave the first slow start as NewReno would. */
		ss = cwnd / 2;
		ca->alpha = DCTCP_MAX_ALPHA;
		dctcp_reset_window(ca, tp);
	} else {
		ss = cwnd - (__u32)(((__u64)cwnd * ca->alpha) >> (DCTCP_ALPHA_SHIFT + 1));
	}
	return khcc_max(ss, 2U);
}

SEC("struct_ops")
void BPF_PROG(kh_dctcp_set_state, struct sock *sk, __u8 new_state)
{
	struct kh_dctcp *ca = dctcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	/*
	 * CC_NDUPACK during ECN (congestion) recovery: recompute ssthresh
	 * from the cwnd before the ECN reduction.
	 */
	if (new_state == TCP_CA_Recovery && khcc_ca_state(sk) == TCP_CA_CWR)
		tp->snd_ssthresh = khcc_max(ca->cwnd_prev / 2, 2U);
}

/* The ECE the receiver's next ACK carries. */
static __always_inline void dctcp_ece_set(struct tcp_sock *tp, int ce)
{
	if (ce)
		tp->ecn_flags |= KHCC_TCP_ECN_DEMAND_CWR;
	else
		tp->ecn_flags &= ~KHCC_TCP_ECN_DEMAND_CWR;
}

/*
 * Receiver: echo the CE state exactly; ACK a change of state at once. If an
 * ACK was being delayed, send it first with the old state, for the data
 * up to prior_rcv_nxt that had that state (Linux's dctcp_ece_ack_update()).
 * FreeBSD ACKs at once too but with the new state, and corrects for it at
 * the sender (ece_prev: one MSS of that ACK counted in the other state).
 */
static __always_inline void dctcp_ce_state(struct sock *sk, struct kh_dctcp *ca, int ce)
{
	struct inet_connection_sock *icsk = khcc_icsk(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	int prev = !!(ca->flags & DCTCP_CE_PREV);

	if (prev != ce) {
		if (icsk->icsk_ack.pending & ICSK_ACK_TIMER) {
			dctcp_ece_set(tp, prev);
			bpf_tcp_send_ack(tp, ca->prior_rcv_nxt);
		}
		icsk->icsk_ack.pending |= ICSK_ACK_NOW;
	}
	ca->prior_rcv_nxt = tp->rcv_nxt;
	if (ce)
		ca->flags |= DCTCP_CE_PREV;
	else
		ca->flags &= ~DCTCP_CE_PREV;
	dctcp_ece_set(tp, ce);
}

SEC("struct_ops")
void BPF_PROG(kh_dctcp_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct kh_dctcp *ca = dctcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	switch (ev) {
	case CA_EVENT_TX_START:
		dctcp_fallback(sk, tp);	/* then the socket is reno's: nothing more here */
		break;
	case CA_EVENT_ECN_IS_CE:
		dctcp_ce_state(sk, ca, 1);
		break;
	case CA_EVENT_ECN_NO_CE:
		dctcp_ce_state(sk, ca, 0);
		break;
	case CA_EVENT_LOSS:
		/* CC_RTO: undo ssthresh()'s guess, then FreeBSD's RTO handling. */
		ca->num_cong_events = ca->saved_num_cong_events;
		ca->alpha = ca->saved_alpha;
		ca->save_sndnxt = ca->saved_save_sndnxt;
		ca->old_delivered = ca->saved_old_delivered;
		ca->old_delivered_ce = ca->saved_old_delivered_ce;
		tp->snd_ssthresh = khcc_rto_ssthresh(tp);
		if (dctcp_ecn_ok(tp)) {
			tp->ecn_flags |= KHCC_TCP_ECN_QUEUE_CWR;
			dctcp_update_alpha(ca, tp);
			ca->save_sndnxt += khcc_mss(tp);
			ca->num_cong_events++;
		}
		break;
	case CA_EVENT_COMPLETE_CWR:
		/* post_recovery */
		khcc_post_recovery(sk);
		if (dctcp_ecn_ok(tp))
			dctcp_update_alpha(ca, tp);
		break;
	case CA_EVENT_CWND_RESTART:
		/* after_idle: start over (Linux applies the restart window). */
		dctcp_reset_window(ca, tp);
		ca->alpha = ca->init_alpha;
		ca->flags &= ~(DCTCP_ECE | DCTCP_CE_PREV);
		ca->num_cong_events = 0;
		break;
	default:
		break;
	}
}

SEC("struct_ops")
__u32 BPF_PROG(kh_dctcp_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_dctcp = {
	.init		= (void *)kh_dctcp_init,
	.ssthresh	= (void *)kh_dctcp_ssthresh,
	.cong_avoid	= (void *)kh_dctcp_cong_avoid,
	.set_state	= (void *)kh_dctcp_set_state,
	.cwnd_event	= (void *)kh_dctcp_cwnd_event,
	.in_ack_event	= (void *)kh_dctcp_in_ack_event,
	.undo_cwnd	= (void *)kh_dctcp_undo_cwnd,
	.flags		= KHCC_TCP_CONG_NEEDS_ECN,
	.name		= "kh_dctcp",
};

KHELP_CC_MODULE(kh_dctcp, "1.0.0", 0, void);
