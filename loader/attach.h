/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attachments of modules to one container's cgroup: cgroup links of sockops
 * entries, the default-CC selector link, the per-container config each
 * module reads, and adoption of the links an earlier khelpd pinned.
 */
#ifndef KHELP_ATTACH_H
#define KHELP_ATTACH_H

#include <stddef.h>
#include <linux/types.h>
#include <khelp/abi.h>
#include "module.h"
#include "policy.h"

/* Where attachments go: one container's cgroup. */
struct att_target {
	const char *name;		/* container name: the pin directory */
	const char *cgroup_path;
	__u64 cgroup_id;
	__u64 netns_cookie;
};

struct attachment {
	struct module *m;
	int link_fd;			/* cgroup link of the module's sockops entry, -1 for CC */
	__u32 nest;			/* enum khelp_nest bits in force (in the config written) */
	__u32 nest_gen;			/* and the nesting generation */
	__u32 nest_want;		/* containers.c's nesting pass: the bits it computed */
};

/* The config module a->m reads in target t under policy p (with a's nesting bits). */
void attach__cfg_fill(const struct att_target *t, const struct policy *p, const struct attachment *a,
		      struct khelp_cgrp_cfg *cfg);
/* Write it into m's maps; 0 or -errno with err naming the map and why. */
int attach__cfg_write(const struct att_target *t, const struct module *m, const struct khelp_cgrp_cfg *cfg,
		      char *err, size_t errlen);
/*
 * A cgroup link of m's sockops entry on cgfd: the pinned one of an earlier
 * khelpd when it is on this cgroup (taken over), else a new one. *fd is -1
 * for a module without a sockops entry (a CC). 0 or -errno with err.
 */
int attach__link(const char *bpffs, const struct att_target *t, const struct module *m, int cgfd, int *fd,
		 char *err, size_t errlen);
/* Pin the link of a under bpffs/containers/<t>/<module>; 0 or -errno. */
int attach__pin(const char *bpffs, const struct att_target *t, const struct attachment *a);
/* t is gone for a's module: its container destroy event runs and its CC config entry goes. */
void attach__forget(const struct att_target *t, const struct attachment *a);
/* Stop using a's module in t: unpin also forgets t (attach__forget) and drops the link's pin. */
void attach__release(const char *bpffs, const struct att_target *t, const struct attachment *a, int unpin);
/* Remove the pin of m's link in t. */
void attach__unpin(const char *bpffs, const struct att_target *t, const struct module *m);

/* Name of the selector's pin in the container's pin directory, beside its modules' links. */
#define ATT_CCSEL_PIN	"congestion"

/*
 * The default-CC selector on t's cgroup. attach__ccsel_link gives a new (or
 * adopted, when pinned on this cgroup) link in *fd, not yet pinned;
 * attach__ccsel_set writes t's default CC name; attach__ccsel_pin makes the
 * link the pinned one; attach__ccsel_unpin removes the pin.
 */
int attach__ccsel_link(const char *bpffs, const struct att_target *t, int *fd, char *err, size_t errlen);
int attach__ccsel_set(const struct att_target *t, const char *name, char *err, size_t errlen);
int attach__ccsel_pin(const char *bpffs, const struct att_target *t, int fd);
void attach__ccsel_unpin(const char *bpffs, const struct att_target *t);
void attach__free(void);

#endif
