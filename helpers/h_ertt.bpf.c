// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * h_ertt: Enhanced RTT, FreeBSD's h_ertt khelp rebuilt for khelp.
 *
 * Every transmitted segment with payload is recorded (tcp_est_out, sockops
 * HDR_OPT_LEN_CB); one of them per RTT is the marked packet. Every segment
 * the connection receives in ESTABLISHED (tcp_est_in, tp_btf/tcp_probe,
 * before ACK processing, fast path included) is matched against the
 * records, oldest first, to take RTT samples and complete the marked
 * measurement that vegas, hd, chd and cdg consume; what an ACK timed gets
 * the kernel's arrival stamp of that ACK at the next segment (ertt__settle).
 * tcp_retrans moves a retransmission out of the ring and flags the records
 * it overlaps (Karn). All times are in microseconds. The design, and where
 * it departs from FreeBSD, is in docs/h_ertt.md.
 */
#include <khelp/khelp.bpf.h>
#include "h_ertt.h"

#define DLYACK_SMOOTH		5	/* ceiling of the delayed-ACK guess dlyack_rx */
#define MAX_TS_ERR		10	/* timestamp errors after which timestamps are ignored */

#define TCPHDR_FIN		0x01
#define TCPHDR_SYN		0x02
#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_SACK		5
#define TCPOPT_TIMESTAMP	8
#define TCPOLEN_TIMESTAMP	10
#define TCPOLEN_TSTAMP_ALIGNED	12
#define TCPOLEN_SACK_BASE	2
#define TCPOLEN_SACK_PERBLOCK	8
#define TCP_SACK_MAX_BLOCKS	4
#define TCP_HDR_MIN_LEN		20
#define TCP_OPT_MAX_LEN		40
/* NOP NOP TIMESTAMP 10: the layout Linux and FreeBSD send (tcp_input.c's fast path test) */
#define TCPOPT_TSTAMP_ALIGNED_HDR \
	((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP)

#define ERTT_PENDING_RECORDED	1	/* txq.pending: the newest record */
#define ERTT_PENDING_UNRECORDED	2	/* txq.pending: sent while the ring was full */

/* The verifier's loop bound (may_goto, clang >= 19; selftests' can_loop): a
 * counter in the JIT, where bpf_for calls an iterator kfunc per pass -- and
 * a call is dear on CPUs whose kernel returns through a mitigation thunk. */
#define ertt_can_loop							\
	({								\
		__label__ l_break, l_continue;				\
		int __ret = 1;						\
		asm volatile goto("may_goto %l[l_break]" :::: l_break);	\
		goto l_continue;					\
	l_break:							\
		__ret = 0;						\
	l_continue:;							\
		__ret;							\
	})

#define NSEC_PER_USEC		1000ULL
#define USEC_PER_MSEC		1000ULL

KHELP_DATA(h_ertt, struct ertt);

/* Scratch for TCP options in an uncommon layout (see ertt_rx). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[TCP_OPT_MAX_LEN]);
} ertt_opt_buf SEC(".maps");

/* Everything one ACK needs while the ring is walked. */
struct ertt_ack {
	struct ertt *e;
	__u32 ack;			/* ack point: cumulative ACK, or highest new SACK */
	__u32 acked;			/* bytes this ACK acknowledged */
	__u32 mss;
	__u32 snd_cwnd;
	__u32 tsval;			/* the ACK's TSval */
	__u32 tsecr;			/* the ACK's TSecr (raw: our tsoffset included) */
	__u32 ts_lo;			/* the TSecr as a departure time: records that left in */
	__u32 ts_span;			/* [ts_lo, ts_lo + ts_span) carried it (0: no TS test) */
	__u32 measurenext_us;		/* tx time of the last record the measurement skipped */
	__u32 measurenext_sent;		/* and its running byte count */
	__u8 measurenext;		/* a skipped marked measurement waits for a record */
	__u8 has_ts;
	__u8 new_sack;
	__u8 multiack;
	__u8 dlyack_done;
	__u8 retrans;			/* this ACK acked a retransmitted record: no sample (Karn) */
};

/* The TCP header of a received segment, options included. */
struct ertt_hdr {
	struct tcphdr th;
	__u8 opt[TCP_OPT_MAX_LEN];
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

/* Elapsed microseconds between two 32-bit us stamps; at least 1 (0 = unset). */
static __always_inline __u32 elapsed_us(__u32 now, __u32 then)
{
	__u32 d = now - then;

	return (__s32)d > 0 ? d : 1;
}

static __always_inline __u32 txseg__len(const struct ertt_txseg *s)
{
	return s->len_flags & ERTT_TXSI_LEN_MASK;
}

static __always_inline __u32 txseg__flags(const struct ertt_txseg *s)
{
	return s->len_flags >> ERTT_TXSI_SHIFT;
}

/* Record i of the ring (0 = oldest), or NULL (never, but the verifier asks). */
static __always_inline struct ertt_txseg *txq__at(struct ertt_txq *q, __u32 i)
{
	__u32 idx = q->head + i;

	if (idx >= ERTT_TXQ_SIZE)
		idx -= ERTT_TXQ_SIZE;
	if (idx >= ERTT_TXQ_SIZE)
		return (void *)0;
	return &q->seg[idx];
}

static __always_inline void txq__pop(struct ertt_txq *q)
{
	q->head = q->head + 1 >= ERTT_TXQ_SIZE ? 0 : q->head + 1;
	q->len--;
}

/*
 * The last send was not new data (it never left, or it was a
 * retransmission): drop its record, the newest, if it has one. Returns the
 * record's ERTT_TXSI_RTT_MEASURE_START flag.
 */
static __always_inline __u32 txq__drop_pending(struct ertt_txq *q)
{
	struct ertt_txseg *s;
	__u32 fl = 0;

	if (q->pending != ERTT_PENDING_RECORDED || !q->len)
		return 0;
	s = txq__at(q, q->len - 1);
	if (s)
		fl = txseg__flags(s) & ERTT_TXSI_RTT_MEASURE_START;
	q->len--;
	return fl;
}

/* ---- RTT samples and the marked measurement --------------------------------- */

/*
 * An ACK's times wait for its arrival time: tcp_probe runs just before the
 * kernel stamps the ACK (tcp_mstamp_refresh), and a clock call of our own
 * costs more than everything else h_ertt_in does. When the ACK delivers
 * data, tcp_ack() keeps that stamp in tp->delivered_mstamp, which the next
 * segment's h_ertt_in reads (ertt__settle).
 */
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

/* The ACK takes a sample of the record sent at tx_us (timed by ertt__settle). */
static __always_inline void ertt__sample_at(struct ertt *e, __u32 tx_us)
{
	e->txq.untimed |= ERTT_UNTIMED_SAMPLE;
	e->txq.sample_tx_us = tx_us;
}

/* The measurement cannot use this record (FreeBSD MULTI_ACK, OLD_TXSI): carry it on. */
static __always_inline void ertt__mark_skip(struct ertt_ack *a, const struct ertt_txseg *s)
{
	a->measurenext = 1;
	a->measurenext_us = s->tx_us;
	a->measurenext_sent = s->sent;
}

/*
 * Complete the marked measurement (FreeBSD CORRECT_ACK, FORCED_MEASUREMENT)
 * on a record sent at tx_us after `sent` bytes: the bytes of the marked RTT
 * are those sent since, so records missing from the ring cannot distort it.
 */
static __always_inline void ertt__mark_done(struct ertt_ack *a, __u32 tx_us, __u32 sent, __u32 tso)
{
	struct ertt *e = a->e;

	a->measurenext = 0;
	e->flags &= ~ERTT_MEASUREMENT_IN_PROGRESS;
	/* Karn: an ACK that acked a retransmission times nothing. */
	if (a->retrans)
		return;
	/* timed by ertt__settle */
	e->txq.untimed |= ERTT_UNTIMED_MARK;
	e->txq.mark_tx_us = tx_us;
	e->txq.mark_bytes = (__u32)e->bytes_sent - sent;
	e->txq.mark_cwnd = a->snd_cwnd;
	/* FreeBSD turns TSO off here so the next marked packet is one MSS. */
	if (tso)
		e->flags |= ERTT_TSO_DISABLED;
}

/*
 * Give the last ACK's sample and measurement their time: the kernel's
 * stamp of that ACK, if tcp_ack() delivered data for it (tp->delivered
 * moved: tcp_ack() counts deliveries only on the path that then sets
 * tp->delivered_mstamp, tcp_rate_gen()). Otherwise (an ACK the kernel dropped, or acknowledging less than a
 * segment of a GSO record) there is no arrival time: drop them. A send
 * from an empty pipe overwrites delivered_mstamp (tcp_rate_skb_sent, after
 * the send's HDR_OPT_LEN_CB, where tcp_est_out settles first), setting
 * first_tx_mstamp to the same value: such a stamp is not the ACK's.
 */
static __always_inline void ertt__settle(struct ertt *e, const struct tcp_sock *tp)
{
	struct ertt_txq *q = &e->txq;
	__u64 stamp = tp->delivered_mstamp;
	__u32 now = (__u32)stamp;

	if (tp->delivered == q->untimed_delivered || stamp == tp->first_tx_mstamp) {
		e->acks_untimed++;
		q->untimed = 0;
		return;
	}
	if (q->untimed & ERTT_UNTIMED_SAMPLE)
		ertt__sample(e, elapsed_us(now, q->sample_tx_us));
	if (q->untimed & ERTT_UNTIMED_MARK) {
		e->markedpkt_rtt_us = elapsed_us(now, q->mark_tx_us);
		e->bytes_tx_in_marked_rtt = q->mark_bytes;
		e->marked_snd_cwnd = q->mark_cwnd;
		e->flags |= ERTT_NEW_MEASUREMENT;
		e->measurements++;
	}
	q->untimed = 0;
}

static __always_inline int ertt__is_marked(const struct ertt_ack *a, __u32 fl)
{
	return (fl & ERTT_TXSI_RTT_MEASURE_START) || a->measurenext;
}

/* FreeBSD's delayed-ACK guess, once per ACK, against the first record reached. */
static __always_inline void ertt__dlyack_guess(struct ertt_ack *a, __u32 len)
{
	struct ertt *e = a->e;

	if (a->new_sack || a->dlyack_done)
		return;
	a->dlyack_done = 1;
	if (a->acked > a->mss || a->acked > len) {
		a->multiack = 1;
		if (e->dlyack_rx < DLYACK_SMOOTH)
			e->dlyack_rx++;
	} else if (a->acked == a->mss || a->acked == len) {
		if (e->dlyack_rx > 0)
			e->dlyack_rx--;
	}
}

/*
 * The ACK's TSecr as departure times: the kernel sends TSval = departure
 * (ms or us clock, tcp_skb_timestamp_ts) + tsoffset, so the TSecr names the
 * records that left in [ts_lo, ts_lo + ts_span) us. Multiplication keeps
 * the low 32 bits right, so no clock and no division are needed.
 */
static __always_inline void ertt__ts_window(struct ertt_ack *a, const struct tcp_sock *tp)
{
	__u32 t = a->tsecr - tp->tsoffset;
	int usec = 0;

	if (a->e->timestamp_errors >= MAX_TS_ERR || !a->has_ts || !a->tsecr)
		return;
	if (bpf_core_field_exists(tp->tcp_usec_ts))
		usec = BPF_CORE_READ_BITFIELD(tp, tcp_usec_ts);
	a->ts_span = usec ? 1 : USEC_PER_MSEC;
	a->ts_lo = usec ? t : t * USEC_PER_MSEC;
}

/* The ACK's timestamps say which record it answers (only with TS on both). */
enum ertt_ts_verdict { ERTT_TS_USE, ERTT_TS_STOP, ERTT_TS_OLD };

static __always_inline int ertt__ts_match(struct ertt_ack *a, const struct ertt_txseg *s)
{
	struct ertt *e = a->e;
	__s32 d;

	if (!a->ts_span)
		return ERTT_TS_USE;
	d = (__s32)(s->tx_us - a->ts_lo);	/* the record's TSval vs the TSecr */
	/* Echoes an earlier segment; with delayed ACKs that is expected. */
	if (!e->dlyack_rx && d >= (__s32)a->ts_span)
		return ERTT_TS_STOP;
	/* Echoes a later segment: this record is old. */
	if (d < 0)
		return ERTT_TS_OLD;
	/* Answered before the peer's clock reached what we had echoed. */
	if (d < (__s32)a->ts_span && seq_lt(a->tsval, s->tx_tsecr))
		e->timestamp_errors++;
	return ERTT_TS_USE;
}

/* Match one ACK against the ring (FreeBSD ertt_packet_measurement_hook). */
static __always_inline void ertt__process_ack(struct ertt_ack *a)
{
	struct ertt *e = a->e;
	struct ertt_txq *q = &e->txq;

	/* Every pass but the last removes a record: at most ERTT_TXQ_SIZE + 1.
	 * may_goto bounds the loop for the verifier (no iterator kfunc call
	 * per pass, as bpf_for makes). */
	while (ertt_can_loop) {
		struct ertt_txseg *s;
		__u32 len, fl, end;
		int ts;

		if (!q->len)
			break;
		s = txq__at(q, 0);
		if (!s)
			break;
		len = txseg__len(s);
		fl = txseg__flags(s);
		end = s->seq + len;
		if (fl & ERTT_TXSI_RETRANS)
			a->retrans |= seq_gt(a->ack, s->seq);
		/* (a) The ACK covers more than this record. */
		if (seq_gt(a->ack, end)) {
			if (ertt__is_marked(a, fl))
				ertt__mark_skip(a, s);
			txq__pop(q);
			continue;
		}
		/* (b) Delayed-ACK guess. */
		ertt__dlyack_guess(a, len);
		/* (c) Timestamp matching. */
		ts = ertt__ts_match(a, s);
		if (ts == ERTT_TS_STOP)
			break;
		if (ts == ERTT_TS_OLD) {
			if (ertt__is_marked(a, fl))
				ertt__mark_skip(a, s);
			txq__pop(q);
			continue;
		}
		/* (d) The ACK does not reach this record. */
		if (!seq_gt(a->ack, s->seq))
			break;
		/* (e) An RTT sample, unless the ACK may have been delayed, or it
		 * acked a retransmitted record (Karn). */
		if (a->retrans)
			e->karn_skips++;
		else if (!e->dlyack_rx || a->multiack || a->new_sack)
			ertt__sample_at(e, s->tx_us);
		/* (f) This record completes the marked measurement. */
		if (ertt__is_marked(a, fl))
			ertt__mark_done(a, s->tx_us, s->sent, fl & ERTT_TXSI_TSO);
		/* (g) A partly acknowledged GSO record stays, trimmed and unmarked. */
		if ((fl & ERTT_TXSI_TSO) && seq_lt(a->ack, end)) {
			s->len_flags = (end - a->ack) |
				       ((fl & ~ERTT_TXSI_RTT_MEASURE_START) << ERTT_TXSI_SHIFT);
			s->seq = a->ack;
			break;
		}
		txq__pop(q);
		break;
	}
	/* The ring ran out before a record could take the measurement. */
	if (a->measurenext)
		ertt__mark_done(a, a->measurenext_us, a->measurenext_sent, 0);
}

/* ---- tcp_est_out: a segment leaves (HDR_OPT_LEN_CB with an skb) ----------------- */

static __always_inline void ertt_tx(struct khelp_ctx *ctx, struct ertt *e)
{
	struct bpf_sock_ops *skops = ctx->skops;
	struct ertt_txq *q = &e->txq;
	__u32 payload = skops->skb_len;
	__u32 tcp_flags = skops->skb_tcp_flags;
	__u32 seq = skops->snd_nxt;	/* new data: snd_nxt moves after the callback */
	struct ertt_txseg *s;
	/* a cast with plain loads, not a bpf_skc_to_tcp_sock call; its
	 * fields are read only when the socket is a full one */
	struct tcp_sock *tp = bpf_core_cast(ctx->sk, struct tcp_sock);
	__u32 len, fl = 0, slot;
	__u64 wstamp;

	if (tcp_flags & TCPHDR_SYN)
		return;
	if (q->untimed && skops->is_fullsock) {
		/* A send from an empty pipe (a FIN alone too) restamps
		 * delivered_mstamp after this callback: the last ACK's times
		 * are taken first. Out of ESTABLISHED, ACKs tcp_est_in never
		 * saw may have moved the stamp: drop them. */
		if (!tp->packets_out) {
			if (skops->state == BPF_TCP_ESTABLISHED) {
				ertt__settle(e, tp);
			} else {
				e->acks_untimed++;
				q->untimed = 0;
			}
		}
	}
	if (!payload)
		return;
	if (!q->valid) {
		q->snd_end = seq;
		q->sack_high = skops->snd_una;
		q->valid = 1;
	}
	len = payload + ((tcp_flags & TCPHDR_FIN) ? 1 : 0);
	/* The last send never left (snd_nxt did not move): forget it. */
	if (q->pending && q->pending_seq == seq) {
		fl = txq__drop_pending(q);	/* a marked record's mark goes to this one */
		e->bytes_sent -= q->pending_len;
		q->snd_end = seq;
	}
	q->pending = 0;
	/* Sends this hook did not see (the kernel skips HDR_OPT_LEN_CB when the
	 * options fill 40 bytes) show as a gap: count their bytes as sent. */
	if (seq_gt(seq, q->snd_end)) {
		e->tx_unseen++;
		e->tx_unseen_bytes += seq - q->snd_end;
		e->bytes_sent += seq - q->snd_end;
	}
	if (payload > skops->mss_cache)
		fl |= ERTT_TXSI_TSO;
	/* FreeBSD turns TSO back on at the send after a marked measurement. */
	e->flags &= ~ERTT_TSO_DISABLED;
	if (!(e->flags & ERTT_MEASUREMENT_IN_PROGRESS)) {
		/* One marked packet per RTT. */
		fl |= ERTT_TXSI_RTT_MEASURE_START;
		e->flags |= ERTT_MEASUREMENT_IN_PROGRESS;
		e->marked_sent = e->bytes_sent;
	}
	slot = q->len;
	q->pending = ERTT_PENDING_UNRECORDED;
	q->pending_seq = seq;
	q->pending_len = payload;
	if (slot >= ERTT_TXQ_SIZE) {
		e->queue_overflows++;
		/* the marked packet is not in the ring: the next send is marked */
		if (fl & ERTT_TXSI_RTT_MEASURE_START)
			e->flags &= ~ERTT_MEASUREMENT_IN_PROGRESS;
	} else if ((s = txq__at(q, slot))) {
		s->seq = seq;
		s->len_flags = len | (fl << ERTT_TXSI_SHIFT);
		s->sent = (__u32)e->bytes_sent;
		s->tx_tsecr = 0;
		/* __tcp_transmit_skb sets tcp_wstamp_ns, the skb's departure time,
		 * before it computes the options: the kernel's own RTT samples
		 * and the TSval are based on it. */
		if (skops->is_fullsock) {
			wstamp = tp->tcp_wstamp_ns;
			s->tx_tsecr = tp->rx_opt.ts_recent;
		} else {
			wstamp = bpf_ktime_get_ns();
		}
		s->tx_us = (__u32)(wstamp / NSEC_PER_USEC);
		q->len++;
		q->pending = ERTT_PENDING_RECORDED;
	}
	e->bytes_sent += payload;
	e->bytes_tx_in_rtt = e->bytes_sent - e->marked_sent;
	if (seq_gt(seq + len, q->snd_end))
		q->snd_end = seq + len;
}

/* ---- tcp_retrans: the segment just sent was a retransmission --------------------- */

static __always_inline void ertt_retrans(struct khelp_ctx *ctx, struct ertt *e)
{
	struct bpf_sock_ops *skops = ctx->skops;
	struct ertt_txq *q = &e->txq;
	__u32 rseq = skops->args[0];	/* sequence number of its first byte */
	__u32 segs = skops->args[1];
	__u32 err = skops->args[2];	/* tcp_transmit_skb's return value */
	__u32 mss = skops->mss_cache;
	__u32 snd_nxt = skops->snd_nxt;
	struct ertt_txseg *s = (void *)0;
	__u32 len, rend;
	int i;

	if (!q->valid)
		return;
	if (q->pending && q->pending_seq == snd_nxt) {
		/* tcp_est_out counted it as new data at snd_nxt: it was old data */
		len = q->pending_len;
		if (txq__drop_pending(q))
			e->flags &= ~ERTT_MEASUREMENT_IN_PROGRESS;
		q->snd_end = snd_nxt;
		if (err)			/* tcp_transmit_skb failed: not sent */
			e->bytes_sent -= len;
	} else {
		/* tcp_est_out did not see it (no option space): args[1] segments */
		len = segs * mss;
		e->tx_unseen++;
		if (!err) {
			e->tx_unseen_bytes += len;
			e->bytes_sent += len;
		}
	}
	q->pending = 0;
	e->bytes_tx_in_rtt = e->bytes_sent - e->marked_sent;
	if (err)
		return;
	/* Karn: every record overlapping the retransmitted range gives no sample. */
	rend = rseq + len;
	bpf_for(i, 0, ERTT_TXQ_SIZE) {
		if ((__u32)i >= q->len)
			break;
		s = txq__at(q, i);
		if (!s || !seq_lt(s->seq, rend))
			break;
		if (seq_gt(s->seq + txseg__len(s), rseq))
			s->len_flags |= ERTT_TXSI_RETRANS << ERTT_TXSI_SHIFT;
	}
}

/* ---- tcp_est_in: a segment arrives, before ACK processing (tp_btf/tcp_probe) ------ */

/* A SACK block's right edge: keep the highest one in (snd_una, snd_nxt]. */
static __always_inline void ertt__sack_end(__u32 end, __u32 snd_una, __u32 snd_nxt,
					   __u32 *sack, int *found)
{
	if (!seq_gt(end, snd_una) || seq_gt(end, snd_nxt))
		return;
	if (!*found || seq_gt(end, *sack)) {
		*sack = end;
		*found = 1;
	}
}

/* Timestamps and the highest SACKed sequence in (snd_una, snd_nxt] from the options. */
static __always_inline void ertt__rx_opts(const __u8 *opt, __u32 opt_len, struct ertt_ack *a,
					  __u32 snd_una, __u32 snd_nxt, __u32 *sack, int *found)
{
	__u32 i = 0;
	int k;

	bpf_for(k, 0, TCP_OPT_MAX_LEN) {
		__u32 kind, olen;

		if (i >= opt_len || i >= TCP_OPT_MAX_LEN - 1)
			break;
		kind = opt[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		olen = opt[i + 1];
		if (olen < 2 || i + olen > opt_len)
			break;
		if (kind == TCPOPT_TIMESTAMP && olen == TCPOLEN_TIMESTAMP) {
			barrier_var(i);
			if (i > TCP_OPT_MAX_LEN - TCPOLEN_TIMESTAMP)
				break;
			a->tsval = be32_at(&opt[i + 2]);
			a->tsecr = be32_at(&opt[i + 6]);
			a->has_ts = 1;
		} else if (kind == TCPOPT_SACK) {
			__u32 nblk = (olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;

			for (__u32 j = 0; j < TCP_SACK_MAX_BLOCKS; j++) {
				__u32 at = i + TCPOLEN_SACK_BASE + j * TCPOLEN_SACK_PERBLOCK + 4;

				barrier_var(at);
				if (j >= nblk || at > TCP_OPT_MAX_LEN - 4)
					break;
				ertt__sack_end(be32_at(&opt[at]), snd_una, snd_nxt, sack, found);
			}
		}
		i += olen;
	}
}

/*
 * The layout Linux sends with SACK blocks, [NOP NOP TS 10 tsval tsecr] NOP
 * NOP SACK 2+8n blocks (tcp_options_write), read in place with plain loads
 * (no copy, no byte loop); 0 if the header is laid out otherwise.
 */
static __always_inline int ertt__rx_sack_fast(const __u8 *th, __u32 hlen, struct ertt_ack *a,
					      __u32 snd_una, __u32 snd_nxt, __u32 *sack, int *found)
{
	__u32 off = TCP_HDR_MIN_LEN, w, nblk;

	if (*(const __u32 *)(th + off) == bpf_htonl(TCPOPT_TSTAMP_ALIGNED_HDR)) {
		a->tsval = bpf_ntohl(*(const __u32 *)(th + off + 4));
		a->tsecr = bpf_ntohl(*(const __u32 *)(th + off + 8));
		a->has_ts = 1;
		off += TCPOLEN_TSTAMP_ALIGNED;
	}
	w = bpf_ntohl(*(const __u32 *)(th + off));
	if ((w >> 8) != ((TCPOPT_NOP << 16) | (TCPOPT_NOP << 8) | TCPOPT_SACK))
		return 0;
	nblk = ((w & 0xff) - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
	if (nblk < 1 || nblk > TCP_SACK_MAX_BLOCKS ||
	    off + 4 + nblk * TCPOLEN_SACK_PERBLOCK != hlen ||
	    ((w & 0xff) - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK)
		return 0;
	off += 4;
	for (__u32 j = 0; j < TCP_SACK_MAX_BLOCKS; j++) {
		if (j >= nblk)
			break;
		ertt__sack_end(bpf_ntohl(*(const __u32 *)(th + off + j * TCPOLEN_SACK_PERBLOCK + 4)),
			       snd_una, snd_nxt, sack, found);
	}
	return 1;
}

static __always_inline void ertt_rx(struct khelp_ctx *ctx, struct ertt *e)
{
	struct ertt_txq *q = &e->txq;
	struct ertt_ack a = {};
	const struct sk_buff *skb = ctx->skb;
	const struct skb_shared_info *shinfo;
	const __u8 *data;
	struct tcp_sock *tp;
	__u16 segs;
	__u32 ack, snd_una, snd_nxt, hlen, sack = 0, w0, flags_w;
	int found = 0;

	/* tcp_probe runs for TCP sockets only: a cast, not a helper call */
	tp = bpf_core_cast(ctx->tsk, struct tcp_sock);
	if (q->untimed)
		ertt__settle(e, tp);
	/* The socket backlog merges the pure ACKs that arrive while the user
	 * holds the socket (tcp_add_backlog): tcp_rcv_established then gets
	 * one skb whose gso_segs counts them, and its ACK is the latest.
	 * Kernel memory is read with plain loads (bpf_core_cast, untrusted
	 * pointers: a fault reads 0), not bpf_probe_read_kernel calls. */
	shinfo = bpf_core_cast(skb->head + skb->end, struct skb_shared_info);
	segs = shinfo->gso_segs;
	if (segs > 1)
		e->acks_merged += segs - 1;
	else
		segs = 1;
	e->acks_seen += segs;
	if (!q->len)			/* nothing in flight: nothing to match */
		return;
	/* skb->data is the TCP header: read-only untrusted memory */
	data = skb->data;
	flags_w = *(const __u32 *)(data + 12);	/* doff, flags, window (big endian) */
	if (!(flags_w & bpf_htonl(0x00100000)))	/* ACK flag */
		return;
	ack = bpf_ntohl(*(const __u32 *)(data + 8));
	snd_una = tp->snd_una;		/* still the value before this ACK */
	snd_nxt = tp->snd_nxt;
	/* tcp_ack() drops an ACK of data never sent (FreeBSD before the hook) */
	if (seq_gt(ack, snd_nxt)) {
		e->acks_invalid++;
		return;
	}
	hlen = (bpf_ntohl(flags_w) >> 28) * 4;
	w0 = *(const __u32 *)(data + TCP_HDR_MIN_LEN);
	if (hlen == TCP_HDR_MIN_LEN + TCPOLEN_TSTAMP_ALIGNED &&
	    w0 == bpf_htonl(TCPOPT_TSTAMP_ALIGNED_HDR)) {
		a.tsval = bpf_ntohl(*(const __u32 *)(data + TCP_HDR_MIN_LEN + 4));
		a.tsecr = bpf_ntohl(*(const __u32 *)(data + TCP_HDR_MIN_LEN + 8));
		a.has_ts = 1;
	} else if (hlen > TCP_HDR_MIN_LEN && ertt__rx_sack_fast(data, hlen, &a, snd_una, snd_nxt,
							      &sack, &found)) {
		/* Linux's SACK layout: read in place */
	} else if (hlen > TCP_HDR_MIN_LEN) {
		/* any other layout: parse it in a
		 * map value, which the parser may index at variable offsets */
		__u32 opt_len = hlen - TCP_HDR_MIN_LEN, zero = 0;
		__u8 *opt = bpf_map_lookup_elem(&ertt_opt_buf, &zero);

		barrier_var(opt_len);
		if (!opt || opt_len > TCP_OPT_MAX_LEN ||
		    bpf_probe_read_kernel(opt, opt_len, data + TCP_HDR_MIN_LEN))
			return;
		ertt__rx_opts(opt, opt_len, &a, snd_una, snd_nxt, &sack, &found);
	}
	if (seq_lt(q->sack_high, snd_una))
		q->sack_high = snd_una;
	if (found && seq_gt(sack, q->sack_high)) {
		a.new_sack = 1;
		q->sack_high = sack;
	}
	a.acked = seq_gt(ack, snd_una) ? ack - snd_una : 0;
	if (!a.acked && !a.new_sack)
		return;
	a.e = e;
	a.ack = a.acked ? ack : sack;
	a.mss = tp->mss_cache;
	a.snd_cwnd = tp->snd_cwnd;
	ertt__ts_window(&a, tp);
	ertt__process_ack(&a);
	if (q->untimed)
		q->untimed_delivered = tp->delivered;
}

#define KHELP_HOOKS(H)					\
	H(tcp_est_out, ertt_tx)				\
	H(tcp_retrans, ertt_retrans)			\
	H(tcp_est_in, ertt_rx)
KHELP_MODULE(h_ertt, "1.1.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct ertt);
