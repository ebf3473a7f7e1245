/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the platform's BPF programs. */
#ifndef KHELP_PLATFORM_BPF_H
#define KHELP_PLATFORM_BPF_H

#include <khelp/platform.h>

/* Two congestion control names (at most KHELP_NAME_MAX bytes) are equal. */
static __always_inline int khelp_name_eq(const volatile char *a, const volatile char *b)
{
	for (int i = 0; i < KHELP_NAME_MAX; i++) {
		if (a[i] != b[i])
			return 0;
		if (!a[i])
			return 1;
	}
	return 1;
}

#endif
