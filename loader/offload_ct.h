/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A container's [offload] section: its COP policy checked with the rest of the policy file, its
 * datapath applied with the rest of the container (or not at all), and the control commands. */
#ifndef KHELP_OFFLOAD_CT_H
#define KHELP_OFFLOAD_CT_H

#include <json-c/json.h>
#include "containers.h"
#include "daemon.h"

/* Validation: [offload] interface and policy together; the COP file compiles. 0 or -EINVAL. */
int offload_ct__check(const struct policy *p, char *err, size_t errlen);
/* The datapath of the new policy np for container c (c->cgroup_path is the new cgroup). On failure
 * nothing changed. */
int offload_ct__apply(struct daemon *d, const struct container *c, const struct policy *np, char *err,
		      size_t errlen);
/* After a successful apply: release the datapath old had and np does not. */
void offload_ct__commit(struct daemon *d, const struct policy *old, const struct policy *np);
/* The container goes: its datapath goes. */
void offload_ct__release(struct daemon *d, const struct policy *p);

/* control commands; 0 or -errno with err set */
int offload_ct__probe(const char *ifname, json_object **out, char *err, size_t errlen);
int offload_ct__check_file(const char *path, const char *chip, int budget, const char *fmode, json_object **out,
			   char *err, size_t errlen);
/* What each container offloads and its counters; 0 or -ENOMEM. */
int offload_ct__show(struct daemon *d, json_object **out);
/* Flows of every offloading container, or of the one named (the caller checked it exists); 0. */
int offload_ct__conns(struct daemon *d, const char *container, json_object **out);

#endif
