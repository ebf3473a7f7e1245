/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* NIC capability probe: what an interface can do for the offload path, and the plan that follows. */
#ifndef KHELP_OFFLOAD_PROBE_H
#define KHELP_OFFLOAD_PROBE_H

#include <linux/types.h>
#include <net/if.h>

#define OFL_CHELSIO_VENDOR	0x1425
#define OFL_DRIVER_MAX		32

enum ofl_gen {
	OFL_GEN_NONE = 0,	/* not a Chelsio adapter */
	OFL_GEN_T4 = 4,
	OFL_GEN_T5 = 5,
	OFL_GEN_T6 = 6,
	OFL_GEN_CHELSIO_OTHER = 99,	/* Chelsio vendor id, generation we have no profile for */
};

enum ofl_datapath { OFL_DP_NONE = 0, OFL_DP_XDP = 1, OFL_DP_TC = 2 };

/* rule kinds a NIC can take in hardware (bit mask) */
enum ofl_hw_kind {
	OFL_HW_DROP = 1u << 0,
	OFL_HW_REDIRECT = 1u << 1,
	OFL_HW_QUEUE = 1u << 2,
	OFL_HW_RATE = 1u << 3,
	OFL_HW_NAT = 1u << 4,
};

/* tri-state for facts that may not be readable */
enum { OFL_UNKNOWN = -1, OFL_NO = 0, OFL_YES = 1 };

/* What only the running kernel can tell (ethtool, netdev genetlink); tests fill it by hand. */
struct ofl_live {
	char driver[OFL_DRIVER_MAX];	/* ETHTOOL_GDRVINFO, "" if unknown */
	int hw_tc_offload;		/* OFL_YES/NO/UNKNOWN */
	int ntuple;
	int xdp_reported;		/* the kernel reported non-zero netdev xdp-features */
	int xdp_queried;		/* the query ran (a 0 answer may mean "kernel too old") */
	__u64 xdp_features;		/* NETDEV_XDP_ACT_* */
};

struct ofl_caps {
	char ifname[IF_NAMESIZE];
	char driver[OFL_DRIVER_MAX];
	char pci[32];			/* PCI address, "" for virtual devices */
	unsigned int vendor, device;	/* 0 when there is no PCI device */
	enum ofl_gen gen;
	int native_xdp;			/* OFL_YES/NO/UNKNOWN */
	const char *native_xdp_source;	/* "netdev xdp-features" or "driver table" */
	int hw_tc_offload;
	int ntuple;
	int filter_budget;		/* LE-TCAM filter slots (debugfs FTID range), -1 unknown */
	/* the plan */
	enum ofl_datapath datapath;
	unsigned int hw_kinds;		/* enum ofl_hw_kind bits that can go to hardware */
	char why[160];			/* one line: why this plan */
};

/* Reads the running kernel's view of ifname (in the caller's network namespace). 0 or -errno. */
int probe__live(const char *ifname, struct ofl_live *live);
/* Reads sysfs under sysroot ("/sys" on a real system; a fixture tree in tests), combines it with
 * live, and computes the plan. 0, or -ENODEV when sysroot has no such interface. sysroot NULL: live only. */
int probe__read(const char *sysroot, const char *ifname, const struct ofl_live *live, struct ofl_caps *caps);
/* probe__live + probe__read("/sys"). */
int probe__interface(const char *ifname, struct ofl_caps *caps);

const char *probe__gen_name(enum ofl_gen gen);
const char *probe__datapath_name(enum ofl_datapath dp);
/* "drop,redirect,queue" or "none" */
void probe__hw_kinds_str(unsigned int kinds, char *buf, size_t len);

#endif
