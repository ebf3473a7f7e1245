// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tc u32 filters over rtnetlink: see hwfilter.h. Every filter is confirmed by reading it back; the exit
 * code of the add is never trusted (a skip_sw filter on a NIC that cannot hold it is accepted and listed as
 * "skip_sw not_in_hw", applying nowhere). The cxgb4 behaviour assumed here is unverified on hardware. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_gact.h>
#include <linux/tc_act/tc_skbedit.h>
#include "hwfilter.h"

#define NL_BUF 8192

struct nlreq {
	struct nlmsghdr *n;
	char buf[NL_BUF];
};

static struct nlmsghdr *req_init(struct nlreq *r, int type, int flags)
{
	memset(r->buf, 0, sizeof(r->buf));
	r->n = (struct nlmsghdr *)r->buf;
	r->n->nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	r->n->nlmsg_type = type;
	r->n->nlmsg_flags = NLM_F_REQUEST | flags;
	return r->n;
}

static struct rtattr *attr_add(struct nlreq *r, int type, const void *data, int len)
{
	struct rtattr *a = (struct rtattr *)((char *)r->n + NLMSG_ALIGN(r->n->nlmsg_len));

	if (NLMSG_ALIGN(r->n->nlmsg_len) + RTA_SPACE(len) > sizeof(r->buf))
		return NULL;
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->n->nlmsg_len = NLMSG_ALIGN(r->n->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nest_end(struct nlreq *r, struct rtattr *a)
{
	a->rta_len = (char *)r->n + r->n->nlmsg_len - (char *)a;
}

static int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* send and wait for the ack: 0 or the kernel's -errno */
static int nl_talk(int fd, struct nlmsghdr *n)
{
	char buf[NL_BUF];
	ssize_t len;

	n->nlmsg_flags |= NLM_F_ACK;
	if (send(fd, n, n->nlmsg_len, 0) < 0)
		return -errno;
	len = recv(fd, buf, sizeof(buf), 0);
	if (len < 0)
		return -errno;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)len); h = NLMSG_NEXT(h, len))
		if (h->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	return -EPROTO;
}

static void tcm_set(struct nlmsghdr *n, int ifindex, __u32 parent, __u32 handle, __u32 info)
{
	struct tcmsg *t = NLMSG_DATA(n);

	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	t->tcm_parent = parent;
	t->tcm_handle = handle;
	t->tcm_info = info;
}

/* the clsact qdisc our ingress filters hang from (already there is fine) */
static int clsact_ensure(int fd, int ifindex)
{
	struct nlreq r;

	req_init(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
	tcm_set(r.n, ifindex, TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0), 0);
	attr_add(&r, TCA_KIND, "clsact", sizeof("clsact"));
	{
		int ret = nl_talk(fd, r.n);

		return ret == -EEXIST ? 0 : ret;
	}
}

static void key_add(struct tc_u32_sel *sel, __u32 val, __u32 mask, int off)
{
	struct tc_u32_key *k = &sel->keys[sel->nkeys++];

	k->val = val & mask;
	k->mask = mask;
	k->off = off;
}

/* one IPv4 filter as u32 keys on the IP header (ports at the fixed offset of a 20-byte header; a
 * key on the version/IHL byte keeps packets with IP options out, the BPF datapath handles those) */
