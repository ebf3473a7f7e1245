// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replays a fuzz target's seed corpus and regression inputs without libFuzzer:
 * linked with one fuzz_*.c harness, built with gcc and the sanitizers, run by
 * `make test` as a cmocka test with one case per input file. A crash, a trap
 * in the harness or a sanitizer report fails it.
 *
 *   replay_<name> [FILE|DIR...]   default: tests/fuzz/corpus/<name> and
 *                                 tests/fuzz/regress/fuzz_<name>
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#ifndef REPLAY_NAME
#error "build with -DREPLAY_NAME=\"meta\" (the corpus name of the harness)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void replay_one(void **state)
{
	const char *path = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st))
		fail_msg("%s: cannot stat: %s", path, strerror(errno));
	/* the harness gets exactly the file's bytes: an exact-size copy, so ASan sees overreads */
	buf = malloc(st.st_size ? st.st_size : 1);
	assert_non_null(buf);
	len = fread(buf, 1, st.st_size, f);
	fclose(f);
	assert_int_equal(len, (size_t)st.st_size);
	assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
	free(buf);
}

static struct CMUnitTest *tests;
static size_t ntests, cap;

static void add_file(const char *path)
{
	const char *name = path;

	if (ntests == cap) {
		cap = cap ? cap * 2 : 64;
		tests = realloc(tests, cap * sizeof(*tests));
		if (!tests) {
			perror("realloc");
			exit(1);
		}
	}
	if (!strncmp(name, KHELP_SRC_DIR "/", strlen(KHELP_SRC_DIR "/")))
		name += strlen(KHELP_SRC_DIR "/");
	tests[ntests++] = (struct CMUnitTest){ .name = strdup(name), .test_func = replay_one,
					       .initial_state = strdup(path) };
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct CMUnitTest *)a)->name, ((const struct CMUnitTest *)b)->name);
}

/* a file, or every regular file in a directory except dot files; missing is an error */
static int add_path(const char *path)
{
	char sub[4096];
	struct dirent *e;
	struct stat st;
	DIR *dir;

	if (stat(path, &st)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return 0;
	}
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (!stat(sub, &st) && S_ISREG(st.st_mode))
			add_file(sub);
	}
	closedir(dir);
	return 0;
}

int main(int argc, char **argv)
{
	size_t first = ntests;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (add_path(argv[i]))
				return 1;
	} else if (add_path(KHELP_SRC_DIR "/tests/fuzz/corpus/" REPLAY_NAME) ||
		   add_path(KHELP_SRC_DIR "/tests/fuzz/regress/fuzz_" REPLAY_NAME)) {
		return 1;
	}
	if (ntests == first) {
		fprintf(stderr, "replay_%s: no inputs\n", REPLAY_NAME);
		return 1;
	}
	qsort(tests, ntests, sizeof(*tests), by_name);
	return _cmocka_run_group_tests("replay_" REPLAY_NAME, tests, ntests, NULL, NULL);
}
