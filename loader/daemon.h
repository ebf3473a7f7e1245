/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* khelpd's state: the configuration, the module list, the container list. */
#ifndef KHELP_DAEMON_H
#define KHELP_DAEMON_H

#include <linux/types.h>
#include "config.h"

struct module;
struct container;
struct ct_index;

struct daemon {
	struct config cfg;
	struct module *modules;		/* registry.c */
	struct container *containers;	/* containers.c */
	struct ct_index *ct_index;	/* containers.c: by name and by cgroup id */
	int reapply;			/* lifecycle.c: re-apply every policy at the end of this loop turn */
	int nest_dirty;			/* containers.c: attachments changed, recompute the nesting bits */
	__u32 nest_gen;			/* containers.c: nesting generation in force (0: none yet) */
	int stats_fd;
	long long started_ns;
	int shutdown;			/* khelpctl shutdown: 1 keep the datapath, 2 detached */
};

#endif
