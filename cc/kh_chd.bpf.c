// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_chd: FreeBSD's CAIA-Hamilton delay-based CC (cc_chd(4)) as a BPF
 * tcp_congestion_ops, driven by h_ertt's per-RTT marked measurement.
 *
 * Once per RTT the queueing delay (max RTT seen in the RTT with use_max,
 * else the last RTT, minus minrtt) above queue_min triggers a backoff
 * (ssthresh = cwnd = cwnd - max(cwnd / 2, 1), held for one RTT) with a
 * probability that rises to pmax% at queue_threshold and falls to 0 at the
 * largest queueing delay seen. A loss only reduces the window when the
 * queueing delay exceeds queue_threshold (loss tolerance); with loss_fair a
 * shadow NewReno window lets the flow recover the delay backoffs it made
 * while competing with loss-based flows. ECN and RTO as NewReno.
 * Delays are in microseconds: FreeBSD's 20 and 5 ticks (hz = 1000) are
 * 20000 and 5000 us; queue_threshold must exceed queue_min.
 * Without h_ertt data for the connection the module behaves as NewReno.
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)								\
	P(queue_threshold,	KHELP_PARAM_UINT, 20000, 1, 10000000)		\
	P(queue_min,		KHELP_PARAM_UINT, 5000, 0, 10000000)		\
	P(pmax,			KHELP_PARAM_UINT, 50, 1, 100)			\
	P(loss_fair,		KHELP_PARAM_BOOL, 1, 0, 1)			\
	P(use_max,		KHELP_PARAM_BOOL, 1, 0, 1)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"
#include "h_ertt.h"

KHELP_DATA(h_ertt, struct ertt);
KHELP_DEPENDS("h_ertt");

#define CHD_NEWRENO_BETA	50	/* FreeBSD's newreno cong_signal default */

/* flags */
#define CHD_ECE			0x01	/* this ACK carries ECE */
#define CHD_DELAY_RECOVERY	0x02	/* congestion recovery after a delay backoff */
#define CHD_BACKOFF_ACK		0x04	/* this ACK backed off: no window increase */
#define CHD_NEW_MEASUREMENT	0x08	/* this ACK brought a new measurement */
#define CHD_LOSS_COMPETE	0x10	/* competing with loss-based flows (shadow window on) */
#define CHD_LOSS_FAIR		0x20	/* parameter loss_fair */
#define CHD_USE_MAX		0x40	/* parameter use_max */

struct kh_chd {
	__u32 qthresh;		/* us */
	__u32 qmin;		/* us */
	__u32 pmax;		/* percent */
	__u32 flags;
	__u32 shadow_w;		/* packets: NewReno window without delay backoffs, 0 = off */
	__u32 saved_shadow_w;	/* before the last ssthresh() (RTO restores) */
	__u32 maxrtt_in_rtt;	/* us, largest RTT sample in this RTT */
	__u32 prev_backoff_qdly;/* us, qdly of the previous delay backoff */
	__u32 recover_seq;	/* delay recovery ends when snd_una reaches this */
	__u32 acked_cnt;	/* ABC: packets ACKed in avoidance */
	__u32 backoffs;		/* delay-based backoffs taken (diagnostics) */
};
KHCC_PRIV_FITS(struct kh_chd);

static __always_inline struct kh_chd *chd_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

