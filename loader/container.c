// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Containers: one policy file each. A policy is applied whole or not at all:
 * new links are created first, and only when all of them exist are the
 * links of modules the policy no longer wants removed; any failure removes
 * what this apply created and leaves the policy in force untouched.
 *
 * Hook order inside a container is the order of its cgroup links: kept
 * modules stay where they are, new ones are appended in dependency order
 * (dependencies first, independent modules by name). So a module's hooks
 * always run after the hooks of the modules it depends on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "daemon.h"
#include "depgraph.h"
#include "log.h"
#include "offload_ct.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

struct container *container__find(struct daemon *d, const char *name)
{
	for (struct container *c = d->containers; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

struct container *container__by_cgroup_id(struct daemon *d, __u64 id)
{
	for (struct container *c = d->containers; c; c = c->next)
		if (c->state == CT_ACTIVE && c->cgroup_id == id)
			return c;
	return NULL;
}

int container__uses(const struct container *c, const struct module *m)
{
	for (unsigned int i = 0; i < c->natt; i++)
		if (c->att[i].m == m)
			return 1;
	return 0;
}

int container__closure(struct daemon *d, const struct policy *p, const char **out, size_t outmax,
		       char *err, size_t errlen)
{
	struct dep_node nodes[DEPGRAPH_MAX];
	const char *deps[DEPGRAPH_MAX][KHELP_MAX_DEPS];
	const char *req[POLICY_MAX_HELPERS + 1];
	size_t n = 0, nreq = 0;

	for (struct module *m = d->modules; m && n < DEPGRAPH_MAX; m = m->next) {
		if (m->state != MOD_ACTIVE)
			continue;
		for (unsigned int i = 0; i < m->meta.ndeps; i++)
			deps[n][i] = m->meta.deps[i].name;
		nodes[n] = (struct dep_node){ .name = m->meta.desc.name, .deps = deps[n],
					      .ndeps = m->meta.ndeps };
		n++;
	}
	for (unsigned int i = 0; i < p->nhelpers; i++)
		req[nreq++] = p->helpers[i];
	if (p->congestion[0] && registry__find(d, p->congestion))
		req[nreq++] = p->congestion;
	return depgraph__resolve(nodes, n, req, nreq, out, outmax, err, errlen);
}

static const struct khelp_meta *env_module(void *ctx, const char *name)
{
	struct module *m = registry__find(ctx, name);

	return m && m->state == MOD_ACTIVE ? &m->meta : NULL;
}

static int env_kernel_cc(void *ctx, const char *name)
{
	char buf[1024], *save = NULL;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "re");
	int found = 0;

	(void)ctx;
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		for (char *t = strtok_r(buf, " \n", &save); t && !found; t = strtok_r(NULL, " \n", &save))
			found = !strcmp(t, name);
	fclose(f);
	return found;
}

static int env_closure(void *ctx, const struct policy *p, const char **out, size_t outmax, char *err,
		       size_t errlen)
{
	return container__closure(ctx, p, out, outmax, err, errlen);
}

/* The cgroup directory a policy names: absolute under the cgroup2 mount, or relative to it. */
static int cgroup__resolve(struct daemon *d, const struct policy *p, char *out, size_t size, char *err,
			   size_t errlen)
{
	const char *root = d->cfg.cgroup_root, *cg = p->cgroup;
	size_t rlen = strlen(root);

	if (strstr(cg, "..")) {
		snprintf(err, errlen, "%s:%d: [container] cgroup: '%s' must not contain '..'", p->path,
			 p->cgroup_line, cg);
		return -EINVAL;
	}
	if (!strncmp(cg, root, rlen) && (cg[rlen] == '/' || !cg[rlen]))
		snprintf(out, size, "%s", cg);
	else
		snprintf(out, size, "%s/%s", root, cg[0] == '/' ? cg + 1 : cg);
	return 0;
}

static int netns__cookie(const char *path, __u64 *cookie)
{
	int self, ns, s, ret = 0;
	socklen_t len = sizeof(*cookie);

	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(ns, CLONE_NEWNET)) {
		ret = -errno;
		goto out;
	}
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (setns(self, CLONE_NEWNET))
		ret = -errno;
	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		ret = ret ? ret : -errno;
	if (s >= 0)
		close(s);
out:
	if (self >= 0)
		close(self);
	close(ns);
	return ret;
}

