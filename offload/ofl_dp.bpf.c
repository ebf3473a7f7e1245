// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The offload path's BPF side, one object per interface, pinned under <bpffs>/offload/<ifname>/:
 *   ofl_sockops  cgroup sockops of the container: the COP decision per connection at open
 *                (connect = A, accept = P, listen = L), kept in sk_storage, settings applied with
 *                bpf_setsockopt; offloaded connections get a flow record the datapath counts into.
 *   ofl_xdp      the datapath where the driver has native XDP: per-flow counters, drop, queue
 *                steering (cpumap: rxq N -> CPU N % ncpus).
 *   ofl_tc_in/   the datapath elsewhere (tcx or clsact): per-flow counters both ways, drop.
 *   ofl_tc_out
 * Rules are the compiled COP policy (struct ofl_rule), evaluated by a small postfix machine.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <khelp/offload.h>

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define SOL_SOCKET	1
#define SOL_TCP		6
#define SOL_IP		0
#define SO_PRIORITY	12
#define SO_MARK		36
#define IP_TOS		1
#define TCP_NODELAY	1
#define TCP_MAXSEG	2
#define TCP_CONGESTION	13
#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define TCP_CLOSE_STATE	7
#define OFL_HTB_MAJOR	1	/* class N sets skb priority 1:(N+1): an htb root 1: shapes it */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * OFL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ofl_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);	/* under <bpffs>/offload/<ifname>/ */
} ofl_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ofl_dp_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);	/* under <bpffs>/offload/<ifname>/ */
} ofl_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, OFL_MAX_FLOWS);
	__type(key, struct ofl_flow_key);
	__type(value, struct ofl_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);	/* under <bpffs>/offload/<ifname>/ */
} ofl_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * OFL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ofl_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);	/* under <bpffs>/offload/<ifname>/ */
} ofl_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ofl_sk);
} ofl_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} ofl_cpus SEC(".maps");

/* what a rule is matched against: a connection seen from its opening SYN, or a packet */
struct mctx {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport, dport;
	__u8 family, proto, tos, has_src;	/* has_src 0: a listener, src terms never match */
	__s32 vlan;			/* -1: none known (sockops) */
	__u32 mark;
};

static __always_inline int addr_match(const __u32 *a, const struct ofl_op *op)
{
	if (op->family == 4)
		return (a[0] & op->mask[0]) == op->addr[0];
	return (a[0] & op->mask[0]) == op->addr[0] && (a[1] & op->mask[1]) == op->addr[1] &&
	       (a[2] & op->mask[2]) == op->addr[2] && (a[3] & op->mask[3]) == op->addr[3];
}

static __always_inline int pred(const struct ofl_op *op, const struct mctx *m)
{
	int src, dst;

	switch (op->field) {
	case OFL_F_HOST:
		if (op->family != m->family)
			return 0;
		src = m->has_src && addr_match(m->saddr, op);
		dst = addr_match(m->daddr, op);
		break;
	case OFL_F_PORT:
		src = m->has_src && m->sport >= op->lo && m->sport <= op->hi;
		dst = m->dport >= op->lo && m->dport <= op->hi;
		break;
	case OFL_F_PROTO: return m->proto == op->lo;
	case OFL_F_VLAN: return m->vlan >= 0 && (__u32)m->vlan == op->lo;
	case OFL_F_TOS: return m->tos == op->lo;
	case OFL_F_DSCP: return (m->tos >> 2) == op->lo;
	case OFL_F_MARK: return m->mark == op->lo;
	default: return 0;
	}
	return op->dir == OFL_DIR_SRC ? src : op->dir == OFL_DIR_DST ? dst : (src || dst);
}

/* the postfix program on a bit stack (bit 0 = top), one bpf_loop step per op: the verifier checks
 * the step once instead of every path through 16 unrolled ones */
struct run {
	const struct ofl_rule *r;
	const struct mctx *m;
	__u32 st;
	__u32 n;
};

static long run_op(__u32 i, void *data)
{
	struct run *x = data;
	const struct ofl_op *op;
	__u32 st = x->st, a, b;

	if (i >= x->n || i >= OFL_MAX_OPS)
		return 1;
	op = &x->r->ops[i];
	switch (op->code) {
	case OFL_OP_TRUE: st = (st << 1) | 1; break;
	case OFL_OP_PRED: st = (st << 1) | (pred(op, x->m) ? 1 : 0); break;
	case OFL_OP_NOT: st ^= 1; break;
	case OFL_OP_AND:
	case OFL_OP_OR:
		a = st & 1, b = (st >> 1) & 1;
		st = ((st >> 2) << 1) | (op->code == OFL_OP_AND ? (a & b) : (a | b));
		break;
	default:
		st = 0;
		return 1;
	}
	x->st = st;
	return 0;
}

