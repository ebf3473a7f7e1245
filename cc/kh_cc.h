/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared pieces of the khelp congestion control modules (cc/kh_*.bpf.c):
 * Linux TCP accessors, the kfuncs, and FreeBSD's NewReno building blocks
 * (cong_signal, post_recovery, RTO) translated from bytes to packets.
 *
 * Include after <khelp/khelp.bpf.h>.
 *
 * How FreeBSD's mod_cc hooks map onto tcp_congestion_ops (one ACK, 6.18):
 *   pkts_acked   (RTT sample of this ACK)
 *   in_ack_event (every ACK, after the rtx queue is cleaned): FreeBSD's
 *                ack_received for measurements; CA_ACK_ECE = ECE on this ACK
 *   ssthresh     (entering CWR / Recovery / Loss): cong_signal. The cause is
 *                told apart by the ECE flag of this ACK (CC_ECN vs
 *                CC_NDUPACK) and by CA_EVENT_LOSS, which follows ssthresh
 *                only on RTO (CC_RTO)
 *   cong_avoid   (ACK not in CWR/Recovery): FreeBSD's ack_received window
 *                increase (CC_ACK, !IN_RECOVERY, CCF_CWND_LIMITED)
 *   cwnd_event   COMPLETE_CWR: post_recovery; CWND_RESTART: after_idle
 *   undo_cwnd    spurious loss detected: CC_RTO_ERR
 */
#ifndef KH_CC_H
#define KH_CC_H

/* ---- constants Linux keeps in #defines (not in vmlinux.h) ---------------- */
#define KHCC_TCP_ECN_OK			1
#define KHCC_TCP_ECN_QUEUE_CWR		2
#define KHCC_TCP_ECN_DEMAND_CWR		4
#define KHCC_TCP_CONG_NEEDS_ECN		0x2
#define KHCC_TCP_INFINITE_SSTHRESH	0x7fffffffU
#define KHCC_SOL_TCP			6
#define KHCC_TCP_CONGESTION		13
/* random() in FreeBSD returns 0..2^31-1 */
#define KHCC_RANDOM_MAX			0x7fffffffU

/* Build with -DKHCC_DEBUG to trace decisions to /sys/kernel/tracing/trace_pipe. */
#ifdef KHCC_DEBUG
#define khcc_dbg(fmt, ...)	bpf_printk(fmt, ##__VA_ARGS__)
#else
#define khcc_dbg(fmt, ...)	do { } while (0)
#endif

/* ---- kfuncs ----------------------------------------------------------------- */
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;
extern __u32 tcp_slow_start(struct tcp_sock *tp, __u32 acked) __ksym;
extern void tcp_cong_avoid_ai(struct tcp_sock *tp, __u32 w, __u32 acked) __ksym;

/* ---- small arithmetic --------------------------------------------------------- */
#define khcc_min(a, b)	((a) < (b) ? (a) : (b))
#define khcc_max(a, b)	((a) > (b) ? (a) : (b))

static __always_inline int khcc_before(__u32 seq1, __u32 seq2)
{
	return (__s32)(seq1 - seq2) < 0;
}
#define khcc_after(seq2, seq1)	khcc_before(seq1, seq2)

