// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelpctl: the CLI of khelpd. Every command asks khelpd over the control
 * socket and prints its answer as plain text or, with -j, as JSON. A failure
 * prints one "Error: ..." line on stderr ({"error": ...} with -j) and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctl.h"

#define DEFAULT_SOCKET	"/run/khelp/khelpd.sock"

static int json_mode;
static const char *sock_path = DEFAULT_SOCKET;

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_mode) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
	return 1;
}

/* Send a request; on success *data is the "ok" payload (owned by *resp). */
static int call(json_object *req, json_object **resp, json_object **data)
{
	char err[1024];
	json_object *e;

	*resp = ctl__call(sock_path, req, err, sizeof(err));
	json_object_put(req);
	if (!*resp)
		return die("%s", err);
	if (json_object_object_get_ex(*resp, "error", &e)) {
		int r = die("%s", json_object_get_string(e));

		json_object_put(*resp);
		return r;
	}
	if (!json_object_object_get_ex(*resp, "ok", data)) {
		json_object_put(*resp);
		return die("khelpd sent an answer without a result");
	}
	return 0;
}

static json_object *request(const char *cmd)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	return o;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* the array's strings joined by commas ("-" if none) into out; ", ... (N in all)" when cut */
static void join(json_object *arr, char *out, size_t size)
{
	size_t off = 0, n = arr ? json_object_array_length(arr) : 0;
	char more[48];

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
		int len = snprintf(more, sizeof(more), ",... (%zu in all)", n);

		/* keep room to say that the rest is left out */
		if (off + strlen(s) + 1 + (i + 1 < n ? (size_t)len : 0) >= size) {
			snprintf(out + off, size - off, "%s", i ? more : more + 1);
			return;
		}
		off += snprintf(out + off, size - off, "%s%s", i ? "," : "", s);
	}
	if (!out[0])
		snprintf(out, size, "-");
}

static int print_json(json_object *data)
{
	printf("%s\n", json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/*
 * call() for a command whose result is printed: in JSON mode it is printed
 * here. Returns 1 when the caller is done (exit code in *rc), 0 when *resp
 * and *data are the caller's to print as text and release.
 */
static int call_text(json_object *req, json_object **resp, json_object **data, int *rc)
{
	if ((*rc = call(req, resp, data)))
		return 1;
	if (!json_mode)
		return 0;
	print_json(*data);
	json_object_put(*resp);
	return 1;
}

/* ---- commands ---- */

static int do_status(int argc, char **argv)
{
	json_object *resp, *d, *p;
	int rc;

	(void)argv;
	if (argc)
		return die("status takes no arguments");
	if (call_text(request("status"), &resp, &d, &rc))
		return rc;
	p = get(d, "paths");
	printf("khelpd %s running (pid %s, up %ss)\n", str(d, "version"), str(d, "pid"), str(d, "uptime_s"));
	printf("modules:    %s loaded, %s rejected\n", str(d, "modules"), str(d, "rejected"));
	printf("containers: %s (%s active)\n", str(d, "containers"), str(d, "containers_active"));
	printf("config:     %s\n", str(p, "config"));
	printf("modules in: %s\npolicies:   %s\nbpffs:      %s\nsocket:     %s\n", str(p, "modules"),
	       str(p, "policies"), str(p, "bpffs"), str(p, "socket"));
	printf("bpf_stats:  %s\n", json_object_get_boolean(get(d, "bpf_stats")) ? "on" : "off");
	json_object_put(resp);
	return 0;
}

static int do_modules(int argc, char **argv)
{
	json_object *resp, *d;
	int rc;

	(void)argv;
	if (argc)
		return die("modules takes no arguments");
	if (call_text(request("modules"), &resp, &d, &rc))
		return rc;
	printf("%-15s %-9s %-9s %4s  %-34s %s\n", "NAME", "VERSION", "STATE", "REFS", "HOOKS", "DEPS");
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *m = json_object_array_get_idx(d, i);
		char hooks[256], deps[256], holders[1024];
		const char *name = str(m, "name"), *reason = str(m, "reason");

		join(get(m, "hooks"), hooks, sizeof(hooks));
		join(get(m, "deps"), deps, sizeof(deps));
		join(get(m, "holders"), holders, sizeof(holders));
		printf("%-15s %-9s %-9s %4s  %-34s %s\n", name ? name : "?", str(m, "version") ? str(m, "version") : "-",
		       str(m, "state"), str(m, "refcount") ? str(m, "refcount") : "-", hooks, deps);
		printf("    file: %s", str(m, "file"));
		if (get(m, "holders") && json_object_array_length(get(m, "holders")))
			printf("  held by: %s", holders);
		if (get(m, "run_cnt"))
			printf("  runs: %s (%s ns)", str(m, "run_cnt"), str(m, "run_time_ns"));
		printf("\n");
		if (reason)
			printf("    %s\n", reason);
	}
	json_object_put(resp);
	return 0;
}

static int do_containers(int argc, char **argv)
{
	json_object *resp, *d;
	int rc;

	(void)argv;
	if (argc)
		return die("containers takes no arguments");
	if (call_text(request("containers"), &resp, &d, &rc))
		return rc;
	printf("%-16s %-18s %-12s %-40s %s\n", "NAME", "STATE", "CONGESTION", "CGROUP", "MODULES");
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *c = json_object_array_get_idx(d, i);
		char mods[512];
		const char *cc = str(c, "congestion"), *cg = str(c, "cgroup"), *err = str(c, "error");

		join(get(c, "modules"), mods, sizeof(mods));
		printf("%-16s %-18s %-12s %-40s %s\n", str(c, "name"), str(c, "state"), cc ? cc : "-", cg ? cg : "-", mods);
		if (err)
			printf("    %s\n", err);
	}
	json_object_put(resp);
	return 0;
}