static void cfg__fill(const struct container *c, const struct policy *p, const struct module *m,
		      struct khelp_cgrp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->container_id = c->cgroup_id;
	cfg->netns_cookie = c->netns_cookie;
	cfg->ready = 1;
	for (unsigned int i = 0; i < m->meta.desc.nparams; i++) {
		const struct khelp_param_desc *pd = &m->meta.params[i];
		int k = policy__find_param(p, m->meta.desc.name, pd->name);

		cfg->params[pd->index] = k >= 0 ? p->params[k].parsed : pd->def;
	}
}

/* Write this container's config of module m into the module's maps. */
static int cfg__write(const struct container *c, const struct module *m, const struct khelp_cgrp_cfg *cfg)
{
	if (m->cgrp_fd >= 0) {
		struct bpf_cgroup_storage_key key = { .cgroup_inode_id = c->cgroup_id,
						      .attach_type = BPF_CGROUP_SOCK_OPS };

		if (bpf_map_update_elem(m->cgrp_fd, &key, cfg, BPF_EXIST))
			return -errno;
	}
	if (m->ccfg_fd >= 0 && bpf_map_update_elem(m->ccfg_fd, &c->cgroup_id, cfg, BPF_ANY))
		return -errno;
	return 0;
}

static void att__pin_path(struct daemon *d, const struct container *c, const struct module *m, char *out,
			  size_t size)
{
	pins__path(out, size, d->cfg.bpffs, "containers", c->name, m->meta.desc.name);
}

/* Take over a link an earlier khelpd pinned for this container and module. */
static int att__adopt(struct daemon *d, const struct container *c, const struct module *m)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	att__pin_path(d, c, m, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	if (bpf_link_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_CGROUP ||
	    info.cgroup.cgroup_id != c->cgroup_id || bpf_link_update(fd, m->prog_fd, NULL)) {
		close(fd);
		unlink(path);
		return -ESTALE;
	}
	pr_debug("container %s: adopted the pinned link of %s\n", c->name, m->meta.desc.name);
	return fd;
}

static int att__create(struct daemon *d, const struct container *c, const struct module *m, int cgfd,
		       char *err, size_t errlen)
{
	int fd;

	if (m->prog_fd < 0)
		return -1;	/* a CC: nothing to link on the cgroup */
	fd = att__adopt(d, c, m);
	if (fd >= 0)
		return fd;
	fd = bpf_link_create(m->prog_fd, cgfd, BPF_CGROUP_SOCK_OPS, NULL);
	if (fd < 0) {
		snprintf(err, errlen, "cannot attach %s to cgroup %s: %s", m->meta.desc.name, c->cgroup_path,
			 strerror(errno));
		return -errno - 1000;	/* distinguishable from -1 */
	}
	return fd;
}

/* Stop using a module in a container: unpin runs its container destroy event too. */
static void att__release(struct daemon *d, const struct container *c, const struct attachment *a, int unpin)
{
	char path[PATH_MAX];

	if (unpin) {
		module__event(a->m, KHELP_EV_CONTAINER_DESTROY, c);
		att__pin_path(d, c, a->m, path, sizeof(path));
		unlink(path);
		if (a->m->ccfg_fd >= 0)
			bpf_map_delete_elem(a->m->ccfg_fd, &c->cgroup_id);
	}
	if (a->link_fd >= 0)
		close(a->link_fd);
}

/*
 * Apply policy np to container c (np is validated). 0, or -errno with err set
 * and c unchanged. -ENOENT means exactly one thing: the cgroup does not exist.
 */
