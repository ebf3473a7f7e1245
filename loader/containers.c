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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "containers.h"
#include "depgraph.h"
#include "kops.h"
#include "log.h"
#include "netns.h"
#include "offload_ct.h"
#include "pins.h"
#include "sysctl.h"

/* Keep why as c's error; on no memory the previous text stays. */
static void container__set_error(struct container *c, const char *why)
{
	char *e = strdup(why);

	if (!e)
		return;
	free(c->error);
	c->error = e;
}

const char *container__error(const struct container *c)
{
	return c->error ? c->error : "";
}

static struct att_target target_of(const struct container *c)
{
	return (struct att_target){ .name = c->name, .cgroup_path = c->cgroup_path ? c->cgroup_path : "",
				    .cgroup_id = c->cgroup_id,
				    .netns_cookie = c->netns_cookie };
}

/*
 * The index: hash buckets by name and by cgroup id, so that looking a
 * container up costs the same with 10,000 of them as with one.
 */
struct ct_index {
	size_t size, n;			/* buckets (a power of two), containers */
	struct container **name;
	struct container **cgroup;
};

static size_t hash_name(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static size_t hash_id(__u64 id)
{
	return (size_t)(id * 0x9e3779b97f4a7c15ULL >> 17);
}

static int index__in_cgroup(const struct container *c)
{
	return c->state == CT_ACTIVE && c->cgroup_id;
}

static void index__cgroup_link(struct ct_index *ix, struct container *c)
{
	size_t b;

	if (!index__in_cgroup(c))
		return;
	b = hash_id(c->cgroup_id) & (ix->size - 1);
	c->by_cgroup = ix->cgroup[b];
	ix->cgroup[b] = c;
}

static void index__link(struct ct_index *ix, struct container *c)
{
	size_t b = hash_name(c->name) & (ix->size - 1);

	c->by_name = ix->name[b];
	ix->name[b] = c;
	index__cgroup_link(ix, c);
}

static void index__cgroup_unlink(struct ct_index *ix, struct container *c)
{
	struct container **pp;

	if (!index__in_cgroup(c))
		return;
	for (pp = &ix->cgroup[hash_id(c->cgroup_id) & (ix->size - 1)]; *pp; pp = &(*pp)->by_cgroup)
		if (*pp == c) {
			*pp = c->by_cgroup;
			return;
		}
}

static void index__unlink(struct ct_index *ix, struct container *c)
{
	struct container **pp;

	for (pp = &ix->name[hash_name(c->name) & (ix->size - 1)]; *pp; pp = &(*pp)->by_name)
		if (*pp == c) {
			*pp = c->by_name;
			break;
		}
	index__cgroup_unlink(ix, c);
	ix->n--;
}

/* Add c (new) to d's index, growing it; 0 or -ENOMEM. */
static int index__add(struct daemon *d, struct container *c)
{
	struct ct_index *ix = d->ct_index;

	if (!ix || ix->n + 1 > ix->size) {
		size_t size = ix ? ix->size * 4 : 256;
		struct container **name = calloc(size, sizeof(*name)), **cgroup = calloc(size, sizeof(*cgroup));

		if (!name || !cgroup || (!ix && !(ix = calloc(1, sizeof(*ix))))) {
			free(name);
			free(cgroup);
			return -ENOMEM;
		}
		free(ix->name);
		free(ix->cgroup);
		*ix = (struct ct_index){ .size = size, .n = ix->n, .name = name, .cgroup = cgroup };
		d->ct_index = ix;
		for (struct container *o = d->containers; o; o = o->next)
			if (o != c)
				index__link(ix, o);
	}
	index__link(ix, c);
	ix->n++;
	return 0;
}

struct container *container__find(struct daemon *d, const char *name)
{
	struct ct_index *ix = d->ct_index;

	if (!ix)
		return NULL;
	for (struct container *c = ix->name[hash_name(name) & (ix->size - 1)]; c; c = c->by_name)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

struct container *container__by_cgroup_id(struct daemon *d, __u64 id)
{
	struct ct_index *ix = d->ct_index;

	if (!ix)
		return NULL;
	for (struct container *c = ix->cgroup[hash_id(id) & (ix->size - 1)]; c; c = c->by_cgroup)
		if (c->cgroup_id == id && index__in_cgroup(c))
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
	const char *req[POLICY_MAX_HELPERS + 1];
	struct dep_node *nodes;
	size_t n = 0, max = 0, nreq = 0;
	int ret;

	for (struct module *m = d->modules; m; m = m->next)
		max++;
	nodes = calloc(max ? max : 1, sizeof(*nodes));
	if (!nodes) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (struct module *m = d->modules; m; m = m->next) {
		if (m->state != MOD_ACTIVE)
			continue;
		nodes[n++] = (struct dep_node){ .name = m->meta.desc.name, .deps = m->dep_names,
						.ndeps = m->meta.ndeps };
	}
	for (unsigned int i = 0; i < p->nhelpers; i++)
		req[nreq++] = p->helpers[i];
	if (p->congestion[0] && module__find(d->modules, p->congestion))
		req[nreq++] = p->congestion;
	ret = depgraph__resolve(nodes, n, req, nreq, out, outmax, err, errlen);
	free(nodes);
	if (ret == -E2BIG)
		snprintf(err, errlen, "the helpers, congestion control and their dependencies come to more than %zu modules, the most one container may have",
			 outmax);
	return ret;
}

static const struct khelp_meta *env_module(void *ctx, const char *name)
{
	struct daemon *d = ctx;
	struct module *m = module__find(d->modules, name);

	return m && m->state == MOD_ACTIVE ? &m->meta : NULL;
}

static int env_kernel_cc(void *ctx, const char *name)
{
	(void)ctx;
	return sysctl__cc_is_available(name);
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

static int container__wants(const struct attachment *next, unsigned int n, const struct module *m)
{
	for (unsigned int i = 0; i < n; i++)
		if (next[i].m == m)
			return 1;
	return 0;
}

/* Rewrite the configs of c's policy in force (after a failed apply touched them). */
static void container__restore(struct container *c)
{
	struct att_target t = target_of(c);
	char err[KHELP_REASON_MAX];

	if (c->state != CT_ACTIVE)
		return;
	for (unsigned int i = 0; i < c->natt; i++) {
		struct khelp_cgrp_cfg cfg;

		attach__cfg_fill(&t, c->pol, &c->att[i], &cfg);
		if (attach__cfg_write(&t, c->att[i].m, &cfg, err, sizeof(err)))
			pr_warn("container %s: rollback: %s\n", c->name, err);
	}
	if (c->ccsel_fd >= 0 && c->pol->congestion[0] && attach__ccsel_set(&t, c->pol->congestion, err, sizeof(err)))
		pr_warn("container %s: rollback: %s\n", c->name, err);
}

/*
 * Apply policy np to container c (np is validated). 0, or -errno with err set
 * and c unchanged: every link, pin and config of the policy in force stays
 * as it was. -ENOENT means exactly one thing: the cgroup does not exist.
 */
static int container__apply(struct daemon *d, struct container *c, const struct policy *np, char *err,
			    size_t errlen)
{
	const char *want[CONTAINER_MAX_MODULES];
	struct attachment next[CONTAINER_MAX_MODULES];
	char cgpath[PATH_MAX];
	struct container tmp;
	struct att_target t;
	unsigned int nnext = 0, first_new;
	char why[KHELP_REASON_MAX];
	int n, cgfd, ret = 0, same_cgroup, ccsel_new = -1, ccsel_fd;
	struct stat st;

	/* tmp: c's identity under np; it shares no fd with c until the commit */
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.name, sizeof(tmp.name), "%s", c->name);
	tmp.ccsel_fd = -1;
	tmp.cgroup_path = cgpath;
	ret = cgroup__resolve(d, np, cgpath, sizeof(cgpath), err, errlen);
	if (ret)
		return ret;
	if (stat(tmp.cgroup_path, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s:%d: [container] cgroup: %s does not exist", np->path, np->cgroup_line,
			 tmp.cgroup_path);
		return -ENOENT;
	}
	tmp.cgroup_id = st.st_ino;
	{
		struct container *o = container__by_cgroup_id(d, tmp.cgroup_id);

		if (o && o != c) {
			snprintf(err, errlen, "%s:%d: [container] cgroup: %s is already the cgroup of container %s (%s)",
				 np->path, np->cgroup_line, tmp.cgroup_path, o->name, o->pol->path);
			return -EEXIST;
		}
	}
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
	t = target_of(&tmp);
	cgfd = open(tmp.cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open cgroup %s: %s", np->path, tmp.cgroup_path, strerror(-ret));
		return ret;
	}
	same_cgroup = c->state == CT_ACTIVE && c->cgroup_id == tmp.cgroup_id;
	/* kept modules first, in the order the kernel runs them (only if the cgroup is the same) */
	if (same_cgroup)
		for (unsigned int i = 0; i < c->natt; i++)
			for (int k = 0; k < n; k++)
				if (!strcmp(want[k], c->att[i].m->meta.desc.name))
					next[nnext++] = c->att[i];
	first_new = nnext;
	for (int k = 0; k < n && !ret; k++) {
		struct module *m = module__find(d->modules, want[k]);
		int have = 0, fd;

		for (unsigned int i = 0; i < first_new; i++)
			have |= next[i].m == m;
		if (have)
			continue;
		/* per-container init in dependency order; a refusal aborts the apply */
		ret = module__event(m, KHELP_EV_CONTAINER_INIT, tmp.cgroup_id, tmp.name);
		if (ret) {
			snprintf(err, errlen, "%s: module %s refused container %s (khelp_init returned %d)", np->path,
				 m->meta.desc.name, tmp.name, ret);
			ret = -ECANCELED;
			break;
		}
		ret = attach__link(d->cfg.bpffs, &t, m, cgfd, &fd, err, errlen);
		if (ret) {
			module__event(m, KHELP_EV_CONTAINER_DESTROY, tmp.cgroup_id, tmp.name);
			break;
		}
		next[nnext++] = (struct attachment){ .m = m, .link_fd = fd };
	}
	close(cgfd);
	for (unsigned int i = 0; i < nnext && !ret; i++) {
		struct khelp_cgrp_cfg cfg;

		attach__cfg_fill(&t, np, &next[i], &cfg);
		ret = attach__cfg_write(&t, next[i].m, &cfg, why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "%s: %s", np->path, why);
	}
	/* the default-CC selector: kept on the same cgroup, a new link on a new one */
	ccsel_fd = same_cgroup && np->congestion[0] ? c->ccsel_fd : -1;
	if (!ret && np->congestion[0]) {
		if (ccsel_fd < 0) {
			ret = attach__ccsel_link(d->cfg.bpffs, &t, &ccsel_new, why, sizeof(why));
			ccsel_fd = ccsel_new;
		}
		if (!ret)
			ret = attach__ccsel_set(&t, np->congestion, why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "%s: %s", np->path, why);
	}
	if (!ret) {
		/* the state to commit, allocated before anything is committed */
		tmp.pol = policy__dup(np);
		tmp.att = malloc(nnext ? nnext * sizeof(*tmp.att) : 1);
		tmp.cgroup_path = strdup(cgpath);
		if (!tmp.pol || !tmp.att || !tmp.cgroup_path) {
			snprintf(err, errlen, "%s: out of memory", np->path);
			ret = -ENOMEM;
		}
		/* the offload datapath last: it changes nothing when it fails */
		if (!ret)
			ret = offload_ct__apply(d, &tmp, np, err, errlen);
		if (ret) {
			free(tmp.pol);
			free(tmp.att);
			free(tmp.cgroup_path);
		}
	}
	if (ret) {
		/* roll back: only what this apply created goes; what is in force is rewritten */
		for (unsigned int i = first_new; i < nnext; i++)
			attach__release(d->cfg.bpffs, &t, &next[i], 0);
		/* a CC's config is keyed by cgroup: the entry this apply wrote goes too */
		for (unsigned int i = first_new; i < nnext; i++)
			attach__forget(&t, &next[i]);
		if (ccsel_new >= 0)
			close(ccsel_new);
		container__restore(c);
		return ret;
	}
	/* commit: pin what is new (the pins of the policy in force are replaced, never removed first) */
	for (unsigned int i = 0; i < nnext; i++)
		if ((i >= first_new || !same_cgroup) && (ret = attach__pin(d->cfg.bpffs, &t, &next[i])))
			pr_warn("container %s: cannot pin the link of %s: %s\n", tmp.name, next[i].m->meta.desc.name,
				strerror(-ret));
	if (ccsel_new >= 0 && (ret = attach__ccsel_pin(d->cfg.bpffs, &t, ccsel_new)))
		pr_warn("container %s: cannot pin its congestion selector: %s\n", tmp.name, strerror(-ret));
	offload_ct__commit(d, c->state == CT_ACTIVE ? c->pol : NULL, np);
	/* drop what the new policy does not want (or all, after a move), in reverse order */
	if (c->state == CT_ACTIVE) {
		struct att_target old = target_of(c);

		for (int i = (int)c->natt - 1; i >= 0; i--) {
			int kept = 0;

			for (unsigned int k = 0; k < first_new; k++)
				kept |= next[k].m == c->att[i].m;
			if (kept)
				continue;
			attach__release(d->cfg.bpffs, &old, &c->att[i], 0);
			attach__forget(&old, &c->att[i]);
			/* a module attached again after a move: its new link holds the pin now */
			if (!container__wants(next, nnext, c->att[i].m))
				attach__unpin(d->cfg.bpffs, &old, c->att[i].m);
		}
		if (c->ccsel_fd >= 0 && c->ccsel_fd != ccsel_fd) {
			close(c->ccsel_fd);
			if (ccsel_new < 0)
				attach__ccsel_unpin(d->cfg.bpffs, &old);
		}
	}
	memcpy(tmp.att, next, sizeof(next[0]) * nnext);
	tmp.natt = nnext;
	tmp.ccsel_fd = ccsel_fd;
	tmp.state = CT_ACTIVE;
	tmp.error = NULL;
	tmp.next = c->next;
	tmp.by_name = c->by_name;
	index__cgroup_unlink(d->ct_index, c);
	free(c->pol);
	free(c->att);
	free(c->cgroup_path);
	free(c->error);
	*c = tmp;
	index__cgroup_link(d->ct_index, c);
	d->nest_dirty = 1;
	return 0;
}

static void container__detach_all(struct daemon *d, struct container *c)
{
	struct att_target t = target_of(c);
	char path[PATH_MAX];

	if (c->ccsel_fd >= 0)
		close(c->ccsel_fd);
	c->ccsel_fd = -1;
	d->nest_dirty = 1;
	if (c->state == CT_ACTIVE)
		offload_ct__release(d, c->pol);
	for (int i = (int)c->natt - 1; i >= 0; i--)
		attach__release(d->cfg.bpffs, &t, &c->att[i], 1);
	c->natt = 0;
	if (!pins__path(path, sizeof(path), d->cfg.bpffs, "containers", c->name, NULL) && pins__remove_tree(path))
		pr_warn("container %s: cannot remove its pins under %s: %s\n", c->name, path, strerror(errno));
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
	if (index__add(d, c)) {
		d->containers = c->next;
		free(c);
		return NULL;
	}
	return c;
}

static void container__free(struct daemon *d, struct container *c)
{
	for (struct container **pp = &d->containers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	index__unlink(d->ct_index, c);
	free(c->pol);
	free(c->att);
	free(c->cgroup_path);
	free(c->error);
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
		int same = c->state == CT_ACTIVE && policy__equal(c->pol, p);
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
			struct policy *keep = policy__dup(p);

			if (!keep) {
				free(p);
				return -ENOMEM;
			}
			free(c->pol);
			c->pol = keep;
			c->state = CT_WAITING;
			container__set_error(c, err);
			pr_info("container %s waits for its cgroup: %s\n", name, err);
			free(p);
			return 0;
		}
	}
	container__set_error(c, err);
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
		if (!container__apply(d, c, c->pol, err, sizeof(err)))
			pr_info("container %s: cgroup %s appeared, %u module%s attached\n", c->name, c->cgroup_path,
				c->natt, c->natt == 1 ? "" : "s");
	}
}

