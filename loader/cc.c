// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Congestion control: a container's default CC (the khelp_ccsel program on
 * its cgroup), which CC each live connection uses (iter/tcp, in every
 * network namespace: a tcp iterator sees the namespace it was created in),
 * and moving connections off a CC before it unloads (--migrate).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <khelp/platform.h>
#include "daemon.h"
#include "log.h"
#include "khelp_ccsel.skel.h"
#include "khelp_tcp.skel.h"

#define MAX_NETNS	1024
#define SYSCTL_AVAILABLE "/proc/sys/net/ipv4/tcp_available_congestion_control"
#define SYSCTL_ALLOWED	"/proc/sys/net/ipv4/tcp_allowed_congestion_control"
#define SYSCTL_DEFAULT	"/proc/sys/net/ipv4/tcp_congestion_control"

static struct khelp_ccsel *ccsel;

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, size, f))
		ret = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

static int write_line(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(s, f) < 0 || fclose(f))
		ret = -EIO;
	return ret;
}

int cc__system_default(char *out, size_t size)
{
	return read_line(SYSCTL_DEFAULT, out, size);
}

/* Our CCs must be selectable from inside a container's netns: add to the allowed list. */
void cc__allow(const char *name, int allow)
{
	char buf[1024], next[1024] = "", *save = NULL;
	int present = 0;

	if (read_line(SYSCTL_ALLOWED, buf, sizeof(buf)))
		return;
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (!strcmp(t, name)) {
			present = 1;
			if (!allow)
				continue;
		}
		snprintf(next + strlen(next), sizeof(next) - strlen(next), "%s%s", next[0] ? " " : "", t);
	}
	if (allow && !present)
		snprintf(next + strlen(next), sizeof(next) - strlen(next), "%s%s", next[0] ? " " : "", name);
	if ((allow && !present) || (!allow && present))
		if (write_line(SYSCTL_ALLOWED, next))
			pr_warn("cannot update %s: %s\n", SYSCTL_ALLOWED, strerror(errno));
}

static int ccsel__load(struct daemon *d)
{
	char pin[PATH_MAX];

	if (ccsel)
		return 0;
	ccsel = khelp_ccsel__open();
	if (!ccsel)
		return -errno;
	/* the per-container config outlives khelpd with the pinned links that use it */
	pins__path(pin, sizeof(pin), d->cfg.bpffs, "ccsel_cfg", NULL, NULL);
	bpf_map__set_pin_path(ccsel->maps.ccsel_cfg, pin);
	if (khelp_ccsel__load(ccsel)) {
		int e = -errno;

		khelp_ccsel__destroy(ccsel);
		ccsel = NULL;
		return e;
	}
	return 0;
}

