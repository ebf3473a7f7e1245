// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The loader's side of offload/: see offload_ct.h. The datapath itself lives in offload/datapath.c. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "offload_ct.h"
#include <unistd.h>
#include <bpf/bpf.h>
#include "log.h"
#include "../offload/cop.h"
#include "../offload/datapath.h"
#include "../offload/lower.h"
#include "../offload/probe.h"

/* the COP file named by [offload] policy: relative to the policy file's directory */
static void cop_path(const struct policy *p, char *out, size_t len)
{
	char dir[PATH_MAX];

	if (p->offload_policy[0] == '/') {
		snprintf(out, len, "%s", p->offload_policy);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", p->path);
	snprintf(out, len, "%s/%s", dirname(dir), p->offload_policy);
}

static int has_offload(const struct policy *p)
{
	return p && (p->offload_interface[0] || p->offload_policy[0]);
}

static int load_cop(const struct policy *p, struct cop_policy *cop, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (!p->offload_interface[0]) {
		snprintf(err, errlen, "%s:%d: [offload] policy needs an interface (interface = IFNAME)", p->path,
			 p->offload_policy_line);
		return -EINVAL;
	}
	if (!p->offload_policy[0]) {
		snprintf(err, errlen, "%s:%d: [offload] interface needs a policy (policy = FILE.cop)", p->path,
			 p->offload_interface_line);
		return -EINVAL;
	}
	if (strlen(p->offload_interface) >= IF_NAMESIZE || strchr(p->offload_interface, '/')) {
		snprintf(err, errlen, "%s:%d: [offload] interface: '%s' is not an interface name", p->path,
			 p->offload_interface_line, p->offload_interface);
		return -EINVAL;
	}
	cop_path(p, path, sizeof(path));
	return cop__parse_file(path, cop, err, errlen) ? -EINVAL : 0;
}

int offload_ct__check(const struct policy *p, char *err, size_t errlen)
{
	struct cop_policy *cop;
	int ret;

	if (!has_offload(p))
		return 0;
	cop = malloc(sizeof(*cop));
	if (!cop)
		return -ENOMEM;
	ret = load_cop(p, cop, err, errlen);
	free(cop);
	return ret;
}

static enum ofl_datapath forced(const struct policy *p)
{
	if (!strcmp(p->offload_datapath, "xdp"))
		return OFL_DP_XDP;
	if (!strcmp(p->offload_datapath, "tc"))
		return OFL_DP_TC;
	return OFL_DP_NONE;
}

int offload_ct__apply(struct daemon *d, const struct container *c, const struct policy *np, char *err,
		      size_t errlen)
{
	struct ofl_attach_opts o = {};
	struct cop_policy *cop;
	struct ofl_state st;
	struct ofl_caps caps;
	char why[KHELP_REASON_MAX], hw[256];
	int ret;

	if (!has_offload(np))
		return 0;
	cop = malloc(sizeof(*cop));
	if (!cop)
		return -ENOMEM;
	ret = load_cop(np, cop, err, errlen);
	if (ret)
		goto out;
	/* one datapath per interface: its rule table and sockops link belong to one container */
	for (const struct container *x = d->containers; x; x = x->next)
		if (strcmp(x->name, c->name) && x->state == CT_ACTIVE &&
		    !strcmp(x->pol->offload_interface, np->offload_interface)) {
			snprintf(err, errlen, "%s:%d: [offload] interface %s is already the offload interface of container "
				 "%s (%s)", np->path, np->offload_interface_line, np->offload_interface, x->name,
				 x->pol->path);
			ret = -EEXIST;
			goto out;
		}
	o.bpffs = d->cfg.bpffs;
	o.ifname = np->offload_interface;
	o.netns = np->netns;
	o.cgroup = c->cgroup_path;
	o.force = forced(np);
	/* NIC filters: only a Chelsio T4/T5/T6 with hardware filtering gets them; see docs/offload.md */
	o.hw_rules = 0;
	if (!datapath__probe(np->netns, np->offload_interface, &caps)) {
		datapath__lower(np->netns, &caps, cop, &o.hw_rules, hw, sizeof(hw));
		pr_info("container %s: %s: %s\n", c->name, np->offload_interface, hw);
	}
	ret = datapath__apply(&o, cop, &st, why, sizeof(why));
	if (ret == -ENOENT)
		ret = -ENODEV;	/* -ENOENT from an apply means a missing cgroup, nothing else */
	if (ret) {
		snprintf(err, errlen, "%s:%d: [offload] interface %s: %s", np->path, np->offload_interface_line,
			 np->offload_interface, why);
		goto out;
	}
	pr_info("container %s: offload datapath %s on %s (%s, %u rule%s)\n", c->name, st.mode,
		np->offload_interface, st.adopted ? "adopted" : "attached", cop->nrules, cop->nrules == 1 ? "" : "s");
out:
	free(cop);
	return ret;
}

void offload_ct__commit(struct daemon *d, const struct policy *old, const struct policy *np)
{
	if (!has_offload(old) || !old->offload_interface[0])
		return;
	if (has_offload(np) && !strcmp(old->offload_interface, np->offload_interface))
		return;
	offload_ct__release(d, old);
}

void offload_ct__release(struct daemon *d, const struct policy *p)
{
	if (!has_offload(p) || !p->offload_interface[0])
		return;
	if (datapath__release(d->cfg.bpffs, p->offload_interface, p->netns))
		pr_warn("offload: cannot remove %s/offload/%s\n", d->cfg.bpffs, p->offload_interface);
}

/* ---- control commands ---- */

static json_object *caps_json(const struct ofl_caps *c)
{
	json_object *o = json_object_new_object();
	char kinds[64], hex[16];

	json_object_object_add(o, "interface", json_object_new_string(c->ifname));
	json_object_object_add(o, "driver", json_object_new_string(c->driver[0] ? c->driver : "unknown"));
	json_object_object_add(o, "pci", c->pci[0] ? json_object_new_string(c->pci) : NULL);
	snprintf(hex, sizeof(hex), "0x%04x", c->vendor);
	json_object_object_add(o, "vendor", c->vendor ? json_object_new_string(hex) : NULL);
	snprintf(hex, sizeof(hex), "0x%04x", c->device);
	json_object_object_add(o, "device", c->vendor ? json_object_new_string(hex) : NULL);
	json_object_object_add(o, "chelsio", json_object_new_string(probe__gen_name(c->gen)));
#define TRI(v) ((v) == OFL_UNKNOWN ? NULL : json_object_new_boolean(v))
	json_object_object_add(o, "native_xdp", TRI(c->native_xdp));
	json_object_object_add(o, "native_xdp_from", json_object_new_string(c->native_xdp_source ? c->native_xdp_source
												  : "unknown"));
	json_object_object_add(o, "hw_tc_offload", TRI(c->hw_tc_offload));
	json_object_object_add(o, "ntuple", TRI(c->ntuple));
#undef TRI
	json_object_object_add(o, "filter_budget", c->filter_budget >= 0 ? json_object_new_int(c->filter_budget)
									  : NULL);
	json_object_object_add(o, "datapath", json_object_new_string(probe__datapath_name(c->datapath)));
	probe__hw_kinds_str(c->hw_kinds, kinds, sizeof(kinds));
	json_object_object_add(o, "hardware", json_object_new_string(kinds));
	json_object_object_add(o, "plan", json_object_new_string(c->why));
	return o;
}

int offload_ct__probe(const char *ifname, json_object **out, char *err, size_t errlen)
{
	struct if_nameindex *ifs, *i;
	struct ofl_caps caps;
	int ret;

	*out = json_object_new_array();
	if (ifname && ifname[0]) {
		ret = probe__interface(ifname, &caps);
		if (ret) {
			snprintf(err, errlen, "interface %s: %s", ifname,
				 ret == -ENODEV ? "no such interface in khelpd's network namespace" : strerror(-ret));
			json_object_put(*out);
			*out = NULL;
			return ret;
		}
		json_object_array_add(*out, caps_json(&caps));
		return 0;
	}
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++)
		if (!probe__interface(i->if_name, &caps))
			json_object_array_add(*out, caps_json(&caps));
	if_freenameindex(ifs);
	return 0;
}

