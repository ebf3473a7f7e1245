// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Hardware lowering of a compiled COP policy onto a Chelsio chip profile. Pure planning: what would go
 * into the NIC as tc flower filters, at what slot cost, and why the rest stays in the BPF datapath.
 * Every hardware behaviour assumed here is from the cxgb4 sources and is unverified on hardware. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "lower.h"

#define MAX_CONJ 16
#define SAMPLE_BUDGET 496	/* nfilter in the sample T5 firmware configuration */

int lower__profile(enum ofl_gen gen, int budget, unsigned int fmode, unsigned int hw_kinds,
		   struct chip_profile *prof)
{
	memset(prof, 0, sizeof(*prof));
	if (gen != OFL_GEN_T4 && gen != OFL_GEN_T5 && gen != OFL_GEN_T6)
		return -ENOTSUP;
	prof->gen = gen;
	prof->budget = budget >= 0 ? budget : SAMPLE_BUDGET;
	prof->v6_slots = gen == OFL_GEN_T6 ? 2 : 4;
	prof->nat = gen != OFL_GEN_T4;
	prof->fmode = fmode ? fmode : OFL_FM_DEFAULT;
	prof->hw_kinds = hw_kinds;
	return 0;
}

static const struct {
	const char *name;
	unsigned int bit;
} fmode_names[] = {
	{ "fcoe", OFL_FM_FCOE },	 { "port", OFL_FM_PORT },	    { "vnic_id", OFL_FM_VNIC },
	{ "vlan", OFL_FM_VLAN },	 { "tos", OFL_FM_TOS },		    { "protocol", OFL_FM_PROTOCOL },
	{ "ethertype", OFL_FM_ETHERTYPE }, { "macmatch", OFL_FM_MACMATCH }, { "mpshittype", OFL_FM_MPSHITTYPE },
	{ "fragmentation", OFL_FM_FRAGMENTATION },
};

int lower__parse_fmode(const char *text, unsigned int *fmode, char *err, size_t errlen)
{
	char buf[256], *save, *tok;

	*fmode = 0;
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		size_t i;

		for (i = 0; i < sizeof(fmode_names) / sizeof(fmode_names[0]); i++)
			if (!strcmp(tok, fmode_names[i].name))
				break;
		if (i == sizeof(fmode_names) / sizeof(fmode_names[0])) {
			snprintf(err, errlen, "unknown filterMode field '%s' (valid: fcoe, port, vnic_id, vlan, tos, "
				 "protocol, ethertype, macmatch, mpshittype, fragmentation)", tok);
			return -EINVAL;
		}
		*fmode |= fmode_names[i].bit;
	}
	return 0;
}

int lower__check_action(const struct chip_profile *prof, enum low_action act, char *why, size_t len)
{
	const char *g = probe__gen_name(prof->gen);

	why[0] = '\0';
	switch (act) {
	case LOW_ACT_NAT:
		if (!prof->nat) {
			snprintf(why, len, "%s has no NAT offload (NAT filters start with T5)", g);
			return -ENOTSUP;
		}
		if (!(prof->hw_kinds & OFL_HW_NAT)) {
			snprintf(why, len, "NAT needs tc flower offload (hw-tc-offload is off)");
			return -ENOTSUP;
		}
		return 0;
	case LOW_ACT_DROP:
		if (!(prof->hw_kinds & OFL_HW_DROP)) {
			snprintf(why, len, "hardware drop needs hw-tc-offload or ntuple-filters");
			return -ENOTSUP;
		}
		return 0;
	case LOW_ACT_QUEUE:
		if (!(prof->hw_kinds & OFL_HW_QUEUE)) {
			snprintf(why, len, "hardware queue steering needs hw-tc-offload or ntuple-filters");
			return -ENOTSUP;
		}
		return 0;
	case LOW_ACT_COUNT:
		if (!(prof->hw_kinds & OFL_HW_REDIRECT)) {	/* flower present = hw-tc-offload on */
			snprintf(why, len, "hardware counting needs tc flower offload (hw-tc-offload is off)");
			return -ENOTSUP;
		}
		return 0;
	}
	snprintf(why, len, "unknown action");
	return -EINVAL;
}

/* ---- filter expression to disjunctive normal form ---- */

struct atom {
	__u8 op;	/* index into rule ops */
	__u8 dir;	/* resolved: OFL_DIR_SRC or OFL_DIR_DST, or EITHER for non-directional fields */
};

