/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Installing a lowering plan's NIC filters (tc u32 on the clsact ingress hook, over rtnetlink), reading
 * each one back and keeping only what the NIC took (in_hw); the rest is removed and stays in BPF. */
#ifndef KHELP_OFFLOAD_HWFILTER_H
#define KHELP_OFFLOAD_HWFILTER_H

#include "lower.h"

#define HW_PRIO_BASE	0x4b00	/* our filters' tc priorities: HW_PRIO_BASE + filter prio */

struct hw_outcome {
	int installed;		/* the kernel accepted the filter */
	int seen;		/* the read back found it */
	int in_hw;		/* read back: in_hw */
	char why[128];
};

/* In the caller's network namespace. skip_sw: the NIC mode (a filter applies nowhere unless in_hw).
 * *hw_rules gets bit i for each plan rule whose every filter is in_hw. out[i]: per plan filter.
 * 0, or -errno when the interface or the clsact hook cannot be used (err set). */
int hwfilter__install(const char *ifname, const struct low_plan *plan, int skip_sw, __u64 *hw_rules,
		      struct hw_outcome *out, char *err, size_t errlen);
/* Removes every filter of ours from ifname's ingress hook. */
int hwfilter__remove(const char *ifname);
/* How many of our filters are on ifname's ingress hook (for tests and `offload show`), or -errno. */
int hwfilter__count(const char *ifname);

#endif
