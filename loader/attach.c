// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attachments of modules to one container's cgroup. Links are pinned under
 * bpffs/containers/<container>/<module> so they outlive khelpd; a new
 * khelpd takes them over instead of attaching twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <khelp/platform.h>
#include "attach.h"
#include "kops.h"
#include "log.h"
#include "pins.h"
#include "sysctl.h"
#include "khelp_ccsel.skel.h"

static struct khelp_ccsel *ccsel;

void attach__cfg_fill(const struct att_target *t, const struct policy *p, const struct attachment *a,
		      struct khelp_cgrp_cfg *cfg)
{
	const struct module *m = a->m;

	memset(cfg, 0, sizeof(*cfg));
	cfg->container_id = t->cgroup_id;
	cfg->netns_cookie = t->netns_cookie;
	cfg->ready = 1;
	cfg->nest = a->nest;
	cfg->nest_gen = a->nest_gen;
	for (unsigned int i = 0; i < m->meta.desc.nparams; i++) {
		const struct khelp_param_desc *pd = &m->meta.params[i];
		int k = policy__find_param(p, m->meta.desc.name, pd->name);

		cfg->params[pd->index] = k >= 0 ? p->params[k].parsed : pd->def;
	}
}

int attach__cfg_write(const struct att_target *t, const struct module *m, const struct khelp_cgrp_cfg *cfg,
		      char *err, size_t errlen)
{
	int e;

	if (m->cgrp_fd >= 0) {
		struct bpf_cgroup_storage_key key = { .cgroup_inode_id = t->cgroup_id,
						      .attach_type = BPF_CGROUP_SOCK_OPS };

		if (kops.map_update_elem(m->cgrp_fd, &key, cfg, BPF_EXIST)) {
			e = errno;
			snprintf(err, errlen, "cannot write %s's config for container %s: %s", m->meta.desc.name,
				 t->name, strerror(e));
			return -e;
		}
	}
	if (m->ccfg_fd >= 0 && kops.map_update_elem(m->ccfg_fd, &t->cgroup_id, cfg, BPF_ANY)) {
		e = errno;
		snprintf(err, errlen, "cannot write %s's config for container %s: %s%s", m->meta.desc.name, t->name,
			 strerror(e), e == E2BIG ? " (its khelp_ccfg map is full: one entry per container)" : "");
		return -e;
	}
	return 0;
}

static int att__pin_path(const char *bpffs, const struct att_target *t, const char *what, char *out,
			 size_t size)
{
	return pins__path(out, size, bpffs, "containers", t->name, what);
}

/* Pin fd at containers/<t>/<what>, replacing what was there; 0 or -errno. */
static int att__pin(const char *bpffs, const struct att_target *t, const char *what, int fd)
{
	char path[PATH_MAX];
	int ret = att__pin_path(bpffs, t, what, path, sizeof(path));

	return ret ? ret : pins__replace_fd(fd, path);
}

static void att__unpin(const char *bpffs, const struct att_target *t, const char *what)
{
	char path[PATH_MAX];

	if (!att__pin_path(bpffs, t, what, path, sizeof(path)) && unlink(path) && errno != ENOENT)
		pr_warn("cannot remove %s: %s\n", path, strerror(errno));
}

