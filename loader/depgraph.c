// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Dependency resolution as an iterative depth-first walk. Everything is sized
 * by the input (no fixed limit, no recursion): names are found by binary
 * search over a sorted index, the walk's stack and each node's sorted
 * dependency list live in arrays allocated once per call.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "depgraph.h"

enum { WHITE, GREY, BLACK };

struct frame {
	size_t idx;		/* node */
	const char **deps;	/* its dependencies, sorted, in the scratch array */
	size_t ndeps, pos;	/* pos: the next one to visit */
};

struct walk {
	const struct dep_node *nodes;
	size_t nnodes;
	size_t *index;		/* node indices sorted by (name, index) */
	unsigned char *color;
	const char **path;	/* names on the stack, for error chains */
	struct frame *stack;
	size_t depth;
	const char **scratch;	/* a stack of sorted dependency lists */
	size_t top;
	const char **out;
	size_t nout, outmax;
	char *err;
	size_t errlen;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const struct dep_node *sort_nodes;	/* qsort has no context argument */

static int cmp_idx(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_nodes[x].name, sort_nodes[y].name);

	return c ? c : (x > y) - (x < y);
}

/* The first node (in input order) of that name, -1 if none. */
static long find(const struct walk *w, const char *name)
{
	size_t lo = 0, hi = w->nnodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(w->nodes[w->index[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nnodes && !strcmp(w->nodes[w->index[lo]].name, name) ? (long)w->index[lo] : -1;
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

static void push(struct walk *w, size_t idx)
{
	const struct dep_node *n = &w->nodes[idx];
	struct frame *f = &w->stack[w->depth];

	w->color[idx] = GREY;
	w->path[w->depth++] = n->name;
	*f = (struct frame){ .idx = idx, .deps = w->scratch + w->top, .ndeps = n->ndeps };
	if (n->ndeps)
		memcpy(f->deps, n->deps, n->ndeps * sizeof(*f->deps));
	qsort(f->deps, n->ndeps, sizeof(*f->deps), cmp_str);
	w->top += n->ndeps;
}

/* Walk from node idx: its closure goes to out, dependencies first. */
static int visit(struct walk *w, size_t idx)
{
	if (w->color[idx] == BLACK)
		return 0;
	w->depth = 0;
	w->top = 0;
	push(w, idx);
	while (w->depth) {
		struct frame *f = &w->stack[w->depth - 1];

		if (f->pos < f->ndeps) {
			const char *dep = f->deps[f->pos++];
			long d = find(w, dep);

			if (d < 0) {
				char why[96];

				snprintf(why, sizeof(why), "%.15s is not loaded", dep);
				chain(w, 0, dep, why);
				return -ENOENT;
			}
			if (w->color[d] == GREY) {
				size_t start = 0;

				for (size_t i = 0; i < w->depth; i++)
					if (!strcmp(w->path[i], dep))
						start = i;
				chain(w, start, dep, "dependency cycle");
				return -ELOOP;
			}
			if (w->color[d] == WHITE)
				push(w, (size_t)d);
			continue;
		}
		/* all its dependencies are out: the node follows */
		if (w->nout >= w->outmax) {
			snprintf(w->err, w->errlen, "dependency closure too large: more than %zu modules",
				 w->outmax);
			return -E2BIG;
		}
		w->color[f->idx] = BLACK;
		w->out[w->nout++] = w->nodes[f->idx].name;
		w->top -= f->ndeps;
		w->depth--;
	}
	return 0;
}

int depgraph__resolve(const struct dep_node *nodes, size_t nnodes, const char *const *req,
		      size_t nreq, const char **out, size_t outmax, char *err, size_t errlen)
{
	struct walk w = { .nodes = nodes, .nnodes = nnodes, .out = out, .outmax = outmax,
			  .err = err, .errlen = errlen };
	const char **sorted = NULL;
	size_t ndeps = 0;
	int ret = 0;

	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < nnodes; i++) {
		if (nodes[i].ndeps > SIZE_MAX / 4 - ndeps) {
			snprintf(err, errlen, "dependency graph too large");
			return -E2BIG;
		}
		ndeps += nodes[i].ndeps;
	}
	if (nnodes > (size_t)INT32_MAX || nreq > SIZE_MAX / sizeof(*sorted)) {
		snprintf(err, errlen, "dependency graph too large: %zu modules", nnodes);
		return -E2BIG;
	}
	w.index = malloc((nnodes ? nnodes : 1) * sizeof(*w.index));
	w.color = calloc(nnodes ? nnodes : 1, sizeof(*w.color));
	w.path = malloc((nnodes + 1) * sizeof(*w.path));
	w.stack = malloc((nnodes + 1) * sizeof(*w.stack));
	w.scratch = malloc((ndeps ? ndeps : 1) * sizeof(*w.scratch));
	sorted = malloc((nreq ? nreq : 1) * sizeof(*sorted));
	if (!w.index || !w.color || !w.path || !w.stack || !w.scratch || !sorted) {
		snprintf(err, errlen, "out of memory resolving dependencies of %zu modules", nnodes);
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nnodes; i++)
		w.index[i] = i;
	sort_nodes = nodes;
	qsort(w.index, nnodes, sizeof(*w.index), cmp_idx);
	sort_nodes = NULL;
	if (nreq)
		memcpy(sorted, req, nreq * sizeof(*sorted));
	qsort(sorted, nreq, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < nreq && !ret; i++) {
		long idx = find(&w, sorted[i]);

		if (idx < 0) {
			snprintf(err, errlen, "%.15s is not loaded", sorted[i]);
			ret = -ENOENT;
			break;
		}
		ret = visit(&w, (size_t)idx);
	}
	if (!ret)
		ret = (int)w.nout;
out:
	free(w.index);
	free(w.color);
	free(w.path);
	free(w.stack);
	free(w.scratch);
	free(sorted);
	return ret;
}
