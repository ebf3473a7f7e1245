// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kt_conn version 2, same data layout: replaces version 1 in place. */
#define KT_VERSION 2
#include "kt_conn.bpf.c"
