// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module whose module init refuses (FreeBSD: mod_init != 0 aborts the load). */
#include <khelp/khelp.bpf.h>

static __always_inline void nop(struct khelp_ctx *ctx, void *d) { (void)ctx; (void)d; }

static __always_inline int refuse(const struct khelp_init_ctx *ctx)
{
	return ctx->event == KHELP_EV_MODULE_INIT ? -95 /* EOPNOTSUPP */ : 0;
}
KHELP_INIT(refuse)

#define KHELP_HOOKS(H)	H(tcp_established, nop)
KHELP_MODULE(kt_initfail, "1.0.0", KHELP_CLASS_TCP, 0, void);