int container__set_param(struct daemon *d, struct container *c, struct module *m, const char *key,
			 const char *value, char *err, size_t errlen)
{
	const struct khelp_param_desc *pd = meta__param(&m->meta, key);
	struct att_target t = target_of(c);
	struct khelp_cgrp_cfg cfg;
	struct policy *np;
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
	policy__copy(np, c->pol);
	k = policy__find_param(np, m->meta.desc.name, key);
	if (k < 0) {
		if (np->nparams >= POLICY_MAX_PARAMS) {
			free(np);
			snprintf(err, errlen, "container %s has %d parameters set, the most a policy may have",
				 c->name, POLICY_MAX_PARAMS);
			return -E2BIG;
		}
		k = np->nparams++;
		snprintf(np->params[k].module, sizeof(np->params[k].module), "%s", m->meta.desc.name);
		snprintf(np->params[k].key, sizeof(np->params[k].key), "%s", key);
	}
	snprintf(np->params[k].value, sizeof(np->params[k].value), "%s", value);
	np->params[k].parsed = v;
	{
		struct attachment a = { .m = m, .link_fd = -1 };

		for (unsigned int i = 0; i < c->natt; i++)
			if (c->att[i].m == m)
				a = c->att[i];
		attach__cfg_fill(&t, np, &a, &cfg);
	}
	ret = attach__cfg_write(&t, m, &cfg, err, errlen);
	if (!ret) {
		struct policy *keep = policy__dup(np);

		if (keep) {
			free(c->pol);
			c->pol = keep;
		} else {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
		}
	}
	free(np);
	return ret;
}