struct conj {
	struct atom a[OFL_MAX_OPS];
	int n;
};

struct dnf {
	struct conj c[MAX_CONJ];
	int n;
};

static int why(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -ENOTSUP;
}

static int to_dnf(const struct ofl_rule *r, struct dnf *out, char *w, size_t wl)
{
	static struct dnf stack[OFL_MAX_OPS];
	int sp = 0;

	for (__u32 i = 0; i < r->nops; i++) {
		const struct ofl_op *op = &r->ops[i];

		if (op->code == OFL_OP_TRUE) {
			stack[sp].n = 1;
			stack[sp++].c[0].n = 0;
		} else if (op->code == OFL_OP_PRED) {
			struct dnf *d = &stack[sp++];
			int dirs = (op->field == OFL_F_HOST || op->field == OFL_F_PORT) && op->dir == OFL_DIR_EITHER;

			d->n = dirs ? 2 : 1;
			for (int k = 0; k < d->n; k++) {
				d->c[k].n = 1;
				d->c[k].a[0].op = i;
				d->c[k].a[0].dir = dirs ? (k ? OFL_DIR_DST : OFL_DIR_SRC) : op->dir;
			}
		} else if (op->code == OFL_OP_NOT) {
			return why(w, wl, "a negation cannot be expressed by NIC filters");
		} else if (op->code == OFL_OP_OR) {
			struct dnf *a = &stack[sp - 2], *b = &stack[sp - 1];

			if (a->n + b->n > MAX_CONJ)
				return why(w, wl, "the filter expands to more than %d NIC filters", MAX_CONJ);
			memcpy(&a->c[a->n], b->c, sizeof(b->c[0]) * b->n);
			a->n += b->n;
			sp--;
		} else {	/* AND: distribute */
			struct dnf *a = &stack[sp - 2], *b = &stack[sp - 1];
			static struct dnf res;

			if (a->n * b->n > MAX_CONJ)
				return why(w, wl, "the filter expands to more than %d NIC filters", MAX_CONJ);
			res.n = 0;
			for (int x = 0; x < a->n; x++)
				for (int y = 0; y < b->n; y++) {
					struct conj *c = &res.c[res.n++];

					if (a->c[x].n + b->c[y].n > OFL_MAX_OPS)
						return why(w, wl, "the filter is too complex for NIC filters");
					*c = a->c[x];
					memcpy(&c->a[c->n], b->c[y].a, sizeof(c->a[0]) * b->c[y].n);
					c->n += b->c[y].n;
				}
			*a = res;
			sp--;
		}
	}
	if (sp != 1)
		return why(w, wl, "malformed rule");
	*out = stack[0];
	return 0;
}

/* one conjunction into a filter template (family 0 = not fixed); 1 = unsatisfiable, <0 = cannot lower */
static int conj_filter(const struct chip_profile *prof, const struct ofl_rule *r, const struct conj *c,
		       struct low_filter *f, char *w, size_t wl)
{
	int swap = r->socktypes == OFL_SOCK_A;	/* ingress packets of an active open come from the peer */

