/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* systemd readiness and status (no-op outside systemd). */
#ifndef KHELP_NOTIFY_H
#define KHELP_NOTIFY_H

#include <stddef.h>
#include "daemon.h"

void notify__ready(struct daemon *d);
void notify__reloading(void);
void notify__stopping(const char *how);
void notify__status(struct daemon *d);
void notify__status_text(struct daemon *d, char *out, size_t size);

#endif