void container__detach_module_everywhere(struct daemon *d, struct module *m)
{
	char why[KHELP_NAME_MAX + 32];

	for (struct container *c = d->containers; c; c = c->next) {
		struct att_target t = target_of(c);

		for (unsigned int i = 0; i < c->natt; i++) {
			if (c->att[i].m != m)
				continue;
			attach__release(d->cfg.bpffs, &t, &c->att[i], 1);
			memmove(&c->att[i], &c->att[i + 1], (c->natt - i - 1) * sizeof(c->att[0]));
			c->natt--;
			d->nest_dirty = 1;
			snprintf(why, sizeof(why), "module %s was unloaded", m->meta.desc.name);
			container__set_error(c, why);
			i--;
		}
	}
}

/* Every (container, attachment) of old, for one all-or-nothing switch. */
struct switch_rec {
	struct container *c;
	unsigned int i;
};

int container__replace_module(struct daemon *d, struct module *old, struct module *new, char *err,
			      size_t errlen)
{
	struct switch_rec *done = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	for (struct container *c = d->containers; c && !ret; c = c->next) {
		struct att_target t = target_of(c);

		for (unsigned int i = 0; i < c->natt && !ret; i++) {
			struct khelp_cgrp_cfg cfg;
			struct attachment a;

			if (c->att[i].m != old)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct switch_rec *nd = realloc(done, ncap * sizeof(*nd));

				if (!nd) {
					snprintf(err, errlen, "out of memory");
					ret = -ENOMEM;
					break;
				}
				done = nd;
				cap = ncap;
			}
			a = c->att[i];
			a.m = new;
			attach__cfg_fill(&t, c->pol, &a, &cfg);
			ret = attach__cfg_write(&t, new, &cfg, err, errlen);
			if (!ret && c->att[i].link_fd >= 0 && new->prog_fd >= 0 &&
			    kops.link_update(c->att[i].link_fd, new->prog_fd, NULL)) {
				ret = -errno;
				snprintf(err, errlen, "cannot switch container %s to the new version: %s", c->name,
					 strerror(-ret));
			}
			if (!ret)
				done[n++] = (struct switch_rec){ .c = c, .i = i };
		}
	}
	if (ret) {
		/* back to the old programs wherever the switch was made; the caller keeps old */
		for (size_t k = 0; k < n; k++) {
			struct attachment *a = &done[k].c->att[done[k].i];
			struct att_target t = target_of(done[k].c);
			struct khelp_cgrp_cfg cfg;
			char why[KHELP_REASON_MAX];

			if (a->link_fd >= 0 && old->prog_fd >= 0 && kops.link_update(a->link_fd, old->prog_fd, NULL))
				pr_warn("container %s: cannot switch %s back: %s\n", done[k].c->name,
					old->meta.desc.name, strerror(errno));
			attach__cfg_fill(&t, done[k].c->pol, a, &cfg);
			if (attach__cfg_write(&t, old, &cfg, why, sizeof(why)))
				pr_warn("container %s: rollback: %s\n", done[k].c->name, why);
		}
		free(done);
		return ret;
	}
	for (size_t k = 0; k < n; k++)
		done[k].c->att[done[k].i].m = new;
	free(done);
	d->nest_dirty = 1;	/* the new version may keep data where the old kept none, or not */
	return 0;
}

