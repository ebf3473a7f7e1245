// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * h_rtx: per-connection retransmission and RTO statistics, written only
 * against the public module header (<khelp/khelp.bpf.h>): the template for
 * modules built outside the khelp tree (docs/modules.md).
 *
 *   retrans_segs      segments retransmitted (RETRANS_CB, successful sends)
 *   retrans_events    retransmissions (one callback may carry several segments)
 *   rtos              retransmission timeouts (RTO_CB)
 *   spurious_guess    DSACKs the peer sent (tcp_sock.dsack_dups): each says a
 *                     segment arrived twice, i.e. a retransmission that was not
 *                     needed. A guess: a duplicate made by the network counts too.
 *   recoveries        entries into loss recovery (fast recovery or RTO loss state)
 *   recovery_us       time spent in loss recovery, microseconds; an episode is
 *                     closed at the first RTT sample (or state change) after it ends
 *   in_recovery       1 while the connection is in loss recovery, as of the last
 *                     callback (an idle connection's last episode stays open)
 */
#include <khelp/khelp.bpf.h>

struct h_rtx {
	__u64 retrans_segs;
	__u64 retrans_events;
	__u64 rtos;
	__u64 spurious_guess;
	__u64 recoveries;
	__u64 recovery_us;
	__u64 in_recovery;
	__u64 recovery_start_ns;	/* when the current episode began, 0 outside one */
};
KHELP_DATA(h_rtx, struct h_rtx);

#define RTX_CA_RECOVERY	3	/* enum tcp_ca_state: TCP_CA_Recovery */
#define RTX_CA_LOSS	4	/* TCP_CA_Loss */

/* Follow the kernel's congestion state: open or close a recovery episode. */
static __always_inline void rtx__track(struct khelp_ctx *ctx, struct h_rtx *d)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(ctx->sk);
	__u8 ca_state;
	__u64 now;

	if (!tp)
		return;
	ca_state = BPF_CORE_READ_BITFIELD(&tp->inet_conn, icsk_ca_state);
	d->spurious_guess = BPF_CORE_READ(tp, dsack_dups);
	now = bpf_ktime_get_ns();
	if (ca_state == RTX_CA_RECOVERY || ca_state == RTX_CA_LOSS) {
		if (!d->recovery_start_ns) {
			d->recovery_start_ns = now;
			d->recoveries++;
			d->in_recovery = 1;
		}
	} else if (d->recovery_start_ns) {
		d->recovery_us += (now - d->recovery_start_ns) / 1000;
		d->recovery_start_ns = 0;
		d->in_recovery = 0;
	}
}

static __always_inline void rtx_retrans(struct khelp_ctx *ctx, struct h_rtx *d)
{
	/* args: first sequence number, segments, tcp_transmit_skb's return value */
	if (ctx->skops->args[2] == 0) {
		d->retrans_segs += ctx->skops->args[1];
		d->retrans_events++;
	}
	rtx__track(ctx, d);
}

static __always_inline void rtx_rto(struct khelp_ctx *ctx, struct h_rtx *d)
{
	d->rtos++;
	rtx__track(ctx, d);
}

/* Every ACK with an RTT sample, and state changes: where recovery ends. */
static __always_inline void rtx_ack(struct khelp_ctx *ctx, struct h_rtx *d)
{
	if (d->recovery_start_ns || d->retrans_events)
		rtx__track(ctx, d);
}

#define KHELP_HOOKS(H) H(tcp_retrans, rtx_retrans) H(tcp_rto, rtx_rto) H(tcp_rtt, rtx_ack) H(tcp_state, rtx_ack)
KHELP_MODULE(h_rtx, "1.0.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct h_rtx);
