/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel calls the daemon's state changes make, as one table. khelpd
 * uses libbpf's functions and libc's setns; unit tests put fakes in to drive
 * the rollback paths (a link that cannot be created or updated, a full map,
 * a namespace khelpd cannot return from) without root.
 */
#ifndef KHELP_KOPS_H
#define KHELP_KOPS_H

#include <linux/types.h>
#include <bpf/bpf.h>

struct kops {
	int (*link_create)(int prog_fd, int target_fd, enum bpf_attach_type type,
			   const struct bpf_link_create_opts *opts);
	int (*link_update)(int link_fd, int new_prog_fd, const struct bpf_link_update_opts *opts);
	int (*link_get_info_by_fd)(int link_fd, struct bpf_link_info *info, __u32 *info_len);
	int (*map_update_elem)(int fd, const void *key, const void *value, __u64 flags);
	int (*map_delete_elem)(int fd, const void *key);
	int (*obj_get)(const char *path);
	int (*obj_pin)(int fd, const char *path);
	int (*prog_test_run_opts)(int prog_fd, struct bpf_test_run_opts *opts);
	int (*setns)(int fd, int nstype);	/* netns.c: into a container's namespace and back */
};

extern struct kops kops;

#endif