int container__drain_module(struct daemon *d, struct module *m, char *err, size_t errlen)
{
	int ret = 0;

	for (struct container *c = d->containers; c; c = c->next) {
		struct att_target t = target_of(c);

		for (unsigned int i = 0; i < c->natt; i++) {
			struct khelp_cgrp_cfg cfg;

			if (c->att[i].m != m)
				continue;
			attach__cfg_fill(&t, c->pol, &c->att[i], &cfg);
			cfg.draining = 1;
			if (attach__cfg_write(&t, m, &cfg, err, errlen) && !ret)
				ret = -EIO;
		}
	}
	return ret;
}

/*
 * Nested containers (see enum khelp_nest in abi.h): which attachments are
 * nested, recomputed once per loop turn after
 * anything attached or detached. Containers are sorted by cgroup path with
 * '/' ordered first, so that a container's descendants follow it in one run;
 * a stack of the containers on the current path gives every container's
 * ancestors. An attachment is INNER when an ancestor container has the same
 * module, OUTER when a descendant has it. Any change starts a new nesting
 * generation, written with the bits into every nested attachment's config,
 * so the claims made under the previous nesting no longer count.
 */
static int cgroup__path_cmp(const void *pa, const void *pb)
{
	const char *a = (*(struct container *const *)pa)->cgroup_path;
	const char *b = (*(struct container *const *)pb)->cgroup_path;

	for (;; a++, b++) {
		int ca = *a == '/' ? 1 : (unsigned char)*a, cb = *b == '/' ? 1 : (unsigned char)*b;

		if (ca != cb || !ca)
			return ca - cb;
	}
}

