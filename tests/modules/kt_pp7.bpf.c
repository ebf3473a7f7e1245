// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-packet benchmark module number 7: see kt_pp.h */
#define KT_PP_NAME kt_pp7
#include "kt_pp.h"
