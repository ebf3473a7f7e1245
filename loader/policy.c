// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "policy.h"

struct reader {
	const char *buf, *end;
	int line;
	int too_long;		/* line number of a line longer than inih takes */
	int junk;		/* line number of a section header followed by text */
};

struct parse {
	struct policy *p;
	struct reader *rd;
	char *err;
	size_t errlen;
	int failed;
};

static int perr(struct parse *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct parse *ps, int line, const char *fmt, ...)
{
	int off;
	va_list ap;

	if (ps->failed)
		return 0;
	ps->failed = -EINVAL;
	off = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->p->path, line);
	if (off < 0 || (size_t)off >= ps->errlen)
		return 0;
	va_start(ap, fmt);
	vsnprintf(ps->err + off, ps->errlen - off, fmt, ap);
	va_end(ap);
	return 0;	/* stop inih */
}

/* inih reader that counts lines, so handlers know where they are. */
static char *reader_next(char *str, int num, void *stream)
{
	struct reader *rd = stream;
	int n = 0;

	if (rd->buf >= rd->end || num <= 1)
		return NULL;
	while (rd->buf < rd->end && n < num - 1) {
		char c = *rd->buf++;

		if (c == '\0')
			c = ' ';	/* NUL inside a text file: make it visible as junk */
		str[n++] = c;
		if (c == '\n')
			break;
	}
	str[n] = '\0';
	if (n && str[n - 1] == '\n') {
		rd->line++;
	} else if (rd->buf >= rd->end) {
		rd->line++;
	} else {
		/* inih would take the rest of this line as a line of its own */
		rd->too_long = rd->line + 1;
		return NULL;
	}
	{
		/* "[tcp] congestion = x" on one line: inih ignores what follows ']' */
		const char *p = str, *close;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[' && (close = strchr(p, ']'))) {
			for (p = close + 1; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
				;
			if (*p && *p != ';' && *p != '#') {
				rd->junk = rd->line;
				return NULL;
			}
		}
	}
	return str;
}

static int copy_value(struct parse *ps, char *dst, size_t size, const char *section, const char *key,
		      const char *value)
{
	if (strlen(value) >= size)
		return perr(ps, ps->rd->line, "[%s] %s: value longer than %zu characters", section, key,
			    size - 1);
	strcpy(dst, value);
	return 1;
}

static int set_once(struct parse *ps, int *line, const char *section, const char *key)
{
	if (*line)
		return perr(ps, ps->rd->line, "[%s] %s: set twice (first at line %d)", section, key, *line);
	*line = ps->rd->line;
	return 1;
}

static int parse_helpers(struct parse *ps, const char *value)
{
	struct policy *p = ps->p;
	char buf[POLICY_VALUE_MAX], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (!meta__name_valid(tok))
			return perr(ps, ps->rd->line,
				    "[tcp] helpers: '%s' is not a module name (1-15 chars of [a-z0-9_])", tok);
		for (unsigned int i = 0; i < p->nhelpers; i++)
			if (!strcmp(p->helpers[i], tok))
				return perr(ps, ps->rd->line, "[tcp] helpers: %s listed twice", tok);
		if (p->nhelpers >= POLICY_MAX_HELPERS)
			return perr(ps, ps->rd->line, "[tcp] helpers: more than %d modules", POLICY_MAX_HELPERS);
		strcpy(p->helpers[p->nhelpers++], tok);
	}
	return 1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse *ps = user;
	struct policy *p = ps->p;
	int line = ps->rd->line;

	if (ps->failed)
		return 0;
	if (!strcmp(section, "container")) {
		if (!strcmp(key, "cgroup"))
			return set_once(ps, &p->cgroup_line, section, key) &&
			       copy_value(ps, p->cgroup, sizeof(p->cgroup), section, key, value);
		if (!strcmp(key, "netns"))
			return set_once(ps, &p->netns_line, section, key) &&
			       copy_value(ps, p->netns, sizeof(p->netns), section, key, value);
		return perr(ps, line, "[container] unknown key '%s' (valid: cgroup, netns)", key);
	}
	if (!strcmp(section, "tcp")) {
		if (!strcmp(key, "congestion")) {
			if (!set_once(ps, &p->congestion_line, section, key))
				return 0;
			if (strlen(value) >= KHELP_NAME_MAX || !value[0])
				return perr(ps, line, "[tcp] congestion: '%s' is not a congestion control name", value);
			strcpy(p->congestion, value);
			return 1;
		}
		if (!strcmp(key, "helpers"))
			return set_once(ps, &p->helpers_line, section, key) && parse_helpers(ps, value);
		return perr(ps, line, "[tcp] unknown key '%s' (valid: congestion, helpers)", key);
	}
	if (!strcmp(section, "offload")) {
		if (!strcmp(key, "interface"))
			return set_once(ps, &p->offload_interface_line, section, key) &&
			       copy_value(ps, p->offload_interface, sizeof(p->offload_interface), section, key,
					  value);
		if (!strcmp(key, "policy"))
			return set_once(ps, &p->offload_policy_line, section, key) &&
			       copy_value(ps, p->offload_policy, sizeof(p->offload_policy), section, key, value);
		if (!strcmp(key, "datapath")) {
			if (strcmp(value, "auto") && strcmp(value, "xdp") && strcmp(value, "tc"))
				return perr(ps, line, "[offload] datapath: '%s' (valid: auto, xdp, tc)", value);
			return set_once(ps, &p->offload_datapath_line, section, key) &&
			       copy_value(ps, p->offload_datapath, sizeof(p->offload_datapath), section, key, value);
		}
		return perr(ps, line, "[offload] unknown key '%s' (valid: interface, policy, datapath)", key);
	}
	if (!section[0])
		return perr(ps, line, "'%s' is outside any section (start with [container])", key);
	if (!meta__name_valid(section))
		return perr(ps, line,
			    "unknown section [%s] (valid: container, tcp, offload, or a module name for its parameters)",
			    section);
	for (unsigned int i = 0; i < p->nparams; i++)
		if (!strcmp(p->params[i].module, section) && !strcmp(p->params[i].key, key))
			return perr(ps, line, "[%s] %s: set twice (first at line %d)", section, key,
				    p->params[i].line);
	if (p->nparams >= POLICY_MAX_PARAMS)
		return perr(ps, line, "more than %d module parameters", POLICY_MAX_PARAMS);
	if (strlen(key) >= KHELP_PARAM_NAME_MAX)
		return perr(ps, line, "[%s] %s: parameter name too long", section, key);
	if (strlen(value) >= sizeof(p->params[0].value) || !value[0])
		return perr(ps, line, "[%s] %s: '%s' is not a value", section, key, value);
	strcpy(p->params[p->nparams].module, section);
	strcpy(p->params[p->nparams].key, key);
	strcpy(p->params[p->nparams].value, value);
	p->params[p->nparams++].line = line;
	return 1;
}