SEC("struct_ops")
void BPF_PROG(kh_chd_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_chd *ca = chd_ca(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->qthresh = khelp_cc_param(cfg, queue_threshold);
	ca->qmin = khelp_cc_param(cfg, queue_min);
	ca->pmax = khelp_cc_param(cfg, pmax);
	if (khelp_cc_param(cfg, loss_fair))
		ca->flags |= CHD_LOSS_FAIR;
	if (khelp_cc_param(cfg, use_max))
		ca->flags |= CHD_USE_MAX;
	/* chd_conn_init(): maybe competing with loss-based flows from the start. */
	ca->shadow_w = khcc_tp(sk)->snd_cwnd;
}

/* FreeBSD IN_RECOVERY(): Linux's recovery states or our delay recovery. */
static __always_inline int chd_in_recovery(struct sock *sk, const struct kh_chd *ca)
{
	return (ca->flags & CHD_DELAY_RECOVERY) || khcc_in_recovery(sk);
}

/* ssthresh after a congestion: w - max(w / 2, 1), w = min(wnd, cwnd). */
static __always_inline __u32 chd_window_decrease(const struct tcp_sock *tp, __u32 cwnd)
{
	__u32 win = khcc_min(tp->snd_wnd / khcc_mss(tp), cwnd);

	win -= khcc_min(khcc_max(win / 2, 1U), win);
	return khcc_max(win, 2U);
}

/* Probabilistic backoff (as cc_hd), tracking loss competition. */
static __always_inline int chd_should_backoff(struct kh_chd *ca, __u32 qdly, __u32 maxqdly)
{
	__u64 pmax = (__u64)(KHCC_RANDOM_MAX / 100) * ca->pmax;
	__u32 rand = khcc_random();
	__u64 p;

	if (qdly < ca->qthresh) {
		__u32 span = ca->qthresh - ca->qmin;

		ca->flags &= ~CHD_LOSS_COMPETE;
		p = span ? pmax / span * (qdly - ca->qmin) : pmax;
	} else if (qdly > ca->qthresh) {
		__u32 span = maxqdly > ca->qthresh ? maxqdly - ca->qthresh : 0;

		p = span ? pmax / span * (maxqdly > qdly ? maxqdly - qdly : 0) : 0;
		if ((ca->flags & CHD_LOSS_FAIR) && rand < p)
			ca->flags |= CHD_LOSS_COMPETE;
	} else {
		p = pmax;
		ca->flags &= ~CHD_LOSS_COMPETE;
	}
	return rand < p;
}

/* Every ACK: chd_ack_received() measurement and delay backoff. */
SEC("struct_ops")
void BPF_PROG(kh_chd_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_chd *ca = chd_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	struct ertt *e;
	__u32 qdly = 0, rtt;
	int backoff = 0;

	ca->flags &= ~(CHD_ECE | CHD_BACKOFF_ACK | CHD_NEW_MEASUREMENT);
	if (flags & CA_ACK_ECE)
		ca->flags |= CHD_ECE;
	/* Delay recovery ends once everything sent at the backoff is ACKed. */
	if ((ca->flags & CHD_DELAY_RECOVERY) && !khcc_before(tp->snd_una, ca->recover_seq))
		ca->flags &= ~CHD_DELAY_RECOVERY;

	e = khelp_data_of(h_ertt, sk);
	if (!e)
		return;
	ca->maxrtt_in_rtt = khcc_max(e->rtt_us, ca->maxrtt_in_rtt);
	if (!(e->flags & ERTT_NEW_MEASUREMENT))
		return;

	/* A new per RTT measurement: is there delay-based congestion? */
	rtt = (ca->flags & CHD_USE_MAX) ? ca->maxrtt_in_rtt : e->rtt_us;
	ca->maxrtt_in_rtt = 0;
	if (rtt && e->minrtt_us && !chd_in_recovery(sk, ca)) {
		qdly = rtt > e->minrtt_us ? rtt - e->minrtt_us : 0;
		if (qdly > ca->qmin) {
			__u32 maxqdly = e->maxrtt_us > e->minrtt_us ?
					e->maxrtt_us - e->minrtt_us : 0;

			backoff = chd_should_backoff(ca, qdly, maxqdly);
		} else {
			ca->flags &= ~CHD_LOSS_COMPETE;
		}
	}
	e->flags &= ~ERTT_NEW_MEASUREMENT;
	ca->flags |= CHD_NEW_MEASUREMENT;

	if (backoff) {
		/* Keep the shadow window while loss-based flows may compete. */
		if ((ca->flags & CHD_LOSS_COMPETE) || qdly > ca->prev_backoff_qdly)
			ca->shadow_w = khcc_max(tp->snd_cwnd, ca->shadow_w);
		else
			ca->shadow_w = 0;
		ca->prev_backoff_qdly = qdly;
		/* CC_CHD_DELAY */
		tp->snd_ssthresh = chd_window_decrease(tp, tp->snd_cwnd);
		khcc_set_cwnd(tp, tp->snd_ssthresh);
		ca->recover_seq = tp->snd_nxt;
		ca->flags |= CHD_DELAY_RECOVERY | CHD_BACKOFF_ACK;
		ca->backoffs++;
		khcc_dbg("kh_chd: backoff qdly %u cwnd %u shadow %u", qdly, tp->snd_cwnd, ca->shadow_w);
	}
}

/* chd_window_increase(): NewReno-like growth, mirrored in the shadow window. */
SEC("struct_ops")
void BPF_PROG(kh_chd_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kh_chd *ca = chd_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 incr = 0, maxwin;

	/* FreeBSD's CHD has no CCF_CWND_LIMITED test: it grows on every ACK. */
	if (ca->flags & CHD_BACKOFF_ACK)
		return;
	if (khcc_fbsd_slow_start(tp)) {
		incr = acked;
		ca->acked_cnt = 0;
	} else {
		/* ABC: one packet per cwnd of ACKed data. */
		ca->acked_cnt += acked;
		if (ca->acked_cnt >= tp->snd_cwnd) {
			ca->acked_cnt -= tp->snd_cwnd;
			if (ca->acked_cnt > tp->snd_cwnd)
				ca->acked_cnt = 0;
			incr = 1;
		}
	}
	if (!incr)
		return;
	/* at most TCP_MAXWIN << snd_scale, as FreeBSD */
	maxwin = khcc_fbsd_maxwin(tp);
	if (ca->shadow_w > 0)
		ca->shadow_w = khcc_min(ca->shadow_w + incr, maxwin);
	khcc_set_cwnd(tp, khcc_min(tp->snd_cwnd + incr, maxwin));
}

/* cong_signal(CC_NDUPACK): only a loss with a queue counts as congestion. */
SEC("struct_ops")
__u32 BPF_PROG(kh_chd_ssthresh, struct sock *sk)
{
	struct kh_chd *ca = chd_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	struct ertt *e;
	__u32 qdly = 0, rtt, cw, ss;

	ca->saved_shadow_w = ca->shadow_w;
	ca->acked_cnt = 0;
	e = khelp_data_of(h_ertt, sk);
	if ((ca->flags & CHD_ECE) || !e)
		/* CC_ECN, or no measurements: NewReno. */
		return khcc_newreno_cwin(tp->snd_cwnd, CHD_NEWRENO_BETA);

	rtt = khcc_max(e->rtt_us, ca->maxrtt_in_rtt);
	if (rtt > e->minrtt_us)
		qdly = rtt - e->minrtt_us;
	if (!(ca->flags & CHD_DELAY_RECOVERY) && qdly > ca->qthresh) {
		/* Competing with loss-based flows: undo needless delay backoffs. */
		cw = tp->snd_cwnd;
		if (ca->flags & CHD_LOSS_COMPETE)
			cw = khcc_max(cw, ca->shadow_w);
		ss = chd_window_decrease(tp, cw);
	} else {
		/* Not congestion related, or already recovering. */
		ss = tp->snd_cwnd;
	}
	if (ca->shadow_w > 0)
		ca->shadow_w = khcc_max(ca->shadow_w / 2, 2U);
	khcc_dbg("kh_chd: loss qdly %u cwnd %u ssthresh %u", qdly, tp->snd_cwnd, ss);
	return khcc_max(ss, 2U);
}

SEC("struct_ops")
void BPF_PROG(kh_chd_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct kh_chd *ca = chd_ca(sk);

	/* CC_RTO: back to the shadow window saved at the last congestion signal */
	if (ev == CA_EVENT_LOSS)
		ca->shadow_w = ca->saved_shadow_w;
	khcc_newreno_cwnd_event(sk, ev);
}

SEC("struct_ops")
__u32 BPF_PROG(kh_chd_undo_cwnd, struct sock *sk)
{
	struct kh_chd *ca = chd_ca(sk);

	ca->shadow_w = ca->saved_shadow_w;
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_chd = {
	.init		= (void *)kh_chd_init,
	.ssthresh	= (void *)kh_chd_ssthresh,
	.cong_avoid	= (void *)kh_chd_cong_avoid,
	.cwnd_event	= (void *)kh_chd_cwnd_event,
	.in_ack_event	= (void *)kh_chd_in_ack_event,
	.undo_cwnd	= (void *)kh_chd_undo_cwnd,
	.name		= "kh_chd",
};

KHELP_CC_MODULE(kh_chd, "1.0.0", 0, void);