/* ---- socket accessors --------------------------------------------------------- */
static __always_inline struct tcp_sock *khcc_tp(const struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

static __always_inline struct inet_connection_sock *khcc_icsk(const struct sock *sk)
{
	return (struct inet_connection_sock *)sk;
}

/* The module's private state in icsk_ca_priv. */
static __always_inline void *khcc_priv(const struct sock *sk)
{
	return (void *)khcc_icsk(sk)->icsk_ca_priv;
}

/* Compile-time check that a private state fits icsk_ca_priv. */
#define KHCC_PRIV_FITS(type)							\
	_Static_assert(sizeof(type) <=						\
		       sizeof(((struct inet_connection_sock *)0)->icsk_ca_priv), \
		       #type " does not fit icsk_ca_priv")

static __always_inline __u8 khcc_ca_state(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD(khcc_icsk(sk), icsk_ca_state);
}

/* MSS in bytes (never 0). */
static __always_inline __u32 khcc_mss(const struct tcp_sock *tp)
{
	return tp->mss_cache ? tp->mss_cache : 1;
}

/* Current time in microseconds, as TCP timestamps its packets. */
static __always_inline __u64 khcc_now_us(const struct tcp_sock *tp)
{
	return tp->tcp_mstamp;
}

static __always_inline int khcc_in_slow_start(const struct tcp_sock *tp)
{
	return tp->snd_cwnd < tp->snd_ssthresh;
}

/* FreeBSD's slow start test is cwnd <= ssthresh. */
static __always_inline int khcc_fbsd_slow_start(const struct tcp_sock *tp)
{
	return tp->snd_cwnd <= tp->snd_ssthresh;
}

/*
 * FreeBSD's CCF_CWND_LIMITED: tcp_input sets it when snd_cwnd <= snd_wnd,
 * i.e. the congestion window, not the peer's receive window, is the smaller
 * limit. It says nothing about the application: an application-limited
 * sender keeps growing cwnd up to the peer's window, as on FreeBSD. (Linux's
 * is_cwnd_limited, which stops that, is not FreeBSD's meaning.)
 */
static __always_inline int khcc_cwnd_limited(const struct sock *sk)
{
	const struct tcp_sock *tp = khcc_tp(sk);

	return (__u64)tp->snd_cwnd * khcc_mss(tp) <= tp->snd_wnd;
}

/*
 * FreeBSD's CHD and CDG do not test CCF_CWND_LIMITED: they grow cwnd on
 * every ACK, up to the largest window the peer can advertise,
 * TCP_MAXWIN << snd_scale bytes. That limit in packets.
 */
#define KHCC_TCP_MAXWIN			65535U
static __always_inline __u32 khcc_fbsd_maxwin(const struct tcp_sock *tp)
{
	__u32 scale = BPF_CORE_READ_BITFIELD(tp, rx_opt.snd_wscale);

	return (__u32)(((__u64)KHCC_TCP_MAXWIN << (scale & 15)) / khcc_mss(tp));
}

/* Packets in flight (FreeBSD's pipe, in packets). */
static __always_inline __u32 khcc_in_flight(const struct tcp_sock *tp)
{
	__u32 left = tp->sacked_out + tp->lost_out;
	__u32 out = tp->packets_out > left ? tp->packets_out - left : 0;

	return out + tp->retrans_out;
}

/* FreeBSD's IN_RECOVERY(): Linux CWR, Recovery or Loss. */
static __always_inline int khcc_in_recovery(const struct sock *sk)
{
	return khcc_ca_state(sk) >= TCP_CA_CWR;
}

static __always_inline void khcc_set_cwnd(struct tcp_sock *tp, __u32 cwnd)
{
	if (cwnd < 1)
		cwnd = 1;
	if (tp->snd_cwnd_clamp && cwnd > tp->snd_cwnd_clamp)
		cwnd = tp->snd_cwnd_clamp;
	tp->snd_cwnd = cwnd;
}

/* ---- FreeBSD NewReno building blocks, in packets ------------------------------ */

/* cong_signal window: max(cwnd * beta / 100, 2) (bytes / mss = packets). */
static __always_inline __u32 khcc_newreno_cwin(__u32 cwnd, __u32 beta)
{
	__u32 w = (__u32)(((__u64)cwnd * beta) / 100);

	return khcc_max(w, 2U);
}

/*
 * FreeBSD's pipe at an RTO (tcp_compute_pipe(), or snd_max - snd_fack +
 * the SACK retransmissions), in packets. Linux has already marked every
 * un-SACKed segment lost when the CC hears of the timeout
 * (tcp_timeout_mark_lost() runs before ssthresh() and CA_EVENT_LOSS), so
 * khcc_in_flight() is 0 there: count what was outstanding and not SACKed.
 */
static __always_inline __u32 khcc_rto_pipe(const struct tcp_sock *tp)
{
	return tp->packets_out > tp->sacked_out ? tp->packets_out - tp->sacked_out : 0;
}

/*
 * CC_RTO (first timeout): ssthresh = max(min(snd_wnd, pipe) * beta / 100 / mss, 2).
 * FreeBSD's newreno uses its beta; the other modules use cc.c's rule, which
 * halves (beta 50).
 */
static __always_inline __u32 khcc_rto_ssthresh_beta(const struct tcp_sock *tp, __u32 beta)
{
	__u32 wnd = tp->snd_wnd / khcc_mss(tp);
	__u64 w = (__u64)khcc_min(wnd, khcc_rto_pipe(tp)) * beta / 100;

	return w < 2 ? 2 : (__u32)w;
}

static __always_inline __u32 khcc_rto_ssthresh(const struct tcp_sock *tp)
{
	return khcc_rto_ssthresh_beta(tp, 50);
}

/*
 * post_recovery at the end of fast recovery (cwnd_event COMPLETE_CWR while
 * the state is Recovery; Linux has just set cwnd = ssthresh): if less than
 * ssthresh is in flight, cwnd = max(pipe, 1) + 1 (RFC 6582) to avoid a
 * burst, else ssthresh.
 */
static __always_inline void khcc_post_recovery(struct sock *sk)
{
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 pipe;

	if (khcc_ca_state(sk) != TCP_CA_Recovery)
		return;
	if (tp->snd_ssthresh >= KHCC_TCP_INFINITE_SSTHRESH)
		return;
	pipe = khcc_in_flight(tp);
	if (pipe < tp->snd_ssthresh)
		khcc_set_cwnd(tp, khcc_max(pipe, 1U) + 1);
	else
		khcc_set_cwnd(tp, tp->snd_ssthresh);
}

/*
 * NewReno ack_received window increase (ABC, RFC 3465): slow start grows by
 * the packets ACKed, congestion avoidance by one packet per cwnd ACKed.
 * Called from cong_avoid, i.e. never in recovery.
 */
/*
 * FreeBSD NewReno's handling of the two events every khelp CC shares:
 * an RTO (CC_RTO: the ssthresh of a timeout) and the end of recovery
 * (post_recovery). Modules do their own bookkeeping first, then call this.
 */
static __always_inline void khcc_newreno_cwnd_event(struct sock *sk, enum tcp_ca_event ev)
{
	struct tcp_sock *tp = khcc_tp(sk);

	if (ev == CA_EVENT_LOSS)
		tp->snd_ssthresh = khcc_rto_ssthresh(tp);
	else if (ev == CA_EVENT_COMPLETE_CWR)
		khcc_post_recovery(sk);
}

static __always_inline void khcc_newreno_increase(struct sock *sk, __u32 acked)
{
	struct tcp_sock *tp = khcc_tp(sk);

	if (!khcc_cwnd_limited(sk))
		return;
	if (khcc_in_slow_start(tp)) {
		acked = tcp_slow_start(tp, acked);
		if (!acked)
			return;
	}
	tcp_cong_avoid_ai(tp, tp->snd_cwnd, acked);
}

/* Signed division truncating toward zero (BPF before v4 has no sdiv). */
static __always_inline __s64 khcc_sdiv(__s64 a, __u64 b)
{
	if (!b)
		return 0;
	return a < 0 ? -(__s64)((__u64)(-a) / b) : (__s64)((__u64)a / b);
}

/* A random number in FreeBSD random()'s range 0..2^31-1. */
static __always_inline __u32 khcc_random(void)
{
	return bpf_get_prandom_u32() >> 1;
}

#endif /* KH_CC_H */
