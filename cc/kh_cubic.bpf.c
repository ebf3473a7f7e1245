// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_cubic: FreeBSD's CUBIC (cc_cubic(4)) as a BPF tcp_congestion_ops.
 *
 * W_cubic(t) = C (t - K)^3 + W_max, K = cbrt(W_max (1 - beta) / C), with
 * beta = 0.7 (179/256), C = 0.4 (102/256), fast convergence (1 + beta) / 2
 * (217/256), all in FreeBSD's CUBIC_SHIFT = 8 fixed point; the
 * TCP-friendly window W_est = beta W_max + 3 (1 - beta) / (1 + beta) t / RTT
 * is a floor. The first congestion event halves ssthresh (and sets
 * W_max = beta cwnd), later ones use beta. RTO follows RFC 8312 4.7 and is
 * undone by undo_cwnd. Windows are computed in bytes as FreeBSD does
 * (packets x MSS) and written back to snd_cwnd in packets. FreeBSD's CUBIC
 * has no tunables; time is in microseconds (FreeBSD: ticks).
 */
#define KHELP_CC 1
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"

#define CUBIC_SHIFT		8
#define CUBIC_SHIFT_4		32
#define CUBIC_BETA		179	/* ~0.7 << CUBIC_SHIFT */
#define ONE_SUB_CUBIC_BETA	77	/* ~0.3 << CUBIC_SHIFT */
#define THREE_X_PT3		231	/* 3 * ONE_SUB_CUBIC_BETA */
#define TWO_SUB_PT3		435	/* (2 << CUBIC_SHIFT) - ONE_SUB_CUBIC_BETA */
#define CUBIC_C_FACTOR		102	/* ~0.4 << CUBIC_SHIFT */
#define CUBIC_FC_FACTOR		217	/* (1 + beta) / 2 << CUBIC_SHIFT */
#define CUBIC_MIN_RTT_SAMPLES	8	/* don't trust srtt before this many samples */
#define CUBED_ROOT_MAX_ULONG	448845	/* cbrt(2^63 / C) */
/*
 * Windows are bytes in 64 bits: FreeBSD's u_int snd_cwnd saturates at
 * INT_MAX bytes (1.48M packets of 1448 B), Linux's snd_cwnd (packets) does
 * not; the cap is snd_cwnd_clamp. CUBIC_WND_MAX stands for "more than any
 * cwnd" (2^32 packets of 64 KiB).
 */
#define CUBIC_WND_MAX		(1ULL << 48)
#define CUBIC_USECS_MAX		0x7fffffffULL	/* FreeBSD's int usecs_since_epoch */
#define USEC_PER_SEC		1000000ULL

/* flags (FreeBSD CUBICFLAG_*) */
#define CUBICFLAG_CONG_EVENT	0x01	/* congestion experienced */
#define CUBICFLAG_IN_SLOWSTART	0x02	/* in slow start */
#define CUBICFLAG_IN_APPLIMIT	0x04	/* application limited */
#define CUBICFLAG_RTO_EVENT	0x08	/* RTO experienced */
#define CUBIC_ECE		0x100	/* this ACK carries ECE (ours) */

struct kh_cubic {
	__u64 t_epoch;		/* us, start of the current congestion avoidance epoch */
	__u64 sum_rtt_usecs;	/* sum of srtt samples in this epoch */
	__u64 W_max;		/* bytes: cwnd before the last reduction */
	__u32 K;		/* seconds << CUBIC_SHIFT */
	__u32 flags;
	__u32 min_rtt_usecs;	/* 0 = not measured yet */
	__u32 mean_rtt_usecs;	/* mean rtt between congestion epochs */
	__u32 epoch_ack_count;
	__u32 rtt_samples;	/* FreeBSD t_rttupdated, saturating */
	/* state before the last cong_signal: RTO override and undo (CC_RTO_ERR) */
	__u32 undo_flags;
	__u64 undo_t_epoch;
	__u64 undo_W_max;
	__u32 undo_K;
};
KHCC_PRIV_FITS(struct kh_cubic);

static __always_inline struct kh_cubic *cubic_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

/*
 * K = cbrt(W_max (1 - beta) / C) in CUBIC_SHIFT fixed point, by rebasing
 * s to [1/8, 1) and a polynomial (Apple Technical Report #KT-32), as
 * FreeBSD's cubic_k().
 */
