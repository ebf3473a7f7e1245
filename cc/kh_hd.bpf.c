// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_hd: FreeBSD's Hamilton delay-based CC (cc_hd(4)) as a BPF
 * tcp_congestion_ops, driven by h_ertt's per-ACK RTT samples.
 *
 * On every ACK that advances the window outside recovery, the queueing
 * delay qdly = rtt - minrtt above queue_min triggers a backoff (as NewReno
 * reacts to ECN: cwnd = ssthresh = cwnd / 2) with a probability that rises
 * linearly from 0 at queue_min to pmax at queue_threshold and falls back to
 * 0 at the largest queueing delay seen (maxrtt - minrtt). Otherwise NewReno.
 * Delays are in microseconds: FreeBSD's defaults of 20 and 5 ticks
 * (hz = 1000) are 20000 and 5000 us. queue_min must not exceed
 * queue_threshold (FreeBSD refuses such settings).
 * Without h_ertt data for the connection the module behaves as NewReno.
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)								\
	P(queue_threshold,	KHELP_PARAM_UINT, 20000, 1, 10000000)		\
	P(queue_min,		KHELP_PARAM_UINT, 5000, 0, 10000000)		\
	P(pmax,			KHELP_PARAM_UINT, 5, 1, 100)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"
#include "h_ertt.h"

KHELP_DATA(h_ertt, struct ertt);
KHELP_DEPENDS("h_ertt");

#define HD_NEWRENO_BETA		50	/* FreeBSD's newreno cong_signal default */

struct kh_hd {
	__u32 qthresh;		/* us */
	__u32 qmin;		/* us */
	__u32 pmax;		/* percent */
	__u32 backoffs;		/* delay-based backoffs taken (diagnostics) */
};
KHCC_PRIV_FITS(struct kh_hd);

static __always_inline struct kh_hd *hd_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

SEC("struct_ops")
void BPF_PROG(kh_hd_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_hd *ca = hd_ca(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->qthresh = khelp_cc_param(cfg, queue_threshold);
	ca->qmin = khelp_cc_param(cfg, queue_min);
	ca->pmax = khelp_cc_param(cfg, pmax);
}

/* Hamilton backoff function: 1 if we should back off. */
static __always_inline int hd_should_backoff(const struct kh_hd *ca, __u32 qdly, __u32 maxqdly)
{
	__u64 pmax = (__u64)(KHCC_RANDOM_MAX / 100) * ca->pmax;
	__u64 p;

	if (qdly < ca->qthresh) {
		__u32 span = ca->qthresh - ca->qmin;

		p = span ? pmax / span * (qdly - ca->qmin) : pmax;
	} else if (qdly > ca->qthresh) {
		__u32 span = maxqdly > ca->qthresh ? maxqdly - ca->qthresh : 0;

		p = span ? pmax / span * (maxqdly > qdly ? maxqdly - qdly : 0) : 0;
	} else {
		p = pmax;
	}
	return khcc_random() < p;
}

/* hd_ack_received(): CC_ACK outside recovery. */
SEC("struct_ops")
void BPF_PROG(kh_hd_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kh_hd *ca = hd_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	struct ertt *e = khelp_data_of(h_ertt, sk);

	if (e && e->rtt_us && e->minrtt_us && ca->qthresh > 0 && e->rtt_us > e->minrtt_us) {
		__u32 qdly = e->rtt_us - e->minrtt_us;
		__u32 maxqdly = e->maxrtt_us > e->minrtt_us ? e->maxrtt_us - e->minrtt_us : 0;

		if (qdly > ca->qmin && hd_should_backoff(ca, qdly, maxqdly)) {
			/* Behave as NewReno on an ECN signal. */
			__u32 cwin = khcc_newreno_cwin(tp->snd_cwnd, HD_NEWRENO_BETA);

			tp->snd_ssthresh = cwin;
			khcc_set_cwnd(tp, cwin);
			ca->backoffs++;
			khcc_dbg("kh_hd: backoff qdly %u maxqdly %u cwnd %u", qdly, maxqdly, cwin);
			return;
		}
	}
	khcc_newreno_increase(sk, acked);
}

SEC("struct_ops")
__u32 BPF_PROG(kh_hd_ssthresh, struct sock *sk)
{
	return khcc_newreno_cwin(khcc_tp(sk)->snd_cwnd, HD_NEWRENO_BETA);
}

SEC("struct_ops")
void BPF_PROG(kh_hd_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	khcc_newreno_cwnd_event(sk, ev);
}

SEC("struct_ops")
__u32 BPF_PROG(kh_hd_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_hd = {
	.init		= (void *)kh_hd_init,
	.ssthresh	= (void *)kh_hd_ssthresh,
	.cong_avoid	= (void *)kh_hd_cong_avoid,
	.cwnd_event	= (void *)kh_hd_cwnd_event,
	.undo_cwnd	= (void *)kh_hd_undo_cwnd,
	.name		= "kh_hd",
};

KHELP_CC_MODULE(kh_hd, "1.0.0", 0, void);
