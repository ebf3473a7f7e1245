// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The offload datapath of one interface: see datapath.h. Pins under <bpffs>/offload/<ifname>/:
 *   rules cfg flows rule_stats   maps (the compiled policy in two banks, per-flow and per-rule counters)
 *   sockops                      cgroup link of the decision program
 *   xdp | tc_in tc_out           XDP link, or tcx links (clsact: the programs, the filters live in tc)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "datapath.h"
#include "hwfilter.h"
#include "ofl_dp.skel.h"

#define CLSACT_HANDLE	0x4b48	/* "KH" */
#define CLSACT_PRIO	1
#define CPUMAP_QSIZE	2048
#define CPUMAP_MAX	64

const char *datapath__kind_name(unsigned int kind)
{
	switch (kind) {
	case OFL_KIND_XDP: return "xdp";
	case OFL_KIND_TC: return "tc";
	case OFL_KIND_OFL: return "ofl";
	default: return "tcp";
	}
}

static void pin_path(char *out, size_t len, const char *bpffs, const char *ifname, const char *name)
{
	if (name)
		snprintf(out, len, "%s/offload/%s/%s", bpffs, ifname, name);
	else
		snprintf(out, len, "%s/offload/%s", bpffs, ifname);
}

static int pinned(const char *bpffs, const char *ifname, const char *name)
{
	char p[PATH_MAX];

	pin_path(p, sizeof(p), bpffs, ifname, name);
	return !access(p, F_OK);
}

static int open_pin(const char *bpffs, const char *ifname, const char *name)
{
	char p[PATH_MAX];
	int fd;

	pin_path(p, sizeof(p), bpffs, ifname, name);
	fd = bpf_obj_get(p);
	return fd < 0 ? -errno : fd;
}

