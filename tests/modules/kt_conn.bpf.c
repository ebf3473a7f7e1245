// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module: hooks only tcp_established, counts connections. Its program
 * must run a handful of times per connection, never per packet. */
#define KHELP_PARAMS(P) P(weight, KHELP_PARAM_UINT, 7, 1, 100)
#include <khelp/khelp.bpf.h>

#ifndef KT_VERSION
#define KT_VERSION	1
#endif
#define KT_STR(x)	#x
#define KT_VSTR(x)	KT_STR(x) ".0.0"

/* weight: this container's parameter when the connection started; version: of the module that created it */
struct kt_conn { __u64 established; __u64 hooks_run; __u64 weight; __u64 version; };
KHELP_DATA(kt_conn, struct kt_conn);

static __always_inline void kt_established(struct khelp_ctx *ctx, struct kt_conn *d)
{
	d->established++;
	d->hooks_run++;
	d->weight = khelp_param(ctx, weight);
	d->version = KT_VERSION;
}

#define KHELP_HOOKS(H)	H(tcp_established, kt_established)
KHELP_MODULE(kt_conn, KT_VSTR(KT_VERSION), KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct kt_conn);

/* lifecycle: count the events, so tests can see init/destroy ran (bpftool map dump) */
__u64 module_inits, container_inits, container_destroys;

static __always_inline int kt_init(const struct khelp_init_ctx *ctx)
{
	switch (ctx->event) {
	case KHELP_EV_MODULE_INIT: module_inits++; break;
	case KHELP_EV_CONTAINER_INIT: container_inits++; break;
	case KHELP_EV_CONTAINER_DESTROY: container_destroys++; break;
	}
	return 0;
}
KHELP_INIT(kt_init)