static int do_conns(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "container", required_argument, NULL, 'c' },
		{ "module", required_argument, NULL, 'm' },
		{}
	};
	json_object *req = request("conns"), *resp, *d;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc + 1, argv - 1, "+c:m:", opts, NULL)) != -1) {
		if (opt == 'c')
			json_object_object_add(req, "container", json_object_new_string(optarg));
		else if (opt == 'm')
			json_object_object_add(req, "module", json_object_new_string(optarg));
		else {
			json_object_put(req);
			return die("usage: khelpctl conns [--container C] [--module M]");
		}
	}
	if (optind < argc + 1) {
		json_object_put(req);
		return die("conns: unexpected argument '%s'", argv[optind - 1]);
	}
	if (call_text(req, &resp, &d, &rc))
		return rc;
	printf("%-28s %-28s %-12s %s\n", "LOCAL", "REMOTE", "STATE", "CONTAINER");
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *c = json_object_array_get_idx(d, i), *mods = get(c, "modules");
		const char *ct = str(c, "container");

		printf("%-28s %-28s %-12s %s\n", str(c, "local"), str(c, "remote"), str(c, "state"), ct ? ct : "-");
		json_object_object_foreach(mods, name, data) {
			printf("    %-15s", name);
			json_object_object_foreach(data, k, v)
				printf(" %s=%s", k, json_object_get_string(v));
			printf("\n");
		}
	}
	json_object_put(resp);
	return 0;
}

static int do_load(int argc, char **argv)
{
	json_object *req, *resp, *d;
	char abs[PATH_MAX];
	int rc;

	if (argc != 1)
		return die("usage: khelpctl load FILE.bpf.o");
	if (!realpath(argv[0], abs))
		return die("%s: %s", argv[0], strerror(errno));
	req = request("load");
	json_object_object_add(req, "path", json_object_new_string(abs));
	if (call_text(req, &resp, &d, &rc))
		return rc;
	if (json_object_is_type(d, json_type_object))
		printf("loaded %s %s (%s)\n", str(d, "name"), str(d, "version"), str(d, "state"));
	else
		printf("%s\n", json_object_get_string(d));
	json_object_put(resp);
	return 0;
}

