/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The control socket's clients, served from khelpd's epoll loop without ever
 * blocking it: non-blocking sockets, a buffer and a deadline per client, a cap
 * on clients and on the request size. A client that connects and sends nothing
 * costs one slot until its deadline, never another client's time.
 */
#ifndef KHELP_CLIENTS_H
#define KHELP_CLIENTS_H

#include <stdint.h>

#define CLIENTS_MAX		64		/* clients served at once; more get an error */
#define CLIENTS_REQUEST_MAX	(64 << 10)	/* largest request, newline included */
#define CLIENTS_TIMEOUT_MS	5000		/* to send the request, and again to take the answer */

struct daemon;
struct clients;

/*
 * Serve the listening socket lfd (non-blocking) through the epoll instance efd.
 * Clients are registered in efd with data.ptr pointing at their own state, so
 * the caller's epoll tags must be small integers (below CLIENTS_TAG_MIN).
 */
#define CLIENTS_TAG_MIN		4096
struct clients *clients__new(struct daemon *d, int efd, int lfd);
/* The listening socket is readable: accept every pending client. */
void clients__accept(struct clients *cs);
/* An epoll event whose data.ptr (>= CLIENTS_TAG_MIN) is one of ours. */
void clients__event(struct clients *cs, void *ptr, uint32_t events);
/* Milliseconds until the nearest client deadline, -1 without clients (epoll_wait's timeout). */
int clients__timeout_ms(const struct clients *cs);
/* Answer clients past their deadline with an error, drop those that do not take it. */
void clients__expire(struct clients *cs);
unsigned int clients__count(const struct clients *cs);
void clients__free(struct clients *cs);

#endif
