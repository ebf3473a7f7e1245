// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* COP policy compiler. One rule per line: `[A|P|L|D] filter => settings`.
 * The filter is a pcap-filter(7) subset: [src|dst] host|net|port|portrange, proto, tcp, udp, vlan,
 * tos, dscp, mark, all/any/-, and/&&, or/||, not/!, parentheses. As in pcap, `not` binds tightest and
 * `and`/`or` have equal precedence, left to right. Settings are comma separated, `!`/`not` negates. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cop.h"

enum tok_type { T_END, T_WORD, T_LPAREN, T_RPAREN, T_NOT, T_AND, T_OR, T_ARROW, T_COMMA };

struct tok {
	enum tok_type type;
	char text[64];
	int col;	/* 1-based */
};

#define MAX_TOKS 128

struct parser {
	const char *path;
	int line;
	struct tok toks[MAX_TOKS];
	int ntoks, pos;
	struct ofl_rule *rule;
	char *err;
	size_t errlen;
};

static int perr(struct parser *ps, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct parser *ps, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ps->err, ps->errlen, "%s:%d:%d: ", ps->path, ps->line, col);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < ps->errlen)
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int is_word_char(const char *s)
{
	return *s && !isspace((unsigned char)*s) && !strchr("()!,&|#", *s) && !(s[0] == '=' && s[1] == '>');
}

/* line: without its newline; comments (#) end it */
static int lex(struct parser *ps, const char *line)
{
	const char *s = line;

	ps->ntoks = ps->pos = 0;
	for (;;) {
		struct tok *t;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			break;
		if (ps->ntoks >= MAX_TOKS - 1)
			return perr(ps, (int)(s - line) + 1, "line too long (at most %d tokens)", MAX_TOKS - 1);
		t = &ps->toks[ps->ntoks++];
		t->col = (int)(s - line) + 1;
		t->text[0] = '\0';
		if (*s == '(') {
			t->type = T_LPAREN, s++;
		} else if (*s == ')') {
			t->type = T_RPAREN, s++;
		} else if (*s == ',') {
			t->type = T_COMMA, s++;
		} else if (*s == '!') {
			t->type = T_NOT, s++;
		} else if (s[0] == '&' && s[1] == '&') {
			t->type = T_AND, s += 2;
		} else if (s[0] == '|' && s[1] == '|') {
			t->type = T_OR, s += 2;
		} else if (s[0] == '=' && s[1] == '>') {
			t->type = T_ARROW, s += 2;
		} else if (*s == '&' || *s == '|') {
			return perr(ps, t->col, "unexpected '%c' (use '%c%c' or '%s')", *s, *s, *s,
				    *s == '&' ? "and" : "or");
		} else {
			size_t n = 0;

			while (is_word_char(s + n))
				n++;
			if (n >= sizeof(t->text))
				return perr(ps, t->col, "word too long (at most %zu characters)", sizeof(t->text) - 1);
			memcpy(t->text, s, n);
			t->text[n] = '\0';
			s += n;
			t->type = !strcmp(t->text, "and") ? T_AND : !strcmp(t->text, "or") ? T_OR :
				  !strcmp(t->text, "not") ? T_NOT : T_WORD;
		}
	}
	ps->toks[ps->ntoks].type = T_END;
	ps->toks[ps->ntoks].col = (int)(s - line) + 1;
	ps->toks[ps->ntoks].text[0] = '\0';
	return 0;
}

static struct tok *peek(struct parser *ps)
{
	return &ps->toks[ps->pos];
}

static const char *tok_desc(const struct tok *t)
{
	switch (t->type) {
	case T_END: return "end of line";
	case T_LPAREN: return "'('";
	case T_RPAREN: return "')'";
	case T_NOT: return "'not'";
	case T_AND: return "'and'";
	case T_OR: return "'or'";
	case T_ARROW: return "'=>'";
	case T_COMMA: return "','";
	default: return t->text;
	}
}

static int emit(struct parser *ps, const struct ofl_op *op, int col)
{
	struct ofl_rule *r = ps->rule;

	if (r->nops >= OFL_MAX_OPS)
		return perr(ps, col, "filter too long (at most %d terms and operators per rule)", OFL_MAX_OPS);
	r->ops[r->nops++] = *op;
	return 0;
}

