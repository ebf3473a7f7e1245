// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one logging module: pr_warn/pr_info/pr_debug; -v raises the level. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static char *cap_buf;
static size_t cap_size, cap_len;

void log__set_level(enum log_level lvl) { cur_level = lvl; }
enum log_level log__level(void) { return cur_level; }

/*
 * Under systemd stderr goes to the journal (JOURNAL_STREAM names it): lines
 * then start with the syslog level, <4> warning, <6> info, <7> debug, which
 * journald strips and keeps as the priority (journalctl -p).
 */
static int to_journal(void)
{
	static int known, yes;
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!known) {
		known = 1;
		yes = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
		      st.st_dev == dev && st.st_ino == ino;
	}
	return yes;
}

static void log__vprint(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const tags[] = { "warn", "info", "debug" };
	static const char *const prio[] = { "<4>", "<6>", "<7>" };

	if (lvl > cur_level)
		return;
	fprintf(stderr, "%skhelp: %s: ", to_journal() ? prio[lvl] : "", tags[lvl]);
	vfprintf(stderr, fmt, ap);
}

void log__print(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log__vprint(lvl, fmt, ap);
	va_end(ap);
}

void log__capture(char *buf, size_t size)
{
	cap_buf = buf;
	cap_size = size;
	cap_len = 0;
	if (buf && size)
		buf[0] = '\0';
}

/*
 * khelpd opens pinned links to adopt what an earlier khelpd left (bpf_link__open);
 * on a first start there is none, and libbpf warns "failed to open link at PATH: -2".
 * That probe is expected and its caller handles the absence: debug level.
 */
static int expected_probe(const char *fmt, va_list ap)
{
	static const char what[] = "failed to open link at ";
	char msg[PATH_MAX + 128];
	size_t n;
	va_list cp;

	if (!strstr(fmt, what))
		return 0;
	va_copy(cp, ap);
	vsnprintf(msg, sizeof(msg), fmt, cp);
	va_end(cp);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	return strstr(msg, what) && n > 4 && !strcmp(msg + n - 4, ": -2");
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	if (lvl == LOG_LVL_INFO && expected_probe(fmt, ap))
		lvl = LOG_LVL_DEBUG;

	if (cap_buf && cap_len + 1 < cap_size) {
		va_list cp;
		int n;

		va_copy(cp, ap);
		n = vsnprintf(cap_buf + cap_len, cap_size - cap_len, fmt, cp);
		va_end(cp);
		if (n > 0)
			cap_len += (size_t)n < cap_size - cap_len ? (size_t)n : cap_size - cap_len - 1;
	}
	log__vprint(lvl, fmt, ap);
	return 0;
}

void log__route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