/* enter the interface's network namespace; *self gets our own (-1 when no switch was needed) */
static int netns_enter(const char *netns, int *self, char *err, size_t errlen)
{
	int fd;

	*self = -1;
	if (!netns || !netns[0])
		return 0;
	*self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = open(netns, O_RDONLY | O_CLOEXEC);
	if (*self < 0 || fd < 0 || setns(fd, CLONE_NEWNET)) {
		int ret = -errno;

		snprintf(err, errlen, "cannot enter network namespace %s: %s", netns, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (*self >= 0)
			close(*self);
		*self = -1;
		return ret;
	}
	close(fd);
	return 0;
}

static void netns_leave(int self)
{
	if (self < 0)
		return;
	if (setns(self, CLONE_NEWNET))
		abort();	/* khelpd must never keep running in a container's namespace */
	close(self);
}

int datapath__has_tcx(void)
{
	/* a tcx attach with a bad target fails with EINVAL/ENODEV on kernels that know it, and with
	 * EINVAL from the attach type check on those that do not: ask the kernel for BPF_TCX_INGRESS
	 * program queries instead, which old kernels refuse with EINVAL */
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	int ret = bpf_prog_query_opts(1 /* lo */, BPF_TCX_INGRESS, &q);

	return ret == 0 || errno != EINVAL;
}

static int write_rules(int rules_fd, int cfg_fd, int stats_fd, const struct cop_policy *pol, __u64 hw_rules,
		       __u32 kind, __u32 ncpus, int fresh)
{
	struct ofl_rule_stats zs = {};
	struct ofl_dp_cfg cfg = {};
	__u32 zero = 0, next;

	if (!fresh && bpf_map_lookup_elem(cfg_fd, &zero, &cfg))
		return -errno;
	if (!fresh && cfg.kind == kind && cfg.banks[cfg.bank & 1].nrules == pol->nrules &&
	    cfg.banks[cfg.bank & 1].hw_rules == hw_rules) {
		unsigned int same = 0;

		/* the same policy again (SIGHUP, a restarted khelpd): keep the bank and its counters */
		for (unsigned int i = 0; i < pol->nrules; i++) {
			__u32 key = (cfg.bank & 1) * OFL_MAX_RULES + i;
			struct ofl_rule r;

			same += !bpf_map_lookup_elem(rules_fd, &key, &r) && !memcmp(&r, &pol->rules[i], sizeof(r));
		}
		if (same == pol->nrules)
			return 0;
	}
	next = fresh ? 0 : !(cfg.bank & 1);
	for (unsigned int i = 0; i < pol->nrules; i++) {
		__u32 key = next * OFL_MAX_RULES + i;

		if (bpf_map_update_elem(rules_fd, &key, &pol->rules[i], BPF_ANY))
			return -errno;
	}
	for (unsigned int i = 0; i < OFL_MAX_RULES && stats_fd >= 0; i++) {
		__u32 key = next * OFL_MAX_RULES + i;

		bpf_map_update_elem(stats_fd, &key, &zs, BPF_ANY);
	}
	cfg.banks[next].nrules = pol->nrules;
	cfg.banks[next].pkt_rules = 0;
	for (unsigned int i = 0; i < pol->nrules; i++)
		cfg.banks[next].pkt_rules += !!(pol->rules[i].set & (OFL_S_DROP | OFL_S_RXQ));
	cfg.banks[next].hw_rules = hw_rules;
	cfg.kind = kind;
	if (ncpus)
		cfg.ncpus = ncpus;
	/* the new bank first, then the flip: a reader sees either policy whole */
	if (!fresh && bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	cfg.bank = next;
	if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

static int cgroup_id_of_link(int link_fd, __u64 *id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_link_get_info_by_fd(link_fd, &info, &len))
		return -errno;
	*id = info.cgroup.cgroup_id;
	return 0;
}

int datapath__state(const char *bpffs, const char *ifname, struct ofl_state *st)
{
	memset(st, 0, sizeof(*st));
	if (!pinned(bpffs, ifname, OFL_PIN_CFG))
		return -ENOENT;
	if (pinned(bpffs, ifname, "xdp")) {
		st->dp = OFL_DP_XDP;
		snprintf(st->mode, sizeof(st->mode), "xdp");
	} else if (pinned(bpffs, ifname, "tc_in")) {
		st->dp = OFL_DP_TC;
		snprintf(st->mode, sizeof(st->mode), "tcx");
	} else if (pinned(bpffs, ifname, "tc_in_prog")) {
		st->dp = OFL_DP_TC;
		snprintf(st->mode, sizeof(st->mode), "clsact");
	} else {
		return -ENOENT;
	}
	return 0;
}

static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* keep what is pinned: new rules into the other bank; move the sockops link if the cgroup changed */
static int adopt(const struct ofl_attach_opts *o, const struct cop_policy *pol, struct ofl_state *st, char *err,
		 size_t errlen)
{
	int fds[7] = { -1, -1, -1, -1, -1, -1, -1 };
	int *rules_fd = &fds[0], *cfg_fd = &fds[1], *link_fd = &fds[2], *cg = &fds[3], *new_link = &fds[4],
	    *prog_fd = &fds[5];
	struct stat sb;
	__u64 id = 0;
	int ret = 0;

	*rules_fd = open_pin(o->bpffs, o->ifname, OFL_PIN_RULES);
	*cfg_fd = open_pin(o->bpffs, o->ifname, OFL_PIN_CFG);
	*link_fd = open_pin(o->bpffs, o->ifname, "sockops");
	fds[6] = open_pin(o->bpffs, o->ifname, OFL_PIN_STATS);
	if (*rules_fd < 0 || *cfg_fd < 0 || *link_fd < 0) {
		ret = *rules_fd < 0 ? *rules_fd : *cfg_fd < 0 ? *cfg_fd : *link_fd;
		snprintf(err, errlen, "offload/%s: the pinned datapath is incomplete (%s): remove %s/offload/%s",
			 o->ifname, strerror(-ret), o->bpffs, o->ifname);
		goto out;
	}
	if (stat(o->cgroup, &sb)) {
		ret = -errno;
		snprintf(err, errlen, "cgroup %s: %s", o->cgroup, strerror(errno));
		goto out;
	}
	if (!cgroup_id_of_link(*link_fd, &id) && id != (__u64)sb.st_ino) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		/* the container moved to another cgroup: a new link for the same program */
		if (bpf_link_get_info_by_fd(*link_fd, &info, &len) ||
		    (*prog_fd = bpf_prog_get_fd_by_id(info.prog_id)) < 0 ||
		    (*cg = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    (*new_link = bpf_link_create(*prog_fd, *cg, BPF_CGROUP_SOCK_OPS, NULL)) < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach the offload sockops program to %s: %s", o->cgroup,
				 strerror(errno));
			goto out;
		}
	}
	ret = write_rules(*rules_fd, *cfg_fd, fds[6], pol, o->hw_rules, st->dp == OFL_DP_XDP ? OFL_KIND_XDP : OFL_KIND_TC,
			  0, 0);
	if (ret) {
		snprintf(err, errlen, "offload/%s: cannot update the rule table: %s", o->ifname, strerror(-ret));
		goto out;
	}
	if (*new_link >= 0) {
		char p[PATH_MAX];

		pin_path(p, sizeof(p), o->bpffs, o->ifname, "sockops");
		unlink(p);
		if (bpf_obj_pin(*new_link, p))
			ret = -errno;	/* the old link went with its pin; the new one closes below */
	}
	st->adopted = 1;
out:
	close_fds(fds, 7);
	return ret;
}

/* attach prog to ifindex on tc ingress/egress: a tcx link, or clsact where the kernel has no tcx */
static int tc_attach(struct bpf_program *prog, int ifindex, enum bpf_attach_type tcx, const char *pin,
		     const char *prog_pin, int use_tcx)
{
	if (use_tcx) {
		struct bpf_link *l = bpf_program__attach_tcx(prog, ifindex, NULL);
		int ret;

		if (!l)
			return -errno;
		ret = bpf_link__pin(l, pin);
		bpf_link__destroy(l);	/* the pin holds it */
		return ret;
	} else {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = tcx == BPF_TCX_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CLSACT_HANDLE, .priority = CLSACT_PRIO,
				    .prog_fd = bpf_program__fd(prog));
		int ret = bpf_tc_hook_create(&hook);

		if (ret && ret != -EEXIST)
			return ret;
		ret = bpf_tc_attach(&hook, &opts);
		if (ret)
			return ret;
		return bpf_program__pin(prog, prog_pin);
	}
}