static int container__apply(struct daemon *d, struct container *c, const struct policy *np, char *err,
			    size_t errlen)
{
	const char *want[CONTAINER_MAX_MODULES];
	struct attachment next[CONTAINER_MAX_MODULES];
	struct container tmp = *c;
	unsigned int nnext = 0, first_new;
	char why[KHELP_REASON_MAX];
	struct stat st;
	int n, cgfd, ret = 0;

	ret = cgroup__resolve(d, np, tmp.cgroup_path, sizeof(tmp.cgroup_path), err, errlen);
	if (ret)
		return ret;
	if (stat(tmp.cgroup_path, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s:%d: [container] cgroup: %s does not exist", np->path, np->cgroup_line,
			 tmp.cgroup_path);
		return -ENOENT;
	}
	tmp.cgroup_id = st.st_ino;
	for (struct container *o = d->containers; o; o = o->next)
		if (o != c && o->state == CT_ACTIVE && o->cgroup_id == tmp.cgroup_id) {
			snprintf(err, errlen, "%s:%d: [container] cgroup: %s is already the cgroup of container %s (%s)",
				 np->path, np->cgroup_line, tmp.cgroup_path, o->name, o->pol.path);
			return -EEXIST;
		}
	tmp.netns_cookie = 0;
	if (np->netns[0] && (ret = netns__cookie(np->netns, &tmp.netns_cookie))) {
		snprintf(err, errlen, "%s:%d: [container] netns: %s: %s", np->path, np->netns_line, np->netns,
			 strerror(-ret));
		return -EINVAL;	/* -ENOENT is kept for a missing cgroup */
	}
	n = container__closure(d, np, want, CONTAINER_MAX_MODULES, why, sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", np->path, why);
		return -EINVAL;
	}
	cgfd = open(tmp.cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		snprintf(err, errlen, "%s: cannot open cgroup %s: %s", np->path, tmp.cgroup_path, strerror(errno));
		return -errno;
	}
	/* kept modules first, in the order the kernel runs them (only if the cgroup is the same) */
	if (c->state == CT_ACTIVE && c->cgroup_id == tmp.cgroup_id)
		for (unsigned int i = 0; i < c->natt; i++)
			for (int k = 0; k < n; k++)
				if (!strcmp(want[k], c->att[i].m->meta.desc.name))
					next[nnext++] = c->att[i];
	first_new = nnext;
	for (int k = 0; k < n && !ret; k++) {
		struct module *m = registry__find(d, want[k]);
		int have = 0, fd;

		for (unsigned int i = 0; i < first_new; i++)
			have |= next[i].m == m;
		if (have)
			continue;
		/* per-container init in dependency order; a refusal aborts the apply */
		ret = module__event(m, KHELP_EV_CONTAINER_INIT, &tmp);
		if (ret) {
			snprintf(err, errlen, "%s: module %s refused container %s (khelp_init returned %d)", np->path,
				 m->meta.desc.name, tmp.name, ret);
			ret = -ECANCELED;
			break;
		}
		fd = att__create(d, &tmp, m, cgfd, err, errlen);
		if (fd < -1) {
			module__event(m, KHELP_EV_CONTAINER_DESTROY, &tmp);
			ret = -EIO;
			break;
		}
		next[nnext++] = (struct attachment){ .m = m, .link_fd = fd };
	}
	close(cgfd);
	for (unsigned int i = 0; i < nnext && !ret; i++) {
		struct khelp_cgrp_cfg cfg;

		cfg__fill(&tmp, np, next[i].m, &cfg);
		ret = cfg__write(&tmp, next[i].m, &cfg);
		if (ret)
			snprintf(err, errlen, "%s: cannot configure %s: %s", np->path, next[i].m->meta.desc.name,
				 strerror(-ret));
	}
	if (!ret) {
		/* the default CC selector moves with the cgroup */
		if (c->state == CT_ACTIVE && c->cgroup_id != tmp.cgroup_id && c->ccsel_fd >= 0) {
			close(tmp.ccsel_fd);
			tmp.ccsel_fd = -1;
		}
		if (np->congestion[0] || tmp.ccsel_fd >= 0)
			ret = cc__container_default(d, &tmp, np->congestion, err, errlen);
	}
	/* the offload datapath last: it changes nothing when it fails */
	if (!ret)
		ret = offload_ct__apply(d, &tmp, np, c->state == CT_ACTIVE ? &c->pol : NULL, err, errlen);
	if (ret) {
		/* roll back: only what this apply created goes; kept configs are rewritten below */
		for (unsigned int i = first_new; i < nnext; i++)
			att__release(d, &tmp, &next[i], 1);
		for (unsigned int i = 0; i < c->natt && c->state == CT_ACTIVE; i++) {
			struct khelp_cgrp_cfg cfg;

			cfg__fill(c, &c->pol, c->att[i].m, &cfg);
			cfg__write(c, c->att[i].m, &cfg);
		}
		if (c->state == CT_ACTIVE && c->pol.congestion[0]) {
			char ignore[256];

			cc__container_default(d, c, c->pol.congestion, ignore, sizeof(ignore));
		}
		return ret;
	}
	/* commit: drop what the new policy does not want, in reverse order */
	for (int i = (int)c->natt - 1; i >= 0 && c->state == CT_ACTIVE; i--) {
		int kept = 0;

		for (unsigned int k = 0; k < first_new; k++)
			kept |= next[k].m == c->att[i].m;
		if (!kept)
			att__release(d, c, &c->att[i], 1);
	}
	for (unsigned int i = 0; i < nnext; i++) {
		char path[PATH_MAX];

		if (next[i].link_fd < 0)
			continue;
		att__pin_path(d, &tmp, next[i].m, path, sizeof(path));
		if (pins__replace_fd(next[i].link_fd, path))
			pr_warn("container %s: cannot pin %s\n", tmp.name, path);
	}
	offload_ct__commit(d, c->state == CT_ACTIVE ? &c->pol : NULL, np);
	memcpy(tmp.att, next, sizeof(next[0]) * nnext);
	tmp.natt = nnext;
	tmp.pol = *np;
	tmp.state = CT_ACTIVE;
	tmp.error[0] = '\0';
	tmp.next = c->next;
	*c = tmp;
	return 0;
}

