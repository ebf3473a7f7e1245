/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The bpffs tree: modules/<m>/..., containers/<c>/<m>, offload/<ifname>/. */
#ifndef KHELP_PINS_H
#define KHELP_PINS_H

#include <stddef.h>

int pins__mkdir(const char *path);
int pins__ensure_bpffs(const char *root, char *err, size_t errlen);
int pins__path(char *out, size_t size, const char *root, const char *a, const char *b, const char *c);
int pins__remove_tree(const char *path);
/* Pin fd at path, replacing what is there; 0 or -errno. */
int pins__replace_fd(int fd, const char *path);
/*
 * One khelpd per bpffs root: an exclusive flock on the root directory, held
 * (the returned fd stays open) until khelpd exits. fd, or -EBUSY with err
 * when another khelpd holds it.
 */
int pins__lock(const char *root, char *err, size_t errlen);

#endif
