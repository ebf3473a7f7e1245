// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* khelpd.conf: [paths] modules, policies, bpffs, socket, cgroup_root; [daemon] stats, group. */
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "daemon.h"
#include "khelp_paths.h"	/* KHELP_DEFAULT_CONFIG: generated from the install paths */

struct cfg_parse {
	struct config *cfg;
	char *err;
	size_t errlen;
	int failed;
	char dir[PATH_MAX];	/* relative paths are relative to the config file */
};

static int set_path(struct cfg_parse *cp, char *dst, const char *value)
{
	int n;

	if (value[0] == '/')
		n = snprintf(dst, PATH_MAX, "%s", value);
	else
		n = snprintf(dst, PATH_MAX, "%s/%s", cp->dir, value);
	return n > 0 && n < PATH_MAX;
}

static int cfg_handler(void *user, const char *section, const char *key, const char *value)
{
	struct cfg_parse *cp = user;
	struct config *c = cp->cfg;

	if (!strcmp(section, "paths")) {
		if (!strcmp(key, "modules"))
			return set_path(cp, c->modules, value);
		if (!strcmp(key, "policies"))
			return set_path(cp, c->policies, value);
		if (!strcmp(key, "bpffs"))
			return set_path(cp, c->bpffs, value);
		if (!strcmp(key, "socket"))
			return set_path(cp, c->socket, value);
		if (!strcmp(key, "cgroup_root"))
			return set_path(cp, c->cgroup_root, value);
		snprintf(cp->err, cp->errlen, "[paths] unknown key '%s' (valid: modules, policies, bpffs, socket, cgroup_root)", key);
		cp->failed = 1;
		return 0;
	}
	if (!strcmp(section, "daemon")) {
		if (!strcmp(key, "stats")) {
			c->stats = !strcasecmp(value, "yes") || !strcmp(value, "1") || !strcasecmp(value, "true");
			return 1;
		}
		if (!strcmp(key, "group")) {
			struct group *g = getgrnam(value);

			if (!g) {
				snprintf(cp->err, cp->errlen, "[daemon] group: no group '%s'", value);
				cp->failed = 1;
				return 0;
			}
			c->group = g->gr_gid;
			c->has_group = 1;
			return 1;
		}
		snprintf(cp->err, cp->errlen, "[daemon] unknown key '%s' (valid: stats, group)", key);
		cp->failed = 1;
		return 0;
	}
	snprintf(cp->err, cp->errlen, "unknown section [%s] (valid: paths, daemon)", section);
	cp->failed = 1;
	return 0;
}

int config__find_cgroup_root(char *out, size_t size)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *me;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while ((me = getmntent(f))) {
		if (!strcmp(me->mnt_type, "cgroup2")) {
			snprintf(out, size, "%s", me->mnt_dir);
			ret = 0;
			break;
		}
	}
	endmntent(f);
	return ret;
}

int config__load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct cfg_parse cp = { .cfg = cfg, .err = err, .errlen = errlen };
	char *slash;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->bpffs, sizeof(cfg->bpffs), "%s", KHELP_DEFAULT_BPFFS);
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", KHELP_DEFAULT_SOCKET);
	/*
	 * No --config: the installed default ($(SYSCONFDIR)/khelp/khelpd.conf).
	 * The build tree has no default of its own: make run and the tests
	 * always pass --config (examples/khelpd.conf, or their own).
	 */
	if (!path) {
		path = KHELP_DEFAULT_CONFIG;
		if (access(path, F_OK)) {
			snprintf(err, errlen, "no --config given and the default %s: %s (make install puts it there; "
				 "from a build tree use --config examples/khelpd.conf)", path, strerror(errno));
			return -ENOENT;
		}
	}
	{
		if (!realpath(path, cfg->path)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -errno;
		}
		snprintf(cp.dir, sizeof(cp.dir), "%s", cfg->path);
		slash = strrchr(cp.dir, '/');
		if (slash)
			*slash = '\0';
		ini_inline_comment_prefixes = ";#";
		ret = ini_parse(cfg->path, cfg_handler, &cp);
		if (cp.failed || ret) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", cp.failed ? err : "syntax error");
			snprintf(err, errlen, "%s:%d: %s", cfg->path, ret > 0 ? ret : 0, msg);
			return -EINVAL;
		}
	}
	if (!cfg->modules[0] || !cfg->policies[0]) {
		snprintf(err, errlen, "%s: [paths] modules and policies are required", cfg->path);
		return -EINVAL;
	}
	if (!cfg->cgroup_root[0] && config__find_cgroup_root(cfg->cgroup_root, sizeof(cfg->cgroup_root))) {
		snprintf(err, errlen, "no cgroup2 file system mounted (set [paths] cgroup_root)");
		return -ENOENT;
	}
	return 0;
}
