// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floors' per-connection data (bench/floor.bpf.c, bench/floor_in.bpf.c): one map, shared by name. */
#ifndef KHELP_BENCH_FLOOR_H
#define KHELP_BENCH_FLOOR_H

struct fl_data { __u64 n; };

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fl_data);
} fl_data SEC(".maps");

#endif /* KHELP_BENCH_FLOOR_H */