/* decimal or 0x hex, within [min, max] */
static int parse_num(struct parser *ps, const struct tok *t, const char *what, unsigned long min,
		     unsigned long max, __u32 *out)
{
	char *end;
	unsigned long v;

	if (t->type != T_WORD)
		return perr(ps, t->col, "expected %s, found %s", what, tok_desc(t));
	errno = 0;
	v = strtoul(t->text, &end, 0);
	if (!isdigit((unsigned char)t->text[0]) || errno || *end || v < min || v > max)
		return perr(ps, t->col, "invalid %s '%s' (valid: %lu-%lu)", what, t->text, min, max);
	*out = (__u32)v;
	return 0;
}

/* ADDR or ADDR/LEN into op (host when no /LEN) */
static int parse_addr(struct parser *ps, const struct tok *t, int is_net, struct ofl_op *op)
{
	char buf[64], *slash;
	unsigned long plen;
	int bits;

	if (t->type != T_WORD)
		return perr(ps, t->col, "expected an address, found %s", tok_desc(t));
	snprintf(buf, sizeof(buf), "%s", t->text);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (slash && !is_net)
		return perr(ps, t->col, "'host' takes an address without a prefix length (use 'net %s')", t->text);
	if (inet_pton(AF_INET, buf, op->addr) == 1) {
		op->family = 4, bits = 32;
	} else if (inet_pton(AF_INET6, buf, op->addr) == 1) {
		op->family = 6, bits = 128;
	} else {
		return perr(ps, t->col, "invalid address '%s' (IPv4 or IPv6)", buf);
	}
	plen = bits;
	if (slash) {
		char *end;

		errno = 0;
		plen = strtoul(slash, &end, 10);
		if (!isdigit((unsigned char)*slash) || errno || *end || plen > (unsigned long)bits)
			return perr(ps, t->col, "invalid prefix length '/%s' (valid: 0-%d)", slash, bits);
	} else if (is_net) {
		return perr(ps, t->col, "'net' needs a prefix length: '%s/N'", t->text);
	}
	for (int i = 0; i < bits / 32; i++) {
		int left = (int)plen - i * 32;
		__u32 m = left >= 32 ? 0xffffffffu : left <= 0 ? 0 : ~((1u << (32 - left)) - 1);

		op->mask[i] = htonl(m);
		op->addr[i] &= op->mask[i];
	}
	return 0;
}

static int parse_expr(struct parser *ps);