	memset(f, 0, sizeof(*f));
	f->vlan = f->tos = -1;
	for (int i = 0; i < c->n; i++) {
		const struct ofl_op *op = &r->ops[c->a[i].op];
		int dst = (c->a[i].dir == OFL_DIR_DST) ^ swap;

		switch (op->field) {
		case OFL_F_HOST: {
			__u32 *addr = dst ? f->daddr : f->saddr, *mask = dst ? f->dmask : f->smask;

			if (f->family && f->family != op->family)
				return 1;
			if ((mask[0] | mask[1] | mask[2] | mask[3]) &&
			    (memcmp(addr, op->addr, 16) || memcmp(mask, op->mask, 16)))
				return why(w, wl, "two different %s addresses in one conjunction", dst ? "dst" : "src");
			f->family = op->family;
			memcpy(addr, op->addr, 16);
			memcpy(mask, op->mask, 16);
			break;
		}
		case OFL_F_PORT: {
			__u16 *port = dst ? &f->dport : &f->sport;

			if (op->lo != op->hi)
				return why(w, wl, "port ranges cannot be matched by a cxgb4 filter (exact ports only)");
			if (*port && *port != op->lo)
				return 1;
			*port = op->lo;
			break;
		}
		case OFL_F_PROTO:
			if (!(prof->fmode & OFL_FM_PROTOCOL))
				return why(w, wl, "filterMode lacks 'protocol': the chip cannot match the IP protocol");
			if (f->proto && f->proto != op->lo)
				return 1;
			f->proto = op->lo;
			break;
		case OFL_F_VLAN:
			if (!(prof->fmode & OFL_FM_VLAN))
				return why(w, wl, "filterMode lacks 'vlan': the chip cannot match a VLAN id");
			f->vlan = op->lo;
			break;
		case OFL_F_TOS:
		case OFL_F_DSCP:
			if (!(prof->fmode & OFL_FM_TOS))
				return why(w, wl, "filterMode lacks 'tos': the chip cannot match %s (not in the default "
					   "filterMode)", op->field == OFL_F_TOS ? "tos" : "dscp");
			f->tos = op->field == OFL_F_TOS ? op->lo : op->lo << 2;
			f->tos_mask = op->field == OFL_F_TOS ? 0xff : 0xfc;
			break;
		case OFL_F_MARK:
			return why(w, wl, "the mark is kernel state; a NIC filter cannot match it");
		default:
			return why(w, wl, "unknown match field");
		}
	}
	if ((f->sport || f->dport) && !f->proto) {
		if (!(prof->fmode & OFL_FM_PROTOCOL))
			return why(w, wl, "port matches need the IP protocol, and filterMode lacks 'protocol'");
		f->proto = 6;	/* COP rules describe TCP connections */
	}
	return 0;
}

static int lower_rule(const struct chip_profile *prof, const struct ofl_rule *r, unsigned int idx,
		      struct low_plan *plan, struct low_rule *lr, int sw_before)
{
	static struct dnf d;
	enum low_action act;
	int slots = 0;
	unsigned int first = plan->nfilters;

	if (r->set & OFL_S_DROP)
		act = LOW_ACT_DROP;
	else if (r->set & OFL_S_RXQ)
		act = LOW_ACT_QUEUE;
	else if (cop__offloads(r))
		act = LOW_ACT_COUNT;
	else
		return snprintf(lr->why, sizeof(lr->why), "not offloaded: the kernel's TCP handles it"), LOW_NONE;
	if (r->set & OFL_S_CLASS)
		return why(lr->why, sizeof(lr->why),
			   "rate class %u stays in software: cxgb4 polices per port (matchall), not per filter",
			   r->class_id), LOW_SW;
	if (lower__check_action(prof, act, lr->why, sizeof(lr->why)))
		return LOW_SW;
	if (sw_before >= 0 && act != LOW_ACT_COUNT)
		return why(lr->why, sizeof(lr->why),
			   "rule %d before it is not in hardware; a NIC filter would run first and break first-match "
			   "order", sw_before + 1), LOW_SW;
	if (to_dnf(r, &d, lr->why, sizeof(lr->why)))
		return LOW_SW;
	for (int k = 0; k < d.n; k++) {
		struct low_filter f;
		int ret = conj_filter(prof, r, &d.c[k], &f, lr->why, sizeof(lr->why));

		if (ret < 0) {
			plan->nfilters = first;
			return LOW_SW;
		}
		if (ret > 0)
			continue;	/* can never match: no filter */
		f.rule = idx;
		f.act = act;
		f.queue = r->rxq;
		for (int fam = 4; fam <= 6; fam += 2) {
			if (f.family && f.family != fam)
				continue;
			if (plan->nfilters >= LOW_MAX_FILTERS) {
				plan->nfilters = first;
				return why(lr->why, sizeof(lr->why), "more than %d NIC filters in one plan", LOW_MAX_FILTERS),
				       LOW_SW;
			}
			plan->filters[plan->nfilters] = f;
			plan->filters[plan->nfilters].family = fam;
			plan->filters[plan->nfilters].slots = fam == 6 ? prof->v6_slots : 1;
			plan->filters[plan->nfilters].prio = plan->nfilters + 1;
			slots += plan->filters[plan->nfilters].slots;
			plan->nfilters++;
		}
	}
	if (plan->slots_used + slots > prof->budget) {
		plan->nfilters = first;
		return why(lr->why, sizeof(lr->why), "over the filter budget: needs %d slot%s, %d of %d left", slots,
			   slots == 1 ? "" : "s", prof->budget - plan->slots_used, prof->budget), LOW_SW;
	}
	plan->slots_used += slots;
	lr->first = first;
	lr->nfilters = plan->nfilters - first;
	lr->slots = slots;
	snprintf(lr->why, sizeof(lr->why), "%u NIC filter%s, %d slot%s", lr->nfilters, lr->nfilters == 1 ? "" : "s",
		 slots, slots == 1 ? "" : "s");
	return LOW_HW;
}

