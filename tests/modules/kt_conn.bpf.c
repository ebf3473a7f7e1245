// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module: hooks only tcp_established, counts connections. Its program
 * must run a handful of times per connection, never per packet. */
#define KHELP_PARAMS(P) P(weight, KHELP_PARAM_UINT, 7, 1, 100)
#include <khelp/khelp.bpf.h>

struct kt_conn { __u64 established; __u64 hooks_run; };
KHELP_DATA(kt_conn, struct kt_conn);

static __always_inline void kt_established(struct khelp_ctx *ctx, struct kt_conn *d)
{
	d->established++;
	d->hooks_run++;
}

#define KHELP_HOOKS(H)	H(tcp_established, kt_established)
KHELP_MODULE(kt_conn, "1.0.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct kt_conn);