static __always_inline __u32 cubic_k(__u64 wmax_pkts)
{
	__u64 s, K;
	__u32 p = 0;
	int i;

	s = (((__u64)wmax_pkts * ONE_SUB_CUBIC_BETA) << CUBIC_SHIFT) / CUBIC_C_FACTOR;
	for (i = 0; i < 22 && s >= 256; i++) {
		s >>= 3;
		p++;
	}
	K = (((s * 275) >> CUBIC_SHIFT) + 98) - (((s * s * 120) >> CUBIC_SHIFT) >> CUBIC_SHIFT);
	return (__u32)(K << p);
}

/* W_cubic in bytes for t usecs into the epoch (FreeBSD cubic_cwnd()). */
static __always_inline __u64 cubic_cwnd(__u64 usecs, __u64 wmax, __u32 smss, __u32 K)
{
	__u64 a = usecs << CUBIC_SHIFT, b = (__u64)K * USEC_PER_SEC, d;
	int neg = a < b;

	/* t - K, seconds << CUBIC_SHIFT */
	d = (neg ? b - a : a - b) / USEC_PER_SEC;
	if (d > CUBED_ROOT_MAX_ULONG)
		return neg ? 0 : CUBIC_WND_MAX;
	d = d * d * d;
	/* C (t - K)^3, back from 4 x CUBIC_SHIFT, in bytes */
	d = ((d * CUBIC_C_FACTOR) >> CUBIC_SHIFT_4) * smss;
	if (neg)
		return d >= wmax ? 0 : wmax - d;
	d += wmax;
	return d > CUBIC_WND_MAX ? CUBIC_WND_MAX : d;
}

/* TCP-friendly window W_est in bytes (FreeBSD tf_cwnd()). */
static __always_inline __u64 cubic_tf_cwnd(__u64 usecs, __u32 rtt_usecs, __u64 wmax, __u32 smss)
{
	__u64 w;

	if (!rtt_usecs)
		rtt_usecs = 1;
	w = ((__u64)wmax * CUBIC_BETA +
	     ((THREE_X_PT3 * usecs * smss) << CUBIC_SHIFT) / (TWO_SUB_PT3 * (__u64)rtt_usecs))
	    >> CUBIC_SHIFT;
	return w > CUBIC_WND_MAX ? CUBIC_WND_MAX : w;
}

static __always_inline __u64 cubic_bytes(const struct tcp_sock *tp, __u32 pkts)
{
	return (__u64)pkts * khcc_mss(tp);
}

static __always_inline void cubic_set_cwnd_bytes(struct tcp_sock *tp, __u64 bytes)
{
	__u64 pkts = bytes / khcc_mss(tp);

	khcc_set_cwnd(tp, pkts > 0xffffffffULL ? 0xffffffffU : (__u32)pkts);
}

SEC("struct_ops")
void BPF_PROG(kh_cubic_init, struct sock *sk)
{
	struct kh_cubic *ca = cubic_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->t_epoch = khcc_now_us(tp);
	ca->mean_rtt_usecs = 1;
	/* cubic_conn_init(): a sane initial W_max. */
	ca->W_max = cubic_bytes(tp, tp->snd_cwnd);
}

/* cubic_record_rtt(): min RTT and the per-epoch mean of srtt. */
static __always_inline void cubic_record_rtt(struct kh_cubic *ca, const struct tcp_sock *tp)
{
	__u32 srtt;

	if (ca->rtt_samples < CUBIC_MIN_RTT_SAMPLES)
		return;
	srtt = tp->srtt_us >> 3;
	if (srtt < ca->min_rtt_usecs || ca->min_rtt_usecs == 0) {
		ca->min_rtt_usecs = khcc_max(srtt, 1U);
		/* Prime the mean until post_recovery computes one. */
		if (ca->min_rtt_usecs > ca->mean_rtt_usecs)
			ca->mean_rtt_usecs = ca->min_rtt_usecs;
	}
	ca->sum_rtt_usecs += srtt;
	ca->epoch_ack_count++;
}

SEC("struct_ops")
void BPF_PROG(kh_cubic_pkts_acked, struct sock *sk, const struct ack_sample *sample)
{
	struct kh_cubic *ca = cubic_ca(sk);

	if (sample->rtt_us >= 0 && ca->rtt_samples < CUBIC_MIN_RTT_SAMPLES)
		ca->rtt_samples++;
}

