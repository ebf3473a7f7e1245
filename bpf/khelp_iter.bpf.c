// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Dumps one module's per-connection data map (sk_storage) for khelpd and for
 * `cat /sys/fs/bpf/khelp/modules/<m>/conns`. Loaded once per module with
 * value_size set to that map's value size.
 *   dump_bin:  struct khelp_conn_rec + the module data, per live connection
 *   dump_text: one line per live connection (4-tuple, state, container id),
 *              then one with the module's own fields by name (name=value)
 * Listening and closed sockets are skipped: they hold no connection.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <khelp/platform.h>

#define AF_INET		2
#define AF_INET6	10
#define KHELP_ITER_MAX_VALUE	4096	/* largest per-connection data the dump copies */

const volatile __u32 value_size = sizeof(struct khelp_conn_hdr);
/* the module's scalar fields, for dump_text (khelpd fills them at load) */
const volatile __u32 nfields;
const volatile struct khelp_iter_field fields[KHELP_ITER_MAX_FIELDS];

/* a copy of one value: its fields are read at offsets known only at run time */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[KHELP_ITER_MAX_VALUE]);
} iter_buf SEC(".maps");

static __always_inline int conn__live(const struct sock *sk)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	return state != KHELP_TCP_CLOSE && state != KHELP_TCP_LISTEN;
}

static __always_inline void conn__fill(struct khelp_conn_rec *r, struct sock *sk)
{
	r->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	r->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	r->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	r->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (r->family == AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(r->saddr, &s, 4);
		__builtin_memcpy(r->daddr, &d, 4);
	} else {
		BPF_CORE_READ_INTO(&r->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&r->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	r->cookie = bpf_get_socket_cookie(sk);
	r->netns_cookie = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
}

SEC("iter/bpf_sk_storage_map")
int dump_bin(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sock *sk = ctx->sk;
	void *value = ctx->value;
	struct khelp_conn_rec r = {};
	__u32 len = value_size;

	if (!sk || !value || !conn__live(sk))
		return 0;
	conn__fill(&r, sk);
	__builtin_memcpy(&r.hdr, value, sizeof(r.hdr));
	if (len > KHELP_ITER_MAX_VALUE)
		len = KHELP_ITER_MAX_VALUE;
	r.data_len = len - sizeof(r.hdr);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	bpf_seq_write(ctx->meta->seq, value + sizeof(r.hdr), value_size - sizeof(r.hdr));
	return 0;
}

/* One indented line: the module's own fields as name=value. */
static __always_inline void fields__print(struct seq_file *seq, const void *value)
{
	__u32 zero = 0, n = nfields;
	__u8 *buf = bpf_map_lookup_elem(&iter_buf, &zero);

	if (!buf || !n)
		return;
	if (bpf_probe_read_kernel(buf, value_size & (KHELP_ITER_MAX_VALUE - 1), value))
		return;
	BPF_SEQ_PRINTF(seq, "      ");
	for (__u32 i = 0; i < KHELP_ITER_MAX_FIELDS && i < n; i++) {
		__u32 off = fields[i].offset + sizeof(struct khelp_conn_hdr);
		__u64 v = 0;

		if (off > KHELP_ITER_MAX_VALUE - 8)
			break;
		switch (fields[i].size) {
		case 1: v = *(__u8 *)(buf + off); if (fields[i].is_signed) v = (__s64)(__s8)v; break;
		case 2: v = *(__u16 *)(buf + off); if (fields[i].is_signed) v = (__s64)(__s16)v; break;
		case 4: v = *(__u32 *)(buf + off); if (fields[i].is_signed) v = (__s64)(__s32)v; break;
		default: v = *(__u64 *)(buf + off); break;
		}
		if (fields[i].is_signed)
			BPF_SEQ_PRINTF(seq, " %s=%lld", (const char *)fields[i].name, v);
		else
			BPF_SEQ_PRINTF(seq, " %s=%llu", (const char *)fields[i].name, v);
	}
	BPF_SEQ_PRINTF(seq, "\n");
}

SEC("iter/bpf_sk_storage_map")
int dump_text(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct sock *sk = ctx->sk;
	struct khelp_conn_rec r = {};
	struct khelp_conn_hdr *h = ctx->value;

	if (!sk || !h || !conn__live(sk))
		return 0;
	conn__fill(&r, sk);
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%-6s %-40s %-40s %-6s %s\n", "family", "local", "remote", "state", "container_id");
	if (r.family == AF_INET)
		BPF_SEQ_PRINTF(seq, "inet   %pI4:%-25u %pI4:%-25u %-6u %llu\n", r.saddr, r.sport,
			       r.daddr, r.dport, r.state, h->container_id);
	else
		BPF_SEQ_PRINTF(seq, "inet6  [%pI6]:%u [%pI6]:%u %u %llu\n", r.saddr, r.sport,
			       r.daddr, r.dport, r.state, h->container_id);
	fields__print(seq, ctx->value);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
