// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a COP file of arbitrary bytes. When it compiles, every rule's canonical text must
 * compile back to the same rule (the printer and the parser agree), and the rules are lowered onto each
 * chip profile and printed as a dry run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cop.h"
#include "lower.h"

static struct cop_policy pol, again;
static struct low_plan plan;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ofl_gen gens[] = { OFL_GEN_T4, OFL_GEN_T5, OFL_GEN_T6 };
	char err[512], text[2048];
	FILE *null;

	if (cop__parse_buf("fuzz.cop", (const char *)data, size, &pol, err, sizeof(err)))
		return 0;
	for (unsigned int i = 0; i < pol.nrules; i++) {
		struct ofl_rule r = pol.rules[i];

		cop__rule_str(&r, text, sizeof(text));
		if (cop__parse_buf("again.cop", text, strlen(text), &again, err, sizeof(err)) || again.nrules != 1) {
			fprintf(stderr, "canonical text of rule %u does not compile: %s: %s\n", i, text, err);
			abort();
		}
		again.rules[0].line = r.line;
		if (memcmp(&again.rules[0], &r, sizeof(r))) {
			fprintf(stderr, "canonical text of rule %u compiles to another rule: %s\n", i, text);
			abort();
		}
	}
	null = fopen("/dev/null", "w");
	for (size_t g = 0; g < sizeof(gens) / sizeof(gens[0]); g++) {
		struct chip_profile prof;

		lower__profile(gens[g], g == 1 ? 7 : -1, 0, OFL_HW_DROP | OFL_HW_REDIRECT | OFL_HW_QUEUE, &prof);
		lower__plan(&prof, &pol, &plan);
		if (null)
			lower__print(&plan, &pol, "eth0", null);
	}
	if (null)
		fclose(null);
	return 0;
}