/* Every ACK: FreeBSD's cubic_ack_received() prologue. */
SEC("struct_ops")
void BPF_PROG(kh_cubic_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_cubic *ca = cubic_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);

	if (flags & CA_ACK_ECE)
		ca->flags |= CUBIC_ECE;
	else
		ca->flags &= ~CUBIC_ECE;
	cubic_record_rtt(ca, tp);
	/* A regular ACK outside recovery while not cwnd limited. */
	if (!khcc_in_recovery(sk) && !khcc_cwnd_limited(sk))
		ca->flags |= CUBICFLAG_IN_APPLIMIT;
}

SEC("struct_ops")
void BPF_PROG(kh_cubic_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kh_cubic *ca = cubic_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 mss = khcc_mss(tp);
	__u64 now = khcc_now_us(tp), usecs, W_est, W_cubic, cw;

	if (!khcc_cwnd_limited(sk))
		return;

	if (khcc_fbsd_slow_start(tp) || ca->min_rtt_usecs == 0) {
		/* NewReno slow start (FreeBSD does not stop at ssthresh here). */
		ca->flags |= CUBICFLAG_IN_SLOWSTART;
		khcc_set_cwnd(tp, tp->snd_cwnd + acked);
		return;
	}

	if ((ca->flags & CUBICFLAG_RTO_EVENT) && (ca->flags & CUBICFLAG_IN_SLOWSTART)) {
		/*
		 * RFC 8312 4.7: the first avoidance after an RTO starts a new
		 * curve here, and a new epoch: the epoch of before the timeout
		 * (ssthresh() set it, the RTO undid that) would put t at its age.
		 */
		ca->flags &= ~(CUBICFLAG_RTO_EVENT | CUBICFLAG_IN_SLOWSTART);
		ca->W_max = cubic_bytes(tp, tp->snd_cwnd);
		ca->t_epoch = now;
		ca->K = 0;
	} else if (ca->flags & (CUBICFLAG_IN_SLOWSTART | CUBICFLAG_IN_APPLIMIT)) {
		ca->flags &= ~(CUBICFLAG_IN_SLOWSTART | CUBICFLAG_IN_APPLIMIT);
		ca->t_epoch = now;
		ca->K = cubic_k(ca->W_max / mss);
	}

	usecs = now > ca->t_epoch ? now - ca->t_epoch : 0;
	if (usecs > CUBIC_USECS_MAX)
		usecs = CUBIC_USECS_MAX;

	/* The mean RTT reflects the I-D better than min RTT (FreeBSD's note). */
	W_est = cubic_tf_cwnd(usecs, ca->mean_rtt_usecs, ca->W_max, mss);
	W_cubic = cubic_cwnd(usecs + ca->mean_rtt_usecs, ca->W_max, mss, ca->K);

	cw = cubic_bytes(tp, tp->snd_cwnd);
	if (W_cubic < W_est) {
		/* TCP-friendly region. */
		if (cw < W_est)
			cubic_set_cwnd_bytes(tp, W_est);
	} else if (cw < W_cubic) {
		/* Concave or convex region: follow the curve, never shrink. */
		cubic_set_cwnd_bytes(tp, W_cubic);
	}

	/* Probing for a first W_max (no congestion yet): track cwnd. */
	cw = cubic_bytes(tp, tp->snd_cwnd);
	if (!(ca->flags & CUBICFLAG_CONG_EVENT) && ca->W_max < cw) {
		ca->W_max = cw;
		ca->K = cubic_k(ca->W_max / mss);
	}
}

static __always_inline void cubic_save_undo(struct kh_cubic *ca)
{
	ca->undo_flags = ca->flags;
	ca->undo_t_epoch = ca->t_epoch;
	ca->undo_K = ca->K;
	ca->undo_W_max = ca->W_max;
}

static __always_inline void cubic_restore_undo(struct kh_cubic *ca)
{
	ca->flags = ca->undo_flags & ~CUBIC_ECE;
	ca->t_epoch = ca->undo_t_epoch;
	ca->K = ca->undo_K;
	ca->W_max = ca->undo_W_max;
}