static int parse_primitive(struct parser *ps)
{
	struct tok *t = peek(ps), *arg;
	struct ofl_op op = { .code = OFL_OP_PRED };
	int col = t->col;
	const char *kw;

	if (t->type != T_WORD)
		return perr(ps, t->col, "expected a filter term, found %s", tok_desc(t));
	if (!strcmp(t->text, "all") || !strcmp(t->text, "any") || !strcmp(t->text, "-")) {
		ps->pos++;
		op.code = OFL_OP_TRUE;
		return emit(ps, &op, col);
	}
	if (!strcmp(t->text, "src") || !strcmp(t->text, "dst")) {
		op.dir = t->text[0] == 's' ? OFL_DIR_SRC : OFL_DIR_DST;
		ps->pos++;
		t = peek(ps);
		if (t->type != T_WORD || (strcmp(t->text, "host") && strcmp(t->text, "net") && strcmp(t->text, "port") &&
					  strcmp(t->text, "portrange")))
			return perr(ps, t->col, "expected host, net, port or portrange after '%s', found %s",
				    op.dir == OFL_DIR_SRC ? "src" : "dst", tok_desc(t));
	}
	kw = t->text;
	ps->pos++;
	arg = peek(ps);
	if (!strcmp(kw, "host") || !strcmp(kw, "net")) {
		op.field = OFL_F_HOST;
		if (parse_addr(ps, arg, kw[0] == 'n', &op))
			return -EINVAL;
	} else if (!strcmp(kw, "port")) {
		op.field = OFL_F_PORT;
		if (parse_num(ps, arg, "port", 0, 65535, &op.lo))
			return -EINVAL;
		op.hi = op.lo;
	} else if (!strcmp(kw, "portrange")) {
		char lo[32], *dash;
		struct tok part = *arg;

		op.field = OFL_F_PORT;
		if (arg->type != T_WORD || !(dash = strchr(arg->text, '-')))
			return perr(ps, arg->col, "expected a port range LOW-HIGH, found %s", tok_desc(arg));
		snprintf(lo, sizeof(lo), "%.*s", (int)(dash - arg->text), arg->text);
		snprintf(part.text, sizeof(part.text), "%s", lo);
		if (parse_num(ps, &part, "port", 0, 65535, &op.lo))
			return -EINVAL;
		snprintf(part.text, sizeof(part.text), "%s", dash + 1);
		part.col = arg->col + (int)(dash - arg->text) + 1;
		if (parse_num(ps, &part, "port", 0, 65535, &op.hi))
			return -EINVAL;
		if (op.lo > op.hi)
			return perr(ps, arg->col, "empty port range '%s' (LOW must not exceed HIGH)", arg->text);
	} else if (op.dir) {
		return perr(ps, col, "internal: direction without a field");
	} else if (!strcmp(kw, "tcp") || !strcmp(kw, "udp")) {
		op.field = OFL_F_PROTO;
		op.lo = kw[0] == 't' ? 6 : 17;
		return emit(ps, &op, col);
	} else if (!strcmp(kw, "proto")) {
		op.field = OFL_F_PROTO;
		if (arg->type == T_WORD && (!strcmp(arg->text, "tcp") || !strcmp(arg->text, "udp")))
			op.lo = arg->text[0] == 't' ? 6 : 17;
		else if (parse_num(ps, arg, "protocol (tcp, udp or a number)", 0, 255, &op.lo))
			return -EINVAL;
	} else if (!strcmp(kw, "vlan")) {
		op.field = OFL_F_VLAN;
		if (parse_num(ps, arg, "VLAN id", 0, 4095, &op.lo))
			return -EINVAL;
	} else if (!strcmp(kw, "tos")) {
		op.field = OFL_F_TOS;
		if (parse_num(ps, arg, "TOS", 0, 255, &op.lo))
			return -EINVAL;
	} else if (!strcmp(kw, "dscp")) {
		op.field = OFL_F_DSCP;
		if (parse_num(ps, arg, "DSCP", 0, 63, &op.lo))
			return -EINVAL;
	} else if (!strcmp(kw, "mark")) {
		op.field = OFL_F_MARK;
		if (parse_num(ps, arg, "mark", 0, 0xffffffffUL, &op.lo))
			return -EINVAL;
	} else {
		ps->pos--;
		return perr(ps, col,
			    "unknown filter term '%s' (valid: host, net, port, portrange with optional src/dst; proto, "
			    "tcp, udp, vlan, tos, dscp, mark, all)", kw);
	}
	ps->pos++;
	return emit(ps, &op, col);
}

static int parse_unary(struct parser *ps)
{
	struct tok *t = peek(ps);
	struct ofl_op op = {};

	if (t->type == T_NOT) {
		ps->pos++;
		if (parse_unary(ps))
			return -EINVAL;
		op.code = OFL_OP_NOT;
		return emit(ps, &op, t->col);
	}
	if (t->type == T_LPAREN) {
		ps->pos++;
		if (parse_expr(ps))
			return -EINVAL;
		if (peek(ps)->type != T_RPAREN)
			return perr(ps, peek(ps)->col, "expected ')' to close the '(' at column %d, found %s", t->col,
				    tok_desc(peek(ps)));
		ps->pos++;
		return 0;
	}
	return parse_primitive(ps);
}

static int parse_expr(struct parser *ps)
{
	if (parse_unary(ps))
		return -EINVAL;
	for (;;) {
		struct tok *t = peek(ps);
		struct ofl_op op = {};

		if (t->type != T_AND && t->type != T_OR)
			return 0;
		ps->pos++;
		if (parse_unary(ps))
			return -EINVAL;
		op.code = t->type == T_AND ? OFL_OP_AND : OFL_OP_OR;
		if (emit(ps, &op, t->col))
			return -EINVAL;
	}
}