static const char *where_text(enum low_where w)
{
	return w == LOW_HW ? "hardware" : w == LOW_SW ? "software" : "kernel";
}

static json_object *rule_json(const struct ofl_rule *r, unsigned int idx)
{
	json_object *o = json_object_new_object();
	char f[1024], s[256];

	cop__filter_str(r, f, sizeof(f));
	cop__settings_str(r, s, sizeof(s));
	json_object_object_add(o, "rule", json_object_new_int(idx + 1));
	json_object_object_add(o, "line", json_object_new_int(r->line));
	json_object_object_add(o, "type", json_object_new_string(r->socktypes == OFL_SOCK_A ? "A" :
								 r->socktypes == OFL_SOCK_P ? "P" :
								 r->socktypes == OFL_SOCK_L ? "L" : "D"));
	json_object_object_add(o, "filter", json_object_new_string(f));
	json_object_object_add(o, "settings", json_object_new_string(s));
	json_object_object_add(o, "offloads", json_object_new_boolean(cop__offloads(r)));
	return o;
}

static int chip_gen(const char *chip, enum ofl_gen *gen)
{
	if (!strcasecmp(chip, "T4"))
		*gen = OFL_GEN_T4;
	else if (!strcasecmp(chip, "T5"))
		*gen = OFL_GEN_T5;
	else if (!strcasecmp(chip, "T6"))
		*gen = OFL_GEN_T6;
	else
		return -EINVAL;
	return 0;
}