static int u32_add(int fd, int ifindex, const struct low_filter *f, int skip_sw)
{
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key keys[8];
	} s = {};
	struct rtattr *opts, *acts, *act, *aopts;
	__u32 flags = skip_sw ? TCA_CLS_FLAGS_SKIP_SW : 0;
	struct nlreq r;

	if (f->family != 4)
		return -EAFNOSUPPORT;
	s.sel.flags = TC_U32_TERMINAL;
	if (f->sport || f->dport)
		key_add(&s.sel, htonl(0x45000000), htonl(0xff000000), 0);
	if (f->tos >= 0)
		key_add(&s.sel, htonl((__u32)f->tos << 16), htonl((__u32)f->tos_mask << 16), 0);
	if (f->proto)
		key_add(&s.sel, htonl((__u32)f->proto << 16), htonl(0x00ff0000), 8);
	if (f->smask[0])
		key_add(&s.sel, f->saddr[0], f->smask[0], 12);
	if (f->dmask[0])
		key_add(&s.sel, f->daddr[0], f->dmask[0], 16);
	if (f->sport || f->dport)
		key_add(&s.sel, htonl(((__u32)f->sport << 16) | f->dport),
			htonl((f->sport ? 0xffff0000u : 0) | (f->dport ? 0xffffu : 0)), 20);
	if (!s.sel.nkeys)
		key_add(&s.sel, 0, 0, 0);	/* match all IPv4 */

	req_init(&r, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
	tcm_set(r.n, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0,
		TC_H_MAKE((__u32)(HW_PRIO_BASE + f->prio) << 16, htons(ETH_P_IP)));
	attr_add(&r, TCA_KIND, "u32", sizeof("u32"));
	opts = attr_add(&r, TCA_OPTIONS, NULL, 0);
	attr_add(&r, TCA_U32_SEL, &s, sizeof(s.sel) + s.sel.nkeys * sizeof(struct tc_u32_key));
	attr_add(&r, TCA_U32_FLAGS, &flags, sizeof(flags));
	if (f->act == LOW_ACT_COUNT) {
		/* counting changes no packet's fate: a filter without actions (flower would add hw stats) */
		nest_end(&r, opts);
		return nl_talk(fd, r.n);
	}
	acts = attr_add(&r, TCA_U32_ACT, NULL, 0);
	act = attr_add(&r, 1, NULL, 0);
	if (f->act == LOW_ACT_QUEUE) {
		struct tc_skbedit p = { .action = TC_ACT_PIPE };
		__u16 q = f->queue;

		attr_add(&r, TCA_ACT_KIND, "skbedit", sizeof("skbedit"));
		aopts = attr_add(&r, TCA_ACT_OPTIONS, NULL, 0);
		attr_add(&r, TCA_SKBEDIT_PARMS, &p, sizeof(p));
		attr_add(&r, TCA_SKBEDIT_QUEUE_MAPPING, &q, sizeof(q));
	} else {
		struct tc_gact p = { .action = f->act == LOW_ACT_DROP ? TC_ACT_SHOT : TC_ACT_OK };

		attr_add(&r, TCA_ACT_KIND, "gact", sizeof("gact"));
		aopts = attr_add(&r, TCA_ACT_OPTIONS, NULL, 0);
		attr_add(&r, TCA_GACT_PARMS, &p, sizeof(p));
	}
	nest_end(&r, aopts);
	nest_end(&r, act);
	nest_end(&r, acts);
	nest_end(&r, opts);
	return nl_talk(fd, r.n);
}

/* dump the ingress filters; cb(prio, in_hw, ctx) for each u32 knode of ours */
static int dump(int fd, int ifindex, void (*cb)(unsigned int prio, __u32 flags, void *ctx), void *ctx)
{
	char buf[32768];
	struct nlreq r;
	int done = 0;

	req_init(&r, RTM_GETTFILTER, NLM_F_DUMP);
	tcm_set(r.n, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0, 0);
	if (send(fd, r.n, r.n->nlmsg_len, 0) < 0)
		return -errno;
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		if (len < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)len); h = NLMSG_NEXT(h, len)) {
			struct tcmsg *t = NLMSG_DATA(h);
			struct rtattr *a;
			int alen, ours = 0, knode = 0;
			unsigned int prio;
			__u32 flags = 0;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type != RTM_NEWTFILTER)
				continue;
			prio = TC_H_MAJ(t->tcm_info) >> 16;
			alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
			for (a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t))); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				if (a->rta_type == TCA_KIND)
					ours = !strcmp(RTA_DATA(a), "u32") && prio > HW_PRIO_BASE &&
					       prio <= HW_PRIO_BASE + LOW_MAX_FILTERS;
				if (a->rta_type == TCA_OPTIONS) {
					struct rtattr *o;
					int olen = RTA_PAYLOAD(a);

					for (o = RTA_DATA(a); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
						if (o->rta_type == TCA_U32_FLAGS)
							flags = *(__u32 *)RTA_DATA(o);
						if (o->rta_type == TCA_U32_SEL)
							knode = 1;	/* not the hash table entry */
					}
				}
			}
			if (ours && knode)
				cb(prio - HW_PRIO_BASE, flags, ctx);
		}
	}
	return 0;
}

struct readback {
	const struct low_plan *plan;
	struct hw_outcome *out;
	int count;
};

static void readback_one(unsigned int prio, __u32 flags, void *ctx)
{
	struct readback *rb = ctx;

	rb->count++;
	if (!rb->out)
		return;
	for (unsigned int i = 0; i < rb->plan->nfilters; i++)
		if (rb->plan->filters[i].prio == prio && (rb->out[i].seen = 1))
			rb->out[i].in_hw = (flags & TCA_CLS_FLAGS_IN_HW) && !(flags & TCA_CLS_FLAGS_NOT_IN_HW);
}