/* settings with no Linux equivalent: refused with the reason */
static const struct {
	const char *name;
	const char *why;
} no_linux[] = {
	{ "ddp", "direct data placement is done by a TOE; upstream Linux has no TOE" },
	{ "tls", "inline TLS is done by a TOE; upstream Linux has no TOE (kernel TLS is set up by the application)" },
	{ "coalesce", "receive coalescing per connection is done by a TOE; Linux has GRO per interface only" },
	{ "timestamp", "TCP timestamps cannot be set per connection on Linux (net.ipv4.tcp_timestamps is global)" },
	{ "tstamp", "TCP timestamps cannot be set per connection on Linux (net.ipv4.tcp_timestamps is global)" },
	{ "sack", "SACK cannot be set per connection on Linux (net.ipv4.tcp_sack is global)" },
	{ "txq", "Linux picks the TX queue per packet (XPS), not per connection" },
	{ "bind", "binding a connection to a TOE queue set has no Linux equivalent" },
};

static int parse_settings(struct parser *ps)
{
	struct ofl_rule *r = ps->rule;

	if (peek(ps)->type == T_END)
		return perr(ps, peek(ps)->col, "missing settings after '=>' (e.g. 'offload' or '!offload')");
	for (;;) {
		struct tok *t = peek(ps), *name;
		int neg = 0, col = t->col;
		__u32 bit = 0;

		if (t->type == T_NOT) {
			neg = 1;
			ps->pos++;
		}
		name = peek(ps);
		if (name->type != T_WORD)
			return perr(ps, name->col, "expected a setting, found %s", tok_desc(name));
		ps->pos++;
		for (size_t i = 0; i < sizeof(no_linux) / sizeof(no_linux[0]); i++)
			if (!strcmp(name->text, no_linux[i].name))
				return perr(ps, name->col, "setting '%s' has no Linux equivalent: %s", name->text,
					    no_linux[i].why);
		if (!strcmp(name->text, "offload")) {
			bit = OFL_S_OFFLOAD;
		} else if (!strcmp(name->text, "nagle")) {
			bit = OFL_S_NAGLE;
		} else if (!strcmp(name->text, "ecn")) {
			bit = OFL_S_ECN;
		} else if (!strcmp(name->text, "drop")) {
			bit = OFL_S_DROP;
		} else if (!strcmp(name->text, "cong")) {
			bit = OFL_S_CONG;
		} else if (!strcmp(name->text, "mss")) {
			bit = OFL_S_MSS;
		} else if (!strcmp(name->text, "class")) {
			bit = OFL_S_CLASS;
		} else if (!strcmp(name->text, "rxq")) {
			bit = OFL_S_RXQ;
		} else {
			return perr(ps, name->col,
				    "unknown setting '%s' (valid: offload, cong NAME, nagle, mss N, ecn, class N, rxq N, "
				    "drop; '!' negates offload, nagle, ecn)", name->text);
		}
		if (r->set & bit)
			return perr(ps, col, "setting '%s' given twice in one rule", name->text);
		if (neg && !(bit & (OFL_S_OFFLOAD | OFL_S_NAGLE | OFL_S_ECN)))
			return perr(ps, col, "setting '%s' cannot be negated", name->text);
		r->set |= bit;
		if (bit & (OFL_S_OFFLOAD | OFL_S_NAGLE | OFL_S_ECN | OFL_S_DROP)) {
			if (!neg)
				r->val |= bit;
		} else {
			struct tok *arg = peek(ps);

			if (bit == OFL_S_CONG) {
				if (arg->type != T_WORD)
					return perr(ps, arg->col, "'cong' needs a congestion control name, found %s",
						    tok_desc(arg));
				if (strlen(arg->text) >= OFL_CONG_MAX)
					return perr(ps, arg->col, "congestion control name '%s' too long (at most %d characters)",
						    arg->text, OFL_CONG_MAX - 1);
				for (const char *c = arg->text; *c; c++)
					if (!isalnum((unsigned char)*c) && *c != '_')
						return perr(ps, arg->col, "invalid congestion control name '%s'", arg->text);
				snprintf(r->cong, sizeof(r->cong), "%s", arg->text);
			} else if (bit == OFL_S_MSS) {
				if (parse_num(ps, arg, "mss", OFL_MSS_MIN, OFL_MSS_MAX, &r->mss))
					return -EINVAL;
			} else if (bit == OFL_S_CLASS) {
				if (parse_num(ps, arg, "class", 0, OFL_CLASS_MAX, &r->class_id))
					return -EINVAL;
			} else if (parse_num(ps, arg, "rxq", 0, OFL_RXQ_MAX, &r->rxq)) {
				return -EINVAL;
			}
			ps->pos++;
		}
		t = peek(ps);
		if (t->type == T_END)
			break;
		if (t->type != T_COMMA)
			return perr(ps, t->col, "expected ',' between settings, found %s", tok_desc(t));
		ps->pos++;
	}
	if ((r->set & OFL_S_DROP) && (r->val & OFL_S_OFFLOAD))
		return perr(ps, ps->toks[0].col, "'drop' and 'offload' contradict each other in one rule");
	return 0;
}

