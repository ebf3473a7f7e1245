// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelp_netem: loss and ECN marking for the congestion-control fidelity
 * tests and benchmarks (tests/e2e/fidelity.bats, bench/fidelity.sh), where
 * the kernel has no netem. A TC program (clsact, direct action), attached
 * twice around the bottleneck qdisc, each attachment with its own settings:
 *
 *   stamp 1           before the qdisc (egress of the bottleneck device):
 *                     stamp each packet with the time it joins the queue
 *                     (skb->tstamp as a CLOCK_MONOTONIC delivery time, which
 *                     survives the veth into the next namespace) and pass it
 *   behind the qdisc (ingress of the receiver):
 *   drop_every N      drop the TCP data segment that completes every Nth one
 *                     (deterministic: the count restarts when the script
 *                     zeroes the stats)
 *   drop_ppm P        or drop each TCP data segment with probability P / 10^6
 *   mark_every N      set CE on every Nth ECT data segment
 *   mark_sojourn_us T set CE on ECT data segments that spent more than T us
 *                     in the queue (now - their stamp): DCTCP's step marking
 *                     at K, on dequeue
 *
 * Settings live in the one-entry array khn_cfg, counters in khn_stats; the
 * scripts find both through the program id `tc filter show` prints and use
 * bpftool (tc cannot set .rodata). A GSO packet counts as its gso_segs
 * segments; dropping or marking it drops or marks all of them, so put the
 * loss behind a qdisc that segments (a tbf with a burst below two segments).
 * Only for the test's own namespaces.
 *
 * khn_ssthresh_watch (tp_btf/tcp_probe, loaded on its own with bpftool; tc
 * loads only the "tc" section) counts, per local port, the ACKs a socket
 * received while its snd_ssthresh was above TCP_INFINITE_SSTHRESH, a value
 * no code path may set. This machine's kernel build skips BPF program runs
 * in some task contexts; a skipped struct_ops op that returns a value (a BPF
 * CC's ssthresh()) hands TCP a stack slot the trampoline never wrote
 * (0x81104110), and the flow bursts into a full queue: the scripts re-run
 * such flows and show it. Upstream Linux runs every op. This tracing program
 * is skipped in the same contexts, so its counts are lower bounds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define KHN_TC_ACT_OK		0
#define KHN_TC_ACT_SHOT		2
#define KHN_ETH_HLEN		14
#define KHN_ETH_P_IP		0x0800
#define KHN_ETH_P_IPV6		0x86DD
#define KHN_IPPROTO_TCP		6
#define KHN_IP_MF_OFFSET	0x3fff	/* More Fragments flag and fragment offset */
#define KHN_ECN_MASK		0x3
#define KHN_ECN_CE		0x3
#define KHN_PPM			1000000U
#define KHN_NSEC_PER_USEC	1000ULL
#define KHN_TCP_INFINITE_SSTHRESH	0x7fffffffU
#define KHN_WATCH_PORTS		1024

/* Settings, written by the script with bpftool (all zero: pass everything). */
struct khn_cfg {
	__u32 stamp;		/* 1: only stamp packets with the time they join the queue */
	__u32 drop_every;	/* drop every Nth TCP data segment; 0: off */
	__u32 drop_ppm;		/* drop TCP data segments with this probability per 10^6; 0: off */
	__u32 mark_every;	/* CE-mark every Nth ECT data segment; 0: off */
	__u32 mark_sojourn_us;	/* CE-mark ECT data segments queued longer than this; 0: off */
	__u32 pad;
};

/* Counters, read (and zeroed between flows) by the script. */
struct khn_stats {
	__u64 packets;		/* every packet seen */
	__u64 data_segs;	/* TCP segments with payload */
	__u64 dropped;		/* data segments dropped */
	__u64 ect_segs;		/* ECT(0)/ECT(1) data segments */
	__u64 marked;		/* segments set to CE */
	__u64 timed_segs;	/* data segments that carried a stamp (sojourn known) */
	__u64 max_sojourn_us;	/* largest sojourn seen */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khn_cfg);
} khn_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khn_stats);
} khn_stats SEC(".maps");

/* What the parser found in one packet. */
struct khn_pkt {
	__u32 l3_off;		/* offset of the IP header */
	__u32 segs;		/* segments this skb stands for */
	__u8 is_data;		/* TCP with payload */
	__u8 is_v6;
	__u8 ecn;		/* the ECN field of the IP header */
};

