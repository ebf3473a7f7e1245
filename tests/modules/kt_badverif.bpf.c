// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test module that compiles but that the verifier must refuse: it reads the
 * packet without a bounds check. khelpd has to show the verifier's reason. */
#include <khelp/khelp.bpf.h>

static __always_inline void bad_in(struct khelp_ctx *ctx, void *unused)
{
	__u32 *p = (__u32 *)(long)ctx->skops->skb_data;

	(void)unused;
	bpf_printk("%u", *p);	/* no check against skb_data_end */
}

#define KHELP_HOOKS(H)	H(tcp_est_out, bad_in)
KHELP_MODULE(kt_badverif, "1.0.0", KHELP_CLASS_TCP, 0, void);