int policy__name_from_path(const char *path, char *name, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n <= 5 || strcmp(base + n - 5, ".conf") || base[0] == '.')
		return -EINVAL;
	n -= 5;
	if (n >= size || n >= POLICY_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		char c = base[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return -EINVAL;
	}
	memcpy(name, base, n);
	name[n] = '\0';
	return 0;
}

int policy__parse_buf(const char *path, const char *buf, size_t len, struct policy *p, char *err,
		      size_t errlen)
{
	struct reader rd = { .buf = buf, .end = buf + len, .line = 0 };
	struct parse ps = { .p = p, .rd = &rd, .err = err, .errlen = errlen };
	int ret;

	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", path);
	if (policy__name_from_path(path, p->name, sizeof(p->name))) {
		snprintf(err, errlen, "%s: a policy file is named <container>.conf, with [A-Za-z0-9_.-] only",
			 path);
		return -EINVAL;
	}
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_inline_comment_prefixes = ";#";
	ret = ini_parse_stream(reader_next, &rd, handler, &ps);
	if (ps.failed)
		return ps.failed;
	if (rd.too_long) {
		snprintf(err, errlen, "%s:%d: line longer than %d characters", path, rd.too_long, ini_max_line - 2);
		return -EINVAL;
	}
	if (rd.junk) {
		snprintf(err, errlen, "%s:%d: text after a [section] header (put each key = value on its own line)",
			 path, rd.junk);
		return -EINVAL;
	}
	if (ret > 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value, lines up to %d chars)",
			 path, ret, ini_max_line);
		return -EINVAL;
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot parse (%d)", path, ret);
		return -EIO;
	}
	if (!p->cgroup_line) {
		snprintf(err, errlen, "%s:%d: [container] cgroup is required (the container's cgroup v2 path)",
			 path, rd.line ? rd.line : 1);
		return -EINVAL;
	}
	if (!p->cgroup[0]) {
		snprintf(err, errlen, "%s:%d: [container] cgroup: empty path", path, p->cgroup_line);
		return -EINVAL;
	}
	return 0;
}

int policy__parse_file(const char *path, struct policy *p, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	char *buf;
	long n;
	int ret;

	/* never block on a FIFO, never read a directory */
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -errno;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, 1 << 20, f);
	if (n == 1 << 20 && fgetc(f) != EOF) {
		fclose(f);
		free(buf);
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		return -EFBIG;
	}
	fclose(f);
	ret = policy__parse_buf(path, buf, (size_t)n, p, err, errlen);
	free(buf);
	return ret;
}