static int create(const struct ofl_attach_opts *o, const struct cop_policy *pol, enum ofl_datapath dp,
		  struct ofl_state *st, char *err, size_t errlen)
{
	char dir[PATH_MAX], p[PATH_MAX], p2[PATH_MAX];
	struct ofl_dp *skel = NULL;
	struct bpf_link *sockops = NULL;
	int ret, cg = -1, self = -1, ifindex, use_tcx = datapath__has_tcx();
	int ncpus = libbpf_num_possible_cpus();

	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dir);

	pin_path(dir, sizeof(dir), o->bpffs, o->ifname, NULL);
	pin_path(p, sizeof(p), o->bpffs, "", NULL);	/* <bpffs>/offload/ */
	if ((mkdir(p, 0700) && errno != EEXIST) || (mkdir(dir, 0700) && errno != EEXIST)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return ret;
	}
	skel = ofl_dp__open_opts(&oo);
	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the offload datapath object: %s", strerror(errno));
		return ret;
	}
	bpf_program__set_autoload(skel->progs.ofl_xdp, dp == OFL_DP_XDP);
	bpf_program__set_autoload(skel->progs.ofl_tc_in, dp == OFL_DP_TC);
	bpf_program__set_autoload(skel->progs.ofl_tc_out, dp == OFL_DP_TC);
	if (use_tcx) {
		bpf_program__set_expected_attach_type(skel->progs.ofl_tc_in, BPF_TCX_INGRESS);
		bpf_program__set_expected_attach_type(skel->progs.ofl_tc_out, BPF_TCX_EGRESS);
	}
	ret = ofl_dp__load(skel);	/* pins the shared maps by name under dir */
	if (ret) {
		snprintf(err, errlen, "cannot load the offload datapath: %s (run khelpd -v for the verifier log)",
			 strerror(-ret));
		goto fail;
	}
	ret = write_rules(bpf_map__fd(skel->maps.ofl_rules), bpf_map__fd(skel->maps.ofl_cfg), -1, pol, o->hw_rules,
			  dp == OFL_DP_XDP ? OFL_KIND_XDP : OFL_KIND_TC, ncpus > 0 ? ncpus : 1, 1);
	if (ret) {
		snprintf(err, errlen, "cannot write the offload rule table: %s", strerror(-ret));
		goto fail;
	}
	if (dp == OFL_DP_XDP)
		for (int c = 0; c < ncpus && c < CPUMAP_MAX; c++) {
			struct bpf_cpumap_val v = { .qsize = CPUMAP_QSIZE };
			__u32 key = c;

			bpf_map_update_elem(bpf_map__fd(skel->maps.ofl_cpus), &key, &v, BPF_ANY);
		}
	/* the maps were pinned by name under dir at load */
	cg = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open cgroup %s: %s", o->cgroup, strerror(errno));
		goto fail;
	}
	sockops = bpf_program__attach_cgroup(skel->progs.ofl_sockops, cg);
	if (!sockops) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach the offload sockops program to %s: %s", o->cgroup,
			 strerror(errno));
		goto fail;
	}
	pin_path(p, sizeof(p), o->bpffs, o->ifname, "sockops");
	ret = bpf_link__pin(sockops, p);
	if (ret) {
		snprintf(err, errlen, "cannot pin %s: %s", p, strerror(-ret));
		goto fail;
	}
	ret = netns_enter(o->netns, &self, err, errlen);
	if (ret)
		goto fail;
	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		ret = -ENODEV;
		snprintf(err, errlen, "interface %s not found%s%s", o->ifname, o->netns && o->netns[0] ? " in " : "",
			 o->netns ? o->netns : "");
	} else if (dp == OFL_DP_XDP) {
		LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
		int lfd = bpf_link_create(bpf_program__fd(skel->progs.ofl_xdp), ifindex, BPF_XDP, &lo);

		pin_path(p, sizeof(p), o->bpffs, o->ifname, "xdp");
		if (lfd < 0) {
			ret = -errno;
			snprintf(err, errlen, "native XDP attach to %s failed: %s", o->ifname, strerror(errno));
		} else {
			ret = bpf_obj_pin(lfd, p) ? -errno : 0;
			if (ret)
				snprintf(err, errlen, "cannot pin %s: %s", p, strerror(-ret));
			close(lfd);
		}
		snprintf(st->mode, sizeof(st->mode), "xdp");
	} else {
		pin_path(p, sizeof(p), o->bpffs, o->ifname, "tc_in");
		pin_path(p2, sizeof(p2), o->bpffs, o->ifname, "tc_in_prog");
		ret = tc_attach(skel->progs.ofl_tc_in, ifindex, BPF_TCX_INGRESS, p, p2, use_tcx);
		if (!ret) {
			pin_path(p, sizeof(p), o->bpffs, o->ifname, "tc_out");
			pin_path(p2, sizeof(p2), o->bpffs, o->ifname, "tc_out_prog");
			ret = tc_attach(skel->progs.ofl_tc_out, ifindex, BPF_TCX_EGRESS, p, p2, use_tcx);
		}
		if (ret)
			snprintf(err, errlen, "TC attach (%s) to %s failed: %s", use_tcx ? "tcx" : "clsact", o->ifname,
				 strerror(-ret));
		snprintf(st->mode, sizeof(st->mode), "%s", use_tcx ? "tcx" : "clsact");
	}
	netns_leave(self);
	if (ret)
		goto fail;
	st->dp = dp;
	bpf_link__destroy(sockops);	/* pinned */
	close(cg);
	ofl_dp__destroy(skel);		/* pins and links keep everything */
	return 0;
