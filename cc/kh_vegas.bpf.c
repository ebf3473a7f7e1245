// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_vegas: FreeBSD's Vegas (cc_vegas(4)) as a BPF tcp_congestion_ops,
 * driven by h_ertt's marked measurement (one per RTT).
 *
 * diff = (expected - actual) * minrtt / mss packets, with
 * expected = marked_snd_cwnd / minrtt and actual = bytes sent in the marked
 * RTT / its RTT. diff < alpha: +1 packet (in slow start: grow only every
 * other RTT); diff > beta: -1 packet (rate based congestion, leaves slow
 * start). Loss, ECN and RTO as NewReno (beta 50%).
 * Without h_ertt data for the connection the module behaves as NewReno.
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)							\
	P(alpha,	KHELP_PARAM_UINT, 1, 1, 1000000)		\
	P(beta,		KHELP_PARAM_UINT, 3, 1, 1000000)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"
#include "h_ertt.h"

KHELP_DATA(h_ertt, struct ertt);
KHELP_DEPENDS("h_ertt");

#define VEGAS_NEWRENO_BETA	50	/* FreeBSD's newreno cong_signal default */

struct kh_vegas {
	__u32 alpha;		/* packets ("buffers") */
	__u32 beta;		/* packets */
	__u32 slow_start_toggle;
	__u32 saved_toggle;		/* before the last ssthresh() (an RTO puts it back) */
	__u32 measurements;	/* rate decisions taken (diagnostics) */
};
KHCC_PRIV_FITS(struct kh_vegas);

static __always_inline struct kh_vegas *vegas_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

SEC("struct_ops")
void BPF_PROG(kh_vegas_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_vegas *ca = vegas_ca(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->alpha = khelp_cc_param(cfg, alpha);
	ca->beta = khelp_cc_param(cfg, beta);
	ca->slow_start_toggle = 1;
}

/* Every ACK: vegas_ack_received(), once per new marked measurement. */
SEC("struct_ops")
void BPF_PROG(kh_vegas_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_vegas *ca = vegas_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	struct ertt *e = khelp_data_of(h_ertt, sk);
	__u32 mss = khcc_mss(tp);
	__s64 diff_bytes, ndiff;
	__u64 actual;

	if (!e || !(e->flags & ERTT_NEW_MEASUREMENT))
		return;

	if (e->minrtt_us && e->markedpkt_rtt_us) {
		/*
		 * (expected - actual) * minrtt in bytes, without FreeBSD's
		 * intermediate integer rates (its ticks were milliseconds).
		 */
		actual = e->bytes_tx_in_marked_rtt * e->minrtt_us / e->markedpkt_rtt_us;
		diff_bytes = (__s64)((__u64)e->marked_snd_cwnd * mss) - (__s64)actual;
		ndiff = khcc_sdiv(diff_bytes, mss);
		ca->measurements++;
		khcc_dbg("kh_vegas: minrtt %u markedrtt %u cwnd %u", e->minrtt_us,
			 e->markedpkt_rtt_us, e->marked_snd_cwnd);
		khcc_dbg("kh_vegas: bytes %llu ndiff %lld", e->bytes_tx_in_marked_rtt, ndiff);

		if (ndiff < (__s64)ca->alpha) {
			if (khcc_fbsd_slow_start(tp)) {
				ca->slow_start_toggle = !ca->slow_start_toggle;
			} else {
				ca->slow_start_toggle = 0;
				if (!khcc_in_recovery(sk))
					khcc_set_cwnd(tp, tp->snd_cwnd + 1);
			}
		} else if (ndiff > (__s64)ca->beta) {
			/* CC_VEGAS_RATE: rate based congestion. */
			if (!khcc_in_recovery(sk)) {
				khcc_set_cwnd(tp, khcc_max(tp->snd_cwnd - 1, 2U));
				if (tp->snd_cwnd < tp->snd_ssthresh)
					tp->snd_ssthresh = tp->snd_cwnd;	/* leave slow start */
			}
			ca->slow_start_toggle = 0;
		}
	}
	e->flags &= ~ERTT_NEW_MEASUREMENT;
}

/* NewReno growth only on the RTTs the toggle allows. */
SEC("struct_ops")
void BPF_PROG(kh_vegas_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	if (vegas_ca(sk)->slow_start_toggle)
		khcc_newreno_increase(sk, acked);
}

/* Loss / ECN: NewReno; slow start stays off after the reduction. */
SEC("struct_ops")
__u32 BPF_PROG(kh_vegas_ssthresh, struct sock *sk)
{
	struct kh_vegas *ca = vegas_ca(sk);

	ca->saved_toggle = ca->slow_start_toggle;
	ca->slow_start_toggle = 0;
	return khcc_newreno_cwin(khcc_tp(sk)->snd_cwnd, VEGAS_NEWRENO_BETA);
}

SEC("struct_ops")
void BPF_PROG(kh_vegas_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	/*
	 * RTO: FreeBSD's vegas clears the toggle only for a signal that leaves
	 * it in recovery (NDUPACK, ECN), not for CC_RTO: put back what the
	 * ssthresh() of this timeout cleared.
	 */
	if (ev == CA_EVENT_LOSS)
		vegas_ca(sk)->slow_start_toggle = vegas_ca(sk)->saved_toggle;
	khcc_newreno_cwnd_event(sk, ev);
}

SEC("struct_ops")
__u32 BPF_PROG(kh_vegas_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_vegas = {
	.init		= (void *)kh_vegas_init,
	.ssthresh	= (void *)kh_vegas_ssthresh,
	.cong_avoid	= (void *)kh_vegas_cong_avoid,
	.cwnd_event	= (void *)kh_vegas_cwnd_event,
	.in_ack_event	= (void *)kh_vegas_in_ack_event,
	.undo_cwnd	= (void *)kh_vegas_undo_cwnd,
	.name		= "kh_vegas",
};

KHELP_CC_MODULE(kh_vegas, "1.0.0", 0, void);
