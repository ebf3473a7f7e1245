/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* COP-style offload policy: `[A|P|L|D] filter => settings`, first match wins, compiled into
 * struct ofl_rule entries that the BPF datapath and sockops program read from an array map. */
#ifndef KHELP_OFFLOAD_COP_H
#define KHELP_OFFLOAD_COP_H

#include <stddef.h>
#include <khelp/offload.h>

struct cop_policy {
	struct ofl_rule rules[OFL_MAX_RULES];
	unsigned int nrules;
};

/* 0 or -EINVAL with "FILE:LINE:COLUMN: what" in err (-errno for I/O with "FILE: why"). */
int cop__parse_buf(const char *path, const char *buf, size_t len, struct cop_policy *p, char *err,
		   size_t errlen);
int cop__parse_file(const char *path, struct cop_policy *p, char *err, size_t errlen);

/* Canonical text of a rule: "D (dst port 80 or dst port 443) => offload, cong cubic". */
void cop__rule_str(const struct ofl_rule *r, char *buf, size_t len);
void cop__filter_str(const struct ofl_rule *r, char *buf, size_t len);
void cop__settings_str(const struct ofl_rule *r, char *buf, size_t len);

/* 1 when a rule that matches offloads the connection (no `!offload`, no `drop`) */
int cop__offloads(const struct ofl_rule *r);

#endif
