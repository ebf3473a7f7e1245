// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * h_ertt: Enhanced RTT, FreeBSD's h_ertt khelp rebuilt over sockops.
 *
 * Every transmitted segment with payload is recorded (tcp_est_out); one of
 * them per RTT is the marked packet. ACKs (tcp_est_in, and tcp_rtt for the
 * ACKs the kernel's fast path hides from tcp_est_in) are matched against the
 * records, oldest first, to take RTT samples and complete the marked
 * measurement that vegas, hd, chd and cdg consume. tcp_retrans corrects the
 * sequence number of retransmitted records. All times are in microseconds.
 * The whole design, and where it departs from FreeBSD, is in docs/h_ertt.md.
 */
#include <khelp/khelp.bpf.h>
#include "h_ertt.h"

#define DLYACK_SMOOTH		5	/* ceiling of the delayed-ACK guess dlyack_rx */
#define MAX_TS_ERR		10	/* timestamp errors after which timestamps are ignored */

#define TCPHDR_FIN		0x01
#define TCPHDR_SYN		0x02
#define TCPOPT_SACK		5
#define TCPOPT_TIMESTAMP	8
#define TCPOLEN_TIMESTAMP	10
#define TCPOLEN_TSTAMP_ALIGNED	12
#define TCPOLEN_SACK_BASE	2
#define TCPOLEN_SACK_PERBLOCK	8
#define TCP_SACK_MAX_BLOCKS	4
#define TCP_HDR_MIN_LEN		20

#define NSEC_PER_USEC		1000ULL
#define NSEC_PER_MSEC		1000000ULL

KHELP_DATA(h_ertt, struct ertt);

/* Everything one ACK needs while the queue is walked (bpf_loop context). */
struct ertt_ack {
	struct ertt *e;
	__u64 rtt_bytes_adjust;		/* bytes of records the measurement skipped */
	__u32 now_us;
	__u32 ack;			/* ack point: cumulative ACK, or highest new SACK */
	__u32 acked;			/* bytes this ACK acknowledged */
	__u32 mss;
	__u32 snd_cwnd;
	__u32 snd_nxt;
	__u32 tsval;			/* the ACK's TSval */
	__u32 tsecr;			/* the ACK's TSecr */
	__u32 measurenext_us;		/* tx time of the last record the measurement skipped */
	__u32 measurenext_len;
	__u8 measurenext;		/* a skipped marked measurement waits for a record */
	__u8 has_ts;
	__u8 new_sack;
	__u8 multiack;
	__u8 dlyack_update;		/* this ACK may move dlyack_rx (exact acked count) */
	__u8 dlyack_done;
};

/* ---- small helpers -------------------------------------------------------- */

static __always_inline int seq_lt(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline int seq_gt(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

static __always_inline __u32 be32_at(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline __u32 now_us(void)
{
	return (__u32)(bpf_ktime_get_ns() / NSEC_PER_USEC);
}

/* Elapsed microseconds between two 32-bit us stamps; at least 1 (0 = unset). */
static __always_inline __u32 elapsed_us(__u32 now, __u32 then)
{
	__u32 d = now - then;

	return (__s32)d > 0 ? d : 1;
}

static __always_inline struct tcp_sock *ertt__tcp_sock(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;

	return sk ? bpf_skc_to_tcp_sock(sk) : (void *)0;
}

static __always_inline struct ertt_txseg *txq__at(struct ertt_txq *q, __u32 i)
{
	return &q->seg[(q->head + i) & ERTT_TXQ_MASK];
}

static __always_inline void txq__pop(struct ertt_txq *q)
{
	q->head = (q->head + 1) & ERTT_TXQ_MASK;
	q->len--;
}

/* Remember the highest cumulative ACK seen (idempotency of tcp_est_in/tcp_rtt). */
static __always_inline void txq__acked_to(struct ertt_txq *q, __u32 ack)
{
	if (seq_gt(ack, q->last_ack))
		q->last_ack = ack;
	if (seq_gt(ack, q->sack_high))
		q->sack_high = ack;
}

/* ---- RTT samples and the marked measurement --------------------------------- */

static __always_inline void ertt__sample(struct ertt *e, __u32 rtt)
{
	e->rtt_us = rtt;
	if (!e->minrtt_us || rtt < e->minrtt_us)
		e->minrtt_us = rtt;
	if (rtt > e->maxrtt_us)
		e->maxrtt_us = rtt;
	if (!e->srtt_us)
		e->srtt_us = rtt;
	else if (rtt >= e->srtt_us)
		e->srtt_us += (rtt - e->srtt_us) >> 3;
	else
		e->srtt_us -= (e->srtt_us - rtt) >> 3;
	e->samples++;
}

/* The measurement cannot use this record (FreeBSD MULTI_ACK, OLD_TXSI): carry it on. */
static __always_inline void ertt__mark_skip(struct ertt_ack *a, const struct ertt_txseg *s)
{
	a->measurenext = 1;
	a->measurenext_us = s->tx_us;
	a->measurenext_len = s->len;
	a->rtt_bytes_adjust += s->len;
}

/* Complete the marked measurement (FreeBSD CORRECT_ACK, FORCED_MEASUREMENT). */
static __always_inline void ertt__mark_done(struct ertt_ack *a, __u32 rtt, __u64 bytes_add)
{
	struct ertt *e = a->e;
	__u64 bytes = e->bytes_tx_in_rtt + bytes_add;

	e->markedpkt_rtt_us = rtt;
	e->bytes_tx_in_marked_rtt = bytes > a->rtt_bytes_adjust ? bytes - a->rtt_bytes_adjust : 0;
	e->marked_snd_cwnd = a->snd_cwnd;
	e->flags &= ~ERTT_MEASUREMENT_IN_PROGRESS;
	e->flags |= ERTT_NEW_MEASUREMENT;
	/* FreeBSD turns TSO off here so the next marked packet is one MSS. */
	if (e->txq.gso_seen)
		e->flags |= ERTT_TSO_DISABLED;
	e->measurements++;
	a->measurenext = 0;
}

static __always_inline int ertt__is_marked(const struct ertt_ack *a, const struct ertt_txseg *s)
{
	return (s->flags & ERTT_TXSI_RTT_MEASURE_START) || a->measurenext;
}

/* Drop the oldest record; a marked measurement moves on to a later record. */
static __always_inline long ertt__drop_head(struct ertt_ack *a, struct ertt_txseg *s)
{
	if (ertt__is_marked(a, s))
		ertt__mark_skip(a, s);
	txq__pop(&a->e->txq);
	return 0;	/* bpf_loop: go on with the next record */
}

/* FreeBSD's delayed-ACK guess, once per ACK, against the first record reached. */
static __always_inline void ertt__dlyack_guess(struct ertt_ack *a, const struct ertt_txseg *s)
{
	struct ertt *e = a->e;

	if (a->new_sack || a->dlyack_done)
		return;
	a->dlyack_done = 1;
	if (a->acked > a->mss || a->acked > s->len) {
		a->multiack = 1;
		if (a->dlyack_update && e->dlyack_rx < DLYACK_SMOOTH)
			e->dlyack_rx++;
	} else if (a->acked == a->mss || a->acked == s->len) {
		if (a->dlyack_update && e->dlyack_rx > 0)
			e->dlyack_rx--;
	}
}

/* The ACK's timestamps say which record it answers (only with TS on both). */
enum ertt_ts_verdict { ERTT_TS_USE, ERTT_TS_STOP, ERTT_TS_OLD };

static __always_inline int ertt__ts_match(struct ertt_ack *a, const struct ertt_txseg *s)
{
	struct ertt *e = a->e;

	if (e->timestamp_errors >= MAX_TS_ERR || !a->has_ts || !a->tsecr ||
	    !(s->flags & ERTT_TXSI_TS))
		return ERTT_TS_USE;
	/* Echoes an earlier segment; with delayed ACKs that is expected. */
	if (!e->dlyack_rx && seq_lt(a->tsecr, s->tx_tsval))
		return ERTT_TS_STOP;
	/* Echoes a later segment: this record is old. */
	if (seq_gt(a->tsecr, s->tx_tsval))
		return ERTT_TS_OLD;
	/* Answered before the peer's clock reached what we had echoed. */
	if (a->tsecr == s->tx_tsval && seq_lt(a->tsval, s->tx_tsecr))
		e->timestamp_errors++;
	return ERTT_TS_USE;
}

/*
 * One step of the walk over the queue (FreeBSD ertt_packet_measurement_hook):
 * looks at the oldest record; returns 0 to go on with the next, 1 to stop.
 */
static long ertt__walk_step(__u64 i, void *arg)
{
	struct ertt_ack *a = arg;
	struct ertt *e = a->e;
	struct ertt_txq *q = &e->txq;
	struct ertt_txseg *s;
	__u32 end;
	int ts;

	if (!q->len)
		return 1;
	s = txq__at(q, 0);
	end = s->seq + s->len;

	/* Beyond anything sent: a record that can never be ACKed. */
	if (seq_gt(end, a->snd_nxt))
		return ertt__drop_head(a, s);
	/* (a) The ACK covers more than this record. */
	if (seq_gt(a->ack, end))
		return ertt__drop_head(a, s);
	/* (b) Delayed-ACK guess. */
	ertt__dlyack_guess(a, s);
	/* (c) Timestamp matching. */
	ts = ertt__ts_match(a, s);
	if (ts == ERTT_TS_STOP)
		return 1;
	if (ts == ERTT_TS_OLD)
		return ertt__drop_head(a, s);
	/* (d) The ACK does not reach this record. */
	if (!seq_gt(a->ack, s->seq))
		return 1;
	/* (e) An RTT sample, unless the ACK may have been delayed; Karn's rule
	 * for retransmissions unless the timestamp names this transmission. */
	if ((!e->dlyack_rx || a->multiack || a->new_sack) &&
	    (!(s->flags & ERTT_TXSI_RETRANS) || (a->has_ts && a->tsecr == s->tx_tsval)))
		ertt__sample(e, elapsed_us(a->now_us, s->tx_us));
	/* (f) This record completes the marked measurement. */
	if (ertt__is_marked(a, s))
		ertt__mark_done(a, elapsed_us(a->now_us, s->tx_us), 0);
	/* (g) A partly acknowledged GSO record stays, trimmed and unmarked. */
	if ((s->flags & ERTT_TXSI_TSO) && seq_lt(a->ack, end)) {
		s->len = end - a->ack;
		s->seq = a->ack;
		s->flags &= ~ERTT_TXSI_RTT_MEASURE_START;
		return 1;
	}
	txq__pop(q);
	return 1;
}

/* Match one ACK against the queue. */
static __always_inline void ertt__process_ack(struct ertt_ack *a)
{
	bpf_loop(ERTT_TXQ_SIZE, ertt__walk_step, a, 0);
	/* The queue ran out before a record could take the measurement. */
	if (a->measurenext)
		ertt__mark_done(a, elapsed_us(a->now_us, a->measurenext_us), a->measurenext_len);
}

/* ---- tcp_est_out: a segment leaves (HDR_OPT_LEN_CB with an skb) ----------------- */

/* Departure time and the timestamp option the kernel is about to write. */
static __always_inline __u32 ertt__stamp_tx(struct bpf_sock_ops *skops, struct ertt_txseg *s)
{
	struct tcp_sock *tp = ertt__tcp_sock(skops);
	__u64 wstamp;
	__u32 usec_ts = 0;

	s->tx_tsval = 0;
	s->tx_tsecr = 0;
	if (!tp) {
		s->tx_us = now_us();
		return 0;
	}
	/* __tcp_transmit_skb sets tcp_wstamp_ns, the skb's departure time,
	 * before it computes the options: it is what the kernel's own RTT
	 * samples and the TSval are based on. */
	wstamp = tp->tcp_wstamp_ns;
	s->tx_us = (__u32)(wstamp / NSEC_PER_USEC);
	if (!BPF_CORE_READ_BITFIELD(tp, rx_opt.tstamp_ok))
		return 0;
	if (bpf_core_field_exists(tp->tcp_usec_ts))
		usec_ts = BPF_CORE_READ_BITFIELD(tp, tcp_usec_ts);
	s->tx_tsval = (__u32)(wstamp / (usec_ts ? NSEC_PER_USEC : NSEC_PER_MSEC)) + tp->tsoffset;
	s->tx_tsecr = tp->rx_opt.ts_recent;
	return ERTT_TXSI_TS;
}

static __always_inline void ertt_tx(struct khelp_ctx *ctx, struct ertt *e)
{
	struct bpf_sock_ops *skops = ctx->skops;
	struct ertt_txq *q = &e->txq;
	__u32 payload = skops->skb_len;
	__u32 tcp_flags = skops->skb_tcp_flags;
	__u32 seq = skops->snd_nxt;	/* new data: snd_nxt moves after the callback */
	struct ertt_txseg *s;
	__u32 sflags = 0, slot;

	if (!payload || (tcp_flags & TCPHDR_SYN))
		return;
	if (!q->valid) {
		q->last_ack = skops->snd_una;
		q->sack_high = q->last_ack;
		q->valid = 1;
	}
	if (payload > skops->mss_cache) {
		sflags |= ERTT_TXSI_TSO;
		q->gso_seen = 1;
	}
	/* FreeBSD turns TSO back on at the send after a marked measurement. */
	e->flags &= ~ERTT_TSO_DISABLED;

	slot = q->len;
	if (slot && txq__at(q, slot - 1)->seq == seq) {
		/* The newest record never left (snd_nxt did not move): replace it. */
		slot--;
		sflags |= txq__at(q, slot)->flags & ERTT_TXSI_RTT_MEASURE_START;
	} else if (slot >= ERTT_TXQ_SIZE) {
		e->queue_overflows++;
		if (e->flags & ERTT_MEASUREMENT_IN_PROGRESS)
			e->bytes_tx_in_rtt += payload;
		return;
	} else if (e->flags & ERTT_MEASUREMENT_IN_PROGRESS) {
		e->bytes_tx_in_rtt += payload;
	} else {
		/* One marked packet per RTT. */
		sflags |= ERTT_TXSI_RTT_MEASURE_START;
		e->flags |= ERTT_MEASUREMENT_IN_PROGRESS;
		e->bytes_tx_in_rtt = payload;
	}
	s = txq__at(q, slot);
	s->seq = seq;
	s->len = payload + ((tcp_flags & TCPHDR_FIN) ? 1 : 0);
	sflags |= ertt__stamp_tx(skops, s);
	s->flags = sflags;
	if (slot == q->len)
		q->len++;
}

/* ---- tcp_retrans: the segment just sent was a retransmission --------------------- */

static __always_inline void ertt_retrans(struct khelp_ctx *ctx, struct ertt *e)
{
	struct bpf_sock_ops *skops = ctx->skops;
	struct ertt_txq *q = &e->txq;
	struct ertt_txseg *s;

	if (!q->len)
		return;
	/* tcp_est_out recorded it at snd_nxt, where no sent record can start. */
	s = txq__at(q, q->len - 1);
	if (s->seq != skops->snd_nxt)
		return;
	if (skops->args[2]) {		/* tcp_transmit_skb failed: nothing left */
		if (s->flags & ERTT_TXSI_RTT_MEASURE_START)
			e->flags &= ~ERTT_MEASUREMENT_IN_PROGRESS;
		q->len--;
		return;
	}
	s->seq = skops->args[0];	/* sequence number of its first byte */
	s->flags |= ERTT_TXSI_RETRANS;
}

/* ---- tcp_est_in: a segment arrives, before ACK processing (PARSE_HDR_OPT_CB) ------ */

struct ertt_ts_opt {
	__u8 kind;
	__u8 len;
	__u8 val[8];
};

struct ertt_sack_opt {
	__u8 kind;
	__u8 len;
	__u8 blk[TCP_SACK_MAX_BLOCKS * TCPOLEN_SACK_PERBLOCK];
};

static __always_inline void ertt__rx_ts(struct bpf_sock_ops *skops, struct ertt_ack *a)
{
	struct ertt_ts_opt o = { .kind = TCPOPT_TIMESTAMP };

	if (bpf_load_hdr_opt(skops, &o, sizeof(o), 0) != TCPOLEN_TIMESTAMP)
		return;
	a->tsval = be32_at(&o.val[0]);
	a->tsecr = be32_at(&o.val[4]);
	a->has_ts = 1;
}

/* Highest SACKed sequence in the ACK's SACK blocks within (snd_una, snd_nxt], or 0. */
static __always_inline int ertt__rx_sack(struct bpf_sock_ops *skops, __u32 snd_una, __u32 *high)
{
	struct ertt_sack_opt o = { .kind = TCPOPT_SACK };
	int ret, found = 0;
	__u32 i, nblk;

	ret = bpf_load_hdr_opt(skops, &o, sizeof(o), 0);
	if (ret < TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK)
		return 0;
	nblk = (__u32)(ret - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
	for (i = 0; i < TCP_SACK_MAX_BLOCKS; i++) {
		__u32 end;

		if (i >= nblk)
			break;
		end = be32_at(&o.blk[i * TCPOLEN_SACK_PERBLOCK + 4]);
		if (!seq_gt(end, snd_una) || seq_gt(end, skops->snd_nxt))
			continue;
		if (!found || seq_gt(end, *high)) {
			*high = end;
			found = 1;
		}
	}
	return found;
}

static __always_inline void ertt_rx(struct khelp_ctx *ctx, struct ertt *e)
{
	struct bpf_sock_ops *skops = ctx->skops;
	struct ertt_txq *q = &e->txq;
	void *data = (void *)(long)skops->skb_data;
	void *data_end = (void *)(long)skops->skb_data_end;
	struct tcphdr *th = data;
	struct ertt_ack a = {};
	__u32 ack, snd_una, sack = 0, opt_len;

	if ((void *)(th + 1) > data_end || !th->ack)
		return;
	ack = bpf_ntohl(th->ack_seq);
	if (!q->len) {			/* nothing in flight: nothing to match */
		if (q->valid)
			txq__acked_to(q, ack);
		return;
	}
	snd_una = skops->snd_una;	/* still the value before this ACK */
	a.acked = seq_gt(ack, snd_una) ? ack - snd_una : 0;

	ertt__rx_ts(skops, &a);
	opt_len = th->doff * 4 - TCP_HDR_MIN_LEN;
	if (opt_len > (a.has_ts ? TCPOLEN_TSTAMP_ALIGNED : 0) &&
	    ertt__rx_sack(skops, snd_una, &sack) && seq_gt(sack, q->sack_high)) {
		a.new_sack = 1;
		q->sack_high = sack;
	}
	if (!a.acked && !a.new_sack) {
		txq__acked_to(q, ack);
		return;
	}
	a.e = e;
	a.ack = a.acked ? ack : sack;
	a.now_us = now_us();
	a.mss = skops->mss_cache;
	a.snd_cwnd = skops->snd_cwnd;
	a.snd_nxt = skops->snd_nxt;
	a.dlyack_update = 1;
	ertt__process_ack(&a);
	txq__acked_to(q, ack);
	e->acks_hdr++;
}

/* ---- tcp_rtt: the kernel took an RTT sample from an ACK (RTT_CB) ----------------- */

static __always_inline void ertt_rtt(struct khelp_ctx *ctx, struct ertt *e)
{
	struct bpf_sock_ops *skops = ctx->skops;
	struct ertt_txq *q = &e->txq;
	__u32 snd_una = skops->snd_una;	/* already includes this ACK */
	struct ertt_ack a = {};
	struct tcp_sock *tp;

	/* Already processed by tcp_est_in, or nothing new. */
	if (!q->valid || !seq_gt(snd_una, q->last_ack))
		return;
	if (!q->len) {
		txq__acked_to(q, snd_una);
		return;
	}
	a.e = e;
	a.ack = snd_una;
	/* Bytes since the last ACK processed: may span ACKs the fast path hid,
	 * so it decides multiack but does not move dlyack_rx. */
	a.acked = snd_una - q->last_ack;
	a.now_us = now_us();
	a.mss = skops->mss_cache;
	a.snd_cwnd = skops->snd_cwnd;
	a.snd_nxt = skops->snd_nxt;
	/* No header here: the kernel parsed this ACK's timestamps into rx_opt,
	 * with its tsoffset already taken off a non-zero TSecr
	 * (tcp_fast_parse_options): add it back to compare with what we sent. */
	tp = ertt__tcp_sock(skops);
	if (tp && BPF_CORE_READ_BITFIELD(tp, rx_opt.saw_tstamp)) {
		a.tsval = tp->rx_opt.rcv_tsval;
		a.tsecr = tp->rx_opt.rcv_tsecr;
		if (a.tsecr)
			a.tsecr += tp->tsoffset;
		a.has_ts = 1;
	}
	ertt__process_ack(&a);
	txq__acked_to(q, snd_una);
	e->acks_rtt_cb++;
}

#define KHELP_HOOKS(H)					\
	H(tcp_est_out, ertt_tx)				\
	H(tcp_retrans, ertt_retrans)			\
	H(tcp_est_in, ertt_rx)				\
	H(tcp_rtt, ertt_rtt)
KHELP_MODULE(h_ertt, "1.0.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct ertt);
