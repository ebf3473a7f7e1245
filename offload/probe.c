// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* NIC capability probe over a sysfs root (fixture trees in tests) plus the live kernel view
 * (ethtool ioctls, netdev xdp-features through libbpf), and the datapath / hardware plan. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/netdev.h>
#include <linux/sockios.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "probe.h"

/* Drivers we know without asking: the fallback when the kernel does not report xdp-features. */
static const struct {
	const char *driver;
	int native_xdp;
} driver_table[] = {
	{ "cxgb4", OFL_NO },	/* cxgb4_netdev_ops has no ndo_bpf: generic XDP only */
	{ "veth", OFL_YES },
	{ "virtio_net", OFL_YES },
	{ "mlx5_core", OFL_YES },
	{ "ixgbe", OFL_YES },
	{ "i40e", OFL_YES },
	{ "ice", OFL_YES },
};

static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int read_hex(const char *path, unsigned int *out)
{
	char buf[32], *end;
	unsigned long v;
	int err = read_text(path, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	v = strtoul(buf, &end, 16);
	if (errno || end == buf || *end || v > 0xffff)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* "FTID range: A..B" in debugfs cxgb4/<pci>/tids: B - A + 1 filter slots */
static int read_filter_budget(const char *sysroot, const char *pci)
{
	char path[PATH_MAX], buf[4096], *line;
	unsigned int lo, hi;

	snprintf(path, sizeof(path), "%s/kernel/debug/cxgb4/%s/tids", sysroot, pci);
	if (read_text(path, buf, sizeof(buf)))
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (sscanf(line, "FTID range: %u..%u", &lo, &hi) == 2 && hi >= lo)
			return (int)(hi - lo + 1);
	return -1;
}

const char *probe__gen_name(enum ofl_gen gen)
{
	switch (gen) {
	case OFL_GEN_T4: return "T4";
	case OFL_GEN_T5: return "T5";
	case OFL_GEN_T6: return "T6";
	case OFL_GEN_CHELSIO_OTHER: return "chelsio-unknown";
	default: return "none";
	}
}

const char *probe__datapath_name(enum ofl_datapath dp)
{
	return dp == OFL_DP_XDP ? "xdp" : dp == OFL_DP_TC ? "tc" : "none";
}

void probe__hw_kinds_str(unsigned int kinds, char *buf, size_t len)
{
	static const char *const names[] = { "drop", "redirect", "queue", "rate", "nat" };
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (kinds & (1u << i))
			off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? "," : "", names[i]);
	if (!off)
		snprintf(buf, len, "none");
}

static void plan(struct ofl_caps *c)
{
	const char *tail;

	c->datapath = c->native_xdp == OFL_YES ? OFL_DP_XDP : OFL_DP_TC;
	c->hw_kinds = 0;
	if (c->gen == OFL_GEN_T4 || c->gen == OFL_GEN_T5 || c->gen == OFL_GEN_T6) {
		/* flower/u32 need hw-tc-offload; ethtool ntuple can still steer queues without it */
		if (c->hw_tc_offload == OFL_YES) {
			c->hw_kinds |= OFL_HW_DROP | OFL_HW_REDIRECT | OFL_HW_QUEUE | OFL_HW_RATE;
			if (c->gen != OFL_GEN_T4)
				c->hw_kinds |= OFL_HW_NAT;	/* T4 has no NAT/pedit offload */
		}
		if (c->ntuple == OFL_YES)
			c->hw_kinds |= OFL_HW_DROP | OFL_HW_QUEUE;
		if (c->hw_tc_offload != OFL_YES && c->ntuple != OFL_YES)
			tail = "hw-tc-offload and ntuple-filters are off: nothing goes to hardware";
		else if (c->filter_budget < 0)
			tail = "filter budget not readable (debugfs): lowering assumes the chip profile's";
		else
			tail = "rules within the filter budget go to hardware";
		snprintf(c->why, sizeof(c->why), "Chelsio %s, %s; %s", probe__gen_name(c->gen),
			 c->datapath == OFL_DP_XDP ? "native XDP" : "no native XDP: TC datapath", tail);
	} else if (c->gen == OFL_GEN_CHELSIO_OTHER) {
		snprintf(c->why, sizeof(c->why), "Chelsio device 0x%04x has no chip profile: software datapath only",
			 c->device);
	} else {
		snprintf(c->why, sizeof(c->why), "%s: %s datapath, no hardware filter lowering (not a Chelsio T4/T5/T6)",
			 c->driver[0] ? c->driver : "unknown driver",
			 c->datapath == OFL_DP_XDP ? "native XDP" : "TC");
	}
}

int probe__read(const char *sysroot, const char *ifname, const struct ofl_live *live, struct ofl_caps *c)
{
	char dir[PATH_MAX], path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	memset(c, 0, sizeof(*c));
	c->filter_budget = -1;
	c->native_xdp = c->hw_tc_offload = c->ntuple = OFL_UNKNOWN;
	if (!ifname[0] || strlen(ifname) >= sizeof(c->ifname) || strchr(ifname, '/'))
		return -EINVAL;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	/* no sysroot: the live view alone (an interface of another network namespace) */
	snprintf(dir, sizeof(dir), "%s/class/net/%s", sysroot ? sysroot : "/nonexistent", ifname);
	if (sysroot && access(dir, F_OK))
		return -ENODEV;

	/* PCI identity: device/vendor, device/device, device -> ../../0000:03:00.4 */
	snprintf(path, sizeof(path), "%s/device/vendor", dir);
	if (!read_hex(path, &c->vendor)) {
		snprintf(path, sizeof(path), "%s/device/device", dir);
		if (read_hex(path, &c->device))
			c->device = 0;
		snprintf(path, sizeof(path), "%s/device", dir);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			snprintf(c->pci, sizeof(c->pci), "%s", base_name(link));
		}
		snprintf(path, sizeof(path), "%s/device/driver", dir);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			snprintf(c->driver, sizeof(c->driver), "%s", base_name(link));
		}
	} else {
		c->vendor = 0;
	}
	if (!c->driver[0] && live && live->driver[0])
		snprintf(c->driver, sizeof(c->driver), "%s", live->driver);

	if (c->vendor == OFL_CHELSIO_VENDOR) {
		switch (c->device >> 12) {	/* generation = device id >> 12 */
		case 4: c->gen = OFL_GEN_T4; break;
		case 5: c->gen = OFL_GEN_T5; break;
		case 6: c->gen = OFL_GEN_T6; break;
		default: c->gen = OFL_GEN_CHELSIO_OTHER; break;
		}
		if (c->pci[0])
			c->filter_budget = read_filter_budget(sysroot, c->pci);
	}

	if (live) {
		c->hw_tc_offload = live->hw_tc_offload;
		c->ntuple = live->ntuple;
		if (live->xdp_reported) {
			c->native_xdp = (live->xdp_features & NETDEV_XDP_ACT_BASIC) ? OFL_YES : OFL_NO;
			c->native_xdp_source = "netdev xdp-features";
		}
	}
	if (c->native_xdp == OFL_UNKNOWN) {
		for (size_t i = 0; i < sizeof(driver_table) / sizeof(driver_table[0]); i++)
			if (!strcmp(c->driver, driver_table[i].driver)) {
				c->native_xdp = driver_table[i].native_xdp;
				c->native_xdp_source = "driver table";
			}
		if (c->native_xdp == OFL_UNKNOWN && live && live->xdp_queried) {
			c->native_xdp = OFL_NO;
			c->native_xdp_source = "netdev xdp-features";
		} else if (c->native_xdp == OFL_UNKNOWN) {
			c->native_xdp_source = "unknown";
		}
	}
	plan(c);
	return 0;
}

