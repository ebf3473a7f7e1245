/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The container list: policy files that appear, change and go; apply all-or-nothing. */
#ifndef KHELP_CONTAINERS_H
#define KHELP_CONTAINERS_H

#include <limits.h>
#include <stddef.h>
#include <linux/types.h>
#include "attach.h"
#include "daemon.h"
#include "policy.h"

#define CONTAINER_MAX_MODULES	POLICY_MAX_CLOSURE

enum container_state {
	CT_ACTIVE,	/* policy in force, modules attached */
	CT_WAITING,	/* policy valid, its cgroup does not exist yet */
	CT_INVALID,	/* its policy file was rejected and no earlier policy is in force */
};

/* Small on purpose: 10,000 of them must fit in a few tens of MiB. */
struct container {
	struct container *next;
	char name[POLICY_NAME_MAX];
	struct policy *pol;		/* the policy in force (compact copy), NULL before the first */
	enum container_state state;
	char *error;			/* last rejected edit of its policy file, NULL if none */
	char *cgroup_path;		/* NULL until a policy names one */
	__u64 cgroup_id;
	__u64 netns_cookie;
	struct attachment *att;		/* natt entries, in hook order */
	unsigned int natt;
	int ccsel_fd;			/* link of the default-CC selector, -1 without */
	struct container *by_name;	/* next in its name bucket (containers.c's index) */
	struct container *by_cgroup;	/* next in its cgroup-id bucket (active containers only) */
};

struct container *container__find(struct daemon *d, const char *name);
/* The error text of c, "" if none. */
const char *container__error(const struct container *c);
struct container *container__by_cgroup_id(struct daemon *d, __u64 id);
int container__uses(const struct container *c, const struct module *m);
/* A policy file appeared or changed / went: apply it whole or keep what is in force. */
int container__policy_changed(struct daemon *d, const char *path, char *err, size_t errlen);
int container__policy_removed(struct daemon *d, const char *name);
/* Validate a policy file against the loaded modules, change nothing. */
int container__check(struct daemon *d, const char *path, char *err, size_t errlen);
/* Re-read and re-apply every policy file (modules changed). */
int container__reapply_all(struct daemon *d);
/* Apply waiting policies whose cgroup appeared. */
void container__poll_waiting(struct daemon *d);
int container__set_param(struct daemon *d, struct container *c, struct module *m, const char *key,
			 const char *value, char *err, size_t errlen);
void container__detach_module_everywhere(struct daemon *d, struct module *m);
/*
 * Move every attachment of old to new (replace in place): all or nothing.
 * 0, or -errno with err and every container still on old.
 */
int container__replace_module(struct daemon *d, struct module *old, struct module *new, char *err,
			      size_t errlen);
/* Stop giving module m to new connections in every container; 0 or -EIO with err (first failure). */
int container__drain_module(struct daemon *d, struct module *m, char *err, size_t errlen);
/*
 * Nested containers that use one module without data: set the nesting bits
 * (enum khelp_nest) of every attachment, once per loop turn after
 * attachments changed (d->nest_dirty); a write that fails is tried again.
 */
void container__nest_sync(struct daemon *d);
/* khelpctl shutdown --detach: detach every container; how many. */
int container__detach_everything(struct daemon *d);
void container__free_all(struct daemon *d);
/* The modules policy p brings (helpers, CC, dependencies, in order) into out; count or -errno. */
int container__closure(struct daemon *d, const struct policy *p, const char **out, size_t outmax,
		       char *err, size_t errlen);

#endif
