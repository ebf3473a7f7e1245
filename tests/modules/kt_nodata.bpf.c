// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module without per-connection data: hooks tcp_established and every
 * sent segment (tcp_est_out) and keeps nothing; what ran shows in its hooks
 * map (callbacks per container and hook point). */
#include <khelp/khelp.bpf.h>

static __always_inline void nop(struct khelp_ctx *ctx, void *d) { (void)ctx; (void)d; }

#define KHELP_HOOKS(H)	H(tcp_established, nop) H(tcp_est_out, nop)
KHELP_MODULE(kt_nodata, "1.0.0", KHELP_CLASS_TCP, 0, void);
