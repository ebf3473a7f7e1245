// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which congestion control each live connection uses (iter/tcp, in every
 * network namespace: a tcp iterator sees the namespace it was created in),
 * and moving connections off a CC before it unloads (--migrate).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <khelp/platform.h>
#include "ccusers.h"
#include "log.h"
#include "netns.h"
#include "khelp_tcp.skel.h"

static struct khelp_tcp *skel;

static int ccusers__load(void)
{
	if (skel)
		return 0;
	skel = khelp_tcp__open_and_load();
	return skel ? 0 : (errno ? -errno : -EINVAL);
}

typedef void (*cc_rec_fn)(void *ctx, const struct khelp_cc_rec *r);

/* Run iterator prog in every network namespace, calling fn per record; records or -errno. */
static int tcp__iterate(struct bpf_program *prog, cc_rec_fn fn, void *ctx)
{
	struct bpf_link *link;
	int *fds, n, total = 0, ret = 0;

	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return -errno;
	n = netns__all(&fds);
	if (n < 0) {
		bpf_link__destroy(link);
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct khelp_cc_rec r;
		ssize_t len;
		int it;

		if (ret || netns__enter(fds[i])) {
			close(fds[i]);
			continue;	/* the namespace went away: nothing to count there */
		}
		it = bpf_iter_create(bpf_link__fd(link));
		if (it < 0)
			ret = -errno;
		netns__leave();
		close(fds[i]);
		if (it < 0)
			continue;
		while ((len = read(it, &r, sizeof(r))) == sizeof(r)) {
			fn(ctx, &r);
			total++;
		}
		if (len < 0)
			ret = -errno;
		close(it);
	}
	free(fds);
	bpf_link__destroy(link);
	return ret ? ret : total;
}

struct count_ctx {
	const char *name;
	int count;
	json_object *names;	/* name -> count, when counting all */
};

static void count__one(void *vctx, const struct khelp_cc_rec *r)
{
	struct count_ctx *c = vctx;
	json_object *v;

	if (r->state == KHELP_TCP_LISTEN)
		return;
	if (c->name && !strcmp(c->name, r->cc))
		c->count++;
	if (c->names) {
		int cur = json_object_object_get_ex(c->names, r->cc, &v) ? json_object_get_int(v) : 0;

		json_object_object_add(c->names, r->cc, json_object_new_int(cur + 1));
	}
}

static int tcp__count(const char *name, json_object *names)
{
	struct count_ctx ctx = { .name = name, .names = names };
	int ret = ccusers__load();

	if (ret)
		return ret;
	ret = tcp__iterate(skel->progs.cc_dump, count__one, &ctx);
	return ret < 0 ? ret : ctx.count;
}

int ccusers__count(const char *name)
{
	return tcp__count(name, NULL);
}

int ccusers__counts(json_object *names)
{
	int ret = tcp__count(NULL, names);

	return ret < 0 ? ret : 0;
}

struct migrate_ctx {
	int moved, failed;
	char firsterr[128];
};

static void migrate__one(void *vctx, const struct khelp_cc_rec *r)
{
	struct migrate_ctx *m = vctx;

	if (!r->migrated) {
		m->moved++;
	} else {
		if (!m->failed)
			snprintf(m->firsterr, sizeof(m->firsterr), "port %u: %s", r->sport, strerror(-r->migrated));
		m->failed++;
	}
}

static void targets__clear(int map)
{
	__u64 key, next;

	while (!bpf_map_get_next_key(map, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(map, &key))
			break;
	}
}

int ccusers__migrate(const char *from, const char *fallback, const struct ccusers_target *targets, size_t n,
		     int *moved, char *err, size_t errlen)
{
	struct migrate_ctx m = {};
	int ret = ccusers__load(), map;

	if (ret) {
		snprintf(err, errlen, "cannot load the migration iterator: %s", strerror(-ret));
		return ret;
	}
	map = bpf_map__fd(skel->maps.cc_target);
	targets__clear(map);
	for (size_t i = 0; i < n; i++) {
		char name[KHELP_NAME_MAX] = "";

		snprintf(name, sizeof(name), "%s", targets[i].cc);
		if (bpf_map_update_elem(map, &targets[i].cgroup_id, name, BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "cannot set the migration target of cgroup %llu: %s",
				 (unsigned long long)targets[i].cgroup_id, strerror(-ret));
			targets__clear(map);
			return ret;
		}
	}
	memset((char *)skel->bss->migrate_from, 0, KHELP_NAME_MAX);
	memset((char *)skel->bss->migrate_fallback, 0, KHELP_NAME_MAX);
	memcpy((char *)skel->bss->migrate_from, from, strnlen(from, KHELP_NAME_MAX - 1));
	memcpy((char *)skel->bss->migrate_fallback, fallback, strnlen(fallback, KHELP_NAME_MAX - 1));
	ret = tcp__iterate(skel->progs.cc_migrate, migrate__one, &m);
	memset((char *)skel->bss->migrate_from, 0, KHELP_NAME_MAX);
	targets__clear(map);
	if (ret < 0) {
		snprintf(err, errlen, "cannot walk TCP sockets: %s", strerror(-ret));
		return ret;
	}
	*moved = m.moved;
	if (m.failed) {
		snprintf(err, errlen, "%d connection%s could not move off %s (%s)", m.failed, m.failed == 1 ? "" : "s",
			 from, m.firsterr);
		return -EBUSY;
	}
	pr_info("migrated %d connection%s off %s\n", m.moved, m.moved == 1 ? "" : "s", from);
	return 0;
}

void ccusers__free(void)
{
	if (skel)
		khelp_tcp__destroy(skel);
	skel = NULL;
}
