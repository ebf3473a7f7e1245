// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * systemd notification (libsystemd's sd_notify; a no-op outside a
 * Type=notify unit): READY, RELOADING around a SIGHUP rescan, STOPPING,
 * and a STATUS= line with modules, containers and errors, sent whenever
 * it changes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "daemon.h"
#include "log.h"

static char last_status[256];

void notify__status_text(struct daemon *d, char *out, size_t size)
{
	int mods = 0, waiting = 0, rejected = 0, cts = 0, active = 0, errors = 0;

	for (struct module *m = d->modules; m; m = m->next) {
		if (m->state == MOD_REJECTED)
			rejected++;
		else if (m->state == MOD_WAITING)
			waiting++;
		else
			mods++;
	}
	for (struct container *c = d->containers; c; c = c->next) {
		cts++;
		active += c->state == CT_ACTIVE;
		errors += c->state == CT_INVALID || c->error[0];
	}
	snprintf(out, size, "%d modules (%d waiting, %d rejected), %d containers (%d active, %d with errors)",
		 mods, waiting, rejected, cts, active, errors);
}

void notify__status(struct daemon *d)
{
	char text[sizeof(last_status)];

	notify__status_text(d, text, sizeof(text));
	if (!strcmp(text, last_status))
		return;
	snprintf(last_status, sizeof(last_status), "%s", text);
	sd_notifyf(0, "STATUS=%s", text);
	pr_debug("status: %s\n", text);
}

void notify__ready(struct daemon *d)
{
	last_status[0] = '\0';
	notify__status(d);
	sd_notify(0, "READY=1");
}

void notify__reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* MONOTONIC_USEC: what systemd 253+ wants with RELOADING=1 */
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading modules and policies\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify__stopping(const char *how)
{
	sd_notifyf(0, "STOPPING=1\nSTATUS=%s", how);
}