/* The link pinned at path if it is a cgroup link on t's cgroup, else -1. Never removes the pin. */
static int link__adopt(const char *path, const struct att_target *t, int prog_fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = kops.obj_get(path);

	if (fd < 0)
		return -1;
	/*
	 * A pin on another cgroup may be the link still in force while the
	 * container moves: leave it, the commit replaces it.
	 */
	if (kops.link_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_CGROUP ||
	    info.cgroup.cgroup_id != t->cgroup_id || kops.link_update(fd, prog_fd, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

int attach__link(const char *bpffs, const struct att_target *t, const struct module *m, int cgfd, int *fd,
		 char *err, size_t errlen)
{
	char path[PATH_MAX];
	int e;

	*fd = -1;
	if (m->prog_fd < 0)
		return 0;	/* a CC: nothing to link on the cgroup */
	if (!att__pin_path(bpffs, t, m->meta.desc.name, path, sizeof(path)) &&
	    (*fd = link__adopt(path, t, m->prog_fd)) >= 0) {
		pr_debug("container %s: adopted the pinned link of %s\n", t->name, m->meta.desc.name);
		return 0;
	}
	*fd = kops.link_create(m->prog_fd, cgfd, BPF_CGROUP_SOCK_OPS, NULL);
	if (*fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot attach %s to cgroup %s: %s", m->meta.desc.name, t->cgroup_path,
			 strerror(e));
		*fd = -1;
		return -e;
	}
	return 0;
}

int attach__pin(const char *bpffs, const struct att_target *t, const struct attachment *a)
{
	return a->link_fd < 0 ? 0 : att__pin(bpffs, t, a->m->meta.desc.name, a->link_fd);
}

void attach__forget(const struct att_target *t, const struct attachment *a)
{
	module__event(a->m, KHELP_EV_CONTAINER_DESTROY, t->cgroup_id, t->name);
	if (a->m->ccfg_fd >= 0 && kops.map_delete_elem(a->m->ccfg_fd, &t->cgroup_id) && errno != ENOENT)
		pr_warn("module %s: cannot remove the config of container %s: %s\n", a->m->meta.desc.name, t->name,
			strerror(errno));
}

void attach__release(const char *bpffs, const struct att_target *t, const struct attachment *a, int unpin)
{
	if (unpin) {
		attach__forget(t, a);
		if (a->link_fd >= 0)
			att__unpin(bpffs, t, a->m->meta.desc.name);
	}
	if (a->link_fd >= 0)
		close(a->link_fd);
}

void attach__unpin(const char *bpffs, const struct att_target *t, const struct module *m)
{
	att__unpin(bpffs, t, m->meta.desc.name);
}

static int ccsel__load(const char *bpffs)
{
	char pin[PATH_MAX];
	int e;

	if (ccsel)
		return 0;
	ccsel = khelp_ccsel__open();
	if (!ccsel)
		return -errno;
	/* the per-container config outlives khelpd with the pinned links that use it */
	if (pins__path(pin, sizeof(pin), bpffs, "ccsel_cfg", NULL, NULL) ||
	    bpf_map__set_pin_path(ccsel->maps.ccsel_cfg, pin) || khelp_ccsel__load(ccsel)) {
		e = errno ? -errno : -EINVAL;
		khelp_ccsel__destroy(ccsel);
		ccsel = NULL;
		return e;
	}
	return 0;
}

int attach__ccsel_link(const char *bpffs, const struct att_target *t, int *fd, char *err, size_t errlen)
{
	char pin[PATH_MAX];
	int ret, cgfd, prog;

	*fd = -1;
	ret = ccsel__load(bpffs);
	if (ret) {
		snprintf(err, errlen, "cannot load the congestion selector: %s", strerror(-ret));
		return ret;
	}
	prog = bpf_program__fd(ccsel->progs.khelp_ccsel);
	if (!att__pin_path(bpffs, t, ATT_CCSEL_PIN, pin, sizeof(pin)) && (*fd = link__adopt(pin, t, prog)) >= 0)
		return 0;
	cgfd = open(t->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
	} else {
		*fd = kops.link_create(prog, cgfd, BPF_CGROUP_SOCK_OPS, NULL);
		ret = *fd < 0 ? -errno : 0;
		close(cgfd);
	}
	if (ret) {
		*fd = -1;
		snprintf(err, errlen, "cannot attach the congestion selector to %s: %s", t->cgroup_path,
			 strerror(-ret));
	}
	return ret;
}

int attach__ccsel_set(const struct att_target *t, const char *name, char *err, size_t errlen)
{
	struct bpf_cgroup_storage_key key = { .cgroup_inode_id = t->cgroup_id,
					      .attach_type = BPF_CGROUP_SOCK_OPS };
	struct khelp_ccsel_cfg cfg = { .ready = 1 };
	int e;

	if (!ccsel) {
		snprintf(err, errlen, "the congestion selector is not loaded");
		return -ENOENT;
	}
	snprintf(cfg.cc, sizeof(cfg.cc), "%s", name);
	e = sysctl__cc_default(cfg.sys_default, sizeof(cfg.sys_default));
	if (e) {
		snprintf(err, errlen, "cannot read the system default congestion control: %s", strerror(-e));
		return e;
	}
	if (kops.map_update_elem(bpf_map__fd(ccsel->maps.ccsel_cfg), &key, &cfg, BPF_ANY)) {
		e = errno;
		snprintf(err, errlen, "cannot set the default congestion control of %s: %s", t->name, strerror(e));
		return -e;
	}
	return 0;
}

int attach__ccsel_pin(const char *bpffs, const struct att_target *t, int fd)
{
	return att__pin(bpffs, t, ATT_CCSEL_PIN, fd);
}

void attach__ccsel_unpin(const char *bpffs, const struct att_target *t)
{
	att__unpin(bpffs, t, ATT_CCSEL_PIN);
}

void attach__free(void)
{
	if (ccsel)
		khelp_ccsel__destroy(ccsel);
	ccsel = NULL;
}
