/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The offload path's compiled policy and per-flow records, shared by the offload BPF programs and
 * user space (offload/cop.c, khelpd, khelpctl). A COP rule compiles into a postfix program of
 * predicates (struct ofl_op) that the BPF side evaluates with a small bounded stack.
 */
#ifndef KHELP_OFFLOAD_H
#define KHELP_OFFLOAD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OFL_MAX_RULES		64	/* rules in one policy */
#define OFL_MAX_OPS		16	/* predicates + operators in one rule's filter */
#define OFL_CONG_MAX		16	/* TCP_CA_NAME_MAX */
#define OFL_MAX_FLOWS		65536	/* tracked connections per interface (LRU) */
#define OFL_MSS_MIN		88	/* TCP_MAXSEG bounds Linux accepts */
#define OFL_MSS_MAX		65535
#define OFL_CLASS_MAX		15	/* scheduling classes 0-14 on T4, 0-15 on T5+ */
#define OFL_RXQ_MAX		1023

/* socket types: which opens a rule applies to */
enum ofl_socktype {
	OFL_SOCK_A = 1u << 0,	/* active open: connect() */
	OFL_SOCK_P = 1u << 1,	/* passive open: accept() */
	OFL_SOCK_L = 1u << 2,	/* listen() */
	OFL_SOCK_D = OFL_SOCK_A | OFL_SOCK_P | OFL_SOCK_L,
};

enum ofl_opcode {
	OFL_OP_PRED = 1,	/* push the predicate's value */
	OFL_OP_AND = 2,
	OFL_OP_OR = 3,
	OFL_OP_NOT = 4,
	OFL_OP_TRUE = 5,	/* `all` */
};

enum ofl_field {
	OFL_F_HOST = 1,		/* addr/mask, family */
	OFL_F_PORT = 2,		/* lo..hi */
	OFL_F_PROTO = 3,	/* lo = IP protocol */
	OFL_F_VLAN = 4,		/* lo = VLAN id (packet datapath only) */
	OFL_F_TOS = 5,		/* lo = whole TOS byte */
	OFL_F_DSCP = 6,		/* lo = DSCP (TOS >> 2) */
	OFL_F_MARK = 7,		/* lo = socket / skb mark */
};

enum ofl_dir { OFL_DIR_EITHER = 0, OFL_DIR_SRC = 1, OFL_DIR_DST = 2 };

struct ofl_op {
	__u8 code;		/* enum ofl_opcode */
	__u8 field;		/* enum ofl_field */
	__u8 dir;		/* enum ofl_dir */
	__u8 family;		/* 4 or 6 for OFL_F_HOST */
	__u32 lo;
	__u32 hi;
	__u32 addr[4];		/* network byte order, already masked */
	__u32 mask[4];
};

/* settings present in a rule (ofl_rule.set) and their values (ofl_rule.val) */
enum ofl_setting {
	OFL_S_OFFLOAD = 1u << 0,	/* val: offload (1) or !offload (0) */
	OFL_S_CONG = 1u << 1,
	OFL_S_NAGLE = 1u << 2,		/* val: nagle on (1) / off = TCP_NODELAY (0) */
	OFL_S_MSS = 1u << 3,
	OFL_S_ECN = 1u << 4,		/* val: ecn on/off */
	OFL_S_CLASS = 1u << 5,
	OFL_S_RXQ = 1u << 6,
	OFL_S_DROP = 1u << 7,		/* packets of matching flows are dropped (khelp extension) */
};

struct ofl_rule {
	__u32 socktypes;	/* enum ofl_socktype bits */
	__u32 nops;
	__u32 set;		/* enum ofl_setting bits present */
	__u32 val;		/* enum ofl_setting bits on (for the boolean ones) */
	__u32 mss;
	__u32 class_id;
	__u32 rxq;
	__u32 line;		/* source line, for `offload show` */
	char cong[OFL_CONG_MAX];
	struct ofl_op ops[OFL_MAX_OPS];
};

/* where a connection is handled (offload conns "kind") */
enum ofl_kind {
	OFL_KIND_TCP = 0,	/* not offloaded */
	OFL_KIND_XDP = 1,	/* offloaded to the XDP datapath */
	OFL_KIND_TC = 2,	/* offloaded to the TC datapath */
	OFL_KIND_OFL = 3,	/* offloaded, its rule in NIC hardware */
};

/* flow key: the connection's 5-tuple from the local side */
struct ofl_flow_key {
	__u32 laddr[4];
	__u32 raddr[4];
	__u16 lport;		/* host byte order */
	__u16 rport;
	__u8 family;		/* 4 or 6 */
	__u8 proto;
	__u8 pad[2];
};

struct ofl_flow {
	__u64 rx_packets, rx_bytes;	/* counted by the datapath (ingress on the interface) */
	__u64 tx_packets, tx_bytes;	/* TC egress when the datapath is TC */
	__u64 opened_ns;
	__u32 rule;			/* index of the matching rule + 1; 0 = none matched */
	__u8 kind;			/* enum ofl_kind */
	__u8 socktype;			/* OFL_SOCK_A/P/L */
	__u8 closed;
	__u8 pad;
};

/* One compiled policy as the datapath holds it; two banks, flipped atomically for new connections. */
struct ofl_bank {
	__u32 nrules;
	__u32 pkt_rules;	/* rules with a per-packet action (drop, rxq): the datapath evaluates them */
	__u64 hw_rules;		/* bit i: rule i went to NIC hardware (kind ofl) */
};

/* datapath configuration (array map, key 0) */
struct ofl_dp_cfg {
	__u32 bank;		/* the bank in force: rules [bank * OFL_MAX_RULES, +nrules) */
	__u32 kind;		/* OFL_KIND_XDP or OFL_KIND_TC for offloaded flows */
	__u32 ncpus;		/* XDP queue steering: rxq N goes to CPU N % ncpus */
	__u32 pad;
	struct ofl_bank banks[2];
};

/* per-rule counters of what the datapath did by itself (drops, steering) */
struct ofl_rule_stats {
	__u64 packets;
	__u64 bytes;
};

/* per-connection decision (sk_storage) */
struct ofl_sk {
	__u32 rule;		/* matching rule + 1, 0 = none */
	__u8 kind;
	__u8 socktype;
	__u8 ecn;		/* answer to BPF_SOCK_OPS_NEEDS_ECN */
	__u8 pad;
};

/* map pins: libbpf pins them by name under <bpffs>/offload/<ifname>/ (so any loader that is given
 * that pin path, e.g. xdp-loader --pin-path, shares them) */
#define OFL_PIN_RULES	"ofl_rules"
#define OFL_PIN_CFG	"ofl_cfg"
#define OFL_PIN_FLOWS	"ofl_flows"
#define OFL_PIN_STATS	"ofl_rule_stats"

#endif