/* Parse Ethernet + IPv4/IPv6 (no extension headers) + TCP; 0 if it is TCP. */
static __always_inline int khn_parse(struct __sk_buff *skb, struct khn_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 l4_off, hdr_len;

	if ((void *)(eth + 1) > end)
		return -1;
	p->l3_off = KHN_ETH_HLEN;
	if (eth->h_proto == bpf_htons(KHN_ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > end || iph->protocol != KHN_IPPROTO_TCP || iph->ihl < 5 ||
		    (iph->frag_off & bpf_htons(KHN_IP_MF_OFFSET)))
			return -1;
		p->is_v6 = 0;
		p->ecn = iph->tos & KHN_ECN_MASK;
		l4_off = KHN_ETH_HLEN + iph->ihl * 4;
	} else if (eth->h_proto == bpf_htons(KHN_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != KHN_IPPROTO_TCP)
			return -1;
		p->is_v6 = 1;
		p->ecn = (bpf_ntohl(*(__be32 *)ip6) >> 20) & KHN_ECN_MASK;
		l4_off = KHN_ETH_HLEN + sizeof(*ip6);
	} else {
		return -1;
	}
	th = data + l4_off;
	if ((void *)(th + 1) > end || th->doff < 5)
		return -1;
	hdr_len = l4_off + th->doff * 4;
	p->is_data = skb->len > hdr_len;
	p->segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	return 0;
}

/* Does adding n to the counter *c cross a multiple of every? */
static __always_inline int khn_every(__u64 *c, __u32 n, __u32 every)
{
	__u64 old = __sync_fetch_and_add(c, n);

	return every && old / every != (old + n) / every;
}

/* How long the segment sat in the queue (us), if it was stamped before it; else -1. */
static __always_inline __s64 khn_sojourn_us(const struct __sk_buff *skb)
{
	__u64 now = bpf_ktime_get_ns();

	if (skb->tstamp_type != BPF_SKB_CLOCK_MONOTONIC || !skb->tstamp || skb->tstamp > now)
		return -1;
	return (now - skb->tstamp) / KHN_NSEC_PER_USEC;
}

/* Set CE in the IP header (ECT was checked by the caller). */
static __always_inline int khn_set_ce(struct __sk_buff *skb, const struct khn_pkt *p)
{
	if (!p->is_v6) {
		__u32 tos_off = p->l3_off + offsetof(struct iphdr, tos);
		__u32 csum_off = p->l3_off + offsetof(struct iphdr, check);
		__be16 old_word, new_word;
		__u8 *w = (__u8 *)&new_word;

		/* the 16-bit word the checksum covers: version/ihl and tos */
		if (bpf_skb_load_bytes(skb, p->l3_off, &old_word, sizeof(old_word)))
			return -1;
		new_word = old_word;
		w[1] |= KHN_ECN_CE;
		if (bpf_l3_csum_replace(skb, csum_off, old_word, new_word, sizeof(new_word)))
			return -1;
		return bpf_skb_store_bytes(skb, tos_off, &w[1], 1, 0);
	}
	/* IPv6: the traffic class straddles bytes 0 and 1; no header checksum */
	{
		__u8 b1;

		if (bpf_skb_load_bytes(skb, p->l3_off + 1, &b1, 1))
			return -1;
		b1 |= KHN_ECN_CE << 4;
		return bpf_skb_store_bytes(skb, p->l3_off + 1, &b1, 1, 0);
	}
}

SEC("tc")
int khnetem(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct khn_cfg *cfg = bpf_map_lookup_elem(&khn_cfg, &key);
	struct khn_stats *st = bpf_map_lookup_elem(&khn_stats, &key);
	struct khn_pkt p = {};
	__s64 sojourn;
	int mark;

	if (!cfg || !st)
		return KHN_TC_ACT_OK;
	__sync_fetch_and_add(&st->packets, 1);
	if (cfg->stamp) {
		bpf_skb_set_tstamp(skb, bpf_ktime_get_ns(), BPF_SKB_CLOCK_MONOTONIC);
		return KHN_TC_ACT_OK;
	}
	if (khn_parse(skb, &p) || !p.is_data)
		return KHN_TC_ACT_OK;

	if (khn_every(&st->data_segs, p.segs, cfg->drop_every) ||
	    (cfg->drop_ppm && bpf_get_prandom_u32() % KHN_PPM < (__u64)cfg->drop_ppm * p.segs)) {
		__sync_fetch_and_add(&st->dropped, p.segs);
		return KHN_TC_ACT_SHOT;
	}

	sojourn = khn_sojourn_us(skb);
	if (sojourn >= 0) {
		__sync_fetch_and_add(&st->timed_segs, p.segs);
		if ((__u64)sojourn > st->max_sojourn_us)
			st->max_sojourn_us = sojourn;	/* racy maximum: diagnostics only */
	}
	if (p.ecn == 0 || p.ecn == KHN_ECN_CE)
		return KHN_TC_ACT_OK;
	mark = khn_every(&st->ect_segs, p.segs, cfg->mark_every);
	if (cfg->mark_sojourn_us && sojourn > (__s64)cfg->mark_sojourn_us)
		mark = 1;
	if (mark && !khn_set_ce(skb, &p))
		__sync_fetch_and_add(&st->marked, p.segs);
	return KHN_TC_ACT_OK;
}

