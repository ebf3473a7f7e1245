// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_htcp: FreeBSD's H-TCP (cc_htcp(4)) as a BPF tcp_congestion_ops.
 *
 * For delta_l = 1 s after a congestion event the window grows as NewReno;
 * then the per-RTT increase is alpha = 1 + 10 d + (d / 2)^2 packets, d the
 * time since delta_l (seconds), applied once per cwnd of ACKed data.
 * The backoff factor beta is 0.5, or with adaptive_backoff
 * clamp(minrtt / maxrtt, 0.5, 0.8), alpha then scaled by 2 (1 - beta);
 * rtt_scaling scales alpha by srtt / 100 ms (clamped to 0.1 .. 2).
 * Times are microseconds (FreeBSD: ticks); RTTs come from Linux's srtt.
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)							\
	P(adaptive_backoff,	KHELP_PARAM_BOOL, 0, 0, 1)		\
	P(rtt_scaling,		KHELP_PARAM_BOOL, 0, 0, 1)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"

#define HTCP_SHIFT		8
#define HTCP_ALPHA_INC_SHIFT	4
#define HTCP_INIT_ALPHA		1
#define HTCP_HZ			1000000ULL	/* our "ticks" are microseconds */
#define HTCP_DELTA_L		HTCP_HZ		/* 1 s */
#define HTCP_MINBETA		128		/* 0.5 << HTCP_SHIFT */
#define HTCP_MAXBETA		204		/* ~0.8 << HTCP_SHIFT */
#define HTCP_MINROWE		26		/* ~0.1 << HTCP_SHIFT */
#define HTCP_MAXROWE		512		/* 2 << HTCP_SHIFT */
#define HTCP_RTT_REF_US		100000U		/* RTT_ref: 100 ms */
#define HTCP_MIN_RTT_SAMPLES	8
/* FreeBSD stops updating alpha at INT_MAX / 160 ticks (ms) since delta_l. */
#define HTCP_MAX_DIFF		(((__u64)0x7fffffff / 160) * 1000)

/* flags */
#define HTCP_F_ADAPTIVE		0x01
#define HTCP_F_RTT_SCALING	0x02
#define HTCP_F_ECE		0x04

struct kh_htcp {
	__u64 t_last_cong;	/* us, time of the last congestion event */
	__u32 prev_cwnd;	/* packets, cwnd before entering recovery */
	__u32 alpha;		/* packets per RTT */
	__u32 beta;		/* << HTCP_SHIFT */
	__u32 maxrtt;		/* us, 0 = unset */
	__u32 minrtt;		/* us, 0 = unset */
	__u32 flags;
	__u32 acked_cnt;	/* packets ACKed since the last avoidance increase */
	__u32 rtt_samples;	/* FreeBSD t_rttupdated, saturating */
	/* before the last ssthresh(): RTO override and undo */
	__u64 saved_t_last_cong;
	__u32 saved_prev_cwnd;
	__u32 saved_maxrtt;
	__u32 saved_beta;
};
KHCC_PRIV_FITS(struct kh_htcp);

static __always_inline struct kh_htcp *htcp_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