static void container__detach_all(struct daemon *d, struct container *c)
{
	char path[PATH_MAX];

	cc__container_default(d, c, NULL, NULL, 0);
	if (c->state == CT_ACTIVE)
		offload_ct__release(d, &c->pol);
	for (int i = (int)c->natt - 1; i >= 0; i--)
		att__release(d, c, &c->att[i], 1);
	c->natt = 0;
	pins__path(path, sizeof(path), d->cfg.bpffs, "containers", c->name, NULL);
	pins__remove_tree(path);
}

static struct container *container__new(struct daemon *d, const char *name)
{
	struct container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->state = CT_INVALID;
	c->ccsel_fd = -1;
	c->next = d->containers;
	d->containers = c;
	return c;
}

static void container__free(struct daemon *d, struct container *c)
{
	for (struct container **pp = &d->containers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

static int policy__load_validated(struct daemon *d, const char *path, struct policy *p, char *err,
				  size_t errlen)
{
	struct policy_env env = { .ctx = d, .module = env_module, .kernel_cc = env_kernel_cc,
				  .closure = env_closure };
	int ret = policy__parse_file(path, p, err, errlen);

	if (!ret)
		ret = policy__validate(p, &env, err, errlen);
	return ret ? ret : offload_ct__check(p, err, errlen);
}

int container__check(struct daemon *d, const char *path, char *err, size_t errlen)
{
	struct policy *p = malloc(sizeof(*p));
	char cgpath[PATH_MAX];
	struct stat st;
	int ret;

	if (!p)
		return -ENOMEM;
	ret = policy__load_validated(d, path, p, err, errlen);
	if (!ret)
		ret = cgroup__resolve(d, p, cgpath, sizeof(cgpath), err, errlen);
	if (!ret && (stat(cgpath, &st) || !S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "%s:%d: [container] cgroup: %s does not exist", p->path, p->cgroup_line,
			 cgpath);
		ret = -ENOENT;
	}
	free(p);
	return ret;
}

int container__policy_changed(struct daemon *d, const char *path, char *err, size_t errlen)
{
	struct policy *p = malloc(sizeof(*p));
	char name[POLICY_NAME_MAX];
	struct container *c;
	int ret;

	if (!p)
		return -ENOMEM;
	if (policy__name_from_path(path, name, sizeof(name))) {
		free(p);
		snprintf(err, errlen, "%s: a policy file is named <container>.conf", path);
		return -EINVAL;
	}
	c = container__find(d, name);
	if (!c)
		c = container__new(d, name);
	if (!c) {
		free(p);
		return -ENOMEM;
	}
	ret = policy__load_validated(d, path, p, err, errlen);
	if (!ret) {
		int same = c->state == CT_ACTIVE && !memcmp(&c->pol, p, sizeof(*p));
		unsigned int before = c->natt;

		ret = container__apply(d, c, p, err, errlen);
		if (!ret) {
			/* an unchanged file is re-applied to pick up modules that changed */
			if (!same || before != c->natt)
				pr_info("container %s: policy %s applied (%u module%s)\n", name, path, c->natt,
					c->natt == 1 ? "" : "s");
			free(p);
			return 0;
		}
		if (ret == -ENOENT && c->state != CT_ACTIVE) {
			/* a new policy whose cgroup is not there yet: picked up when it appears */
			c->pol = *p;
			c->state = CT_WAITING;
			snprintf(c->error, sizeof(c->error), "%s", err);
			pr_info("container %s waits for its cgroup: %s\n", name, err);
			free(p);
			return 0;
		}
	}
	snprintf(c->error, sizeof(c->error), "%s", err);
	if (c->state == CT_ACTIVE)
		pr_warn("policy %s rejected, previous policy stays in force: %s\n", path, err);
	else
		pr_warn("policy %s rejected: %s\n", path, err);
	free(p);
	return ret;
}

int container__policy_removed(struct daemon *d, const char *name)
{
	struct container *c = container__find(d, name);

	if (!c)
		return -ENOENT;
	container__detach_all(d, c);
	pr_info("container %s: policy removed, modules detached\n", name);
	container__free(d, c);
	return 0;
}

int container__reapply_all(struct daemon *d)
{
	struct dirent **ents;
	int n;

	n = scandir(d->cfg.policies, &ents, NULL, alphasort);
	if (n < 0) {
		pr_warn("cannot read policy directory %s: %s\n", d->cfg.policies, strerror(errno));
		return -errno;
	}
	for (struct container *c = d->containers, *next; c; c = next) {
		char path[PATH_MAX];

		next = c->next;
		snprintf(path, sizeof(path), "%s/%s.conf", d->cfg.policies, c->name);
		if (access(path, F_OK))
			container__policy_removed(d, c->name);
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], err[KHELP_REASON_MAX], name[POLICY_NAME_MAX];

		if (ents[i]->d_name[0] != '.' &&
		    !policy__name_from_path(ents[i]->d_name, name, sizeof(name))) {
			snprintf(path, sizeof(path), "%s/%s", d->cfg.policies, ents[i]->d_name);
			container__policy_changed(d, path, err, sizeof(err));
		}
		free(ents[i]);
	}
	free(ents);
	return 0;
}

void container__poll_waiting(struct daemon *d)
{
	for (struct container *c = d->containers; c; c = c->next) {
		char err[KHELP_REASON_MAX];

		if (c->state != CT_WAITING)
			continue;
		if (!container__apply(d, c, &c->pol, err, sizeof(err)))
			pr_info("container %s: cgroup %s appeared, %u module%s attached\n", c->name, c->cgroup_path,
				c->natt, c->natt == 1 ? "" : "s");
	}
}

int container__set_param(struct daemon *d, struct container *c, struct module *m, const char *key,
			 const char *value, char *err, size_t errlen)
{
	const struct khelp_param_desc *pd = meta__param(&m->meta, key);
	struct policy *np;
	struct khelp_cgrp_cfg cfg;
	long long v;
	char why[256];
	int k, ret;

	(void)d;
	if (!pd) {
		snprintf(err, errlen, "module %s has no parameter '%s'", m->meta.desc.name, key);
		return -ENOENT;
	}
	if (policy__param_value(pd, value, &v, why, sizeof(why))) {
		snprintf(err, errlen, "%s.%s: %s", m->meta.desc.name, key, why);
		return -ERANGE;
	}
	np = malloc(sizeof(*np));
	if (!np)
		return -ENOMEM;
	*np = c->pol;
	k = policy__find_param(np, m->meta.desc.name, key);
	if (k < 0) {
		if (np->nparams >= POLICY_MAX_PARAMS) {
			free(np);
			snprintf(err, errlen, "too many parameters");
			return -E2BIG;
		}
		k = np->nparams++;
		snprintf(np->params[k].module, sizeof(np->params[k].module), "%s", m->meta.desc.name);
		snprintf(np->params[k].key, sizeof(np->params[k].key), "%s", key);
	}
	snprintf(np->params[k].value, sizeof(np->params[k].value), "%s", value);
	np->params[k].parsed = v;
	cfg__fill(c, np, m, &cfg);
	ret = cfg__write(c, m, &cfg);
	if (ret)
		snprintf(err, errlen, "cannot write %s's config: %s", m->meta.desc.name, strerror(-ret));
	else
		c->pol = *np;
	free(np);
	return ret;
}

void container__detach_module_everywhere(struct daemon *d, struct module *m)
{
	for (struct container *c = d->containers; c; c = c->next)
		for (unsigned int i = 0; i < c->natt; i++) {
			if (c->att[i].m != m)
				continue;
			att__release(d, c, &c->att[i], 1);
			memmove(&c->att[i], &c->att[i + 1], (c->natt - i - 1) * sizeof(c->att[0]));
			c->natt--;
			snprintf(c->error, sizeof(c->error), "module %s was unloaded", m->meta.desc.name);
			i--;
		}
}

void container__replace_module(struct daemon *d, struct module *old, struct module *new)
{
	for (struct container *c = d->containers; c; c = c->next)
		for (unsigned int i = 0; i < c->natt; i++) {
			struct khelp_cgrp_cfg cfg;

			if (c->att[i].m != old)
				continue;
			if (c->att[i].link_fd >= 0 && new->prog_fd >= 0 &&
			    bpf_link_update(c->att[i].link_fd, new->prog_fd, NULL))
				pr_warn("container %s: cannot switch %s to the new version: %s\n", c->name,
					new->meta.desc.name, strerror(errno));
			c->att[i].m = new;
			cfg__fill(c, &c->pol, new, &cfg);
			cfg__write(c, new, &cfg);
		}
}

void container__drain_module(struct daemon *d, struct module *m)
{
	for (struct container *c = d->containers; c; c = c->next)
		for (unsigned int i = 0; i < c->natt; i++) {
			struct khelp_cgrp_cfg cfg;

			if (c->att[i].m != m)
				continue;
			cfg__fill(c, &c->pol, m, &cfg);
			cfg.draining = 1;
			cfg__write(c, m, &cfg);
		}
}

/* khelpctl shutdown --detach: every container loses its modules, links and pins. */
int container__detach_everything(struct daemon *d)
{
	int n = 0;

	for (struct container *c = d->containers; c; c = c->next, n++)
		container__detach_all(d, c);
	return n;
}

void container__free_all(struct daemon *d)
{
	while (d->containers) {
		struct container *c = d->containers;

		for (unsigned int i = 0; i < c->natt; i++)
			if (c->att[i].link_fd >= 0)
				close(c->att[i].link_fd);
		if (c->ccsel_fd >= 0)
			close(c->ccsel_fd);
		container__free(d, c);
	}
}