static __always_inline int rule_match(const struct ofl_rule *r, const struct mctx *m)
{
	struct run x = { .r = r, .m = m, .n = r->nops };

	bpf_loop(OFL_MAX_OPS, run_op, &x, 0);
	return x.st & 1;
}

struct scan {
	const struct mctx *m;
	__u32 base, nrules, socktype, pkt_only;
	__u32 found;	/* rule index + 1 */
};

static long scan_one(__u32 i, void *data)
{
	struct scan *s = data;
	__u32 key = s->base + i;
	const struct ofl_rule *r;

	if (i >= s->nrules)
		return 1;
	r = bpf_map_lookup_elem(&ofl_rules, &key);
	if (!r || !(r->socktypes & s->socktype))
		return 0;
	if (!rule_match(r, s->m))
		return 0;
	s->found = i + 1;
	return 1;
}

/* first matching rule (index + 1) in the bank in force, 0 for none */
static __always_inline __u32 first_match(const struct ofl_dp_cfg *cfg, const struct mctx *m, __u32 socktype,
					 __u32 *base)
{
	__u32 bank = cfg->bank & 1;
	struct scan s = { .m = m, .base = bank * OFL_MAX_RULES, .nrules = cfg->banks[bank].nrules,
			  .socktype = socktype };

	*base = s.base;
	if (s.nrules > OFL_MAX_RULES)
		s.nrules = OFL_MAX_RULES;
	bpf_loop(OFL_MAX_RULES, scan_one, &s, 0);
	return s.found;
}

static __always_inline const struct ofl_dp_cfg *cfg_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ofl_cfg, &zero);
}

/* ---- sockops: the per-connection decision ---- */

/* a volatile load: LLVM may not turn two loads into one through a selected pointer */
#define CTX(field) (*(volatile __typeof__(field) *)&(field))

/* the socket's addresses; every field is read unconditionally (a ctx field picked through a
 * computed pointer is refused by the verifier) */
static __always_inline __u8 sock_addrs(struct bpf_sock_ops *ctx, __u32 *laddr, __u32 *raddr)
{
	__u32 family = CTX(ctx->family), l4 = CTX(ctx->local_ip4), r4 = CTX(ctx->remote_ip4);
	__u32 l0 = CTX(ctx->local_ip6[0]), l1 = CTX(ctx->local_ip6[1]), l2 = CTX(ctx->local_ip6[2]);
	__u32 l3 = CTX(ctx->local_ip6[3]), r0 = CTX(ctx->remote_ip6[0]), r1 = CTX(ctx->remote_ip6[1]);
	__u32 r2 = CTX(ctx->remote_ip6[2]), r3 = CTX(ctx->remote_ip6[3]);

	if (family == AF_INET) {
		laddr[0] = l4;
		raddr[0] = r4;
		return 4;
	}
	laddr[0] = l0, laddr[1] = l1, laddr[2] = l2, laddr[3] = l3;
	raddr[0] = r0, raddr[1] = r1, raddr[2] = r2, raddr[3] = r3;
	return 6;
}

static __always_inline void sock_mctx(struct bpf_sock_ops *ctx, __u32 socktype, struct mctx *m, __u32 *laddr,
				      __u32 *raddr)
{
	int tos = 0, mark = 0;

	m->family = sock_addrs(ctx, laddr, raddr);
	m->proto = IPPROTO_TCP;
	m->vlan = -1;
	bpf_getsockopt(ctx, SOL_IP, IP_TOS, &tos, sizeof(tos));
	bpf_getsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	m->tos = tos;
	m->mark = mark;
	/* the opening SYN: A sends it (src = local), P receives it (src = peer), L has no peer */
	if (socktype == OFL_SOCK_A) {
		__builtin_memcpy(m->saddr, laddr, 16);
		__builtin_memcpy(m->daddr, raddr, 16);
		m->sport = ctx->local_port;
		m->dport = bpf_ntohl(ctx->remote_port);
		m->has_src = 1;
	} else {
		__builtin_memcpy(m->saddr, raddr, 16);
		__builtin_memcpy(m->daddr, laddr, 16);
		m->sport = bpf_ntohl(ctx->remote_port);
		m->dport = ctx->local_port;
		m->has_src = socktype == OFL_SOCK_P;
	}
}