SEC("struct_ops")
void BPF_PROG(kh_htcp_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_htcp *ca = htcp_ca(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	if (khelp_cc_param(cfg, adaptive_backoff))
		ca->flags |= HTCP_F_ADAPTIVE;
	if (khelp_cc_param(cfg, rtt_scaling))
		ca->flags |= HTCP_F_RTT_SCALING;
	ca->alpha = HTCP_INIT_ALPHA;
	ca->beta = HTCP_MINBETA;
	ca->t_last_cong = khcc_now_us(khcc_tp(sk));
}

static __always_inline __u32 htcp_srtt_us(const struct tcp_sock *tp)
{
	return tp->srtt_us >> 3;
}

/* htcp_record_rtt(): min and max srtt once enough samples were taken. */
static __always_inline void htcp_record_rtt(struct kh_htcp *ca, const struct tcp_sock *tp)
{
	__u32 srtt = htcp_srtt_us(tp);

	if (ca->rtt_samples < HTCP_MIN_RTT_SAMPLES || !srtt)
		return;
	if (srtt < ca->minrtt || ca->minrtt == 0)
		ca->minrtt = srtt;
	if (srtt > ca->maxrtt)
		ca->maxrtt = srtt;
}

/* htcp_recalc_beta() */
static __always_inline void htcp_recalc_beta(struct kh_htcp *ca)
{
	if ((ca->flags & HTCP_F_ADAPTIVE) && ca->minrtt && ca->maxrtt) {
		__u32 b = (ca->minrtt << HTCP_SHIFT) / ca->maxrtt;

		ca->beta = khcc_min(khcc_max(b, (__u32)HTCP_MINBETA), (__u32)HTCP_MAXBETA);
	} else {
		ca->beta = HTCP_MINBETA;
	}
}

/* htcp_recalc_alpha(): 1 + 10 d + (d / 2)^2, FreeBSD's fixed point. */
static __always_inline void htcp_recalc_alpha(struct kh_htcp *ca, const struct tcp_sock *tp)
{
	__u64 now = khcc_now_us(tp), diff, a;
	__u32 alpha;

	if (now < ca->t_last_cong)
		ca->t_last_cong = now > HTCP_DELTA_L ? now - HTCP_DELTA_L : 0;
	diff = now - ca->t_last_cong;
	if (diff <= HTCP_DELTA_L) {
		ca->alpha = 1;
		return;
	}
	diff -= HTCP_DELTA_L;
	/* Cap: stop updating alpha where FreeBSD's int arithmetic would overflow. */
	if (diff >= HTCP_MAX_DIFF)
		return;

	a = (16 + (160 * diff) / HTCP_HZ +
	     (diff / HTCP_HZ) * ((diff << HTCP_ALPHA_INC_SHIFT) / (4 * HTCP_HZ)))
	    >> HTCP_ALPHA_INC_SHIFT;
	alpha = (__u32)a;

	/* Adaptive backoff fairness: 2 (1 - beta) alpha_raw. */
	if (ca->flags & HTCP_F_ADAPTIVE)
		alpha = (__u32)khcc_max(1ULL, (2ULL * ((1U << HTCP_SHIFT) - ca->beta) * alpha) >> HTCP_SHIFT);

	/* RTT scaling: (RTT / RTT_ref) alpha. */
	if (ca->flags & HTCP_F_RTT_SCALING) {
		__u32 rowe = (__u32)(((__u64)htcp_srtt_us(tp) << HTCP_SHIFT) / HTCP_RTT_REF_US);

		rowe = khcc_min(khcc_max(rowe, (__u32)HTCP_MINROWE), (__u32)HTCP_MAXROWE);
		alpha = khcc_max(1U, (__u32)(((__u64)rowe * alpha) >> HTCP_SHIFT));
	}
	ca->alpha = alpha;
}

SEC("struct_ops")
void BPF_PROG(kh_htcp_pkts_acked, struct sock *sk, const struct ack_sample *sample)
{
	struct kh_htcp *ca = htcp_ca(sk);

	if (sample->rtt_us >= 0 && ca->rtt_samples < HTCP_MIN_RTT_SAMPLES)
		ca->rtt_samples++;
}

SEC("struct_ops")
void BPF_PROG(kh_htcp_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_htcp *ca = htcp_ca(sk);

	if (flags & CA_ACK_ECE)
		ca->flags |= HTCP_F_ECE;
	else
		ca->flags &= ~HTCP_F_ECE;
	htcp_record_rtt(ca, khcc_tp(sk));
}

SEC("struct_ops")
void BPF_PROG(kh_htcp_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kh_htcp *ca = htcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	if (!khcc_cwnd_limited(sk))
		return;

	if (khcc_fbsd_slow_start(tp)) {
		/* Slow start: NewReno, alpha/beta tracked on every ACK. */
		htcp_recalc_beta(ca);
		htcp_recalc_alpha(ca, tp);
		ca->acked_cnt = 0;
		khcc_set_cwnd(tp, tp->snd_cwnd + acked);
		return;
	}

	/* Avoidance: act once per cwnd of ACKed data (ABC's SENTAWND). */
	ca->acked_cnt += acked;
	if (ca->acked_cnt < tp->snd_cwnd)
		return;
	ca->acked_cnt -= tp->snd_cwnd;
	if (ca->acked_cnt > tp->snd_cwnd)
		ca->acked_cnt = 0;
	htcp_recalc_beta(ca);
	htcp_recalc_alpha(ca, tp);
	/* alpha == 1 (first delta_l after congestion): NewReno's +1. */
	khcc_set_cwnd(tp, tp->snd_cwnd + (ca->alpha ? ca->alpha : 1));
}

static __always_inline void htcp_save(struct kh_htcp *ca)
{
	ca->saved_t_last_cong = ca->t_last_cong;
	ca->saved_prev_cwnd = ca->prev_cwnd;
	ca->saved_maxrtt = ca->maxrtt;
	ca->saved_beta = ca->beta;
}

static __always_inline void htcp_restore(struct kh_htcp *ca)
{
	ca->t_last_cong = ca->saved_t_last_cong;
	ca->prev_cwnd = ca->saved_prev_cwnd;
	ca->maxrtt = ca->saved_maxrtt;
	ca->beta = ca->saved_beta;
}

/* cong_signal(CC_NDUPACK / CC_ECN) */
SEC("struct_ops")
__u32 BPF_PROG(kh_htcp_ssthresh, struct sock *sk)
{
	struct kh_htcp *ca = htcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 ss;

	htcp_save(ca);
	/* Hysteresis on maxrtt so RTT reductions show in the measurements. */
	if (ca->maxrtt > ca->minrtt)
		ca->maxrtt = ca->minrtt + (ca->maxrtt - ca->minrtt) * 95 / 100;
	/* htcp_ssthresh_update(): the first event halves, later ones use beta. */
	if (tp->snd_ssthresh >= KHCC_TCP_INFINITE_SSTHRESH) {
		ss = (__u32)(((__u64)tp->snd_cwnd * HTCP_MINBETA) >> HTCP_SHIFT);
	} else {
		htcp_recalc_beta(ca);
		ss = (__u32)(((__u64)tp->snd_cwnd * ca->beta) >> HTCP_SHIFT);
	}
	ca->t_last_cong = khcc_now_us(tp);
	ca->prev_cwnd = tp->snd_cwnd;
	ca->acked_cnt = 0;
	return khcc_max(ss, 2U);
}

SEC("struct_ops")
void BPF_PROG(kh_htcp_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct kh_htcp *ca = htcp_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	switch (ev) {
	case CA_EVENT_LOSS:
		/* CC_RTO: NewReno's RTO; the first RTO is not a congestion event. */
		htcp_restore(ca);
		tp->snd_ssthresh = khcc_rto_ssthresh(tp);
		break;
	case CA_EVENT_COMPLETE_CWR:
		/* htcp_post_recovery() */
		if (khcc_ca_state(sk) == TCP_CA_Recovery) {
			__u32 pipe = khcc_in_flight(tp);

			if (pipe < tp->snd_ssthresh)
				khcc_set_cwnd(tp, khcc_max(pipe, 1U) + 1);
			else
				khcc_set_cwnd(tp, (__u32)khcc_max(1ULL, ((__u64)ca->beta * ca->prev_cwnd) >> HTCP_SHIFT));
		}
		break;
	default:
		break;
	}
}

SEC("struct_ops")
__u32 BPF_PROG(kh_htcp_undo_cwnd, struct sock *sk)
{
	htcp_restore(htcp_ca(sk));
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_htcp = {
	.init		= (void *)kh_htcp_init,
	.ssthresh	= (void *)kh_htcp_ssthresh,
	.cong_avoid	= (void *)kh_htcp_cong_avoid,
	.cwnd_event	= (void *)kh_htcp_cwnd_event,
	.in_ack_event	= (void *)kh_htcp_in_ack_event,
	.pkts_acked	= (void *)kh_htcp_pkts_acked,
	.undo_cwnd	= (void *)kh_htcp_undo_cwnd,
	.name		= "kh_htcp",
};

KHELP_CC_MODULE(kh_htcp, "1.0.0", 0, void);