static int module_present(const char *name)
{
	json_object *resp, *d;
	int found = 0;

	if (call(request("modules"), &resp, &d))
		return -1;
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		const char *n = str(json_object_array_get_idx(d, i), "name");

		found |= n && !strcmp(n, name);
	}
	json_object_put(resp);
	return found;
}

static int do_unload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "drain", no_argument, NULL, 'd' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{}
	};
	json_object *req, *resp, *d;
	const char *name = NULL;
	int opt, drain = 0, migrate = 0, draining;
	double timeout = 0;

	optind = 0;
	while ((opt = getopt_long(argc + 1, argv - 1, "dmt:", opts, NULL)) != -1) {
		if (opt == 'd')
			drain = 1;
		else if (opt == 'm')
			migrate = 1;
		else if (opt == 't') {
			char *end;

			timeout = strtod(optarg, &end);
			if (*end || timeout <= 0)
				return die("--timeout takes seconds > 0, not '%s'", optarg);
		} else
			return die("usage: khelpctl unload NAME [--drain [--timeout SECONDS] | --migrate]");
	}
	if (optind != argc || (drain && migrate))
		return die("usage: khelpctl unload NAME [--drain [--timeout SECONDS] | --migrate]");
	name = argv[optind - 1];
	req = request("unload");
	json_object_object_add(req, "name", json_object_new_string(name));
	json_object_object_add(req, "drain", json_object_new_boolean(drain));
	json_object_object_add(req, "migrate", json_object_new_boolean(migrate));
	if (call(req, &resp, &d))
		return 1;
	draining = !strcmp(json_object_get_string(d), "draining");
	json_object_put(resp);
	if (draining) {
		/* wait for the last holder to go */
		struct timespec start, now, nap = { 0, 200 * 1000000 };
		int present;

		if (!json_mode)
			printf("draining %s: waiting for its last connection\n", name);
		fflush(stdout);
		clock_gettime(CLOCK_MONOTONIC, &start);
		while ((present = module_present(name)) == 1) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (timeout && now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 > timeout)
				return die("module %s still draining after %.0f s (it unloads when its last connection closes)",
					   name, timeout);
			nanosleep(&nap, NULL);
		}
		if (present < 0)
			return 1;
	}
	if (json_mode)
		printf("{\"unloaded\":\"%s\"}\n", name);
	else
		printf("unloaded %s\n", name);
	return 0;
}

static int do_policy(int argc, char **argv)
{
	json_object *req, *resp, *d;
	char abs[PATH_MAX];

	if (argc != 2 || strcmp(argv[0], "check"))
		return die("usage: khelpctl policy check FILE");
	if (!realpath(argv[1], abs))
		return die("%s: %s", argv[1], strerror(errno));
	req = request("policy-check");
	json_object_object_add(req, "path", json_object_new_string(abs));
	if (call(req, &resp, &d))
		return 1;
	if (json_mode)
		printf("{\"valid\":true,\"file\":\"%s\"}\n", argv[1]);
	else
		printf("%s: valid\n", argv[1]);
	json_object_put(resp);
	return 0;
}

static int do_param(int argc, char **argv)
{
	json_object *req, *resp, *d;
	int set, rc;

	if (argc < 1 || (strcmp(argv[0], "get") && strcmp(argv[0], "set")))
		return die("usage: khelpctl param get CONTAINER MODULE [KEY] | param set CONTAINER MODULE KEY VALUE");
	set = !strcmp(argv[0], "set");
	if ((!set && (argc < 3 || argc > 4)) || (set && argc != 5))
		return die("usage: khelpctl param get CONTAINER MODULE [KEY] | param set CONTAINER MODULE KEY VALUE");
	req = request(set ? "param-set" : "param-get");
	json_object_object_add(req, "container", json_object_new_string(argv[1]));
	json_object_object_add(req, "module", json_object_new_string(argv[2]));
	if (argc > 3)
		json_object_object_add(req, "key", json_object_new_string(argv[3]));
	if (set)
		json_object_object_add(req, "value", json_object_new_string(argv[4]));
	if (call_text(req, &resp, &d, &rc))
		return rc;
	json_object_object_foreach(d, k, v)
		printf("%s.%s = %s\n", argv[2], k, json_object_get_string(v));
	json_object_put(resp);
	return 0;
}

