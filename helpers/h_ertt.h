/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * h_ertt: Enhanced RTT (FreeBSD h_ertt(4)) per-connection data.
 *
 * The header consumer modules include after <khelp/khelp.bpf.h>:
 *
 *   #include "h_ertt.h"
 *   KHELP_DEPENDS("h_ertt");
 *   KHELP_DATA(h_ertt, struct ertt);
 *   ...
 *   struct ertt *e = khelp_data_of(h_ertt, sk);
 *   if (e && (e->flags & ERTT_NEW_MEASUREMENT)) {
 *           ... use e->markedpkt_rtt_us, e->bytes_tx_in_marked_rtt ...
 *           e->flags &= ~ERTT_NEW_MEASUREMENT;     // the consumer clears it
 *   }
 *
 * Freshness: an ACK's sample and marked measurement appear when h_ertt
 * sees the connection's next segment (they wait for the kernel's arrival
 * stamp of the ACK, see docs/h_ertt.md), i.e. one ACK late.
 * Units: every time is in MICROSECONDS; 0 means "no value yet". Byte
 * counters are TCP payload bytes; marked_snd_cwnd is in packets (Linux
 * snd_cwnd; FreeBSD keeps bytes: multiply by the MSS).
 * Only fixed-width types and fixed arrays: the layout is shared by every
 * module that reads the data and by khelpd, which prints every scalar
 * member of struct ertt by name (`khelpctl conns`).
 */
#ifndef KHELP_H_ERTT_H
#define KHELP_H_ERTT_H

/* struct ertt.flags */
#define ERTT_NEW_MEASUREMENT		0x1	/* a marked measurement completed; consumers clear it */
#define ERTT_MEASUREMENT_IN_PROGRESS	0x2	/* a marked packet is in flight */
#define ERTT_TSO_DISABLED		0x4	/* where FreeBSD would turn TSO off for the next marked packet */

/* Flags of a record, in the top byte of ertt_txseg.len_flags */
#define ERTT_TXSI_TSO			0x01	/* GSO super-packet (FreeBSD TXSI_TSO) */
#define ERTT_TXSI_RTT_MEASURE_START	0x02	/* the marked packet of this RTT */
#define ERTT_TXSI_RETRANS		0x04	/* overlaps a retransmitted range: no RTT from it (Karn) */
#define ERTT_TXSI_SHIFT			24
/* ertt_txq.untimed: what the last ACK timed (sample, marked measurement) */
#define ERTT_UNTIMED_SAMPLE		0x1
#define ERTT_UNTIMED_MARK		0x2
#define ERTT_TXSI_LEN_MASK		((1U << ERTT_TXSI_SHIFT) - 1)

/*
 * Ring of transmitted segments waiting for their ACK (FreeBSD txsegi_q),
 * oldest first, in sequence order: new data is appended, a retransmission
 * flags the records it overlaps. 192 records of 20 bytes: a flight of 192
 * skbs (GSO super-packets count one) fits; the struct stays under
 * KHELP_DATA_MAX.
 */
#define ERTT_TXQ_SIZE			192

/* One transmitted segment (FreeBSD struct txseginfo). */
struct ertt_txseg {
	__u32 seq;		/* first sequence number */
	__u32 len_flags;	/* sequence space covered (payload, +1 with FIN) | ERTT_TXSI_* << 24 */
	__u32 tx_us;		/* departure time, low 32 bits of CLOCK_MONOTONIC in us; the TSval
				 * sent is derived from it (tcp_skb_timestamp_ts + tsoffset) */
	__u32 tx_tsecr;		/* TSecr sent: the peer's TSval we echoed (FreeBSD rx_ts) */
	__u32 sent;		/* low 32 bits of bytes_sent before this record */
};

/* Bookkeeping of the ring; not user data (khelpd prints scalars of struct ertt only). */
struct ertt_txq {
	__u32 head;		/* index of the oldest record */
	__u32 len;		/* records in use */
	__u32 snd_end;		/* end of the newest new data seen sent */
	__u32 sack_high;	/* highest SACKed sequence seen */
	__u32 valid;		/* snd_end/sack_high are initialised */
	__u32 pending;		/* the last send: 0 none, 1 recorded (the newest record), 2 not
				 * recorded (ring full); a retransmission is recognised by the
				 * RETRANS_CB that follows it, a failed send by the next send
				 * starting at the same snd_nxt */
	__u32 pending_seq;	/* its sequence number (snd_nxt when it was sent) */
	__u32 pending_len;	/* its payload */
	/* What the last ACK timed, waiting for its arrival time (ertt__settle):
	 * the kernel stamps the ACK (tp->tcp_mstamp) just after tcp_probe, and
	 * keeps that stamp in tp->delivered_mstamp when the ACK delivers data. */
	__u32 untimed;		/* ERTT_UNTIMED_*: 0 nothing waits */
	__u32 untimed_delivered; /* tp->delivered before that ACK */
	__u32 sample_tx_us;	/* departure of the record it samples */
	__u32 mark_tx_us;	/* departure of the record completing the measurement */
	__u32 mark_bytes;	/* bytes_tx_in_marked_rtt of that measurement */
	__u32 mark_cwnd;	/* and its snd_cwnd */
	struct ertt_txseg seg[ERTT_TXQ_SIZE];
};

struct ertt {
	/* per-ACK RTT samples (FreeBSD rtt, minrtt, maxrtt) */
	__u32 rtt_us;			/* latest RTT sample */
	__u32 srtt_us;			/* EWMA of the samples, gain 1/8 (display only) */
	__u32 minrtt_us;		/* smallest sample */
	__u32 maxrtt_us;		/* largest sample */
	/* the marked measurement: one marked packet per RTT */
	__u32 markedpkt_rtt_us;		/* RTT of the last marked packet */
	__u32 marked_snd_cwnd;		/* snd_cwnd (packets) when it completed */
	__u64 bytes_tx_in_rtt;		/* bytes sent since the current marked packet, it included */
	__u64 bytes_tx_in_marked_rtt;	/* bytes sent during the last marked RTT */
	__u64 bytes_sent;		/* payload bytes sent (retransmissions included) */
	__u64 marked_sent;		/* bytes_sent before the current marked packet */
	__u64 measurements;		/* marked measurements completed */
	__u64 samples;			/* RTT samples taken */
	__u64 acks_seen;		/* segments tcp_est_in processed (every one received in ESTABLISHED) */
	__u64 acks_merged;		/* of those, ACKs the socket backlog had merged into a later one */
	__u32 dlyack_rx;		/* delayed-ACK guess, 0..5 (0: receiver ACKs every segment) */
	__u32 timestamp_errors;		/* inconsistent TCP timestamps seen; >= 10: ignored */
	__u32 flags;			/* ERTT_* */
	__u32 queue_overflows;		/* segments not recorded because the ring was full */
	__u32 acks_invalid;		/* ACKs above snd_nxt, ignored (tcp_ack() drops them) */
	__u32 karn_skips;		/* ACKs that took no sample: they acked a retransmitted record */
	__u32 tx_unseen;		/* sends tcp_est_out never saw (no option space), found by
					 * the gap they left in the sequence space */
	__u32 tx_unseen_bytes;		/* their bytes, counted into bytes_sent when found */
	__u32 acks_untimed;		/* ACKs whose sample and measurement were dropped: no
					 * arrival time of theirs was left (the kernel delivered
					 * nothing for them, a send restamped it unseen, or the
					 * connection left ESTABLISHED first) */
	struct ertt_txq txq;
};

#endif /* KHELP_H_ERTT_H */
