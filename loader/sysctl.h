/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The TCP congestion-control sysctls: the system default, what is available, what is allowed. */
#ifndef KHELP_SYSCTL_H
#define KHELP_SYSCTL_H

#include <stddef.h>

int sysctl__cc_default(char *out, size_t size);
/* The available list, space separated (malloc'ed, the caller frees), or NULL with errno. */
char *sysctl__cc_available(void);
/* 1 if the kernel offers congestion control name (built in or registered). */
int sysctl__cc_is_available(const char *name);
/*
 * Add name to (allow) or remove it from net.ipv4.tcp_allowed_congestion_control,
 * keeping every other entry; 0 or -errno. Never writes back a partial list.
 */
int sysctl__cc_allow(const char *name, int allow);
/* list (space separated) with name added (allow) or removed, every other entry kept; malloc'ed. */
char *sysctl__list_with(const char *list, const char *name, int allow);

#endif