int policy__param_value(const struct khelp_param_desc *d, const char *value, long long *out, char *err,
			size_t errlen)
{
	char *end;
	long long v;

	if (d->type == KHELP_PARAM_BOOL) {
		if (!strcasecmp(value, "1") || !strcasecmp(value, "yes") || !strcasecmp(value, "true") ||
		    !strcasecmp(value, "on"))
			v = 1;
		else if (!strcasecmp(value, "0") || !strcasecmp(value, "no") || !strcasecmp(value, "false") ||
			 !strcasecmp(value, "off"))
			v = 0;
		else {
			snprintf(err, errlen, "'%s' is not a bool (valid: 0/1, yes/no, true/false, on/off)", value);
			return -EINVAL;
		}
	} else {
		errno = 0;
		const char *digits = value + (value[0] == '-' || value[0] == '+');

		/* decimal, or hex with 0x; never octal: "010" is ten */
		v = strtoll(value, &end, digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') ? 16 : 10);
		if (errno || end == value || *end) {
			snprintf(err, errlen, "'%s' is not an integer (valid: %lld..%lld)", value,
				 (long long)d->min, (long long)d->max);
			return -EINVAL;
		}
	}
	if (v < d->min || v > d->max) {
		snprintf(err, errlen, "%lld is out of range (valid: %lld..%lld)", v, (long long)d->min,
			 (long long)d->max);
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int policy__find_param(const struct policy *p, const char *module, const char *key)
{
	for (unsigned int i = 0; i < p->nparams; i++)
		if (!strcmp(p->params[i].module, module) && !strcmp(p->params[i].key, key))
			return (int)i;
	return -1;
}

int policy__validate(struct policy *p, const struct policy_env *env, char *err, size_t errlen)
{
	const char *closure[POLICY_MAX_HELPERS * 4];
	char why[256];
	int n;

	for (unsigned int i = 0; i < p->nhelpers; i++) {
		const struct khelp_meta *m = env->module(env->ctx, p->helpers[i]);

		if (!m) {
			snprintf(err, errlen, "%s:%d: [tcp] helpers: unknown module '%s' (not loaded; see khelpctl modules)",
				 p->path, p->helpers_line, p->helpers[i]);
			return -ENOENT;
		}
		if (!(m->desc.classes & KHELP_CLASS_TCP)) {
			snprintf(err, errlen, "%s:%d: [tcp] helpers: %s is a congestion control; set it with congestion =",
				 p->path, p->helpers_line, p->helpers[i]);
			return -EINVAL;
		}
	}
	if (p->congestion[0]) {
		const struct khelp_meta *m = env->module(env->ctx, p->congestion);

		if (m && !(m->desc.classes & KHELP_CLASS_CC)) {
			snprintf(err, errlen, "%s:%d: [tcp] congestion: %s is a helper, not a congestion control",
				 p->path, p->congestion_line, p->congestion);
			return -EINVAL;
		}
		if (!m && !env->kernel_cc(env->ctx, p->congestion)) {
			snprintf(err, errlen,
				 "%s:%d: [tcp] congestion: unknown congestion control '%s' (valid: a loaded kh_ module or one in net.ipv4.tcp_available_congestion_control)",
				 p->path, p->congestion_line, p->congestion);
			return -ENOENT;
		}
	}
	n = env->closure(env->ctx, p, closure, sizeof(closure) / sizeof(closure[0]), why, sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "%s:%d: [tcp] dependencies: %s", p->path,
			 p->helpers_line ? p->helpers_line : p->congestion_line, why);
		return n;
	}
	for (unsigned int i = 0; i < p->nparams; i++) {
		struct policy_param *pp = &p->params[i];
		const struct khelp_meta *m = env->module(env->ctx, pp->module);
		const struct khelp_param_desc *d;
		int used = 0;

		if (!m) {
			snprintf(err, errlen, "%s:%d: [%s]: unknown module '%s' (not loaded)", p->path, pp->line,
				 pp->module, pp->module);
			return -ENOENT;
		}
		for (int j = 0; j < n; j++)
			used |= !strcmp(closure[j], pp->module);
		if (!used) {
			snprintf(err, errlen,
				 "%s:%d: [%s]: module %s is not used by this container (add it to [tcp] helpers or congestion)",
				 p->path, pp->line, pp->module, pp->module);
			return -EINVAL;
		}
		d = meta__param(m, pp->key);
		if (!d) {
			size_t off = 0;

			off += snprintf(why + off, sizeof(why) - off, "%s", m->desc.nparams ? "" : "none");
			for (unsigned int k = 0; k < m->desc.nparams && off < sizeof(why); k++)
				off += snprintf(why + off, sizeof(why) - off, "%s%s", k ? ", " : "",
						m->params[k].name);
			snprintf(err, errlen, "%s:%d: [%s] unknown parameter '%s' (valid: %s)", p->path, pp->line,
				 pp->module, pp->key, why);
			return -ENOENT;
		}
		if (policy__param_value(d, pp->value, &pp->parsed, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: [%s] %s: %s", p->path, pp->line, pp->module, pp->key, why);
			return -ERANGE;
		}
	}
	return 0;
}
