/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef KHELP_LOG_H
#define KHELP_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

void log__set_level(enum log_level lvl);
enum log_level log__level(void);
void log__print(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Route libbpf's output through us, one level lower than ours. */
void log__route_libbpf(void);
/* Capture libbpf output (verifier logs) into buf while a load runs; NULL stops. */
void log__capture(char *buf, size_t size);

#define pr_warn(...)	log__print(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)	log__print(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...)	log__print(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
