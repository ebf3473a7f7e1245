// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* inotify on the module and policy directories; see watch.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "containers.h"
#include "lifecycle.h"
#include "module.h"
#include "registry.h"
#include "log.h"
#include "watch.h"

#define DIR_EVENTS	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

enum { W_MODULES, W_POLICIES, W__N };

struct watch {
	struct daemon *d;
	int fd;
	int wd[W__N];		/* -1 while the directory is not watched */
	const char *path[W__N];
	const char *what[W__N];
};

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && !strcmp(s + a - b, suffix);
}

/* Module files that are gone from the directory: handled as if each one's removal had been seen. */
static void modules__removed_files(struct daemon *d)
{
	char (*gone)[NAME_MAX + 1] = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0;

	for (struct module *m = d->modules; m; m = m->next) {
		snprintf(path, sizeof(path), "%s/%s", d->cfg.modules, m->file);
		if (!access(path, F_OK) || errno != ENOENT)
			continue;
		if (n == cap) {
			void *p = realloc(gone, (cap = cap ? cap * 2 : 16) * sizeof(*gone));

			if (!p) {
				pr_warn("rescan: out of memory, removed module files are not noticed\n");
				break;
			}
			gone = p;
		}
		snprintf(gone[n++], sizeof(*gone), "%s", m->file);
	}
	/* the list changes under lifecycle__module_removed: act on the names collected */
	for (size_t i = 0; i < n; i++)
		lifecycle__module_removed(d, gone[i]);
	free(gone);
}

static void rescan_dir(struct watch *w, int i)
{
	if (i == W_MODULES) {
		modules__removed_files(w->d);
		lifecycle__scan(w->d);
	} else {
		container__reapply_all(w->d);
	}
}

void watch__rescan(struct watch *w)
{
	/* modules first: policies are checked against what is loaded */
	rescan_dir(w, W_MODULES);
	rescan_dir(w, W_POLICIES);
}

/* (Re-)add the watch of directory i; 0 if it is watched now. */
static int watch__add(struct watch *w, int i)
{
	w->wd[i] = inotify_add_watch(w->fd, w->path[i], DIR_EVENTS | IN_ONLYDIR);
	return w->wd[i] < 0 ? -errno : 0;
}

/* The directory's watch is gone (removed) or points elsewhere (moved away): re-add it on the path. */
static void watch__lost(struct watch *w, int i, const char *why)
{
	int old = w->wd[i], ret;

	if (old < 0)
		return;
	w->wd[i] = -1;
	inotify_rm_watch(w->fd, old);	/* fails with EINVAL once the kernel dropped it: fine */
	ret = watch__add(w, i);
	if (ret) {
		pr_warn("%s directory %s %s: not watching it (%s); khelpd keeps what it has loaded and "
			"watches again once the directory is back\n", w->what[i], w->path[i], why, strerror(-ret));
		return;
	}
	pr_warn("%s directory %s %s: watching the directory now at that path, rescanning it\n", w->what[i],
		w->path[i], why);
	rescan_dir(w, i);
}

void watch__tick(struct watch *w)
{
	for (int i = 0; i < W__N; i++) {
		if (w->wd[i] >= 0 || watch__add(w, i))
			continue;
		pr_warn("%s directory %s is back: watching it again, rescanning it\n", w->what[i], w->path[i]);
		rescan_dir(w, i);
	}
}

static void file_event(struct watch *w, int i, const struct inotify_event *ev)
{
	struct daemon *d = w->d;
	char err[KHELP_REASON_MAX * 2];
	int gone = ev->mask & (IN_DELETE | IN_MOVED_FROM);

	if (!ev->len || ev->name[0] == '.')
		return;
	if (i == W_MODULES && registry__is_module_file(ev->name)) {
		if (gone)
			lifecycle__module_removed(d, ev->name);
		else
			lifecycle__module_changed(d, ev->name, err, sizeof(err));
	} else if (i == W_POLICIES && ends_with(ev->name, ".conf")) {
		char path[PATH_MAX], name[POLICY_NAME_MAX];

		if (policy__name_from_path(ev->name, name, sizeof(name)))
			return;
		if (snprintf(path, sizeof(path), "%s/%s", d->cfg.policies, ev->name) >= (int)sizeof(path))
			return;
		if (gone)
			container__policy_removed(d, name);
		else
			container__policy_changed(d, path, err, sizeof(err));
	}
}

void watch__handle(struct watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int overflow = 0;
	ssize_t len;

	while ((len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const void *)p;
			int i;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				overflow = 1;
				continue;
			}
			for (i = 0; i < W__N && w->wd[i] != ev->wd; i++)
				;
			if (i == W__N)
				continue;	/* a watch dropped earlier: its last events */
			if (ev->mask & IN_MOVE_SELF)
				watch__lost(w, i, "was moved away");
			else if (ev->mask & (IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT))
				watch__lost(w, i, "was removed");
			else if (!overflow)
				file_event(w, i, ev);
		}
	}
	if (len < 0 && errno != EAGAIN && errno != EINTR)
		pr_warn("inotify read: %s\n", strerror(errno));
	if (overflow) {
		pr_warn("inotify event queue overflowed (fs.inotify.max_queued_events): events were lost, "
			"rescanning %s and %s\n", w->d->cfg.modules, w->d->cfg.policies);
		watch__rescan(w);
	}
}

struct watch *watch__new(struct daemon *d)
{
	struct watch *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return NULL;
	w->d = d;
	w->path[W_MODULES] = d->cfg.modules;
	w->path[W_POLICIES] = d->cfg.policies;
	w->what[W_MODULES] = "module";
	w->what[W_POLICIES] = "policy";
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0)
		goto fail;
	for (int i = 0; i < W__N; i++) {
		ret = watch__add(w, i);
		if (ret) {
			errno = -ret;
			goto fail;
		}
	}
	return w;
fail:
	ret = errno;
	watch__free(w);
	errno = ret;
	return NULL;
}

int watch__fd(const struct watch *w)
{
	return w->fd;
}

void watch__free(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
