/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Visiting network namespaces: khelpd always comes back to its own, or aborts. */
#ifndef KHELP_NETNS_H
#define KHELP_NETNS_H

#include <linux/types.h>

/* The cookie of the network namespace at path (a /run/netns name or /proc/PID/ns/net). */
int netns__cookie(const char *path, __u64 *cookie);
/*
 * Every network namespace with processes or a /run/netns name: *fds gets a
 * malloc'ed array of open fds (deduplicated), the count is returned, or -errno.
 * khelpd raises its open-file limit to the hard limit at start for this.
 */
int netns__all(int **fds);
/*
 * The same over other roots (tests): proc/<pid>/ns/net and named/<name>.
 * As many as there are (the array grows); a namespace that cannot be opened
 * for another reason than its process having exited (EMFILE...) fails the
 * whole list with -errno instead of leaving it out.
 */
int netns__all_in(const char *proc, const char *named, int **fds);
/* fd of khelpd's own network namespace (opened once), or -errno. */
int netns__self(void);
/* Enter ns (0 or -errno); netns__leave() goes back and aborts khelpd if it cannot. */
int netns__enter(int ns);
void netns__leave(void);

#endif
