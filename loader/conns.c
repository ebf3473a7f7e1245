// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live connections and their per-connection data, read with a bpf_iter over
 * each module's sk_storage map: nothing is counted on the packet path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "daemon.h"
#include "log.h"
#include <khelp/platform.h>
#include "khelp_iter.skel.h"

static const char *const tcp_states[] = {
	"?", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
	"CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "NEW-SYN-RECV",
};

typedef int (*rec_fn)(void *ctx, const struct khelp_conn_rec *r, const void *data);

/* Run the module's dump_bin iterator; call fn per record. Returns records seen or -errno. */
static int module__iterate(struct module *m, rec_fn fn, void *ctx)
{
	union bpf_iter_link_info linfo = { .map.map_fd = m->data_fd };
	LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &linfo, .link_info_len = sizeof(linfo));
	size_t cap = 1 << 16, len = 0;
	struct bpf_link *l;
	char *buf;
	int fd, count = 0;
	ssize_t n;

	if (!m->iter || m->data_fd < 0)
		return 0;
	l = bpf_program__attach_iter(m->iter->progs.dump_bin, &o);
	if (!l)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(l));
	if (fd < 0) {
		bpf_link__destroy(l);
		return -errno;
	}
	buf = malloc(cap);
	while (buf) {
		if (len == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	bpf_link__destroy(l);
	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; off + sizeof(struct khelp_conn_rec) <= len;) {
		const struct khelp_conn_rec *r = (const void *)(buf + off);

		if (off + sizeof(*r) + r->data_len > len)
			break;
		if (fn && fn(ctx, r, buf + off + sizeof(*r)))
			break;
		count++;
		off += sizeof(*r) + r->data_len;
	}
	free(buf);
	return count;
}

int conns__count(struct daemon *d, struct module *m)
{
	(void)d;
	return module__iterate(m, NULL, NULL);
}

static void addr__format(const struct khelp_conn_rec *r, const __u8 *a, __u16 port, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (r->family == AF_INET) {
		inet_ntop(AF_INET, a, ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, port);
	} else {
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
		snprintf(out, size, "[%s]:%u", ip, port);
	}
}

struct dump_ctx {
	struct daemon *d;
	struct module *m;
	const char *container;
	json_object *rows;
};

static json_object *row__find(json_object *rows, __u64 cookie)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *row = json_object_array_get_idx(rows, i), *c;

		if (json_object_object_get_ex(row, "cookie", &c) && (__u64)json_object_get_uint64(c) == cookie)
			return row;
	}
	return NULL;
}

static json_object *data__json(const struct module *m, const void *data, __u32 len)
{
	json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < m->nfields; i++) {
		const struct data_field *f = &m->fields[i];
		__u64 u = 0;

		if (f->offset + f->size > len)
			continue;
		memcpy(&u, (const char *)data + f->offset, f->size);
		if (f->is_signed && f->size < 8 && (u >> (f->size * 8 - 1)) & 1)
			u |= ~0ULL << (f->size * 8);
		json_object_object_add(o, f->name, f->is_signed ? json_object_new_int64((__s64)u)
								 : json_object_new_uint64(u));
	}
	return o;
}

static int dump__one(void *vctx, const struct khelp_conn_rec *r, const void *data)
{
	struct dump_ctx *ctx = vctx;
	struct container *c = container__by_cgroup_id(ctx->d, r->hdr.container_id);
	const char *cname = c ? c->name : "";
	json_object *row, *mods;
	char addr[80];

	if (ctx->container && strcmp(ctx->container, cname))
		return 0;
	row = row__find(ctx->rows, r->cookie);
	if (!row) {
		row = json_object_new_object();
		json_object_object_add(row, "cookie", json_object_new_uint64(r->cookie));
		addr__format(r, r->saddr, r->sport, addr, sizeof(addr));
		json_object_object_add(row, "local", json_object_new_string(addr));
		addr__format(r, r->daddr, r->dport, addr, sizeof(addr));
		json_object_object_add(row, "remote", json_object_new_string(addr));
		json_object_object_add(row, "state",
				       json_object_new_string(r->state < sizeof(tcp_states) / sizeof(tcp_states[0])
							      ? tcp_states[r->state] : "?"));
		json_object_object_add(row, "container", c ? json_object_new_string(cname) : NULL);
		json_object_object_add(row, "container_id", json_object_new_uint64(r->hdr.container_id));
		json_object_object_add(row, "modules", json_object_new_object());
		json_object_array_add(ctx->rows, row);
	}
	json_object_object_get_ex(row, "modules", &mods);
	json_object_object_add(mods, ctx->m->meta.desc.name, data__json(ctx->m, data, r->data_len));
	return 0;
}

int conns__dump(struct daemon *d, const char *container, const char *module, json_object *rows)
{
	int found = !module;

	for (struct module *m = d->modules; m; m = m->next) {
		struct dump_ctx ctx = { .d = d, .m = m, .container = container, .rows = rows };
		int n;

		if ((m->state != MOD_ACTIVE && m->state != MOD_DRAINING) || m->data_fd < 0)
			continue;
		if (module && strcmp(module, m->meta.desc.name))
			continue;
		found = 1;
		n = module__iterate(m, dump__one, &ctx);
		if (n < 0)
			pr_warn("module %s: cannot read its connections: %s\n", m->meta.desc.name, strerror(-n));
	}
	return found ? 0 : -ENOENT;
}
