/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The offload datapath of one interface: load, attach (XDP link, tcx or clsact, cgroup sockops link),
 * pin under <bpffs>/offload/<ifname>/, adopt what is pinned, update the rule table in place. */
#ifndef KHELP_OFFLOAD_DATAPATH_H
#define KHELP_OFFLOAD_DATAPATH_H

#include <json-c/json.h>
#include "cop.h"
#include "probe.h"

struct ofl_attach_opts {
	const char *bpffs;		/* khelp's bpffs root */
	const char *ifname;
	const char *netns;		/* "" or the path of the interface's network namespace */
	const char *cgroup;		/* the container's cgroup directory (sockops) */
	enum ofl_datapath force;	/* OFL_DP_NONE: the probe decides */
	__u64 hw_rules;			/* rules whose NIC filters were confirmed in_hw */
};

struct ofl_state {
	enum ofl_datapath dp;
	char mode[8];			/* "xdp", "tcx" or "clsact" */
	int adopted;			/* found pinned and kept */
};

/* Run-time probe: 1 if this kernel has tcx links. */
int datapath__has_tcx(void);
/* Makes the datapath of o->ifname run pol. Either everything is in place afterwards, or nothing
 * changed (an existing datapath keeps its previous rules). 0 or -errno with err set. */
int datapath__apply(const struct ofl_attach_opts *o, const struct cop_policy *pol, struct ofl_state *st,
		    char *err, size_t errlen);
/* Removes the datapath of ifname (links, pins). netns: as for apply (clsact filters live there). */
int datapath__release(const char *bpffs, const char *ifname, const char *netns);
/* What is pinned for ifname: 0 and st filled, -ENOENT when nothing is. */
int datapath__state(const char *bpffs, const char *ifname, struct ofl_state *st);
/* One JSON object per tracked connection: local, remote, kind, type, rule, counters. */
int datapath__flows(const char *bpffs, const char *ifname, json_object *rows);
/* Per-rule datapath counters (drops, steering) of the rules in force: packets[i], bytes[i]. */
int datapath__rule_stats(const char *bpffs, const char *ifname, unsigned int nrules, __u64 *packets,
			 __u64 *bytes);

/* The probe of ifname as seen from inside netns ("" = ours). 0 or -errno. */
int datapath__probe(const char *netns, const char *ifname, struct ofl_caps *caps);
/* On a Chelsio T4/T5/T6 with hardware filtering: lower pol onto the chip's profile, install the NIC filters
 * (skip_sw), keep what reads back in_hw. *hw_rules: the rules now in hardware. Elsewhere 0 and nothing done.
 * summary: one line for the log. */
int datapath__lower(const char *netns, const struct ofl_caps *caps, const struct cop_policy *pol,
		    __u64 *hw_rules, char *summary, size_t len);

const char *datapath__kind_name(unsigned int kind);

#endif