static int do_cc(int argc, char **argv)
{
	json_object *resp, *d;
	int rc;

	if (argc != 1 || strcmp(argv[0], "list"))
		return die("usage: khelpctl cc list");
	if (call_text(request("cc-list"), &resp, &d, &rc))
		return rc;
	printf("%-15s %-7s %-12s %-20s %s\n", "NAME", "CONNS", "PROVIDER", "MODULE", "DEFAULT IN");
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *c = json_object_array_get_idx(d, i);
		const char *mod = str(c, "module");
		char in[512];

		join(get(c, "default_in"), in, sizeof(in));
		if (json_object_get_boolean(get(c, "system_default"))) {
			if (!strcmp(in, "-"))
				snprintf(in, sizeof(in), "(system)");
			else
				strncat(in, " (system)", sizeof(in) - strlen(in) - 1);
		}
		printf("%-15s %-7s %-12s %-20s %s\n", str(c, "name"), str(c, "connections"), mod ? "khelp" : "kernel",
		       mod ? mod : "-", in);
	}
	json_object_put(resp);
	return 0;
}

/* shutdown [--detach]: stop khelpd; --detach first removes everything khelp created */
static int do_shutdown(int argc, char **argv)
{
	json_object *req = request("shutdown"), *resp, *d;
	int detach = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--detach")) {
			json_object_put(req);
			return die("shutdown: unexpected argument '%s' (usage: khelpctl shutdown [--detach])", argv[i]);
		}
		detach = 1;
	}
	json_object_object_add(req, "detach", json_object_new_boolean(detach));
	if (call(req, &resp, &d))
		return 1;
	if (json_mode)
		printf("%s\n", json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
	else if (detach)
		printf("khelpd stopped; detached %d containers and %d modules, removed %s\n",
		       json_object_get_int(json_object_object_get(d, "containers")),
		       json_object_get_int(json_object_object_get(d, "modules")), str(d, "bpffs"));
	else
		printf("khelpd stopped; attachments stay pinned under %s\n", str(d, "bpffs"));
	json_object_put(resp);
	return 0;
}

/* ---- offload ---- */

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static const char *tri(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return !v ? "unknown" : json_object_get_boolean(v) ? "yes" : "no";
}

static int offload_probe(int argc, char **argv)
{
	json_object *req = request("offload-probe"), *resp, *d;
	int rc;

	if (argc > 1)
		return json_object_put(req), die("usage: khelpctl offload probe [IFNAME]");
	if (argc == 1)
		json_object_object_add(req, "interface", json_object_new_string(argv[0]));
	if (call_text(req, &resp, &d, &rc))
		return rc;
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *c = json_object_array_get_idx(d, i);

		printf("%s%s\n", i ? "\n" : "", str(c, "interface"));
		printf("  driver:        %s\n", str(c, "driver"));
		printf("  pci:           %s vendor %s device %s\n", or_dash(str(c, "pci")), or_dash(str(c, "vendor")),
		       or_dash(str(c, "device")));
		printf("  chelsio:       %s\n", str(c, "chelsio"));
		printf("  native xdp:    %s (%s)\n", tri(c, "native_xdp"), str(c, "native_xdp_from"));
		printf("  hw-tc-offload: %s\n  ntuple:        %s\n", tri(c, "hw_tc_offload"), tri(c, "ntuple"));
		printf("  filter budget: %s\n", str(c, "filter_budget") ? str(c, "filter_budget") : "unknown");
		printf("  datapath:      %s\n  hardware:      %s\n  plan:          %s\n", str(c, "datapath"),
		       str(c, "hardware"), str(c, "plan"));
	}
	json_object_put(resp);
	return 0;
}

