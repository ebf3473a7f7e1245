// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module in a dependency cycle (kt_cyca <-> kt_cycb): khelpd must refuse both. */
#include <khelp/khelp.bpf.h>

static __always_inline void nop(struct khelp_ctx *ctx, void *d) { (void)ctx; (void)d; }

#define KHELP_HOOKS(H)	H(tcp_established, nop)
KHELP_DEPENDS("kt_cycb");
KHELP_MODULE(kt_cyca, "1.0.0", KHELP_CLASS_TCP, 0, void);
