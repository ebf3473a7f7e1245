// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A container's default congestion control ([tcp] congestion = ...).
 * Attached to the cgroups of containers that set one; the name lives in
 * this program's cgroup storage, written by khelpd per container. It sets
 * the CC of new active connections (at connect), of listeners (at listen:
 * their children inherit it) and of passive connections whose listener
 * predates the policy. A socket whose CC the application chose with
 * TCP_CONGESTION (anything but the system default) is left alone.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <khelp/platform.bpf.h>

#define SOL_TCP		6
#define TCP_CONGESTION	13

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct khelp_ccsel_cfg);
} ccsel_cfg SEC(".maps");

SEC("sockops")
int khelp_ccsel(struct bpf_sock_ops *skops)
{
	struct khelp_ccsel_cfg *cfg;
	char cur[KHELP_NAME_MAX] = {};
	__u32 op = skops->op;

	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_TCP_LISTEN_CB &&
	    op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	cfg = bpf_get_local_storage(&ccsel_cfg, 0);
	if (!cfg->ready || !cfg->cc[0])
		return 1;
	if (bpf_getsockopt(skops, SOL_TCP, TCP_CONGESTION, cur, sizeof(cur)))
		return 1;
	if (khelp_name_eq(cur, cfg->cc) || !khelp_name_eq(cur, cfg->sys_default))
		return 1;
	bpf_setsockopt(skops, SOL_TCP, TCP_CONGESTION, cfg->cc, sizeof(cfg->cc));
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