int offload_ct__check_file(const char *path, const char *chip, int budget, const char *fmode_text,
			   json_object **out, char *err, size_t errlen)
{
	struct cop_policy *cop = malloc(sizeof(*cop));
	struct low_plan *plan = NULL;
	json_object *rules;
	int ret;

	*out = NULL;
	if (!cop)
		return -ENOMEM;
	ret = cop__parse_file(path, cop, err, errlen);
	if (ret)
		goto out;
	*out = json_object_new_object();
	rules = json_object_new_array();
	for (unsigned int i = 0; i < cop->nrules; i++)
		json_object_array_add(rules, rule_json(&cop->rules[i], i));
	json_object_object_add(*out, "file", json_object_new_string(path));
	json_object_object_add(*out, "rules", rules);
	if (chip && chip[0]) {
		struct chip_profile prof;
		unsigned int fmode = 0;
		enum ofl_gen gen;
		char *text = NULL;
		size_t len = 0;
		FILE *f;

		if (chip_gen(chip, &gen)) {
			snprintf(err, errlen, "--chip %s: unknown chip (valid: T4, T5, T6)", chip);
			ret = -EINVAL;
			goto fail;
		}
		if (fmode_text && fmode_text[0] && (ret = lower__parse_fmode(fmode_text, &fmode, err, errlen)))
			goto fail;
		lower__profile(gen, budget, fmode, OFL_HW_DROP | OFL_HW_REDIRECT | OFL_HW_QUEUE | OFL_HW_RATE |
						     (gen != OFL_GEN_T4 ? OFL_HW_NAT : 0), &prof);
		plan = malloc(sizeof(*plan));
		if (!plan) {
			ret = -ENOMEM;
			goto fail;
		}
		lower__plan(&prof, cop, plan);
		for (unsigned int i = 0; i < cop->nrules; i++) {
			json_object *r = json_object_array_get_idx(rules, i);

			json_object_object_add(r, "where", json_object_new_string(where_text(plan->rules[i].where)));
			json_object_object_add(r, "why", json_object_new_string(plan->rules[i].why));
		}
		f = open_memstream(&text, &len);
		if (f) {
			lower__print(plan, cop, "IFNAME", f);
			fclose(f);
			json_object_object_add(*out, "dry_run", json_object_new_string(text));
			free(text);
		}
		json_object_object_add(*out, "slots_used", json_object_new_int(plan->slots_used));
		json_object_object_add(*out, "budget", json_object_new_int(prof.budget));
	}
	goto out;
fail:
	json_object_put(*out);
	*out = NULL;
out:
	free(plan);
	free(cop);
	return ret;
}

/* the rules in force, read back from the pinned rule table */
static int pinned_rules(const char *bpffs, const char *ifname, struct cop_policy *cop, struct ofl_dp_cfg *cfg)
{
	char path[PATH_MAX];
	int rfd, cfd, ret = 0;
	__u32 zero = 0;

	snprintf(path, sizeof(path), "%s/offload/%s/%s", bpffs, ifname, OFL_PIN_RULES);
	rfd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/offload/%s/%s", bpffs, ifname, OFL_PIN_CFG);
	cfd = bpf_obj_get(path);
	memset(cop, 0, sizeof(*cop));
	if (rfd < 0 || cfd < 0 || bpf_map_lookup_elem(cfd, &zero, cfg)) {
		ret = -errno;
		goto out;
	}
	cop->nrules = cfg->banks[cfg->bank & 1].nrules;
	if (cop->nrules > OFL_MAX_RULES)
		cop->nrules = OFL_MAX_RULES;
	for (unsigned int i = 0; i < cop->nrules; i++) {
		__u32 key = (cfg->bank & 1) * OFL_MAX_RULES + i;

		if (bpf_map_lookup_elem(rfd, &key, &cop->rules[i])) {
			ret = -errno;
			break;
		}
	}
out:
	if (rfd >= 0)
		close(rfd);
	if (cfd >= 0)
		close(cfd);
	return ret;
}