static __always_inline void apply_settings(struct bpf_sock_ops *ctx, const struct ofl_rule *r, __u32 socktype)
{
	if (r->set & OFL_S_CONG) {
		char cc[OFL_CONG_MAX];

		__builtin_memcpy(cc, r->cong, sizeof(cc));
		bpf_setsockopt(ctx, SOL_TCP, TCP_CONGESTION, cc, sizeof(cc));
	}
	if (r->set & OFL_S_NAGLE) {
		int nodelay = !(r->val & OFL_S_NAGLE);

		bpf_setsockopt(ctx, SOL_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
	}
	if (r->set & OFL_S_MSS) {
		int mss = r->mss;

		bpf_setsockopt(ctx, SOL_TCP, TCP_MAXSEG, &mss, sizeof(mss));
	}
	if (r->set & OFL_S_CLASS) {
		int prio = (OFL_HTB_MAJOR << 16) | (r->class_id + 1);

		bpf_setsockopt(ctx, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
	}
}

static __always_inline void flow_open(struct bpf_sock_ops *ctx, const __u32 *laddr, const __u32 *raddr,
				      __u8 family, __u32 rule, __u8 kind, __u8 socktype)
{
	struct ofl_flow_key k = {};
	struct ofl_flow f = {};

	__builtin_memcpy(k.laddr, laddr, 16);
	__builtin_memcpy(k.raddr, raddr, 16);
	k.lport = ctx->local_port;
	k.rport = bpf_ntohl(ctx->remote_port);
	k.family = family;
	k.proto = IPPROTO_TCP;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.rule = rule;
	f.kind = kind;
	f.socktype = socktype;
	bpf_map_update_elem(&ofl_flows, &k, &f, BPF_ANY);
}

static __always_inline void flow_close(struct bpf_sock_ops *ctx)
{
	struct ofl_flow_key k = {};
	struct ofl_flow *f;

	k.family = sock_addrs(ctx, k.laddr, k.raddr);
	k.lport = ctx->local_port;
	k.rport = bpf_ntohl(ctx->remote_port);
	k.proto = IPPROTO_TCP;
	f = bpf_map_lookup_elem(&ofl_flows, &k);
	if (f)
		f->closed = 1;
}

SEC("sockops")
int ofl_sockops(struct bpf_sock_ops *ctx)
{
	const struct ofl_dp_cfg *cfg;
	const struct ofl_rule *r = NULL;
	struct ofl_sk *s;
	struct mctx m = {};
	__u32 laddr[4] = {}, raddr[4] = {};
	__u32 op = ctx->op, socktype, found, base, key;
	__u8 kind = OFL_KIND_TCP;
	struct bpf_sock *sk;

	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB: socktype = OFL_SOCK_A; break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: socktype = OFL_SOCK_P; break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB: socktype = OFL_SOCK_L; break;
	case BPF_SOCK_OPS_NEEDS_ECN:
		sk = ctx->sk;
		if (!sk)
			return 1;
		s = bpf_sk_storage_get(&ofl_sk, sk, 0, 0);
		ctx->reply = s ? s->ecn : 0;
		return 1;
	case BPF_SOCK_OPS_STATE_CB:
		if (ctx->args[1] == TCP_CLOSE_STATE)
			flow_close(ctx);
		return 1;
	default:
		return 1;
	}
	cfg = cfg_get();
	sk = ctx->sk;
	if (!cfg || !sk)
		return 1;
	sock_mctx(ctx, socktype, &m, laddr, raddr);
	found = first_match(cfg, &m, socktype, &base);
	if (found) {
		key = base + found - 1;
		r = bpf_map_lookup_elem(&ofl_rules, &key);
	}
	if (r && !(r->set & OFL_S_DROP) && (!(r->set & OFL_S_OFFLOAD) || (r->val & OFL_S_OFFLOAD))) {
		__u32 bank = cfg->bank & 1;

		kind = cfg->kind;
		if (found - 1 < 64 && (cfg->banks[bank].hw_rules & (1ULL << ((found - 1) & 63))))
			kind = OFL_KIND_OFL;
	}
	s = bpf_sk_storage_get(&ofl_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s) {
		s->rule = found;
		s->kind = kind;
		s->socktype = socktype;
		s->ecn = r && (r->set & OFL_S_ECN) && (r->val & OFL_S_ECN);
	}
	if (r)
		apply_settings(ctx, r, socktype);
	if (socktype == OFL_SOCK_L)
		return 1;
	flow_open(ctx, laddr, raddr, m.family, found, kind, socktype);
	bpf_sock_ops_cb_flags_set(ctx, BPF_SOCK_OPS_STATE_CB_FLAG);
	return 1;
}

/* ---- the packet datapath ---- */

struct pkt {
	struct mctx m;
	__u32 len;
	__u16 l4off;
};

/* TCP and UDP ports (the first 4 bytes of both headers); other protocols match with ports 0 */
static __always_inline int l4_ports(void *l4, void *end, __u8 proto, struct pkt *p)
{
	__be16 *ports = l4;

	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && (void *)(ports + 2) <= end) {
		p->m.sport = bpf_ntohs(ports[0]);
		p->m.dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

/* parse Ethernet [VLAN] IPv4/IPv6 and the ports; 0 for an IP packet, <0 for anything else */
static __always_inline int parse(void *data, void *end, struct pkt *p)
{
	struct ethhdr *eth = data;
	__u16 proto;
	void *l3;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = eth->h_proto;
	l3 = eth + 1;
	p->m.vlan = -1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > end)
			return -1;
		p->m.vlan = bpf_ntohs(vh->h_vlan_TCI) & 0x0fff;
		proto = vh->h_vlan_encapsulated_proto;
		l3 = vh + 1;
	}
	p->m.has_src = 1;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return -1;
		p->m.family = 4;
		p->m.proto = ip->protocol;
		p->m.tos = ip->tos;
		p->m.saddr[0] = ip->saddr;
		p->m.daddr[0] = ip->daddr;
		return l4_ports(l3 + ip->ihl * 4, end, ip->protocol, p);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end)
			return -1;
		p->m.family = 6;
		p->m.proto = ip6->nexthdr;
		p->m.tos = (bpf_ntohs(*(__be16 *)ip6) >> 4) & 0xff;
		__builtin_memcpy(p->m.saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->m.daddr, &ip6->daddr, 16);
		return l4_ports(ip6 + 1, end, ip6->nexthdr, p);	/* extension headers: not followed */
	}
	return -1;
}

