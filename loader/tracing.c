// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tcp_est_in entry of a module (tp_btf/tcp_probe, "<module>_in", made by
 * KHELP_MODULE) runs for every segment of every TCP socket on the host, so
 * it is attached only while at least one container uses the module, and
 * detached when the last one stops. Its link is pinned at
 * modules/<module>/est_in: it keeps running while khelpd is down, and the
 * next khelpd replaces it with its own program (a tracing link cannot be
 * updated in place). tracing__sync() makes the attachments match the
 * containers; khelpd calls it after every event it handles.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "containers.h"
#include "log.h"
#include "module.h"
#include "pins.h"
#include "tracing.h"

#define EST_IN_PIN	"est_in"

static void tracing__release(struct module *m)
{
	if (m->in_link_fd >= 0)
		close(m->in_link_fd);
	m->in_link_fd = -1;
}

static int module__used(struct daemon *d, const struct module *m)
{
	for (const struct container *c = d->containers; c; c = c->next)
		if (container__uses(c, m))
			return 1;
	return 0;
}

/* Another loaded version of m's module holds the attachment. */
static int module__other_linked(const struct daemon *d, const struct module *m)
{
	for (const struct module *o = d->modules; o; o = o->next)
		if (o != m && o->in_link_fd >= 0 && !strcmp(o->meta.desc.name, m->meta.desc.name))
			return 1;
	return 0;
}

static __u32 link__id(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_link_get_info_by_fd(fd, &info, &len) ? info.id : 0;
}

static void est_in__path(const struct daemon *d, const struct module *m, char *out, size_t size)
{
	pins__path(out, size, d->cfg.bpffs, "modules", m->meta.desc.name, EST_IN_PIN);
}

/* Attach m's tcp_est_in entry and pin it (replacing an earlier khelpd's). */
static int est_in__attach(struct daemon *d, struct module *m)
{
	char path[PATH_MAX];
	int fd, ret;

	fd = bpf_link_create(m->in_prog_fd, 0, BPF_TRACE_RAW_TP, NULL);
	if (fd < 0) {
		ret = -errno;
		pr_warn("module %s: cannot attach its tcp_est_in entry to tp_btf/tcp_probe: %s\n",
			m->meta.desc.name, strerror(-ret));
		return ret;
	}
	est_in__path(d, m, path, sizeof(path));
	ret = pins__replace_fd(fd, path);
	if (ret)
		pr_warn("module %s: cannot pin %s: %s\n", m->meta.desc.name, path, strerror(-ret));
	m->in_link_fd = fd;
	pr_debug("module %s: tcp_est_in attached (tp_btf/tcp_probe)\n", m->meta.desc.name);
	return 0;
}

/* Detach it: the pin goes too, unless it is another module version's link. */
static void est_in__detach(struct daemon *d, struct module *m)
{
	char path[PATH_MAX];
	int pinned;

	est_in__path(d, m, path, sizeof(path));
	pinned = bpf_obj_get(path);
	if (pinned >= 0 && (m->in_link_fd < 0 || link__id(pinned) == link__id(m->in_link_fd)) &&
	    unlink(path) && errno != ENOENT) {
		/* the pin keeps the link running on every segment: keep ours and try again next turn */
		pr_warn("module %s: cannot remove %s, tcp_est_in stays attached: %s\n",
			m->meta.desc.name, path, strerror(errno));
		close(pinned);
		return;
	}
	if (pinned >= 0)
		close(pinned);
	tracing__release(m);
	pr_debug("module %s: tcp_est_in detached\n", m->meta.desc.name);
}

void tracing__sync(struct daemon *d)
{
	char path[PATH_MAX];

	for (struct module *m = d->modules; m; m = m->next) {
		int used;

		if (m->in_prog_fd < 0)
			continue;
		used = module__is_live(m) && module__used(d, m);
		if (used && m->in_link_fd < 0) {
			est_in__attach(d, m);
		} else if (!used && m->in_link_fd >= 0) {
			est_in__detach(d, m);
		} else if (!used) {
			/* an earlier khelpd's link for a module nobody uses now */
			est_in__path(d, m, path, sizeof(path));
			if (!access(path, F_OK) && m->state == MOD_ACTIVE && !module__other_linked(d, m))
				est_in__detach(d, m);
		}
	}
}

