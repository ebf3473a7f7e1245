// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module that depends on kt_conn and reads its per-connection data,
 * as vegas reads h_ertt's: one shared map, one copy per connection. */
#include <khelp/khelp.bpf.h>

struct kt_conn { __u64 established; __u64 hooks_run; __u64 weight; __u64 version; };
KHELP_DATA(kt_conn, struct kt_conn);

struct kt_dep { __u64 seen_established; };
KHELP_DATA(kt_dep, struct kt_dep);

static __always_inline void dep_established(struct khelp_ctx *ctx, struct kt_dep *d)
{
	struct kt_conn *c = khelp_data_of(kt_conn, ctx->sk);

	/* kt_conn's hook ran first (it is attached before its dependents) */
	if (c)
		d->seen_established = c->established;
}

#define KHELP_HOOKS(H)	H(tcp_established, dep_established)
KHELP_DEPENDS("kt_conn");
KHELP_MODULE(kt_dep, "1.0.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct kt_dep);