fail:
	bpf_link__destroy(sockops);
	if (cg >= 0)
		close(cg);
	ofl_dp__destroy(skel);
	datapath__release(o->bpffs, o->ifname, o->netns);
	return ret;
}

int datapath__apply(const struct ofl_attach_opts *o, const struct cop_policy *pol, struct ofl_state *st,
		    char *err, size_t errlen)
{
	enum ofl_datapath dp = o->force;
	struct ofl_state cur;
	char dir[PATH_MAX];
	int ret;

	memset(st, 0, sizeof(*st));
	if (!o->ifname[0] || strlen(o->ifname) >= IF_NAMESIZE || strchr(o->ifname, '/')) {
		snprintf(err, errlen, "invalid interface name '%s'", o->ifname);
		return -EINVAL;
	}
	if (dp == OFL_DP_NONE) {
		struct ofl_caps caps;

		ret = datapath__probe(o->netns, o->ifname, &caps);
		if (ret) {
			snprintf(err, errlen, "interface %s: %s", o->ifname, strerror(-ret));
			return ret;
		}
		dp = caps.datapath;
	}
	pin_path(dir, sizeof(dir), o->bpffs, o->ifname, NULL);
	if (!datapath__state(o->bpffs, o->ifname, &cur)) {
		if (cur.dp == dp) {
			*st = cur;
			return adopt(o, pol, st, err, errlen);
		}
		/* another datapath kind is wanted: replace (counters start again) */
		datapath__release(o->bpffs, o->ifname, o->netns);
	} else if (!access(dir, F_OK)) {
		/* leftovers of an interrupted attach */
		datapath__release(o->bpffs, o->ifname, o->netns);
	}
	return create(o, pol, dp, st, err, errlen);
}

