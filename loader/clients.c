// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Control socket clients in khelpd's epoll loop. Each client moves through
 * READ (collect the request up to its newline or EOF) -> WRITE (send the one
 * JSON answer) -> closed. A request over CLIENTS_REQUEST_MAX is read on and
 * dropped (DISCARD) so the client is not cut off while still sending, then
 * answered with EMSGSIZE. Every phase has a deadline: a client that sends
 * nothing gets ETIMEDOUT, one that takes no answer is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "clients.h"
#include "daemon.h"
#include "log.h"
#include "server.h"

enum client_state { CL_READ, CL_DISCARD, CL_WRITE };

struct client {
	struct client *next, *prev;
	int fd;
	enum client_state state;
	long long deadline_ms;		/* CLOCK_MONOTONIC */
	char *buf;			/* READ: the request so far; WRITE: the answer */
	size_t len, cap, off;		/* off: WRITE, bytes already sent */
	size_t dropped;			/* DISCARD: bytes read past the limit */
};

struct clients {
	struct daemon *d;
	int efd, lfd;
	struct client *head;
	unsigned int n;
	int full_logged;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

struct clients *clients__new(struct daemon *d, int efd, int lfd)
{
	struct clients *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->d = d;
	cs->efd = efd;
	cs->lfd = lfd;
	return cs;
}

unsigned int clients__count(const struct clients *cs)
{
	return cs->n;
}

static void client__drop(struct clients *cs, struct client *c)
{
	epoll_ctl(cs->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->n--;
	free(c->buf);
	free(c);
}

/* Send what the socket takes now; 1 when all is sent, 0 to wait for EPOLLOUT, -1 on error. */
static int client__flush(struct client *c)
{
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0)
			return -1;
		c->off += w;
	}
	return 1;
}

/* Take resp (its reference) as the answer; send it now or once the socket has room. */
static void client__answer(struct clients *cs, struct client *c, json_object *resp)
{
	const char *txt = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(txt);
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	char *out = malloc(n + 1);
	int ret;

	free(c->buf);
	c->buf = out;
	if (out) {
		memcpy(out, txt, n);
		out[n] = '\n';
	}
	json_object_put(resp);
	if (!out) {
		client__drop(cs, c);
		return;
	}
	c->len = n + 1;
	c->cap = n + 1;
	c->off = 0;
	c->state = CL_WRITE;
	c->deadline_ms = now_ms() + CLIENTS_TIMEOUT_MS;
	ret = client__flush(c);
	if (ret == 0 && !epoll_ctl(cs->efd, EPOLL_CTL_MOD, c->fd, &ev))
		return;
	if (ret < 0)
		pr_debug("control: client went away before its answer: %s\n", strerror(errno));
	client__drop(cs, c);
}

static void client__request_done(struct clients *cs, struct client *c)
{
	json_object *req = NULL, *resp;

	if (c->state == CL_DISCARD) {
		pr_info("control: refused a request of %zu bytes (limit %d)\n", c->len + c->dropped,
			CLIENTS_REQUEST_MAX);
		client__answer(cs, c, server__error(EMSGSIZE, "request too large: %zu bytes, the limit is %d",
						    c->len + c->dropped, CLIENTS_REQUEST_MAX));
		return;
	}
	if (c->len) {
		c->buf[c->len] = '\0';
		req = json_tokener_parse(c->buf);
		if (!req)
			pr_info("control: a request that is not JSON (%zu bytes)\n", c->len);
	}
	resp = server__handle(cs->d, req);
	json_object_put(req);
	client__answer(cs, c, resp);
}

/* Read what is there; the request ends at its newline or at EOF. */
static void client__read(struct clients *cs, struct client *c)
{
	for (;;) {
		char *dst, sink[4096];
		size_t room;
		ssize_t r;

		if (c->state == CL_READ && c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 1024;
			char *nb;

			if (cap > CLIENTS_REQUEST_MAX)
				cap = CLIENTS_REQUEST_MAX;
			if (c->len >= cap) {
				/* over the limit: read on and drop, answer at the end */
				c->state = CL_DISCARD;
			} else {
				nb = realloc(c->buf, cap + 1);
				if (!nb) {
					client__drop(cs, c);
					return;
				}
				c->buf = nb;
				c->cap = cap;
			}
		}
		if (c->state == CL_READ) {
			dst = c->buf + c->len;
			room = c->cap - c->len;
		} else {
			dst = sink;
			room = sizeof(sink);
		}
		r = recv(c->fd, dst, room, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0) {
			pr_debug("control: client read: %s\n", strerror(errno));
			client__drop(cs, c);
			return;
		}
		if (r == 0) {
			client__request_done(cs, c);
			return;
		}
		if (c->state == CL_READ)
			c->len += r;
		else
			c->dropped += r;
		if (memchr(dst, '\n', r)) {
			client__request_done(cs, c);
			return;
		}
	}
}