static int offload_check(int argc, char **argv)
{
	json_object *req = request("offload-check"), *resp, *d, *rules;
	char path[PATH_MAX];
	int dry = 0, rc;

	if (argc < 1) {
		json_object_put(req);
		return die("usage: khelpctl offload check FILE [--dry-run --chip T4|T5|T6 [--budget N] "
			   "[--filtermode LIST]]");
	}
	/* khelpd reads the file: give it an absolute path */
	if (!realpath(argv[0], path)) {
		json_object_put(req);
		return die("%s: %s", argv[0], strerror(errno));
	}
	json_object_object_add(req, "file", json_object_new_string(path));
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (!strcmp(opt, "--dry-run")) {
			dry = 1;
		} else if ((!strcmp(opt, "--chip") || !strcmp(opt, "--budget") || !strcmp(opt, "--filtermode")) &&
			   i + 1 < argc) {
			json_object_object_add(req, opt + 2, json_object_new_string(argv[++i]));
		} else {
			json_object_put(req);
			return die("offload check: unexpected argument '%s'", opt);
		}
	}
	if (dry && !get(req, "chip")) {
		json_object_put(req);
		return die("offload check --dry-run needs --chip T4|T5|T6 (the chip profile to lower onto)");
	}
	if (call_text(req, &resp, &d, &rc))
		return rc;
	if (dry) {
		printf("%s", str(d, "dry_run"));
	} else {
		rules = get(d, "rules");
		printf("%s: %zu rule%s\n", str(d, "file"), json_object_array_length(rules),
		       json_object_array_length(rules) == 1 ? "" : "s");
		for (size_t i = 0; i < json_object_array_length(rules); i++) {
			json_object *r = json_object_array_get_idx(rules, i);

			printf("%3s line %-4s %s %s => %s\n", str(r, "rule"), str(r, "line"), str(r, "type"),
			       str(r, "filter"), str(r, "settings"));
		}
	}
	json_object_put(resp);
	return 0;
}

static int offload_show(int argc, char **argv)
{
	json_object *resp, *d;
	int rc;

	(void)argv;
	if (argc)
		return die("usage: khelpctl offload show");
	if (call_text(request("offload-show"), &resp, &d, &rc))
		return rc;
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *c = json_object_array_get_idx(d, i), *rules = get(c, "rules");

		printf("%scontainer %s on %s: datapath %s\n", i ? "\n" : "", str(c, "container"), str(c, "interface"),
		       str(c, "datapath"));
		printf("  %-4s %-5s %-9s %-10s %-10s %s\n", "RULE", "LINE", "WHERE", "PACKETS", "BYTES", "RULE / WHY");
		for (size_t k = 0; rules && k < json_object_array_length(rules); k++) {
			json_object *r = json_object_array_get_idx(rules, k);

			printf("  %-4s %-5s %-9s %-10s %-10s %s %s => %s\n", str(r, "rule"), str(r, "line"),
			       str(r, "where"), str(r, "packets"), str(r, "bytes"), str(r, "type"), str(r, "filter"),
			       str(r, "settings"));
			printf("  %-4s %-5s %-9s %-10s %-10s (%s)\n", "", "", "", "", "", str(r, "why"));
		}
	}
	json_object_put(resp);
	return 0;
}

