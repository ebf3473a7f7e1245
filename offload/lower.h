/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Hardware lowering: which COP rules a Chelsio T4/T5/T6 can hold as NIC filters (tc flower), at what
 * slot cost, and which stay in the BPF datapath, with the reason for each. */
#ifndef KHELP_OFFLOAD_LOWER_H
#define KHELP_OFFLOAD_LOWER_H

#include <stdio.h>
#include "cop.h"
#include "probe.h"

/* firmware filterMode fields (which tuple fields besides the 4-tuple a filter can match) */
enum ofl_fmode {
	OFL_FM_FCOE = 1u << 0,
	OFL_FM_PORT = 1u << 1,		/* ingress port */
	OFL_FM_VNIC = 1u << 2,
	OFL_FM_VLAN = 1u << 3,
	OFL_FM_TOS = 1u << 4,
	OFL_FM_PROTOCOL = 1u << 5,
	OFL_FM_ETHERTYPE = 1u << 6,
	OFL_FM_MACMATCH = 1u << 7,
	OFL_FM_MPSHITTYPE = 1u << 8,
	OFL_FM_FRAGMENTATION = 1u << 9,
};
/* the default firmware configuration's mode (srvrsram and fcoemask have no match field) */
#define OFL_FM_DEFAULT (OFL_FM_FCOE | OFL_FM_PORT | OFL_FM_VLAN | OFL_FM_PROTOCOL | OFL_FM_MPSHITTYPE | \
			OFL_FM_FRAGMENTATION)

struct chip_profile {
	enum ofl_gen gen;
	int budget;		/* LE-TCAM filter slots */
	int v6_slots;		/* slots an IPv6 filter takes */
	int nat;		/* NAT / pedit offload */
	unsigned int fmode;	/* enum ofl_fmode bits */
	unsigned int hw_kinds;	/* from the probe: enum ofl_hw_kind bits */
};

/* Profile of a generation; budget < 0 takes the sample firmware's (496), fmode 0 the default. 0 or -ENOTSUP. */
int lower__profile(enum ofl_gen gen, int budget, unsigned int fmode, unsigned int hw_kinds,
		   struct chip_profile *prof);
/* Parses "vlan,protocol,tos,..." (cxgb4 filterMode names) into enum ofl_fmode bits; -EINVAL on a bad name. */
int lower__parse_fmode(const char *text, unsigned int *fmode, char *err, size_t errlen);

enum low_action { LOW_ACT_COUNT = 1, LOW_ACT_DROP = 2, LOW_ACT_QUEUE = 3, LOW_ACT_NAT = 4 };
enum low_where { LOW_NONE = 0, LOW_HW = 1, LOW_SW = 2 };

#define LOW_MAX_FILTERS 512

struct low_filter {
	unsigned int rule;		/* index into the policy */
	unsigned int prio;		/* tc priority: keeps first-match order */
	enum low_action act;
	unsigned int queue;
	__u8 family;
	__u8 proto;			/* 0 = any */
	__u16 sport, dport;		/* 0 = any */
	__u32 saddr[4], smask[4];
	__u32 daddr[4], dmask[4];
	int vlan, tos;			/* -1 = any */
	__u8 tos_mask;
	int slots;
	int in_hw;			/* after install: read back */
};

struct low_rule {
	enum low_where where;
	unsigned int first, nfilters;	/* its filters in plan.filters */
	int slots;
	char why[160];
};

struct low_plan {
	struct chip_profile prof;
	struct low_rule rules[OFL_MAX_RULES];
	unsigned int nrules;
	struct low_filter filters[LOW_MAX_FILTERS];
	unsigned int nfilters;
	int slots_used;
};

/* One hardware request outside COP (NAT has no COP setting): refused where the chip cannot. */
int lower__check_action(const struct chip_profile *prof, enum low_action act, char *why, size_t len);

int lower__plan(const struct chip_profile *prof, const struct cop_policy *pol, struct low_plan *plan);
/* The tc command a filter corresponds to (what --dry-run prints). */
void lower__filter_tc(const struct low_filter *f, const char *ifname, char *buf, size_t len);
void lower__print(const struct low_plan *plan, const struct cop_policy *pol, const char *ifname, FILE *out);

#endif
