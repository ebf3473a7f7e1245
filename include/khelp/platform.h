/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the platform's own BPF programs (bpf/) and khelpd: the
 * default-CC selector's per-container config and the records of the
 * iter/tcp congestion control walker.
 */
#ifndef KHELP_PLATFORM_H
#define KHELP_PLATFORM_H

#include "abi.h"

/* khelp_ccsel's cgroup storage: a container's default congestion control */
struct khelp_ccsel_cfg {
	char cc[KHELP_NAME_MAX];		/* the container's default */
	char sys_default[KHELP_NAME_MAX];	/* what a socket has when nobody chose */
	__u32 ready;
	__u32 pad;
};

/* khelp_tcp's record per TCP socket */
struct khelp_cc_rec {
	char cc[KHELP_NAME_MAX];
	__u64 cookie;
	__u32 state;
	__u32 family;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__s32 migrated;		/* cc_migrate: 0 moved, -errno failed */
};

/*
 * The conns iterator's text dump prints a module's own per-connection
 * fields by name: khelpd fills this table (from the module's BTF) into the
 * iterator's read-only data before loading it.
 */
#define KHELP_ITER_MAX_FIELDS	32
#define KHELP_ITER_NAME_MAX	24
struct khelp_iter_field {
	char name[KHELP_ITER_NAME_MAX];
	__u32 offset;				/* in the module data, after the header */
	__u16 size;				/* 1, 2, 4 or 8 */
	__u16 is_signed;
};

/* TCP states as the kernel numbers them (include/net/tcp_states.h) */
#define KHELP_TCP_ESTABLISHED	1
#define KHELP_TCP_CLOSE		7
#define KHELP_TCP_LISTEN	10

#endif
