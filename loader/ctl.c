// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctl.h"

char *ctl__read_all(int fd, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= max) {
				free(buf);
				errno = EMSGSIZE;
				return NULL;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				break;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		/* a peer that closed without reading all we sent resets: what came is all */
		if (r < 0 && errno == ECONNRESET && n)
			break;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += r;
		/* a request ends with a newline: stop there, the client waits for us */
		if (buf[n - 1] == '\n')
			break;
	}
	if (!buf)
		return NULL;
	buf[n] = '\0';
	*len = n;
	return buf;
}

int ctl__write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		/* no SIGPIPE: a peer that went away is an error to report */
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= w;
	}
	return 0;
}

json_object *ctl__call(const char *socket_path, json_object *req, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *txt;
	json_object *resp;
	size_t len;
	char *buf;
	int fd, ret;

	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", socket_path);
		return NULL;
	}
	strcpy(sun.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		snprintf(err, errlen, "cannot reach khelpd at %s: %s (is khelpd running? --socket or KHELP_SOCKET picks another)",
			 socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	ret = ctl__write_all(fd, txt, strlen(txt));
	if (!ret)
		ret = ctl__write_all(fd, "\n", 1);
	/* khelpd may refuse before reading (too many clients): its answer says why */
	if (ret && ret != -EPIPE && ret != -ECONNRESET) {
		snprintf(err, errlen, "cannot send to khelpd: %s", strerror(-ret));
		close(fd);
		return NULL;
	}
	shutdown(fd, SHUT_WR);
	buf = ctl__read_all(fd, CTL_MAX_MSG, &len);
	close(fd);
	if (!buf || !len) {
		if (ret)
			snprintf(err, errlen, "cannot send to khelpd: %s", strerror(-ret));
		else
			snprintf(err, errlen, "khelpd closed the connection without an answer%s%s",
				 buf ? "" : ": ", buf ? "" : strerror(errno));
		free(buf);
		return NULL;
	}
	resp = json_tokener_parse(buf);
	free(buf);
	if (!resp)
		snprintf(err, errlen, "khelpd sent an answer that is not JSON");
	return resp;
}