static const char *sw_why(const struct ofl_rule *r, const char *dp)
{
	if (r->set & OFL_S_DROP)
		return "the datapath drops matching packets";
	if ((r->set & OFL_S_RXQ) && !strcmp(dp, "xdp"))
		return "the datapath steers matching packets to a CPU (cpumap)";
	if (r->set & OFL_S_RXQ)
		return "queue steering needs XDP (cpumap): TC only counts";
	if (!cop__offloads(r))
		return "not offloaded: the kernel's TCP handles it";
	return "the datapath counts its connections; settings applied at open";
}

int offload_ct__show(struct daemon *d, json_object **out)
{
	struct cop_policy *cop = malloc(sizeof(*cop));

	if (!cop)
		return -ENOMEM;
	*out = json_object_new_array();
	for (struct container *c = d->containers; c; c = c->next) {
		const char *ifname = c->pol ? c->pol->offload_interface : "";
		__u64 pk[OFL_MAX_RULES] = {}, by[OFL_MAX_RULES] = {};
		struct ofl_dp_cfg cfg;
		struct ofl_state st;
		json_object *o, *rules;

		if (c->state != CT_ACTIVE || !ifname[0])
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "container", json_object_new_string(c->name));
		json_object_object_add(o, "interface", json_object_new_string(ifname));
		if (datapath__state(d->cfg.bpffs, ifname, &st) || pinned_rules(d->cfg.bpffs, ifname, cop, &cfg)) {
			json_object_object_add(o, "datapath", json_object_new_string("missing"));
			json_object_array_add(*out, o);
			continue;
		}
		json_object_object_add(o, "datapath", json_object_new_string(st.mode));
		datapath__rule_stats(d->cfg.bpffs, ifname, cop->nrules, pk, by);
		rules = json_object_new_array();
		for (unsigned int i = 0; i < cop->nrules; i++) {
			const struct ofl_rule *r = &cop->rules[i];
			json_object *ro = rule_json(r, i);
			int hw = !!(cfg.banks[cfg.bank & 1].hw_rules & (1ULL << i));
			int kernel = !cop__offloads(r) && !(r->set & (OFL_S_DROP | OFL_S_RXQ));

			json_object_object_add(ro, "where", json_object_new_string(hw ? "hardware" : kernel ? "kernel" :
										     st.dp == OFL_DP_XDP ? "xdp" : "tc"));
			json_object_object_add(ro, "why", json_object_new_string(hw ? "NIC filter confirmed in_hw" :
										     sw_why(r, st.mode)));
			json_object_object_add(ro, "packets", json_object_new_uint64(pk[i]));
			json_object_object_add(ro, "bytes", json_object_new_uint64(by[i]));
			json_object_array_add(rules, ro);
		}
		json_object_object_add(o, "rules", rules);
		json_object_array_add(*out, o);
	}
	free(cop);
	return 0;
}

int offload_ct__conns(struct daemon *d, const char *container, json_object **out)
{
	*out = json_object_new_array();
	for (struct container *c = d->containers; c; c = c->next) {
		json_object *rows;

		if (c->state != CT_ACTIVE || !c->pol->offload_interface[0])
			continue;
		if (container && container[0] && strcmp(container, c->name))
			continue;
		rows = json_object_new_array();
		if (datapath__flows(d->cfg.bpffs, c->pol->offload_interface, rows) == 0)
			for (size_t i = 0; i < json_object_array_length(rows); i++) {
				json_object *r = json_object_get(json_object_array_get_idx(rows, i));

				json_object_object_add(r, "container", json_object_new_string(c->name));
				json_object_array_add(*out, r);
			}
		json_object_put(rows);
	}
	return 0;
}