int lower__plan(const struct chip_profile *prof, const struct cop_policy *pol, struct low_plan *plan)
{
	int sw_before = -1;

	memset(plan, 0, sizeof(*plan));
	plan->prof = *prof;
	for (unsigned int i = 0; i < pol->nrules; i++) {
		struct low_rule *lr = &plan->rules[i];

		lr->where = lower_rule(prof, &pol->rules[i], i, plan, lr, sw_before);
		if (lr->where != LOW_HW && sw_before < 0)
			sw_before = i;
	}
	plan->nrules = pol->nrules;
	return 0;
}

static void addr_str(int family, const __u32 *addr, const __u32 *mask, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int plen = 0;

	for (int i = 0; i < (family == 4 ? 1 : 4); i++)
		plen += __builtin_popcount(mask[i]);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(buf, len, "%s/%d", a, plen);
}

void lower__filter_tc(const struct low_filter *f, const char *ifname, char *buf, size_t len)
{
	size_t off = 0;
	char a[64];

#define ADD(...) (off += snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__))
	ADD("tc filter add dev %s ingress prio %u protocol %s flower skip_sw", ifname, f->prio,
	    f->vlan >= 0 ? "802.1Q" : f->family == 4 ? "ip" : "ipv6");
	if (f->vlan >= 0)
		ADD(" vlan_id %d vlan_ethtype %s", f->vlan, f->family == 4 ? "ip" : "ipv6");
	if (f->proto)
		ADD(" ip_proto %s", f->proto == 6 ? "tcp" : f->proto == 17 ? "udp" : "");
	if (f->proto && f->proto != 6 && f->proto != 17)
		ADD("%u", f->proto);
	if (f->smask[0] | f->smask[1] | f->smask[2] | f->smask[3]) {
		addr_str(f->family, f->saddr, f->smask, a, sizeof(a));
		ADD(" src_ip %s", a);
	}
	if (f->dmask[0] | f->dmask[1] | f->dmask[2] | f->dmask[3]) {
		addr_str(f->family, f->daddr, f->dmask, a, sizeof(a));
		ADD(" dst_ip %s", a);
	}
	if (f->sport)
		ADD(" src_port %u", f->sport);
	if (f->dport)
		ADD(" dst_port %u", f->dport);
	if (f->tos >= 0)
		ADD(" ip_tos 0x%02x/0x%02x", f->tos, f->tos_mask);
	switch (f->act) {
	case LOW_ACT_DROP: ADD(" action drop"); break;
	case LOW_ACT_QUEUE: ADD(" action skbedit queue_mapping %u hw", f->queue); break;
	case LOW_ACT_NAT: ADD(" action pedit"); break;
	default: ADD(" action pass"); break;
	}
#undef ADD
}

void lower__print(const struct low_plan *plan, const struct cop_policy *pol, const char *ifname, FILE *out)
{
	fprintf(out, "# %s profile: %d filter slots, IPv6 costs %d, NAT %s (unverified on hardware)\n",
		probe__gen_name(plan->prof.gen), plan->prof.budget, plan->prof.v6_slots, plan->prof.nat ? "yes" : "no");
	for (unsigned int i = 0; i < plan->nrules; i++) {
		const struct low_rule *lr = &plan->rules[i];
		char text[1200];

		cop__rule_str(&pol->rules[i], text, sizeof(text));
		fprintf(out, "# rule %u (line %u): %s\n#   -> %s: %s\n", i + 1, pol->rules[i].line, text,
			lr->where == LOW_HW ? "hardware" : lr->where == LOW_SW ? "software" : "kernel", lr->why);
		for (unsigned int k = 0; lr->where == LOW_HW && k < lr->nfilters; k++) {
			lower__filter_tc(&plan->filters[lr->first + k], ifname, text, sizeof(text));
			fprintf(out, "%s\n", text);
		}
	}
	fprintf(out, "# %d of %d slots used\n", plan->slots_used, plan->prof.budget);
}
