/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* khelpd.conf: where modules, policies, pins and the socket live. */
#ifndef KHELP_CONFIG_H
#define KHELP_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define KHELP_VERSION		"0.1.0"
#define KHELP_DEFAULT_BPFFS	"/sys/fs/bpf/khelp"
#define KHELP_DEFAULT_SOCKET	"/run/khelp/khelpd.sock"
#define KHELP_REASON_MAX	1024	/* a reason or error text kept in the daemon's state */

struct config {
	char path[PATH_MAX];		/* the config file, "" for the built-in default */
	char modules[PATH_MAX];
	char policies[PATH_MAX];
	char bpffs[PATH_MAX];
	char socket[PATH_MAX];
	char cgroup_root[PATH_MAX];	/* cgroup v2 mount, found at start if not set */
	int stats;			/* keep kernel bpf_stats on while running */
	gid_t group;			/* group allowed on the control socket besides root */
	int has_group;
};

int config__load(struct config *cfg, const char *path, char *err, size_t errlen);
int config__find_cgroup_root(char *out, size_t size);

#endif
