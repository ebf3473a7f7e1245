/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers shared by the cmocka unit tests. Include after <cmocka.h>.
 */
#ifndef KHELP_TEST_H
#define KHELP_TEST_H

#include <string.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* fail with both strings shown unless hay contains needle */
#define assert_contains(hay, needle)                                                            \
	do {                                                                                    \
		const char *h__ = (hay), *n__ = (needle);                                       \
		if (!h__ || !strstr(h__, n__))                                                  \
			fail_msg("message \"%s\" does not contain \"%s\"", h__ ? h__ : "(null)", n__); \
	} while (0)

#endif
