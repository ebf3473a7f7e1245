// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * khelpd: loads khelp modules from a directory, attaches them to containers
 * as their policy files say, serves khelpctl on a unix socket. One thread,
 * one epoll loop: signals, inotify on the two directories, the control
 * socket and a 1 s tick (cgroups that appear, drains that finish).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ccusers.h"
#include "clients.h"
#include "containers.h"
#include "ctl.h"
#include "lifecycle.h"
#include "log.h"
#include "notify.h"
#include "pins.h"
#include "registry.h"
#include "server.h"
#include "tracing.h"
#include "watch.h"

/* epoll tags of the fixed sources; clients carry a pointer (clients.h) */
enum { EV_SIGNAL = 1, EV_INOTIFY, EV_LISTEN, EV_TICK };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: khelpd [--config FILE] [--foreground] [-v]\n"
		"  -c, --config FILE   khelpd.conf ([paths] modules, policies, bpffs, socket)\n"
		"  -f, --foreground    stay in the foreground (the default; for systemd)\n"
		"  -v, --verbose       more log output (repeat for libbpf debug)\n"
		"  -h, --help          this text\n");
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int listen__open(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[PATH_MAX], *slash;
	int fd, probe;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		pr_warn("socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		pins__mkdir(dir);
	}
	/* a live khelpd answers on it: refuse to take its socket away */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && !connect(probe, (struct sockaddr *)&sun, sizeof(sun))) {
		close(probe);
		pr_warn("another khelpd is serving %s\n", path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	if (unlink(path) && errno != ENOENT) {
		pr_warn("cannot remove the stale socket %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0660) || listen(fd, 16)) {
		pr_warn("cannot listen on %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return fd;
}

static void pins__remove_stale(const char *sub)
{
	int ret;

	pr_info("removing stale pins %s\n", sub);
	ret = pins__remove_tree(sub);
	if (ret)
		pr_warn("cannot remove all of %s: %s; bpftool shows what stays\n", sub, strerror(-ret));
}

/* Pins that no module or container of ours explains are left from an earlier run: remove them. */
static void pins__reconcile(struct daemon *d)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	pins__path(path, sizeof(path), d->cfg.bpffs, "modules", NULL, NULL);
	if ((dir = opendir(path))) {
		while ((e = readdir(dir)))
			if (e->d_name[0] != '.' && !registry__find(d, e->d_name)) {
				char sub[PATH_MAX];

				pins__path(sub, sizeof(sub), d->cfg.bpffs, "modules", e->d_name, NULL);
				pins__remove_stale(sub);
			}
		closedir(dir);
	}
	pins__path(path, sizeof(path), d->cfg.bpffs, "containers", NULL, NULL);
	if ((dir = opendir(path))) {
		while ((e = readdir(dir))) {
			struct container *c = container__find(d, e->d_name);
			char sub[PATH_MAX];
			struct dirent *l;
			DIR *cd;

			if (e->d_name[0] == '.')
				continue;
			pins__path(sub, sizeof(sub), d->cfg.bpffs, "containers", e->d_name, NULL);
			if (!c || c->state != CT_ACTIVE) {
				pins__remove_stale(sub);
				continue;
			}
			if (!(cd = opendir(sub)))
				continue;
			while ((l = readdir(cd))) {
				struct module *m = registry__find(d, l->d_name);
				char pin[PATH_MAX];

				if (l->d_name[0] == '.' || (m && container__uses(c, m)))
					continue;
				/* the container's CC selector, pinned beside its modules' links */
				if (!strcmp(l->d_name, ATT_CCSEL_PIN) && c->ccsel_fd >= 0)
					continue;
				pins__path(pin, sizeof(pin), d->cfg.bpffs, "containers", e->d_name, l->d_name);
				if (unlink(pin) && errno != ENOENT)
					pr_warn("cannot remove stale pin %s: %s\n", pin, strerror(errno));
			}
			closedir(cd);
		}
		closedir(dir);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct daemon d = { .stats_fd = -1 };
	const char *config = NULL;
	char err[1024];
	int opt, verbose = 0, efd, sfd, lfd, tfd, running = 1;
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct clients *clients;
	struct watch *watch;
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "c:fvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'f': break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "khelpd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log__set_level(verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log__route_libbpf();
	{
		/* one fd per network namespace while the CC users are counted (netns__all) */
		struct rlimit nofile;

		if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nofile))
				pr_warn("cannot raise the open-file limit: %s\n", strerror(errno));
		}
	}
	if (config__load(&d.cfg, config, err, sizeof(err))) {
		pr_warn("config: %s\n", err);
		return 1;
	}
	if (pins__ensure_bpffs(d.cfg.bpffs, err, sizeof(err))) {
		pr_warn("%s\n", err);
		return 1;
	}
	if (pins__lock(d.cfg.bpffs, err, sizeof(err)) < 0) {
		pr_warn("%s\n", err);
		return 1;
	}
	if (pins__mkdir(d.cfg.modules) || pins__mkdir(d.cfg.policies)) {
		pr_warn("cannot create %s or %s: %s\n", d.cfg.modules, d.cfg.policies, strerror(errno));
		return 1;
	}
	if (d.cfg.stats) {
		d.stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (d.stats_fd < 0)
			pr_warn("cannot enable bpf_stats: %s\n", strerror(errno));
	}
	d.started_ns = mono_ns();

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		pr_warn("cannot block signals for the event loop: %s\n", strerror(errno));
		return 1;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	watch = watch__new(&d);
	if (sfd < 0 || !watch) {
		pr_warn("cannot watch %s and %s: %s\n", d.cfg.modules, d.cfg.policies, strerror(errno));
		return 1;
	}
	/* the 1 s tick: waiting cgroups, draining modules, the status; without it they would never move */
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 || timerfd_settime(tfd, 0, &tick, NULL)) {
		pr_warn("cannot set up the 1 s timer: %s\n", strerror(errno));
		return 1;
	}
	lfd = listen__open(d.cfg.socket);
	if (lfd < 0)
		return 1;

	pr_info("khelpd %s: modules %s, policies %s, bpffs %s, socket %s\n", KHELP_VERSION, d.cfg.modules,
		d.cfg.policies, d.cfg.bpffs, d.cfg.socket);
	lifecycle__scan(&d);
	lifecycle__flush(&d);
	pins__reconcile(&d);
	tracing__sync(&d);
	tracing__sync(&d);

	efd = epoll_create1(EPOLL_CLOEXEC);
	{
		struct { int fd; int tag; } srcs[] = { { sfd, EV_SIGNAL }, { watch__fd(watch), EV_INOTIFY },
						      { lfd, EV_LISTEN }, { tfd, EV_TICK } };

		for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = srcs[i].tag };

			if (epoll_ctl(efd, EPOLL_CTL_ADD, srcs[i].fd, &ev)) {
				pr_warn("epoll_ctl: %s\n", strerror(errno));
				return 1;
			}
		}
	}
	clients = clients__new(&d, efd, lfd);
	if (efd < 0 || !clients) {
		pr_warn("cannot set up the event loop: %s\n", strerror(errno));
		return 1;
	}
	notify__ready(&d);
	pr_info("ready\n");

	while (running && !d.shutdown) {
		struct epoll_event evs[16];
		int n = epoll_wait(efd, evs, 16, clients__timeout_ms(clients));

		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n && !d.shutdown; i++) {
			if (evs[i].data.u64 >= CLIENTS_TAG_MIN) {
				clients__event(clients, evs[i].data.ptr, evs[i].events);
				continue;
			}
			switch (evs[i].data.u64) {
			case EV_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						pr_info("SIGHUP: rescanning modules and policies\n");
						notify__reloading();
						watch__rescan(watch);
						notify__ready(&d);
					} else {
						running = 0;
					}
				}
				break;
			}
			case EV_INOTIFY:
				watch__handle(watch);
				break;
			case EV_LISTEN:
				clients__accept(clients);
				break;
			case EV_TICK: {
				__u64 exp;

				if (read(tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
					pr_debug("timerfd: %s\n", strerror(errno));
				watch__tick(watch);
				container__poll_waiting(&d);
				lifecycle__reap(&d);
				notify__status(&d);
				break;
			}
			}
			tracing__sync(&d);
		}
		clients__expire(clients);
		/* modules changed in this turn: every policy is applied once, now */
		lifecycle__flush(&d);
		tracing__sync(&d);
	}
	/* pins are the durable state: hooks keep running; a new khelpd adopts them */
	if (d.shutdown == 2) {
		pr_info("exiting; everything khelp created is removed\n");
		notify__stopping("stopping; detached");
	} else {
		pr_info("exiting; attachments stay pinned under %s\n", d.cfg.bpffs);
		notify__stopping("stopping; attachments stay pinned");
	}
	if (unlink(d.cfg.socket) && errno != ENOENT)
		pr_warn("cannot remove %s: %s\n", d.cfg.socket, strerror(errno));
	clients__free(clients);
	watch__free(watch);
	container__free_all(&d);
	registry__free_all(&d);
	ccusers__free();
	if (d.stats_fd >= 0)
		close(d.stats_fd);
	return 0;
}