static int client__allowed(struct clients *cs, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return 0;
	return cred.uid == 0 || (cs->d->cfg.has_group && cred.gid == cs->d->cfg.group);
}

/*
 * Best effort, for a client we do not keep: one non-blocking send of resp, then
 * close. What it sent so far is read and dropped first: closing with unread data
 * would reset the connection, and the client might not get to read the answer.
 */
static void reply_and_close(int fd, json_object *resp)
{
	const char *txt = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(txt);
	char *out = malloc(n + 1), sink[4096];

	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	if (out) {
		memcpy(out, txt, n);
		out[n] = '\n';
		if (send(fd, out, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			pr_debug("control: cannot answer a refused client: %s\n", strerror(errno));
		free(out);
	}
	json_object_put(resp);
	shutdown(fd, SHUT_WR);
	close(fd);
}

void clients__accept(struct clients *cs)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct client *c;
		int fd = accept4(cs->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pr_warn("control: accept: %s\n", strerror(errno));
			return;
		}
		if (cs->n >= CLIENTS_MAX) {
			if (!cs->full_logged++)
				pr_warn("control: %d clients connected, refusing more until some finish\n", CLIENTS_MAX);
			reply_and_close(fd, server__error(EBUSY, "khelpd is serving %d clients already, the most it takes; try again",
						  CLIENTS_MAX));
			continue;
		}
		cs->full_logged = 0;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = CL_READ;
		c->deadline_ms = now_ms() + CLIENTS_TIMEOUT_MS;
		c->next = cs->head;
		if (cs->head)
			cs->head->prev = c;
		cs->head = c;
		cs->n++;
		ev.data.ptr = c;
		if (epoll_ctl(cs->efd, EPOLL_CTL_ADD, fd, &ev)) {
			pr_warn("control: epoll_ctl: %s\n", strerror(errno));
			client__drop(cs, c);
			continue;
		}
		if (!client__allowed(cs, fd)) {
			client__answer(cs, c, server__error(EPERM, "permission denied: khelpd serves root only"));
			continue;
		}
		/* the request is often there already */
		client__read(cs, c);
	}
}

void clients__event(struct clients *cs, void *ptr, uint32_t events)
{
	struct client *c = ptr;
	int ret;

	if (c->state == CL_WRITE) {
		ret = client__flush(c);
		if (ret != 0 || (events & (EPOLLERR | EPOLLHUP)))
			client__drop(cs, c);
		return;
	}
	client__read(cs, c);
}

int clients__timeout_ms(const struct clients *cs)
{
	long long next = -1, now;

	for (const struct client *c = cs->head; c; c = c->next)
		if (next < 0 || c->deadline_ms < next)
			next = c->deadline_ms;
	if (next < 0)
		return -1;
	now = now_ms();
	return next <= now ? 0 : (int)(next - now);
}

void clients__expire(struct clients *cs)
{
	long long now = now_ms();
	struct client *c, *next;

	for (c = cs->head; c; c = next) {
		next = c->next;
		if (c->deadline_ms > now)
			continue;
		if (c->state == CL_WRITE) {
			pr_debug("control: client took no answer within %d ms, dropped\n", CLIENTS_TIMEOUT_MS);
			client__drop(cs, c);
		} else {
			pr_info("control: no complete request within %d ms (%zu bytes so far), answering ETIMEDOUT\n",
				CLIENTS_TIMEOUT_MS, c->len + c->dropped);
			client__answer(cs, c, server__error(ETIMEDOUT, "no complete request within %d ms",
							    CLIENTS_TIMEOUT_MS));
		}
	}
}

void clients__free(struct clients *cs)
{
	if (!cs)
		return;
	while (cs->head)
		client__drop(cs, cs->head);
	free(cs);
}
