/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-packet test module, for benchmarks: KT_PP_NAME hooks every received
 * (tcp_est_in) and every sent (tcp_est_out) segment and counts them in its
 * own per-connection data. kt_pp1..kt_pp8 are eight copies under eight names,
 * so a container can run 1, 4 or 8 per-packet modules side by side.
 */
#include <khelp/khelp.bpf.h>

struct kt_pp { __u64 in; __u64 out; };
/* one more expansion step, so KHELP_DATA pastes the name, not KT_PP_NAME */
#define KT_PP_DATA(name, dtype)	KHELP_DATA(name, dtype)
KT_PP_DATA(KT_PP_NAME, struct kt_pp);

static __always_inline void kt_pp_in(struct khelp_ctx *ctx, struct kt_pp *d)
{
	d->in++;
}

static __always_inline void kt_pp_out(struct khelp_ctx *ctx, struct kt_pp *d)
{
	d->out++;
}

#define KHELP_HOOKS(H)	H(tcp_est_in, kt_pp_in) H(tcp_est_out, kt_pp_out)
KHELP_MODULE(KT_PP_NAME, "1.0.0", KHELP_CLASS_TCP, KHELP_F_NEEDS_DATA, struct kt_pp);