static int offload_conns(int argc, char **argv)
{
	json_object *req = request("offload-conns"), *resp, *d;
	int rc;

	if (argc == 2 && !strcmp(argv[0], "--container")) {
		json_object_object_add(req, "container", json_object_new_string(argv[1]));
	} else if (argc) {
		json_object_put(req);
		return die("usage: khelpctl offload conns [--container C]");
	}
	if (call_text(req, &resp, &d, &rc))
		return rc;
	printf("%-5s %-24s %-24s %-4s %-4s %-6s %-10s %-12s %-10s %-12s %-10s %s\n", "KIND", "LOCAL", "REMOTE", "OPEN",
	       "RULE", "STATE", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "CONTAINER", "IF");
	for (size_t i = 0; i < json_object_array_length(d); i++) {
		json_object *c = json_object_array_get_idx(d, i);

		printf("%-5s %-24s %-24s %-4s %-4s %-6s %-10s %-12s %-10s %-12s %-10s %s\n", str(c, "kind"),
		       str(c, "local"), str(c, "remote"), str(c, "open"), str(c, "rule"), str(c, "state"),
		       str(c, "rx_packets"), str(c, "rx_bytes"), str(c, "tx_packets"), str(c, "tx_bytes"),
		       str(c, "container"), str(c, "interface"));
	}
	json_object_put(resp);
	return 0;
}

static int do_offload(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} sub[] = {
		{ "probe", offload_probe }, { "check", offload_check }, { "show", offload_show }, { "conns", offload_conns },
	};

	for (size_t i = 0; argc > 0 && i < sizeof(sub) / sizeof(sub[0]); i++)
		if (!strcmp(argv[0], sub[i].name))
			return sub[i].fn(argc - 1, argv + 1);
	return die("usage: khelpctl offload probe [IFNAME] | check FILE [--dry-run --chip T4|T5|T6] | show | "
		   "conns [--container C]");
}

static int do_help(int argc, char **argv);

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "status", do_status, "status                         is khelpd running, with what" },
	{ "modules", do_modules, "modules                        modules, hooks, deps, refcount and holders" },
	{ "containers", do_containers, "containers                     containers, their cgroup and modules" },
	{ "conns", do_conns, "conns [--container C] [--module M]  live connections and their per-connection data" },
	{ "load", do_load, "load FILE.bpf.o                load a module (copied into the module directory)" },
	{ "unload", do_unload, "unload NAME [--drain [--timeout S] | --migrate]  unload; EBUSY while held" },
	{ "cc", do_cc, "cc list                        congestion controls: ours and the kernel's, defaults, users" },
	{ "policy", do_policy, "policy check FILE              validate a policy file without applying it" },
	{ "param", do_param, "param get|set CONTAINER MODULE [KEY [VALUE]]  module parameters of a container" },
	{ "shutdown", do_shutdown, "shutdown [--detach]            stop khelpd; --detach removes every link, CC, pin and sysctl entry first" },
	{ "offload", do_offload, "offload probe [IFNAME] | check FILE [--dry-run --chip T4|T5|T6] | show | conns [--container C]" },
	{ "help", do_help, "help                           this text" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: khelpctl [-j|--json] [--socket PATH] COMMAND [ARGS]\n\nCommands (any unique prefix):\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].help);
	fprintf(f, "\nThe socket is %s unless --socket or KHELP_SOCKET says otherwise.\n", DEFAULT_SOCKET);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const struct cmd *match = NULL;
	int opt, nmatch = 0;
	size_t len;

	if (getenv("KHELP_SOCKET") && getenv("KHELP_SOCKET")[0])
		sock_path = getenv("KHELP_SOCKET");
	while ((opt = getopt_long(argc, argv, "+js:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json_mode = 1; break;
		case 's': sock_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return die("no command given");
	}
	len = strlen(argv[optind]);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(cmds[i].name, argv[optind])) {
			match = &cmds[i];
			nmatch = 1;
			break;
		}
		if (!strncmp(cmds[i].name, argv[optind], len)) {
			match = &cmds[i];
			nmatch++;
		}
	}
	if (nmatch != 1)
		return die("%s command '%s' (see khelpctl help)", nmatch ? "ambiguous" : "unknown", argv[optind]);
	return match->fn(argc - optind - 1, argv + optind + 1);
}