/* Set (name non-empty) or clear the default CC of container c; 0 or -errno with err. */
int cc__container_default(struct daemon *d, struct container *c, const char *name, char *err, size_t errlen)
{
	struct bpf_cgroup_storage_key key = { .cgroup_inode_id = c->cgroup_id,
					      .attach_type = BPF_CGROUP_SOCK_OPS };
	struct khelp_ccsel_cfg cfg = { .ready = 1 };
	char pin[PATH_MAX];
	int ret, cgfd;

	pins__path(pin, sizeof(pin), d->cfg.bpffs, "containers", c->name, "congestion");
	if (!name || !name[0]) {
		if (c->ccsel_fd >= 0)
			close(c->ccsel_fd);
		c->ccsel_fd = -1;
		unlink(pin);
		return 0;
	}
	ret = ccsel__load(d);
	if (ret) {
		snprintf(err, errlen, "cannot load the congestion selector: %s", strerror(-ret));
		return ret;
	}
	if (c->ccsel_fd < 0) {
		int fd = bpf_obj_get(pin);
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		if (fd >= 0 && (bpf_link_get_info_by_fd(fd, &info, &len) || info.cgroup.cgroup_id != c->cgroup_id ||
				bpf_link_update(fd, bpf_program__fd(ccsel->progs.khelp_ccsel), NULL))) {
			close(fd);
			unlink(pin);
			fd = -1;
		}
		if (fd < 0) {
			cgfd = open(c->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			fd = cgfd < 0 ? -1 : bpf_link_create(bpf_program__fd(ccsel->progs.khelp_ccsel), cgfd,
							     BPF_CGROUP_SOCK_OPS, NULL);
			ret = -errno;
			if (cgfd >= 0)
				close(cgfd);
			if (fd < 0) {
				snprintf(err, errlen, "cannot attach the congestion selector to %s: %s", c->cgroup_path,
					 strerror(-ret));
				return ret;
			}
		}
		c->ccsel_fd = fd;
		pins__replace_fd(fd, pin);
	}
	snprintf(cfg.cc, sizeof(cfg.cc), "%s", name);
	cc__system_default(cfg.sys_default, sizeof(cfg.sys_default));
	if (bpf_map_update_elem(bpf_map__fd(ccsel->maps.ccsel_cfg), &key, &cfg, BPF_ANY)) {
		snprintf(err, errlen, "cannot set the default congestion control of %s: %s", c->name, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Every network namespace with processes or a /run/netns name: open fds, deduplicated. */
static int netns__all(int *fds, int max)
{
	ino_t seen[MAX_NETNS];
	int n = 0;
	const char *dirs[] = { "/proc", "/run/netns" };

	for (size_t k = 0; k < 2; k++) {
		DIR *dir = opendir(dirs[k]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir)) && n < max) {
			char path[PATH_MAX];
			struct stat st;
			int dup = 0, fd;

			if (k == 0 && (e->d_name[0] < '0' || e->d_name[0] > '9'))
				continue;
			if (k == 1 && e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), k == 0 ? "/proc/%s/ns/net" : "/run/netns/%s", e->d_name);
			if (stat(path, &st))
				continue;
			for (int i = 0; i < n; i++)
				dup |= seen[i] == st.st_ino;
			if (dup)
				continue;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			seen[n] = st.st_ino;
			fds[n++] = fd;
		}
		closedir(dir);
	}
	return n;
}

typedef void (*cc_rec_fn)(void *ctx, const struct khelp_cc_rec *r);

/* Run iterator prog in every network namespace, calling fn per record. */
static int tcp__iterate(struct bpf_program *prog, cc_rec_fn fn, void *ctx)
{
	int fds[MAX_NETNS], n, self, total = 0;
	struct bpf_link *link;

	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return -errno;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	n = netns__all(fds, MAX_NETNS);
	for (int i = 0; i < n; i++) {
		struct khelp_cc_rec r;
		int it;

		if (setns(fds[i], CLONE_NEWNET)) {
			close(fds[i]);
			continue;
		}
		it = bpf_iter_create(bpf_link__fd(link));
		setns(self, CLONE_NEWNET);
		close(fds[i]);
		if (it < 0)
			continue;
		while (read(it, &r, sizeof(r)) == sizeof(r)) {
			fn(ctx, &r);
			total++;
		}
		close(it);
	}
	close(self);
	bpf_link__destroy(link);
	return total;
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
	struct khelp_tcp *skel = khelp_tcp__open_and_load();
	int ret;

	if (!skel)
		return -errno;
	ret = tcp__iterate(skel->progs.cc_dump, count__one, &ctx);
	khelp_tcp__destroy(skel);
	return ret < 0 ? ret : ctx.count;
}

int cc__connections(const char *name)
{
	return tcp__count(name, NULL);
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

/* Move live connections off CC `from` to their container's default (or the system default). */
int cc__migrate(struct daemon *d, const char *from, int *moved, char *err, size_t errlen)
{
	struct migrate_ctx m = {};
	struct khelp_tcp *skel;
	char fallback[KHELP_NAME_MAX] = "";
	int ret;

	cc__system_default(fallback, sizeof(fallback));
	if (!strcmp(fallback, from)) {
		snprintf(err, errlen, "%s is the system default congestion control: nothing to migrate to", from);
		return -EBUSY;
	}
	skel = khelp_tcp__open();
	if (!skel)
		return -errno;
	memcpy((char *)skel->rodata->migrate_from, from, strnlen(from, KHELP_NAME_MAX - 1));
	memcpy((char *)skel->rodata->migrate_fallback, fallback, strnlen(fallback, KHELP_NAME_MAX - 1));
	if (khelp_tcp__load(skel)) {
		ret = -errno;
		khelp_tcp__destroy(skel);
		snprintf(err, errlen, "cannot load the migration iterator: %s", strerror(-ret));
		return ret;
	}
	for (struct container *c = d->containers; c; c = c->next) {
		char name[KHELP_NAME_MAX] = "";

		if (c->state != CT_ACTIVE || !c->pol.congestion[0] || !strcmp(c->pol.congestion, from))
			continue;
		snprintf(name, sizeof(name), "%s", c->pol.congestion);
		bpf_map_update_elem(bpf_map__fd(skel->maps.cc_target), &c->cgroup_id, name, BPF_ANY);
	}
	ret = tcp__iterate(skel->progs.cc_migrate, migrate__one, &m);
	khelp_tcp__destroy(skel);
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

/* cc list: every CC the kernel offers, ours marked, where it is a default, how many use it. */
json_object *cc__list(struct daemon *d)
{
	json_object *rows = json_object_new_array(), *counts = json_object_new_object(), *v;
	char avail[1024] = "", def[KHELP_NAME_MAX] = "", *save = NULL;

	read_line(SYSCTL_AVAILABLE, avail, sizeof(avail));
	cc__system_default(def, sizeof(def));
	tcp__count(NULL, counts);
	for (char *t = strtok_r(avail, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		json_object *row = json_object_new_object(), *in = json_object_new_array();
		struct module *m = registry__find(d, t);

		json_object_object_add(row, "name", json_object_new_string(t));
		json_object_object_add(row, "module", m ? json_object_new_string(m->file) : NULL);
		json_object_object_add(row, "version", m ? json_object_new_string(m->meta.desc.version) : NULL);
		json_object_object_add(row, "system_default", json_object_new_boolean(!strcmp(t, def)));
		for (struct container *c = d->containers; c; c = c->next)
			if (c->state == CT_ACTIVE && !strcmp(c->pol.congestion, t))
				json_object_array_add(in, json_object_new_string(c->name));
		json_object_object_add(row, "default_in", in);
		json_object_object_add(row, "connections",
				       json_object_new_int(json_object_object_get_ex(counts, t, &v) ? json_object_get_int(v) : 0));
		json_object_array_add(rows, row);
	}
	json_object_put(counts);
	return rows;
}

void cc__free(void)
{
	if (ccsel)
		khelp_ccsel__destroy(ccsel);
	ccsel = NULL;
}
