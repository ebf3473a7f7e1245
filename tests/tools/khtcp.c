// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khtcp: the TCP endpoint of khelp's tests and benchmarks.
 *   khtcp serve ADDR PORT [--cc NAME] accept connections, discard what arrives (one child each);
 *       --cc: the listener's congestion control, which accepted connections inherit
 *   khtcp send ADDR PORT [--seconds S] [--bytes N] [--hold S] [--cc NAME] [--rate MBIT]
 *       connect, print "local <port>" once connected, send for S seconds or N bytes,
 *       keep the connection open --hold seconds more, print "sent <bytes> <seconds> <Mbit/s>".
 *       --rate: write no faster than MBIT Mbit/s (an application-limited sender).
 * Only for addresses the test created (198.18.0.0/15) or loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_addr(const char *a, const char *p, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(atoi(p));
	if (inet_pton(AF_INET, a, &sin->sin_addr) != 1) {
		fprintf(stderr, "khtcp: bad IPv4 address %s\n", a);
		return -1;
	}
	return 0;
}

static int serve(const char *a, const char *p, const char *cc)
{
	struct sockaddr_in sin;
	int one = 1, fd;

	if (parse_addr(a, p, &sin))
		return 2;
	signal(SIGCHLD, SIG_IGN);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, strlen(cc))) {
		fprintf(stderr, "khtcp: TCP_CONGESTION %s: %s\n", cc, strerror(errno));
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 128)) {
		perror("khtcp: bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		static char buf[1 << 16];

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(fd);
			while (read(c, buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
		close(c);
	}
}

static int sendto_peer(int argc, char **argv)
{
	double seconds = 0, hold = 0, rate = 0, t0, t;
	unsigned long long bytes = 0, sent = 0;
	const char *cc = NULL;
	struct sockaddr_in sin, local;
	socklen_t len = sizeof(local);
	static char buf[1 << 16];
	int fd;

	if (parse_addr(argv[0], argv[1], &sin))
		return 2;
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "khtcp: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--bytes"))
			bytes = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--hold"))
			hold = atof(argv[++i]);
		else if (!strcmp(argv[i], "--cc"))
			cc = argv[++i];
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[++i]);
		else {
			fprintf(stderr, "khtcp: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!seconds && !bytes)
		seconds = 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, strlen(cc))) {
		fprintf(stderr, "khtcp: TCP_CONGESTION %s: %s\n", cc, strerror(errno));
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("khtcp: connect");
		return 1;
	}
	getsockname(fd, (struct sockaddr *)&local, &len);
	printf("local %u\n", ntohs(local.sin_port));
	fflush(stdout);
	memset(buf, 'k', sizeof(buf));
	t0 = now_s();
	for (;;) {
		size_t chunk = sizeof(buf);
		ssize_t w;

		t = now_s() - t0;
		if ((seconds && t >= seconds) || (bytes && sent >= bytes))
			break;
		if (rate > 0) {
			/* 1 ms worth of data per write, paced to the wall clock */
			double ahead = sent * 8 / (rate * 1e6) - t;

			chunk = (size_t)(rate * 1e6 / 8 / 1000);
			if (chunk < 1 || chunk > sizeof(buf))
				chunk = chunk < 1 ? 1 : sizeof(buf);
			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9) };

				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (bytes && bytes - sent < chunk)
			chunk = bytes - sent;
		w = write(fd, buf, chunk);
		if (w <= 0) {
			perror("khtcp: write");
			return 1;
		}
		sent += w;
	}
	t = now_s() - t0;
	printf("sent %llu %.3f %.1f\n", sent, t, t > 0 ? sent * 8 / t / 1e6 : 0);
	fflush(stdout);
	if (hold > 0) {
		struct timespec ts = { (time_t)hold, (long)((hold - (time_t)hold) * 1e9) };

		nanosleep(&ts, NULL);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argv[3], NULL);
	if (argc == 6 && !strcmp(argv[1], "serve") && !strcmp(argv[4], "--cc"))
		return serve(argv[2], argv[3], argv[5]);
	if (argc >= 4 && !strcmp(argv[1], "send"))
		return sendto_peer(argc - 2, argv + 2);
	fprintf(stderr, "usage: khtcp serve ADDR PORT [--cc NAME] | khtcp send ADDR PORT [--seconds S] [--bytes N] [--hold S] [--cc NAME] [--rate MBIT]\n");
	return 2;
}
