// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kt_cc version 2: replaces version 1 for new connections only. */
#define KT_VERSION 2
#include "kt_cc.bpf.c"
