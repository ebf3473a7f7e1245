/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The module and policy directories, watched with inotify. Nothing is missed
 * silently: when the kernel's event queue overflows both directories are
 * rescanned; when a directory is removed or moved away its watch is re-added
 * on the path (now, or on a later tick once the directory is back) and the
 * directory is rescanned, and until then khelpd says it is not watching.
 */
#ifndef KHELP_WATCH_H
#define KHELP_WATCH_H

struct daemon;
struct watch;

/* Watch d->cfg.modules and d->cfg.policies; NULL with errno set on failure. */
struct watch *watch__new(struct daemon *d);
/* The inotify fd, for epoll (non-blocking). */
int watch__fd(const struct watch *w);
/* The fd is readable: dispatch the file events. */
void watch__handle(struct watch *w);
/* Periodic: re-add a lost watch once its directory exists again. */
void watch__tick(struct watch *w);
/* Both directories read afresh: modules and policies added, changed, removed. */
void watch__rescan(struct watch *w);
void watch__free(struct watch *w);

#endif
