// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The kernel calls of the daemon's state changes: libbpf's, replaceable by unit tests. */
#include <sched.h>
#include "kops.h"

struct kops kops = {
	.link_create = bpf_link_create,
	.link_update = bpf_link_update,
	.link_get_info_by_fd = bpf_link_get_info_by_fd,
	.map_update_elem = bpf_map_update_elem,
	.map_delete_elem = bpf_map_delete_elem,
	.obj_get = bpf_obj_get,
	.obj_pin = bpf_obj_pin,
	.prog_test_run_opts = bpf_prog_test_run_opts,
	.setns = setns,
};