static void rm_pin(const char *bpffs, const char *ifname, const char *name)
{
	char p[PATH_MAX];

	pin_path(p, sizeof(p), bpffs, ifname, name);
	unlink(p);
}

int datapath__probe(const char *netns, const char *ifname, struct ofl_caps *caps)
{
	struct ofl_live live;
	char err[256];
	int self, ret;

	ret = netns_enter(netns, &self, err, sizeof(err));
	if (ret)
		return ret;
	ret = probe__live(ifname, &live);
	netns_leave(self);
	if (ret)
		return ret;
	/* sysfs shows the namespace it was mounted in: only ours */
	return probe__read(netns && netns[0] ? NULL : "/sys", ifname, &live, caps);
}

int datapath__lower(const char *netns, const struct ofl_caps *caps, const struct cop_policy *pol,
		    __u64 *hw_rules, char *summary, size_t len)
{
	static struct low_plan plan;
	static struct hw_outcome out[LOW_MAX_FILTERS];
	struct chip_profile prof;
	unsigned int kept = 0, wanted = 0;
	char err[256];
	int self, ret;

	*hw_rules = 0;
	if (!caps->hw_kinds || lower__profile(caps->gen, caps->filter_budget, 0, caps->hw_kinds, &prof)) {
		snprintf(summary, len, "no NIC filters (%s)", caps->why);
		return 0;
	}
	lower__plan(&prof, pol, &plan);
	for (unsigned int i = 0; i < plan.nrules; i++)
		wanted += plan.rules[i].where == LOW_HW;
	if (!wanted) {
		snprintf(summary, len, "no rule can be a NIC filter");
		return 0;
	}
	ret = netns_enter(netns, &self, err, sizeof(err));
	if (ret) {
		snprintf(summary, len, "%s", err);
		return ret;
	}
	ret = hwfilter__install(caps->ifname, &plan, 1, hw_rules, out, err, sizeof(err));
	netns_leave(self);
	if (ret) {
		snprintf(summary, len, "NIC filters not installed: %s (all rules stay in BPF)", err);
		return 0;
	}
	for (unsigned int i = 0; i < plan.nrules && i < 64; i++)
		kept += !!(*hw_rules & (1ULL << i));
	snprintf(summary, len, "%u of %u rules confirmed in_hw as NIC filters, the rest stay in BPF (unverified on "
		 "hardware)", kept, wanted);
	return 0;
}

