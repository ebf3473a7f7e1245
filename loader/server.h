/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* khelpd's side of the control protocol: one handler per command, JSON out. */
#ifndef KHELP_SERVER_H
#define KHELP_SERVER_H

#include <json-c/json.h>
#include "daemon.h"

/* The response to one request (req may be NULL: not JSON). */
json_object *server__handle(struct daemon *d, json_object *req);
/* A failure response: {"error": message, "errno": errnum}. */
json_object *server__error(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