static int parse_line(struct parser *ps, const char *line)
{
	struct ofl_rule *r = ps->rule;
	struct tok *t;

	if (lex(ps, line))
		return -EINVAL;
	if (ps->ntoks == 0)
		return 1;	/* blank or comment */
	memset(r, 0, sizeof(*r));
	r->line = ps->line;
	r->socktypes = OFL_SOCK_D;
	t = peek(ps);
	if (t->type == T_WORD && strlen(t->text) == 1 && isupper((unsigned char)t->text[0])) {
		switch (t->text[0]) {
		case 'A': r->socktypes = OFL_SOCK_A; break;
		case 'P': r->socktypes = OFL_SOCK_P; break;
		case 'L': r->socktypes = OFL_SOCK_L; break;
		case 'D': r->socktypes = OFL_SOCK_D; break;
		default:
			return perr(ps, t->col, "unknown socket type '%s' (valid: A active, P passive, L listen, D any)",
				    t->text);
		}
		ps->pos++;
	}
	if (peek(ps)->type == T_ARROW)
		return perr(ps, peek(ps)->col, "missing filter before '=>' (use 'all' to match every connection)");
	if (parse_expr(ps))
		return -EINVAL;
	t = peek(ps);
	if (t->type == T_RPAREN)
		return perr(ps, t->col, "unbalanced ')'");
	if (t->type != T_ARROW)
		return perr(ps, t->col, t->type == T_END ? "missing '=>' and settings" :
			    "expected 'and', 'or' or '=>' after the filter, found %s", tok_desc(t));
	ps->pos++;
	return parse_settings(ps);
}

int cop__parse_buf(const char *path, const char *buf, size_t len, struct cop_policy *p, char *err, size_t errlen)
{
	struct parser ps = { .path = path, .err = err, .errlen = errlen };
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		char line[1024];
		struct ofl_rule rule;
		int ret;

		ps.line++;
		if (memchr(buf + off, '\0', n))
			return perr(&ps, 1, "NUL byte in policy file");
		if (n >= sizeof(line))
			return perr(&ps, (int)sizeof(line), "line too long (at most %zu characters)", sizeof(line) - 1);
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += n + 1;
		ps.rule = &rule;
		ret = parse_line(&ps, line);
		if (ret < 0)
			return ret;
		if (ret > 0)
			continue;
		if (p->nrules >= OFL_MAX_RULES)
			return perr(&ps, 1, "too many rules (at most %d)", OFL_MAX_RULES);
		p->rules[p->nrules++] = rule;
	}
	return 0;
}

int cop__parse_file(const char *path, struct cop_policy *p, char *err, size_t errlen)
{
	char *buf;
	long n;
	int ret;
	FILE *f = fopen(path, "re");

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = (long)fread(buf, 1, (1 << 20), f);
	fclose(f);
	if (n >= (1 << 20)) {
		free(buf);
		snprintf(err, errlen, "%s: file too large (at most 1 MiB)", path);
		return -EFBIG;
	}
	ret = cop__parse_buf(path, buf, (size_t)n, p, err, errlen);
	free(buf);
	return ret;
}

/* ---- printing ---- */