static int cgroup__is_ancestor(const char *anc, const char *path)
{
	size_t l = strlen(anc);

	while (l > 1 && anc[l - 1] == '/')
		l--;
	return !strncmp(anc, path, l) && path[l] == '/';
}

/* Is a linked, so that its copy may be nested in another container's? */
static int attachment__nests(const struct attachment *a)
{
	return a->link_fd >= 0;
}

static struct attachment *container__att_of(struct container *c, const struct module *m)
{
	for (unsigned int i = 0; i < c->natt; i++)
		if (c->att[i].m == m)
			return &c->att[i];
	return NULL;
}

static __u32 nest__next_gen(struct daemon *d)
{
	__u32 g = d->nest_gen;

	/* a random start: claims pinned by an earlier khelpd are of another generation */
	if (!g && getrandom(&g, sizeof(g), 0) != sizeof(g))
		g = (__u32)time(NULL) ^ (__u32)getpid() << 16;
	g++;
	return d->nest_gen = g ? g : 1;
}

void container__nest_sync(struct daemon *d)
{
	struct container **v, **stack;
	size_t n = 0, depth = 0;
	int changed = 0;
	__u32 gen;

	if (!d->nest_dirty)
		return;
	d->nest_dirty = 0;
	for (struct container *c = d->containers; c; c = c->next)
		n += c->state == CT_ACTIVE && c->cgroup_path;
	if (!n)
		return;
	v = malloc(2 * n * sizeof(*v));
	if (!v) {
		pr_warn("nested containers: out of memory, nesting bits not updated\n");
		d->nest_dirty = 1;
		return;
	}
	stack = v + n;
	n = 0;
	for (struct container *c = d->containers; c; c = c->next)
		if (c->state == CT_ACTIVE && c->cgroup_path)
			v[n++] = c;
	qsort(v, n, sizeof(*v), cgroup__path_cmp);
	for (size_t i = 0; i < n; i++)
		for (unsigned int k = 0; k < v[i]->natt; k++)
			v[i]->att[k].nest_want = 0;
	for (size_t i = 0; i < n; i++) {
		struct container *c = v[i];

		while (depth && !cgroup__is_ancestor(stack[depth - 1]->cgroup_path, c->cgroup_path))
			depth--;
		for (unsigned int k = 0; k < c->natt; k++) {
			struct attachment *a = &c->att[k];

			if (!attachment__nests(a))
				continue;
			for (size_t j = 0; j < depth; j++) {
				struct attachment *o = container__att_of(stack[j], a->m);

				if (o) {
					a->nest_want |= KHELP_NEST_INNER;
					o->nest_want |= KHELP_NEST_OUTER;
				}
			}
		}
		stack[depth++] = c;
	}
	for (size_t i = 0; i < n && !changed; i++)
		for (unsigned int k = 0; k < v[i]->natt; k++)
			changed |= v[i]->att[k].nest_want != v[i]->att[k].nest;
	if (!changed) {
		free(v);
		return;
	}
	gen = nest__next_gen(d);
	for (size_t i = 0; i < n; i++) {
		struct container *c = v[i];
		struct att_target t = target_of(c);

		for (unsigned int k = 0; k < c->natt; k++) {
			struct attachment a = c->att[k];
			struct khelp_cgrp_cfg cfg;
			char why[KHELP_REASON_MAX];

			if (!a.nest_want && !a.nest)
				continue;
			a.nest = a.nest_want;
			a.nest_gen = a.nest ? gen : 0;
			attach__cfg_fill(&t, c->pol, &a, &cfg);
			if (attach__cfg_write(&t, a.m, &cfg, why, sizeof(why))) {
				pr_warn("container %s: nesting bits: %s\n", c->name, why);
				d->nest_dirty = 1;	/* tried again next loop turn */
				continue;
			}
			c->att[k].nest = a.nest;
			c->att[k].nest_gen = a.nest_gen;
		}
	}
	free(v);
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
	if (d->ct_index) {
		free(d->ct_index->name);
		free(d->ct_index->cgroup);
		free(d->ct_index);
		d->ct_index = NULL;
	}
	attach__free();
}