/* cong_signal(CC_NDUPACK / CC_ECN): cubic_ssthresh_update() and a new epoch. */
SEC("struct_ops")
__u32 BPF_PROG(kh_cubic_ssthresh, struct sock *sk)
{
	struct kh_cubic *ca = cubic_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 mss = khcc_mss(tp);
	__u64 cwnd, ssthresh;

	cubic_save_undo(ca);

	cwnd = cubic_bytes(tp, tp->snd_cwnd);
	/* Fast convergence. */
	if (cwnd < ca->W_max)
		cwnd = (cwnd * CUBIC_FC_FACTOR) >> CUBIC_SHIFT;
	ca->W_max = cwnd;
	if (!(ca->flags & CUBICFLAG_CONG_EVENT)) {
		/* First congestion event: halve, and W_max = beta cwnd. */
		ssthresh = cwnd >> 1;
		ca->W_max = (cwnd * CUBIC_BETA) >> CUBIC_SHIFT;
	} else {
		ssthresh = (cwnd * CUBIC_BETA) >> CUBIC_SHIFT;
	}
	ca->flags |= CUBICFLAG_CONG_EVENT;
	ca->t_epoch = khcc_now_us(tp);
	ca->K = cubic_k(ca->W_max / mss);

	ssthresh /= mss;
	return ssthresh < 2 ? 2 : ssthresh > 0xffffffffULL ? 0xffffffffU : (__u32)ssthresh;
}

/* cubic_post_recovery(): leaving fast recovery. */
static __always_inline void cubic_post_recovery(struct sock *sk, struct kh_cubic *ca)
{
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 pipe, mss = khcc_mss(tp);

	if (khcc_ca_state(sk) == TCP_CA_Recovery) {
		pipe = khcc_in_flight(tp);
		if (pipe < tp->snd_ssthresh) {
			/* RFC 6582: don't collapse to 1 MSS, don't burst. */
			khcc_set_cwnd(tp, khcc_max(pipe, 1U) + 1);
		} else {
			__u64 w = (ca->W_max * CUBIC_BETA) >> CUBIC_SHIFT;

			cubic_set_cwnd_bytes(tp, khcc_max(w, 2ULL * mss));
		}
	}
	/* Mean RTT between congestion epochs. */
	if (ca->epoch_ack_count > 0 && ca->sum_rtt_usecs >= ca->epoch_ack_count)
		ca->mean_rtt_usecs = (__u32)(ca->sum_rtt_usecs / ca->epoch_ack_count);
	ca->epoch_ack_count = 0;
	ca->sum_rtt_usecs = 0;
}

SEC("struct_ops")
void BPF_PROG(kh_cubic_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct kh_cubic *ca = cubic_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 mss = khcc_mss(tp);

	switch (ev) {
	case CA_EVENT_LOSS: {
		/* CC_RTO: undo what ssthresh() assumed, apply RFC 8312 4.7. */
		__u32 pipe, wnd;
		__u64 ss;

		cubic_restore_undo(ca);
		if (!BPF_CORE_READ(khcc_icsk(sk), icsk_retransmits)) {
			/* First RTO: remember the state (ssthresh saved it). */
			pipe = khcc_rto_pipe(tp);
			wnd = tp->snd_wnd / mss;
			ss = ((__u64)khcc_min(wnd, pipe) * CUBIC_BETA) >> CUBIC_SHIFT;
			tp->snd_ssthresh = khcc_max((__u32)ss, 2U);
		} else {
			tp->snd_ssthresh = khcc_rto_ssthresh(tp);
		}
		ca->flags |= CUBICFLAG_CONG_EVENT | CUBICFLAG_RTO_EVENT;
		break;
	}
	case CA_EVENT_COMPLETE_CWR:
		cubic_post_recovery(sk, ca);
		break;
	case CA_EVENT_CWND_RESTART: {
		/* cubic_after_idle() */
		__u64 cw = cubic_bytes(tp, tp->snd_cwnd);

		ca->W_max = khcc_max(ca->W_max, cw);
		ca->K = cubic_k(ca->W_max / mss);
		ca->t_epoch = khcc_now_us(tp);
		break;
	}
	default:
		break;
	}
}

/* CC_RTO_ERR: the congestion event was spurious. */
SEC("struct_ops")
__u32 BPF_PROG(kh_cubic_undo_cwnd, struct sock *sk)
{
	struct kh_cubic *ca = cubic_ca(sk);

	cubic_restore_undo(ca);
	ca->flags &= ~CUBICFLAG_RTO_EVENT;
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_cubic = {
	.init		= (void *)kh_cubic_init,
	.ssthresh	= (void *)kh_cubic_ssthresh,
	.cong_avoid	= (void *)kh_cubic_cong_avoid,
	.cwnd_event	= (void *)kh_cubic_cwnd_event,
	.in_ack_event	= (void *)kh_cubic_in_ack_event,
	.pkts_acked	= (void *)kh_cubic_pkts_acked,
	.undo_cwnd	= (void *)kh_cubic_undo_cwnd,
	.name		= "kh_cubic",
};

KHELP_CC_MODULE(kh_cubic, "1.0.0", 0, void);
