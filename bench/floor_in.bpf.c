// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of a module's tcp_est_in entry (bench/hookpath.sh): a
 * tp_btf/tcp_probe program, as KHELP_MODULE makes one, that does only the
 * sk_storage lookup every such entry does and counts the hit. bpftool loads
 * it with its fl_data map replaced by bench/floor.bpf.c's pinned one (map
 * name fl_data pinned ...), so the sockets of the fl_lookup floor's cgroup
 * have data and every other socket is a miss, as under khelp.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "floor.h"

SEC("tp_btf/tcp_probe")
int fl_in(__u64 *ctx)
{
	struct fl_data *d = bpf_sk_storage_get(&fl_data, (struct sock *)ctx[0], 0, 0);

	if (d)
		d->n++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
