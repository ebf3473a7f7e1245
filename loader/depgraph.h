/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Dependency resolution: which modules, in which order. */
#ifndef KHELP_DEPGRAPH_H
#define KHELP_DEPGRAPH_H

#include <stddef.h>

/*
 * depgraph__resolve itself has no limit (its arrays are sized by the input);
 * this is the array size of the callers that still keep fixed arrays.
 */
#define DEPGRAPH_MAX	256

struct dep_node {
	const char *name;
	const char *const *deps;
	size_t ndeps;
};

/*
 * Resolve the closure of the requested modules over the known nodes.
 * out receives names (pointers into nodes) with every dependency before its
 * dependents: a depth-first walk over the requests in name order, each
 * node's dependencies in name order, so the result depends only on the
 * inputs, not on their order. Returns the count, or -ENOENT (a dependency is unknown),
 * -ELOOP (a cycle), -E2BIG (more than outmax modules), -ENOMEM; err names the chain, e.g.
 * "kh_vegas -> h_ertt: h_ertt is not loaded" or "a -> b -> a: dependency cycle".
 */
int depgraph__resolve(const struct dep_node *nodes, size_t nnodes, const char *const *req,
		      size_t nreq, const char **out, size_t outmax, char *err, size_t errlen);

#endif
