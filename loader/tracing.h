/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tcp_est_in entries of modules (tp_btf/tcp_probe) run for every TCP
 * segment on the host: attached only while some container uses the module.
 */
#ifndef KHELP_TRACING_H
#define KHELP_TRACING_H

#include "daemon.h"

/* Make the attachments match the containers; khelpd calls it after every loop turn. */
void tracing__sync(struct daemon *d);

#endif