int datapath__release(const char *bpffs, const char *ifname, const char *netns)
{
	static const char *const pins[] = { "xdp", "tc_in", "tc_out", "tc_in_prog", "tc_out_prog", "sockops",
					    OFL_PIN_RULES, OFL_PIN_CFG, OFL_PIN_FLOWS, OFL_PIN_STATS };
	char dir[PATH_MAX], err[256];
	int self;

	if (!netns_enter(netns, &self, err, sizeof(err))) {
		hwfilter__remove(ifname);	/* ours only (our tc priorities); none outside a Chelsio */
		netns_leave(self);
	}
	if (pinned(bpffs, ifname, "tc_in_prog") && !netns_enter(netns, &self, err, sizeof(err))) {
		int ifindex = if_nametoindex(ifname);

		for (int i = 0; ifindex && i < 2; i++) {
			DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
					    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
			DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CLSACT_HANDLE, .priority = CLSACT_PRIO);

			bpf_tc_detach(&hook, &opts);
		}
		netns_leave(self);
	}
	/* links detach when their last reference, the pin, goes */
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		rm_pin(bpffs, ifname, pins[i]);
	pin_path(dir, sizeof(dir), bpffs, ifname, NULL);
	if (rmdir(dir) && errno != ENOENT)
		return -errno;
	return 0;
}

static void addr_text(int family, const __u32 *a, __u16 port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	snprintf(buf, len, family == 4 ? "%s:%u" : "[%s]:%u", s, port);
}

int datapath__flows(const char *bpffs, const char *ifname, json_object *rows)
{
	struct ofl_flow_key key, next;
	int fd = open_pin(bpffs, ifname, OFL_PIN_FLOWS), ret, first = 1;

	if (fd < 0)
		return fd;
	while (!(ret = bpf_map_get_next_key(fd, first ? NULL : &key, &next))) {
		struct ofl_flow f;
		json_object *o;
		char a[80];

		first = 0;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "interface", json_object_new_string(ifname));
		addr_text(key.family, key.laddr, key.lport, a, sizeof(a));
		json_object_object_add(o, "local", json_object_new_string(a));
		addr_text(key.family, key.raddr, key.rport, a, sizeof(a));
		json_object_object_add(o, "remote", json_object_new_string(a));
		json_object_object_add(o, "kind", json_object_new_string(datapath__kind_name(f.kind)));
		json_object_object_add(o, "open", json_object_new_string(f.socktype == OFL_SOCK_A ? "A" : "P"));
		json_object_object_add(o, "rule", json_object_new_int(f.rule));
		json_object_object_add(o, "state", json_object_new_string(f.closed ? "closed" : "open"));
		json_object_object_add(o, "rx_packets", json_object_new_uint64(f.rx_packets));
		json_object_object_add(o, "rx_bytes", json_object_new_uint64(f.rx_bytes));
		json_object_object_add(o, "tx_packets", json_object_new_uint64(f.tx_packets));
		json_object_object_add(o, "tx_bytes", json_object_new_uint64(f.tx_bytes));
		json_object_array_add(rows, o);
	}
	close(fd);
	return 0;
}

int datapath__rule_stats(const char *bpffs, const char *ifname, unsigned int nrules, __u64 *packets, __u64 *bytes)
{
	int sfd = open_pin(bpffs, ifname, OFL_PIN_STATS), cfd = open_pin(bpffs, ifname, OFL_PIN_CFG);
	struct ofl_dp_cfg cfg;
	__u32 zero = 0;
	int ret = 0;

	if (sfd < 0 || cfd < 0 || bpf_map_lookup_elem(cfd, &zero, &cfg)) {
		ret = sfd < 0 ? sfd : cfd < 0 ? cfd : -errno;
		goto out;
	}
	for (unsigned int i = 0; i < nrules && i < OFL_MAX_RULES; i++) {
		__u32 key = (cfg.bank & 1) * OFL_MAX_RULES + i;
		struct ofl_rule_stats s = {};

		bpf_map_lookup_elem(sfd, &key, &s);
		packets[i] = s.packets;
		bytes[i] = s.bytes;
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	return ret;
}