/* ACKs seen with snd_ssthresh > TCP_INFINITE_SSTHRESH, by local port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KHN_WATCH_PORTS);
	__type(key, __u16);
	__type(value, __u64);
} khn_bad_ssthresh SEC(".maps");

SEC("tp_btf/tcp_probe")
int BPF_PROG(khn_ssthresh_watch, struct sock *sk, struct sk_buff *skb)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	__u64 one = 1, *n;
	__u16 port;

	if (!tp || tp->snd_ssthresh <= KHN_TCP_INFINITE_SSTHRESH)
		return 0;
	port = sk->__sk_common.skc_num;
	n = bpf_map_lookup_elem(&khn_bad_ssthresh, &port);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&khn_bad_ssthresh, &port, &one, BPF_NOEXIST);
	return 0;
}

/*
 * khn_cwnd_watch (tp_btf/tcp_probe, like khn_ssthresh_watch): per local
 * port, what a retransmission timeout did to the window, and how fast the
 * window grew in congestion avoidance after it. tcp_probe runs at the start
 * of tcp_rcv_established, before the ACK is processed, so two consecutive
 * calls show what the CC did with one ACK (or a few, where this machine's
 * kernel skipped the program: the numbers are lower bounds).
 */
struct khn_cwnd_track {
	__u32 prev_cwnd;	/* snd_cwnd at the previous call */
	__u32 prev_ca;		/* the previous call found avoidance: Open or Loss, cwnd > ssthresh */
	__u32 prev_state;	/* icsk_ca_state at the previous call */
	__u32 rtos;		/* entries into the Loss state (retransmission timeouts) */
	__u32 rto_ssthresh;	/* snd_ssthresh at the first call in Loss state */
	__u32 rto_prior_cwnd;	/* prior_cwnd then: snd_cwnd when the timeout fired */
	__u32 max_ca_step;	/* largest cwnd growth between two calls in avoidance */
	__u32 max_ca_step_rto;	/* the same, after the first timeout only */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KHN_WATCH_PORTS);
	__type(key, __u16);
	__type(value, struct khn_cwnd_track);
} khn_cwnd_track SEC(".maps");

SEC("tp_btf/tcp_probe")
int BPF_PROG(khn_cwnd_watch, struct sock *sk, struct sk_buff *skb)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct khn_cwnd_track *t, zero = {};
	__u32 cwnd, ss, state, step;
	__u16 port;

	if (!tp)
		return 0;
	port = sk->__sk_common.skc_num;
	t = bpf_map_lookup_elem(&khn_cwnd_track, &port);
	if (!t) {
		bpf_map_update_elem(&khn_cwnd_track, &port, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&khn_cwnd_track, &port);
		if (!t)
			return 0;
	}
	cwnd = tp->snd_cwnd;
	ss = tp->snd_ssthresh;
	state = BPF_CORE_READ_BITFIELD_PROBED(&tp->inet_conn, icsk_ca_state);
	if (state == TCP_CA_Loss && t->prev_state != TCP_CA_Loss) {
		if (!t->rtos) {
			t->rto_ssthresh = ss;
			t->rto_prior_cwnd = tp->prior_cwnd;
		}
		t->rtos++;
	}
	/*
	 * Avoidance is Open, or Loss after the window passed ssthresh (Linux
	 * grows cwnd in Loss state); not CWR/Recovery, where PRR sets cwnd.
	 */
	if (state == t->prev_state && t->prev_ca && cwnd > t->prev_cwnd) {
		step = cwnd - t->prev_cwnd;
		if (step > t->max_ca_step)
			t->max_ca_step = step;
		if (t->rtos && step > t->max_ca_step_rto)
			t->max_ca_step_rto = step;
	}
	t->prev_cwnd = cwnd;
	t->prev_ca = (state == TCP_CA_Open || state == TCP_CA_Loss) && cwnd > ss;
	t->prev_state = state;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