static void op_str(const struct ofl_op *op, char *buf, size_t len)
{
	const char *dir = op->dir == OFL_DIR_SRC ? "src " : op->dir == OFL_DIR_DST ? "dst " : "";
	char a[INET6_ADDRSTRLEN];
	int plen = 0;

	switch (op->field) {
	case OFL_F_HOST:
		inet_ntop(op->family == 4 ? AF_INET : AF_INET6, op->addr, a, sizeof(a));
		for (int i = 0; i < (op->family == 4 ? 1 : 4); i++)
			plen += __builtin_popcount(op->mask[i]);
		if (plen == (op->family == 4 ? 32 : 128))
			snprintf(buf, len, "%shost %s", dir, a);
		else
			snprintf(buf, len, "%snet %s/%d", dir, a, plen);
		break;
	case OFL_F_PORT:
		if (op->lo == op->hi)
			snprintf(buf, len, "%sport %u", dir, op->lo);
		else
			snprintf(buf, len, "%sportrange %u-%u", dir, op->lo, op->hi);
		break;
	case OFL_F_PROTO:
		snprintf(buf, len, "proto %s", op->lo == 6 ? "tcp" : op->lo == 17 ? "udp" : "");
		if (op->lo != 6 && op->lo != 17)
			snprintf(buf, len, "proto %u", op->lo);
		break;
	case OFL_F_VLAN: snprintf(buf, len, "vlan %u", op->lo); break;
	case OFL_F_TOS: snprintf(buf, len, "tos 0x%02x", op->lo); break;
	case OFL_F_DSCP: snprintf(buf, len, "dscp %u", op->lo); break;
	case OFL_F_MARK: snprintf(buf, len, "mark %u", op->lo); break;
	default: snprintf(buf, len, "?"); break;
	}
}

void cop__filter_str(const struct ofl_rule *r, char *buf, size_t len)
{
	char stack[OFL_MAX_OPS][512];
	int sp = 0;

	for (__u32 i = 0; i < r->nops && i < OFL_MAX_OPS; i++) {
		const struct ofl_op *op = &r->ops[i];
		char tmp[512];

		if (op->code == OFL_OP_TRUE) {
			snprintf(stack[sp++], sizeof(stack[0]), "all");
		} else if (op->code == OFL_OP_PRED) {
			op_str(op, stack[sp++], sizeof(stack[0]));
		} else if (op->code == OFL_OP_NOT && sp >= 1) {
			snprintf(tmp, sizeof(tmp), "not %s", stack[sp - 1]);
			snprintf(stack[sp - 1], sizeof(stack[0]), "%s", tmp);
		} else if (sp >= 2) {
			snprintf(tmp, sizeof(tmp), "(%s %s %s)", stack[sp - 2], op->code == OFL_OP_AND ? "and" : "or",
				 stack[sp - 1]);
			sp--;
			snprintf(stack[sp - 1], sizeof(stack[0]), "%s", tmp);
		}
	}
	snprintf(buf, len, "%s", sp == 1 ? stack[0] : "?");
}

void cop__settings_str(const struct ofl_rule *r, char *buf, size_t len)
{
	size_t off = 0;

#define ADD(...) (off += snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__))
	buf[0] = '\0';
	if (r->set & OFL_S_DROP)
		ADD("drop");
	if (r->set & OFL_S_OFFLOAD)
		ADD("%s%soffload", off ? ", " : "", r->val & OFL_S_OFFLOAD ? "" : "!");
	if (r->set & OFL_S_CONG)
		ADD("%scong %s", off ? ", " : "", r->cong);
	if (r->set & OFL_S_NAGLE)
		ADD("%s%snagle", off ? ", " : "", r->val & OFL_S_NAGLE ? "" : "!");
	if (r->set & OFL_S_MSS)
		ADD("%smss %u", off ? ", " : "", r->mss);
	if (r->set & OFL_S_ECN)
		ADD("%s%secn", off ? ", " : "", r->val & OFL_S_ECN ? "" : "!");
	if (r->set & OFL_S_CLASS)
		ADD("%sclass %u", off ? ", " : "", r->class_id);
	if (r->set & OFL_S_RXQ)
		ADD("%srxq %u", off ? ", " : "", r->rxq);
#undef ADD
}

void cop__rule_str(const struct ofl_rule *r, char *buf, size_t len)
{
	char f[1024], s[256];
	const char *type = r->socktypes == OFL_SOCK_A ? "A" : r->socktypes == OFL_SOCK_P ? "P" :
			   r->socktypes == OFL_SOCK_L ? "L" : "D";

	cop__filter_str(r, f, sizeof(f));
	cop__settings_str(r, s, sizeof(s));
	snprintf(buf, len, "%s %s => %s", type, f, s);
}

int cop__offloads(const struct ofl_rule *r)
{
	if (r->set & OFL_S_DROP)
		return 0;
	return !(r->set & OFL_S_OFFLOAD) || (r->val & OFL_S_OFFLOAD);
}
