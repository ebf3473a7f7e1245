// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_newreno: FreeBSD's NewReno (cc_newreno(4)) as a BPF tcp_congestion_ops.
 *
 * cong_signal: NDUPACK/ECN set ssthresh = max(cwnd * beta / 100, 2); with
 * ABE (abe = 1) an ECN signal uses beta_ecn instead, and with
 * abe_frlossreduce a loss during ECN recovery further scales ssthresh by
 * beta / beta_ecn. RTO: ssthresh = max(min(wnd, cwnd) / 2, 2).
 * ack_received: ABC slow start, +1 packet per cwnd ACKed in avoidance.
 * post_recovery: RFC 6582 burst avoidance.
 * HyStart++ (RFC 9406, FreeBSD's implementation) when `hystart` != 0:
 *   1 = allowed, 2 = may also pull cwnd back on CSS exit,
 *   3 = as 2 with the conservative ssthresh (FreeBSD's socket option values).
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)								\
	P(beta,				KHELP_PARAM_UINT, 50, 1, 100)		\
	P(beta_ecn,			KHELP_PARAM_UINT, 80, 1, 100)		\
	P(abe,				KHELP_PARAM_BOOL, 0, 0, 1)		\
	P(abe_frlossreduce,		KHELP_PARAM_BOOL, 0, 0, 1)		\
	P(hystart,			KHELP_PARAM_UINT, 0, 0, 3)		\
	P(hystart_minrtt_thresh,	KHELP_PARAM_UINT, 4000, 1, 10000000)	\
	P(hystart_maxrtt_thresh,	KHELP_PARAM_UINT, 16000, 1, 10000000)	\
	P(hystart_n_rttsamples,		KHELP_PARAM_UINT, 8, 1, 1000000)	\
	P(hystart_css_growth_div,	KHELP_PARAM_UINT, 4, 1, 1000)		\
	P(hystart_css_rounds,		KHELP_PARAM_UINT, 5, 1, 1000000)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"

/* newreno_flags */
#define NR_HYSTART_ENABLED	0x01	/* HyStart++ not yet switched off by a loss */
#define NR_HYSTART_IN_CSS	0x02	/* in conservative slow start */
#define NR_ECE			0x04	/* the ACK being processed carries ECE */
#define NR_IDLE_RESTART		0x08	/* after_idle ran, re-check HyStart++ */

#define NR_RTT_INF		0xffffffffU

struct kh_newreno {
	/* configuration, copied from the container's parameters at init */
	__u8 beta;
	__u8 beta_ecn;
	__u8 abe;
	__u8 abe_frlossreduce;
	__u8 hystart;			/* 0 off, 1 allowed, 2 can shrink cwnd, 3 cons. ssthresh */
	__u8 pad[3];
	__u32 hs_minrtt_thresh;		/* us */
	__u32 hs_maxrtt_thresh;		/* us */
	__u32 hs_n_rttsamples;
	__u32 hs_css_growth_div;
	__u32 hs_css_rounds;
	/* state */
	__u32 flags;			/* NR_* */
	__u32 saved_flags;		/* flags before the last ssthresh() (RTO restores) */
	__u32 round_end;		/* snd_nxt at the start of this round */
	__u32 css_acked;		/* CSS growth remainder (packets * div) */
	__u32 css_baseline_minrtt;
	__u32 css_current_round_minrtt;
	__u32 css_lastround_minrtt;
	__u32 css_rttsample_count;
	__u32 css_entered_at_round;
	__u32 css_current_round;
	__u32 css_fas_at_css_entry;	/* packets */
	__u32 css_lowrtt_fas;		/* packets */
	__u32 css_last_fas;		/* packets */
};
KHCC_PRIV_FITS(struct kh_newreno);

static __always_inline struct kh_newreno *nr_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

SEC("struct_ops")
void BPF_PROG(kh_newreno_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_newreno *ca = nr_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->beta = khelp_cc_param(cfg, beta);
	ca->beta_ecn = khelp_cc_param(cfg, beta_ecn);
	ca->abe = khelp_cc_param(cfg, abe);
	ca->abe_frlossreduce = khelp_cc_param(cfg, abe_frlossreduce);
	ca->hystart = khelp_cc_param(cfg, hystart);
	ca->hs_minrtt_thresh = khelp_cc_param(cfg, hystart_minrtt_thresh);
	ca->hs_maxrtt_thresh = khelp_cc_param(cfg, hystart_maxrtt_thresh);
	ca->hs_n_rttsamples = khelp_cc_param(cfg, hystart_n_rttsamples);
	ca->hs_css_growth_div = khelp_cc_param(cfg, hystart_css_growth_div);
	ca->hs_css_rounds = khelp_cc_param(cfg, hystart_css_rounds);

	ca->flags = NR_HYSTART_ENABLED;
	ca->css_lastround_minrtt = NR_RTT_INF;
	ca->css_current_round_minrtt = NR_RTT_INF;
	ca->css_baseline_minrtt = NR_RTT_INF;
	ca->round_end = tp->snd_nxt;
}

/* newreno_newround(): a round (one window of data) has been ACKed. */
static __always_inline void nr_newround(struct sock *sk, struct kh_newreno *ca)
{
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 round = ca->css_current_round + 1;

	ca->css_lastround_minrtt = ca->css_current_round_minrtt;
	ca->css_current_round_minrtt = NR_RTT_INF;
	ca->css_rttsample_count = 0;
	ca->css_current_round = round;
	if ((ca->flags & NR_HYSTART_IN_CSS) &&
	    round - ca->css_entered_at_round >= ca->hs_css_rounds) {
		/* Leave slow start. */
		khcc_dbg("kh_newreno: CSS done round %u cwnd %u", round, tp->snd_cwnd);
		if (ca->hystart >= 2) {
			if (ca->hystart >= 3)
				tp->snd_ssthresh = khcc_max((ca->css_lowrtt_fas +
							     ca->css_fas_at_css_entry) / 2, 2U);
			else
				tp->snd_ssthresh = khcc_max(ca->css_lowrtt_fas, 2U);
			khcc_set_cwnd(tp, khcc_max(ca->css_fas_at_css_entry, 2U));
			ca->css_entered_at_round = round;
		} else {
			tp->snd_ssthresh = tp->snd_cwnd;
			ca->flags &= ~(NR_HYSTART_IN_CSS | NR_HYSTART_ENABLED);
		}
	}
}

/* newreno_rttsample() */
static __always_inline void nr_rttsample(struct kh_newreno *ca, __u32 rtt_us, __u32 fas)
{
	ca->css_rttsample_count++;
	ca->css_last_fas = fas;
	if (ca->css_current_round_minrtt > rtt_us) {
		ca->css_current_round_minrtt = rtt_us;
		ca->css_lowrtt_fas = fas;
	}
	if ((ca->flags & NR_HYSTART_IN_CSS) &&
	    ca->css_rttsample_count >= ca->hs_n_rttsamples &&
	    ca->css_baseline_minrtt > ca->css_current_round_minrtt) {
		/* The RTT fell again: CSS was entered by mistake. */
		khcc_dbg("kh_newreno: CSS abort minrtt %u", ca->css_current_round_minrtt);
		ca->flags &= ~NR_HYSTART_IN_CSS;
		ca->css_baseline_minrtt = NR_RTT_INF;
	}
}

SEC("struct_ops")
void BPF_PROG(kh_newreno_pkts_acked, struct sock *sk, const struct ack_sample *sample)
{
	struct kh_newreno *ca = nr_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__s32 rtt_us = sample->rtt_us;

	if (!ca->hystart || !(ca->flags & NR_HYSTART_ENABLED))
		return;
	if (khcc_after(tp->snd_una, ca->round_end)) {
		ca->round_end = tp->snd_nxt;
		nr_newround(sk, ca);
	}
	/* rtt_us < 0: no unambiguous sample on this ACK (Karn). */
	if (rtt_us < 0)
		return;
	nr_rttsample(ca, rtt_us, sample->in_flight / khcc_mss(tp));
}

SEC("struct_ops")
void BPF_PROG(kh_newreno_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_newreno *ca = nr_ca(sk);

	if (flags & CA_ACK_ECE)
		ca->flags |= NR_ECE;
	else
		ca->flags &= ~NR_ECE;
}

/* HyStart++: decide whether to enter CSS (newreno_ack_received, slow start). */
static __always_inline void nr_hystart_check(struct kh_newreno *ca, __u32 cwnd)
{
	__u32 rtt_thresh;

	if (!ca->hystart || (ca->flags & (NR_HYSTART_ENABLED | NR_HYSTART_IN_CSS)) !=
	    NR_HYSTART_ENABLED)
		return;
	if (ca->css_rttsample_count < ca->hs_n_rttsamples)
		return;
	/* No last round yet: RFC 9406 needs lastRoundMinRTT != infinity. */
	if (ca->css_lastround_minrtt == NR_RTT_INF ||
	    ca->css_current_round_minrtt == NR_RTT_INF)
		return;
	rtt_thresh = ca->css_lastround_minrtt >> 3;
	rtt_thresh = khcc_max(rtt_thresh, ca->hs_minrtt_thresh);
	rtt_thresh = khcc_min(rtt_thresh, ca->hs_maxrtt_thresh);
	if ((__u64)ca->css_current_round_minrtt >=
	    (__u64)ca->css_lastround_minrtt + rtt_thresh) {
		ca->flags |= NR_HYSTART_IN_CSS;
		ca->css_fas_at_css_entry = ca->css_lowrtt_fas;
		ca->css_baseline_minrtt = ca->css_current_round_minrtt;
		ca->css_entered_at_round = ca->css_current_round;
		khcc_dbg("kh_newreno: CSS enter round %u minrtt %u last %u", ca->css_current_round,
			 ca->css_current_round_minrtt, ca->css_lastround_minrtt);
	}
}

SEC("struct_ops")
void BPF_PROG(kh_newreno_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kh_newreno *ca = nr_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	if (ca->flags & NR_IDLE_RESTART) {
		/* newreno_after_idle(): re-enable HyStart++ after an idle period. */
		ca->flags &= ~NR_IDLE_RESTART;
		if (!(ca->flags & NR_HYSTART_ENABLED)) {
			ca->flags &= ~NR_HYSTART_IN_CSS;
			ca->flags |= NR_HYSTART_ENABLED;
		}
	}
	if (!khcc_cwnd_limited(sk))
		return;

	if (khcc_in_slow_start(tp)) {
		nr_hystart_check(ca, tp->snd_cwnd);
		if (ca->flags & NR_HYSTART_IN_CSS) {
			/* CSS: grow by acked / css_growth_div, keeping the remainder. */
			__u32 div = ca->hs_css_growth_div ? ca->hs_css_growth_div : 1;

			ca->css_acked += acked;
			acked = ca->css_acked / div;
			ca->css_acked -= acked * div;
			if (!acked)
				return;
		}
		acked = tcp_slow_start(tp, acked);
		if (!acked)
			return;
	}
	if (ca->flags & NR_HYSTART_IN_CSS)
		/* Slipped into congestion avoidance with CSS on: switch it off. */
		ca->flags &= ~(NR_HYSTART_IN_CSS | NR_HYSTART_ENABLED);
	tcp_cong_avoid_ai(tp, tp->snd_cwnd, acked);
}

/* cong_signal(CC_NDUPACK or CC_ECN): the value Linux stores in snd_ssthresh. */
SEC("struct_ops")
__u32 BPF_PROG(kh_newreno_ssthresh, struct sock *sk)
{
	struct kh_newreno *ca = nr_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	int ecn = ca->flags & NR_ECE;
	__u32 factor = (ecn && ca->abe) ? ca->beta_ecn : ca->beta;

	ca->saved_flags = ca->flags;
	/* A loss or an ECN mark ends HyStart++. */
	ca->flags &= ~(NR_HYSTART_ENABLED | NR_HYSTART_IN_CSS);
	return khcc_newreno_cwin(tp->snd_cwnd, factor);
}

SEC("struct_ops")
void BPF_PROG(kh_newreno_set_state, struct sock *sk, __u8 new_state)
{
	struct kh_newreno *ca = nr_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	/*
	 * CC_NDUPACK while in ECN (congestion) recovery: Linux keeps the CWR
	 * ssthresh; FreeBSD with ABE and abe_frlossreduce scales it by
	 * beta / beta_ecn to make up the difference to a loss response.
	 */
	if (new_state == TCP_CA_Recovery && khcc_ca_state(sk) == TCP_CA_CWR &&
	    ca->abe && ca->abe_frlossreduce && ca->beta_ecn) {
		__u32 ss = (__u32)(((__u64)tp->snd_ssthresh * ca->beta) / ca->beta_ecn);

		tp->snd_ssthresh = khcc_max(ss, 2U);
		ca->flags &= ~(NR_HYSTART_ENABLED | NR_HYSTART_IN_CSS);
	}
}

SEC("struct_ops")
void BPF_PROG(kh_newreno_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct kh_newreno *ca = nr_ca(sk);

	if (ev == CA_EVENT_LOSS) {
		/*
		 * CC_RTO: the ssthresh() just made was for an RTO. FreeBSD's
		 * newreno applies its beta to the flight: max(2, min(wnd, pipe) * beta / 100).
		 */
		ca->flags = ca->saved_flags & ~NR_ECE;
		khcc_tp(sk)->snd_ssthresh = khcc_rto_ssthresh_beta(khcc_tp(sk), ca->beta);
		return;
	}
	if (ev == CA_EVENT_CWND_RESTART)
		ca->flags |= NR_IDLE_RESTART;
	khcc_newreno_cwnd_event(sk, ev);
}

/* CC_RTO_ERR: Linux restores ssthresh; cwnd goes back to its prior value. */
SEC("struct_ops")
__u32 BPF_PROG(kh_newreno_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_newreno = {
	.init		= (void *)kh_newreno_init,
	.ssthresh	= (void *)kh_newreno_ssthresh,
	.cong_avoid	= (void *)kh_newreno_cong_avoid,
	.set_state	= (void *)kh_newreno_set_state,
	.cwnd_event	= (void *)kh_newreno_cwnd_event,
	.in_ack_event	= (void *)kh_newreno_in_ack_event,
	.pkts_acked	= (void *)kh_newreno_pkts_acked,
	.undo_cwnd	= (void *)kh_newreno_undo_cwnd,
	.name		= "kh_newreno",
};

KHELP_CC_MODULE(kh_newreno, "1.0.0", 0, void);
