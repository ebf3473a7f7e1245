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
 */
int netns__all(int **fds);
/* fd of khelpd's own network namespace (opened once), or -errno. */
int netns__self(void);
/* Enter ns (0 or -errno); netns__leave() goes back and aborts khelpd if it cannot. */
int netns__enter(int ns);
void netns__leave(void);

#endif