static int del_prio(int fd, int ifindex, unsigned int prio)
{
	struct nlreq r;

	req_init(&r, RTM_DELTFILTER, 0);
	tcm_set(r.n, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0,
		TC_H_MAKE((__u32)(HW_PRIO_BASE + prio) << 16, htons(ETH_P_IP)));
	return nl_talk(fd, r.n);
}

int hwfilter__install(const char *ifname, const struct low_plan *plan, int skip_sw, __u64 *hw_rules,
		      struct hw_outcome *out, char *err, size_t errlen)
{
	int ifindex = if_nametoindex(ifname), fd, ret;
	struct readback rb = { .plan = plan, .out = out };

	*hw_rules = 0;
	memset(out, 0, sizeof(*out) * plan->nfilters);
	if (!ifindex) {
		snprintf(err, errlen, "interface %s: %s", ifname, strerror(ENODEV));
		return -ENODEV;
	}
	fd = nl_open();
	if (fd < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(-fd));
		return fd;
	}
	hwfilter__remove(ifname);
	ret = clsact_ensure(fd, ifindex);
	if (ret) {
		snprintf(err, errlen, "clsact on %s: %s", ifname, strerror(-ret));
		close(fd);
		return ret;
	}
	for (unsigned int i = 0; i < plan->nfilters; i++) {
		ret = u32_add(fd, ifindex, &plan->filters[i], skip_sw);
		out[i].installed = !ret;
		if (ret == -EAFNOSUPPORT)
			snprintf(out[i].why, sizeof(out[i].why), "IPv6 filters are not installed by the u32 installer");
		else if (ret == -ENOENT)	/* the kernel could not find (load) the action's module */
			snprintf(out[i].why, sizeof(out[i].why), "tc action '%s' is not available in this kernel",
				 plan->filters[i].act == LOW_ACT_QUEUE ? "skbedit" : "gact");
		else if (ret)
			snprintf(out[i].why, sizeof(out[i].why), "%s", strerror(-ret));
	}
	/* never trust the add: read every filter back */
	ret = dump(fd, ifindex, readback_one, &rb);
	if (ret) {
		snprintf(err, errlen, "reading back the filters on %s: %s", ifname, strerror(-ret));
		hwfilter__remove(ifname);
		close(fd);
		return ret;
	}
	for (unsigned int k = 0; k < plan->nrules; k++) {
		const struct low_rule *lr = &plan->rules[k];
		int all = lr->where == LOW_HW && lr->nfilters > 0;

		for (unsigned int i = lr->first; lr->where == LOW_HW && i < lr->first + lr->nfilters; i++) {
			if (out[i].installed && !out[i].seen)
				snprintf(out[i].why, sizeof(out[i].why), "accepted but not listed on read back");
			else if (out[i].installed && !out[i].in_hw && !out[i].why[0])
				snprintf(out[i].why, sizeof(out[i].why), "read back not in_hw: the NIC did not take it");
			all &= out[i].installed && out[i].in_hw;
		}
		if (all && k < 64)
			*hw_rules |= 1ULL << k;
		/* a rule is in hardware whole or not at all: its filters go, BPF keeps it */
		for (unsigned int i = lr->first; !all && lr->where == LOW_HW && i < lr->first + lr->nfilters; i++)
			if (out[i].installed)
				del_prio(fd, ifindex, plan->filters[i].prio);
	}
	close(fd);
	return 0;
}

int hwfilter__remove(const char *ifname)
{
	int ifindex = if_nametoindex(ifname), fd;
	struct nlreq r;
	int ret = 0;

	if (!ifindex)
		return -ENODEV;
	fd = nl_open();
	if (fd < 0)
		return fd;
	for (unsigned int prio = 1; prio <= LOW_MAX_FILTERS; prio++) {
		req_init(&r, RTM_DELTFILTER, 0);
		tcm_set(r.n, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0,
			TC_H_MAKE((__u32)(HW_PRIO_BASE + prio) << 16, htons(ETH_P_IP)));
		ret = nl_talk(fd, r.n);
		if (ret == -EINVAL)	/* no clsact qdisc: nothing of ours */
			break;
	}
	close(fd);
	return 0;
}

static void count_one(unsigned int prio, __u32 flags, void *ctx)
{
	(void)prio;
	(void)flags;
	((struct readback *)ctx)->count++;
}

int hwfilter__count(const char *ifname)
{
	int ifindex = if_nametoindex(ifname), fd, ret;
	struct readback rb = {};

	if (!ifindex)
		return -ENODEV;
	fd = nl_open();
	if (fd < 0)
		return fd;
	ret = dump(fd, ifindex, count_one, &rb);
	close(fd);
	return ret ? ret : rb.count;
}