/* ---- the live kernel view ---- */

static int ethtool_ioctl(int fd, const char *ifname, void *data)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	return ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

/* active state of the named features (hw-tc-offload, rx-ntuple-filter) */
static void read_features(int fd, const char *ifname, struct ofl_live *live)
{
	struct ethtool_sset_info *ssi;
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_gfeatures *feat = NULL;
	__u32 count, blocks;

	ssi = calloc(1, sizeof(*ssi) + sizeof(__u32));
	if (!ssi)
		return;
	ssi->cmd = ETHTOOL_GSSET_INFO;
	ssi->sset_mask = 1ULL << ETH_SS_FEATURES;
	if (ethtool_ioctl(fd, ifname, ssi) || !(ssi->sset_mask & (1ULL << ETH_SS_FEATURES)))
		goto out;
	count = ssi->data[0];
	blocks = (count + 31) / 32;
	strs = calloc(1, sizeof(*strs) + (size_t)count * ETH_GSTRING_LEN);
	feat = calloc(1, sizeof(*feat) + blocks * sizeof(feat->features[0]));
	if (!strs || !feat)
		goto out;
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_FEATURES;
	strs->len = count;
	feat->cmd = ETHTOOL_GFEATURES;
	feat->size = blocks;
	if (ethtool_ioctl(fd, ifname, strs) || ethtool_ioctl(fd, ifname, feat))
		goto out;
	live->hw_tc_offload = live->ntuple = OFL_NO;
	for (__u32 i = 0; i < count; i++) {
		const char *name = (const char *)strs->data + (size_t)i * ETH_GSTRING_LEN;
		int on = !!(feat->features[i / 32].active & (1u << (i % 32)));

		if (!strncmp(name, "hw-tc-offload", ETH_GSTRING_LEN))
			live->hw_tc_offload = on;
		else if (!strncmp(name, "rx-ntuple-filter", ETH_GSTRING_LEN))
			live->ntuple = on;
	}
out:
	free(ssi);
	free(strs);
	free(feat);
}

int probe__live(const char *ifname, struct ofl_live *live)
{
	struct ethtool_drvinfo drv = { .cmd = ETHTOOL_GDRVINFO };
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int fd, ifindex;

	memset(live, 0, sizeof(*live));
	live->hw_tc_offload = live->ntuple = OFL_UNKNOWN;
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!ethtool_ioctl(fd, ifname, &drv))
		snprintf(live->driver, sizeof(live->driver), "%s", drv.driver);
	read_features(fd, ifname, live);
	close(fd);
	/* libbpf asks the netdev genetlink family and leaves 0 when the kernel has none (before 6.3):
	 * a 0 is only trusted when the driver table does not know better (probe__read) */
	if (!bpf_xdp_query(ifindex, 0, &q)) {
		live->xdp_features = q.feature_flags;
		live->xdp_reported = q.feature_flags ? 1 : 0;
		live->xdp_queried = 1;
	}
	return 0;
}

int probe__interface(const char *ifname, struct ofl_caps *caps)
{
	struct ofl_live live;
	int err = probe__live(ifname, &live);

	if (err)
		return err;
	return probe__read("/sys", ifname, &live, caps);
}
