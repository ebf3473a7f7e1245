// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelp_netem: loss and ECN marking for the congestion-control fidelity
 * tests and benchmarks (tests/e2e/fidelity.bats, bench/fidelity.sh), where
 * the kernel has no netem. A TC program (clsact ingress or egress, direct
 * action):
 *
 *   drop_every N   drop the TCP data segment that completes every Nth one
 *                  (deterministic: the counter restarts when the script
 *                  zeroes the stats)
 *   drop_ppm P     or drop each TCP data segment with probability P / 10^6
 *   mark_every N   set CE on every Nth ECT data segment
 *   mark_backlog B set CE on ECT packets while the backlog of a virtual
 *                  queue is above B bytes. The virtual queue mirrors the
 *                  bottleneck qdisc behind this hook: every packet adds its
 *                  wire length (as the qdisc counts it, GSO headers
 *                  included), the queue drains at rate_Bps, and it holds at
 *                  most queue_limit bytes (what the qdisc would tail-drop
 *                  does not join it). This is DCTCP's step marking at K.
 *
 * Settings live in the one-entry array khn_cfg and counters in khn_stats;
 * the scripts find both through the program id that `tc filter show`
 * prints and use bpftool (the program is attached with tc, which cannot set
 * .rodata). GSO super-packets count as their gso_segs segments; a dropped
 * or marked super-packet drops or marks all of them, so attach the loss
 * after the bottleneck qdisc has segmented (the receiver's ingress).
 * Only for the test's own namespaces.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

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
#define KHN_NSEC_PER_SEC	1000000000ULL

/* Settings, written by the script with bpftool (all zero: pass everything). */
struct khn_cfg {
	__u32 drop_every;	/* drop every Nth TCP data segment; 0: off */
	__u32 drop_ppm;		/* drop TCP data segments with this probability per 10^6; 0: off */
	__u32 mark_every;	/* CE-mark every Nth ECT data segment; 0: off */
	__u32 mark_backlog;	/* CE-mark ECT packets above this virtual backlog (bytes); 0: off */
	__u64 rate_Bps;		/* bottleneck rate (bytes/s) draining the virtual queue */
	__u64 queue_limit;	/* bottleneck queue size (bytes); 0: unbounded */
};

/* Counters, read (and zeroed between flows) by the script. */
struct khn_stats {
	__u64 packets;		/* every packet seen */
	__u64 data_segs;	/* TCP segments with payload */
	__u64 dropped;		/* data segments dropped */
	__u64 ect_segs;		/* ECT(0)/ECT(1) data segments */
	__u64 marked;		/* segments set to CE */
	__u64 max_backlog;	/* largest virtual backlog (bytes) */
};

/* The virtual queue. */
struct khn_vq {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 last_ns;
	__u64 backlog;
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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khn_vq);
} khn_vq SEC(".maps");

/* What the parser found in one packet. */
struct khn_pkt {
	__u32 l3_off;		/* offset of the IP header */
	__u32 hdr_len;		/* L2 + L3 + L4 header bytes (repeated per GSO segment) */
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
	__u32 l4_off;

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
	p->hdr_len = l4_off + th->doff * 4;
	p->is_data = skb->len > p->hdr_len;
	p->segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	return 0;
}

/* Bytes the qdisc charges for this skb: GSO segments each carry the headers. */
static __always_inline __u64 khn_wire_len(const struct __sk_buff *skb, const struct khn_pkt *p)
{
	return skb->len + (__u64)(p->segs - 1) * p->hdr_len;
}

/* Does adding n to the counter *c cross a multiple of every? */
static __always_inline int khn_every(__u64 *c, __u32 n, __u32 every)
{
	__u64 old = __sync_fetch_and_add(c, n);

	return every && old / every != (old + n) / every;
}

/* Enqueue the packet into the virtual queue; return the backlog it sees. */
static __always_inline __u64 khn_vq_enqueue(const struct khn_cfg *cfg, __u64 len)
{
	__u32 key = 0;
	struct khn_vq *q = bpf_map_lookup_elem(&khn_vq, &key);
	__u64 now = bpf_ktime_get_ns(), dt, drained, backlog;

	if (!q)
		return 0;
	bpf_spin_lock(&q->lock);
	dt = now - q->last_ns;
	if (dt > KHN_NSEC_PER_SEC)
		dt = KHN_NSEC_PER_SEC;
	drained = dt * cfg->rate_Bps / KHN_NSEC_PER_SEC;
	q->backlog = q->backlog > drained ? q->backlog - drained : 0;
	q->last_ns = now;
	if (!cfg->queue_limit || q->backlog + len <= cfg->queue_limit)
		q->backlog += len;
	backlog = q->backlog;
	bpf_spin_unlock(&q->lock);
	return backlog;
}

/* Set CE in the IP header (ECT was checked by the caller). */
static __always_inline int khn_set_ce(struct __sk_buff *skb, const struct khn_pkt *p)
{
	if (!p->is_v6) {
		__u32 tos_off = p->l3_off + offsetof(struct iphdr, tos);
		__u32 csum_off = p->l3_off + offsetof(struct iphdr, check);
		__be16 old_word, new_word;
		__u8 *w = (__u8 *)&new_word;

		/* the 16-bit word the checksum sees: version/ihl and tos */
		if (bpf_skb_load_bytes(skb, p->l3_off, &old_word, sizeof(old_word)))
			return -1;
		new_word = old_word;
		w[1] |= KHN_ECN_CE;
		if (bpf_l3_csum_replace(skb, csum_off, old_word, new_word, sizeof(new_word)))
			return -1;
		return bpf_skb_store_bytes(skb, tos_off, &w[1], 1, 0);
	}
	/* IPv6: the traffic class straddles bytes 0 and 1; no checksum */
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
	__u64 backlog = 0;
	int mark = 0;

	if (!cfg || !st)
		return KHN_TC_ACT_OK;
	__sync_fetch_and_add(&st->packets, 1);
	if (khn_parse(skb, &p))
		return KHN_TC_ACT_OK;

	if (p.is_data) {
		int drop = khn_every(&st->data_segs, p.segs, cfg->drop_every);

		if (!drop && cfg->drop_ppm)
			drop = bpf_get_prandom_u32() % KHN_PPM < (__u64)cfg->drop_ppm * p.segs;
		if (drop) {
			__sync_fetch_and_add(&st->dropped, p.segs);
			return KHN_TC_ACT_SHOT;
		}
	}

	if (cfg->mark_backlog) {
		backlog = khn_vq_enqueue(cfg, khn_wire_len(skb, &p));
		if (backlog > st->max_backlog)
			st->max_backlog = backlog;	/* racy maximum: diagnostics only */
	}
	if (p.ecn == 0 || p.ecn == KHN_ECN_CE || !p.is_data)
		return KHN_TC_ACT_OK;

	if (khn_every(&st->ect_segs, p.segs, cfg->mark_every))
		mark = 1;
	if (cfg->mark_backlog && backlog > cfg->mark_backlog)
		mark = 1;
	if (mark && !khn_set_ce(skb, &p))
		__sync_fetch_and_add(&st->marked, p.segs);
	return KHN_TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
