/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The control protocol: one JSON request per connection on a unix stream
 * socket, one JSON response, then the server closes. Request:
 * {"cmd": "<command>", ...arguments}. Response: {"ok": <data>} or
 * {"error": "<message>", "errno": <n>}. khelpd's limits (clients.h): a request
 * ends at its newline or EOF, is at most 64 KiB (EMSGSIZE), arrives within 5 s
 * (ETIMEDOUT); at most 64 clients at once (EBUSY).
 */
#ifndef KHELP_CTL_H
#define KHELP_CTL_H

#include <stddef.h>
#include <json-c/json.h>

#define CTL_MAX_MSG	(16 << 20)	/* largest message either side accepts */

/* Read everything until EOF (or max bytes); NULL on error. The caller frees. */
char *ctl__read_all(int fd, size_t max, size_t *len);
int ctl__write_all(int fd, const char *buf, size_t len);
/* Client: send req, return the parsed response or NULL with err set. */
json_object *ctl__call(const char *socket_path, json_object *req, char *err, size_t errlen);

#endif