static __always_inline void count(__u64 *pk, __u64 *by, __u32 len)
{
	__sync_fetch_and_add(pk, 1);
	__sync_fetch_and_add(by, len);
}

enum verdict { V_PASS, V_DROP, V_STEER };

/* ingress: the flow's counters, or the first matching per-packet rule. *cpu for V_STEER */
static __always_inline enum verdict ingress(struct pkt *p, __u32 *cpu)
{
	const struct ofl_dp_cfg *cfg = cfg_get();
	struct ofl_flow_key k = {};
	struct ofl_flow *f;
	__u32 found, base, key, bank;
	const struct ofl_rule *r;
	struct ofl_rule_stats *st;

	if (!cfg)
		return V_PASS;
	/* seen from the local side: the packet's destination is us */
	__builtin_memcpy(k.laddr, p->m.daddr, 16);
	__builtin_memcpy(k.raddr, p->m.saddr, 16);
	k.lport = p->m.dport;
	k.rport = p->m.sport;
	k.family = p->m.family;
	k.proto = p->m.proto;
	f = bpf_map_lookup_elem(&ofl_flows, &k);
	if (f && f->kind != OFL_KIND_TCP)
		count(&f->rx_packets, &f->rx_bytes, p->len);
	bank = cfg->bank & 1;
	if (!cfg->banks[bank].pkt_rules)
		return V_PASS;
	/* packets are matched as the passive side sees them: src = peer, dst = local */
	found = first_match(cfg, &p->m, OFL_SOCK_P, &base);
	if (!found)
		return V_PASS;
	key = base + found - 1;
	r = bpf_map_lookup_elem(&ofl_rules, &key);
	if (!r || !(r->set & (OFL_S_DROP | OFL_S_RXQ)))
		return V_PASS;
	st = bpf_map_lookup_elem(&ofl_rule_stats, &key);
	if (st)
		count(&st->packets, &st->bytes, p->len);
	if (r->set & OFL_S_DROP)
		return V_DROP;
	*cpu = cfg->ncpus ? r->rxq % cfg->ncpus : 0;
	return V_STEER;
}

SEC("xdp")
int ofl_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct pkt p = {};
	__u32 cpu = 0;

	if (parse(data, end, &p))
		return XDP_PASS;
	p.len = end - data;
	switch (ingress(&p, &cpu)) {
	case V_DROP: return XDP_DROP;
	case V_STEER: return bpf_redirect_map(&ofl_cpus, cpu, XDP_PASS);
	default: return XDP_PASS;
	}
}

static __always_inline int tc_parse(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (parse(data, end, p))
		return -1;
	p->len = skb->len;
	return 0;
}

SEC("tc")
int ofl_tc_in(struct __sk_buff *skb)
{
	struct pkt p = {};
	__u32 cpu = 0;

	if (tc_parse(skb, &p))
		return TC_ACT_OK;
	/* queue steering has no software equivalent on TC ingress: counted, not steered */
	return ingress(&p, &cpu) == V_DROP ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int ofl_tc_out(struct __sk_buff *skb)
{
	struct ofl_flow_key k = {};
	struct ofl_flow *f;
	struct pkt p = {};

	if (tc_parse(skb, &p))
		return TC_ACT_OK;
	__builtin_memcpy(k.laddr, p.m.saddr, 16);
	__builtin_memcpy(k.raddr, p.m.daddr, 16);
	k.lport = p.m.sport;
	k.rport = p.m.dport;
	k.family = p.m.family;
	k.proto = p.m.proto;
	f = bpf_map_lookup_elem(&ofl_flows, &k);
	if (f && f->kind != OFL_KIND_TCP)
		count(&f->tx_packets, &f->tx_bytes, p.len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
