// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "depgraph.h"

enum { WHITE, GREY, BLACK };

struct walk {
	const struct dep_node *nodes;
	size_t nnodes;
	int color[DEPGRAPH_MAX];
	const char *path[DEPGRAPH_MAX + 1];
	size_t depth;
	const char **out;
	size_t nout, outmax;
	char *err;
	size_t errlen;
};

static int find(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->nnodes; i++)
		if (!strcmp(w->nodes[i].name, name))
			return (int)i;
	return -1;
}

static void chain(const struct walk *w, size_t from, const char *last, const char *why)
{
	size_t off = 0;

	w->err[0] = '\0';
	for (size_t i = from; i < w->depth && off < w->errlen; i++)
		off += snprintf(w->err + off, w->errlen - off, "%s -> ", w->path[i]);
	if (off < w->errlen)
		snprintf(w->err + off, w->errlen - off, "%s: %s", last, why);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int visit(struct walk *w, int idx)
{
	const struct dep_node *n = &w->nodes[idx];
	const char *sorted[DEPGRAPH_MAX];
	int ret;

	if (w->color[idx] == BLACK)
		return 0;
	if (w->color[idx] == GREY) {
		size_t start = 0;

		for (size_t i = 0; i < w->depth; i++)
			if (!strcmp(w->path[i], n->name))
				start = i;
		chain(w, start, n->name, "dependency cycle");
		return -ELOOP;
	}
	if (n->ndeps > DEPGRAPH_MAX || w->depth >= DEPGRAPH_MAX)
		return -E2BIG;
	w->color[idx] = GREY;
	w->path[w->depth++] = n->name;
	if (n->ndeps)
		memcpy(sorted, n->deps, n->ndeps * sizeof(*sorted));
	qsort(sorted, n->ndeps, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < n->ndeps; i++) {
		int d = find(w, sorted[i]);

		if (d < 0) {
			char why[96];

			snprintf(why, sizeof(why), "%.15s is not loaded", sorted[i]);
			chain(w, 0, sorted[i], why);
			return -ENOENT;
		}
		ret = visit(w, d);
		if (ret)
			return ret;
	}
	w->depth--;
	w->color[idx] = BLACK;
	if (w->nout >= w->outmax)
		return -E2BIG;
	w->out[w->nout++] = n->name;
	return 0;
}

int depgraph__resolve(const struct dep_node *nodes, size_t nnodes, const char *const *req,
		      size_t nreq, const char **out, size_t outmax, char *err, size_t errlen)
{
	struct walk *w;
	const char **sorted;
	int ret = 0;

	if (nnodes > DEPGRAPH_MAX || nreq > DEPGRAPH_MAX) {
		snprintf(err, errlen, "more than %d modules", DEPGRAPH_MAX);
		return -E2BIG;
	}
	w = calloc(1, sizeof(*w));
	sorted = calloc(nreq ? nreq : 1, sizeof(*sorted));
	if (!w || !sorted) {
		free(w);
		free(sorted);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*w = (struct walk){ .nodes = nodes, .nnodes = nnodes, .out = out, .outmax = outmax,
			    .err = err, .errlen = errlen };
	if (nreq)
		memcpy(sorted, req, nreq * sizeof(*sorted));
	qsort(sorted, nreq, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < nreq && !ret; i++) {
		int idx = find(w, sorted[i]);

		if (idx < 0) {
			snprintf(err, errlen, "%.15s is not loaded", sorted[i]);
			ret = -ENOENT;
			break;
		}
		w->depth = 0;
		ret = visit(w, idx);
	}
	if (ret == -E2BIG)
		snprintf(err, errlen, "dependency graph too large (max %d modules)", DEPGRAPH_MAX);
	if (!ret)
		ret = (int)w->nout;
	free(w);
	free(sorted);
	return ret;
}
