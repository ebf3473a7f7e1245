// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The module metadata reader (loader/meta.c) over real built modules and over
 * mutated copies of them. A mutation patches the bytes of a copy of
 * kt_conn.bpf.o: the .khelp.module descriptor, the .khelp.params entries, or
 * a section header, located with libelf; then meta__parse reads the copy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "meta.h"

#define KT_CONN		KHELP_BUILD_DIR "/testmodules/kt_conn.bpf.o"
#define NO_META		KHELP_BUILD_DIR "/bpf/khelp_iter.bpf.o"
#define MODULES_DIR	KHELP_BUILD_DIR "/modules"

static struct khelp_meta meta;
static char err[512];

/* where a section of the module file lies */
struct sec {
	int found;
	size_t idx;		/* section header index */
	size_t off, size;	/* file offset and size of its bytes */
	size_t name;		/* offset of its name in the section name table */
};

/* a module file in memory, and where its parts are */
struct mod {
	unsigned char *buf;
	size_t len;
	size_t shoff, shentsize;	/* section header table */
	size_t shstr_off;		/* file offset of the section name table */
	struct sec module, params, deps;
};

static unsigned char *read_all(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f = fopen(path, "rb");

	if (!f)
		fail_msg("%s: %s (run make all first)", path, strerror(errno));
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc(st.st_size ? st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*len = st.st_size;
	return buf;
}

/* Find the khelp sections with libelf, on a private copy so that libelf never sees our patches. */
static void locate(struct mod *mb)
{
	char *copy = malloc(mb->len);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf *elf;

	assert_non_null(copy);
	memcpy(copy, mb->buf, mb->len);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_memory(copy, mb->len);
	assert_non_null(elf);
	assert_non_null(gelf_getehdr(elf, &eh));
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	mb->shoff = eh.e_shoff;
	mb->shentsize = eh.e_shentsize;
	assert_int_equal(mb->shentsize, sizeof(Elf64_Shdr));
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	assert_non_null(gelf_getshdr(elf_getscn(elf, shstrndx), &sh));
	mb->shstr_off = sh.sh_offset;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		struct sec *s = NULL;

		assert_non_null(gelf_getshdr(scn, &sh));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, KHELP_SEC_MODULE))
			s = &mb->module;
		else if (!strcmp(name, KHELP_SEC_PARAMS))
			s = &mb->params;
		else if (!strcmp(name, KHELP_SEC_DEPS))
			s = &mb->deps;
		if (!s)
			continue;
		*s = (struct sec){ .found = 1, .idx = elf_ndxscn(scn), .off = sh.sh_offset, .size = sh.sh_size,
				   .name = sh.sh_name };
	}
	elf_end(elf);
	free(copy);
}

static int setup_kt_conn(void **state)
{
	struct mod *mb = calloc(1, sizeof(*mb));

	assert_non_null(mb);
	mb->buf = read_all(KT_CONN, &mb->len);
	locate(mb);
	/* what the mutations below rely on */
	assert_true(mb->module.found);
	assert_int_equal(mb->module.size, sizeof(struct khelp_module_desc));
	assert_true(mb->params.found);
	assert_true(mb->params.size >= 2 * sizeof(struct khelp_param_desc));
	assert_false(mb->deps.found);
	assert_int_equal(mb->module.off % 8, 0);
	assert_int_equal(mb->params.off % 8, 0);
	assert_int_equal(mb->shoff % 8, 0);
	*state = mb;
	return 0;
}

static int teardown_mod(void **state)
{
	struct mod *mb = *state;

	if (mb)
		free(mb->buf);
	free(mb);
	return 0;
}

static struct khelp_module_desc *desc(struct mod *mb)
{
	return (struct khelp_module_desc *)(mb->buf + mb->module.off);
}

static struct khelp_param_desc *param_at(struct mod *mb, unsigned int i)
{
	assert_true((i + 1) * sizeof(struct khelp_param_desc) <= mb->params.size);
	return (struct khelp_param_desc *)(mb->buf + mb->params.off) + i;
}

static Elf64_Shdr *shdr(struct mod *mb, size_t idx)
{
	assert_true(mb->shoff + (idx + 1) * mb->shentsize <= mb->len);
	return (Elf64_Shdr *)(mb->buf + mb->shoff + idx * mb->shentsize);
}

/* Rename a section in place (the new name must not be longer). */
static void rename_section(struct mod *mb, const struct sec *s, const char *newname)
{
	char *name = (char *)mb->buf + mb->shstr_off + s->name;

	assert_true(strlen(newname) <= strlen(name));
	memcpy(name, newname, strlen(newname) + 1);
}

/*
 * Give the module dependencies: the .khelp.params section becomes a
 * .khelp.deps section of n entries (names copied as 16 raw bytes, so a
 * 16-character name ends up unterminated) and the module declares no params.
 */
static void set_deps(struct mod *mb, const char *const *names, size_t n)
{
	struct khelp_dep_desc *d = (struct khelp_dep_desc *)(mb->buf + mb->params.off);

	assert_true(n * sizeof(*d) <= mb->params.size);
	rename_section(mb, &mb->params, KHELP_SEC_DEPS);
	shdr(mb, mb->params.idx)->sh_size = n * sizeof(*d);
	memset(d, 0, mb->params.size);
	for (size_t i = 0; i < n; i++)
		memcpy(d[i].name, names[i], strnlen(names[i], sizeof(d[i].name)));
	desc(mb)->nparams = 0;
}

static void set_str(char *field, size_t size, const char *s)
{
	memset(field, 0, size);
	memcpy(field, s, strnlen(s, size));
}

static int parse_buf(const void *buf, size_t len)
{
	memset(err, 0, sizeof(err));
	return meta__parse(buf, len, &meta, err, sizeof(err));
}

static int parse(struct mod *mb)
{
	return parse_buf(mb->buf, mb->len);
}

#define assert_parse_ok(mb)                                                                     \
	do {                                                                                    \
		int r__ = parse(mb);                                                            \
		if (r__)                                                                        \
			fail_msg("meta__parse returned %d: %s", r__, err);                      \
	} while (0)

/* meta__parse fails with exactly code, and the message contains every string given */
#define assert_rejects(mb, code, ...)                                                           \
	do {                                                                                    \
		const char *const w__[] = { __VA_ARGS__ };                                      \
		int r__ = parse(mb);                                                            \
		if (r__ != (code))                                                              \
			fail_msg("meta__parse returned %d (%s), expected %d (%s)", r__, err,    \
				 (code), strerror(-(code)));                                    \
		for (size_t i__ = 0; i__ < ARRAY_SIZE(w__); i__++)                              \
			assert_contains(err, w__[i__]);                                         \
	} while (0)

/* ---- real modules ---- */

static void test_reads_kt_conn_metadata(void **state)
{
	const struct khelp_param_desc *p;

	(void)state;
	memset(err, 0, sizeof(err));
	if (meta__read_file(KT_CONN, &meta, err, sizeof(err)))
		fail_msg("%s: %s", KT_CONN, err);
	assert_int_equal(meta.desc.magic, KHELP_META_MAGIC);
	assert_int_equal(meta.desc.abi_version, KHELP_ABI_VERSION);
	assert_string_equal(meta.desc.name, "kt_conn");
	assert_string_equal(meta.desc.version, "1.0.0");
	assert_int_equal(meta.desc.classes, KHELP_CLASS_TCP);
	assert_int_equal(meta.desc.flags, KHELP_F_NEEDS_DATA);
	assert_int_equal(meta.desc.hooks, KHELP_HOOK_BIT(KHELP_HOOK_TCP_ESTABLISHED));
	/* struct kt_conn: some __u64 counters */
	assert_true(meta.desc.data_size > 0 && meta.desc.data_size <= KHELP_DATA_MAX);
	assert_int_equal(meta.desc.data_size % sizeof(__u64), 0);
	assert_string_equal(meta__data_type(&meta), "kt_conn");
	assert_int_equal(meta.ndeps, 0);
	assert_int_equal(meta.desc.nparams, 1);
	p = meta__param(&meta, "weight");
	assert_ptr_equal(p, &meta.params[0]);
	assert_string_equal(p->name, "weight");
	assert_int_equal(p->type, KHELP_PARAM_UINT);
	assert_int_equal(p->index, 0);
	assert_int_equal(p->def, 7);
	assert_int_equal(p->min, 1);
	assert_int_equal(p->max, 100);
	assert_null(meta__param(&meta, "weigh"));
	assert_null(meta__param(&meta, ""));
}

static void test_parse_of_buffer_matches_read_file(void **state)
{
	struct mod *mb = *state;
	struct khelp_meta from_file;

	assert_int_equal(meta__read_file(KT_CONN, &from_file, err, sizeof(err)), 0);
	assert_parse_ok(mb);
	assert_memory_equal(&meta, &from_file, sizeof(meta));
}

static void test_parse_leaves_buffer_unchanged(void **state)
{
	struct mod *mb = *state;
	unsigned char *before = malloc(mb->len);

	assert_non_null(before);
	memcpy(before, mb->buf, mb->len);
	assert_parse_ok(mb);
	assert_memory_equal(mb->buf, before, mb->len);
	free(before);
}

static void test_reads_every_built_module(void **state)
{
	DIR *d = opendir(MODULES_DIR);
	struct dirent *e;
	char path[PATH_MAX];
	int n = 0;

	(void)state;
	if (!d)
		fail_msg("%s: %s (run make all first)", MODULES_DIR, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 6, ".bpf.o"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", MODULES_DIR, e->d_name);
		memset(err, 0, sizeof(err));
		if (meta__read_file(path, &meta, err, sizeof(err)))
			fail_msg("%s: %s", path, err);
		/* the module's name is its file name */
		assert_int_equal(strlen(meta.desc.name), len - 6);
		assert_memory_equal(meta.desc.name, e->d_name, len - 6);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

/* ---- not a module at all ---- */

static void test_rejects_missing_file(void **state)
{
	(void)state;
	assert_int_equal(meta__read_file(KHELP_BUILD_DIR "/no/such/module.bpf.o", &meta, err, sizeof(err)),
			 -ENOENT);
	assert_contains(err, "cannot open");
}

static void test_rejects_directory(void **state)
{
	(void)state;
	assert_int_equal(meta__read_file(MODULES_DIR, &meta, err, sizeof(err)), -EINVAL);
	assert_contains(err, "not a regular file");
}

static void test_rejects_empty_file(void **state)
{
	char path[] = "/tmp/khelp-test-meta-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	memset(err, 0, sizeof(err));
	assert_int_equal(meta__read_file(path, &meta, err, sizeof(err)), -ENOEXEC);
	assert_contains(err, "not an ELF file");
	unlink(path);
	assert_int_equal(parse_buf("", 0), -ENOEXEC);
	assert_contains(err, "not an ELF file");
}

static void test_rejects_file_that_is_not_elf(void **state)
{
	static const char text[] = "#!/bin/sh\necho this is not a BPF module, it only pretends to be\n";

	(void)state;
	assert_int_equal(parse_buf(text, sizeof(text)), -ENOEXEC);
	assert_contains(err, "not an ELF file");
}

static void test_rejects_elf_for_another_machine(void **state)
{
	size_t len;
	unsigned char *buf = read_all("/proc/self/exe", &len);

	(void)state;
	assert_int_equal(parse_buf(buf, len), -EINVAL);
	assert_contains(err, "not a BPF object");
	free(buf);
}

static void test_rejects_bpf_object_without_metadata(void **state)
{
	(void)state;
	memset(err, 0, sizeof(err));
	assert_int_equal(meta__read_file(NO_META, &meta, err, sizeof(err)), -ENOMSG);
	assert_contains(err, KHELP_SEC_MODULE);
	assert_contains(err, "KHELP_MODULE");
}

/* ---- truncated files ---- */

/* Parse the first len bytes, from a buffer of exactly that size. */
static int parse_prefix(const struct mod *mb, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, mb->buf, len);
	ret = parse_buf(copy, len);
	free(copy);
	return ret;
}

/* khelpd may see a module file while it is being copied in: never "not a module" */
static void test_rejects_file_truncated_at_any_length(void **state)
{
	struct mod *mb = *state;

	for (size_t len = 0; len < mb->len; len++) {
		int ret = parse_prefix(mb, len);

		if (ret >= 0)
			fail_msg("accepted %s truncated to %zu of %zu bytes", KT_CONN, len, mb->len);
		if (!err[0] || !memchr(err, '\0', sizeof(err)))
			fail_msg("truncated to %zu bytes: %d without a message", len, ret);
		if (ret == -ENOMSG)
			fail_msg("truncated to %zu bytes: taken for a file without metadata: %s", len, err);
		if (len >= sizeof(Elf64_Ehdr) && !strstr(err, "truncated"))
			fail_msg("truncated to %zu bytes: message does not say so: %s", len, err);
	}
}

static void test_rejects_file_truncated_inside_elf_identification(void **state)
{
	struct mod *mb = *state;
	static const size_t lens[] = { 1, SELFMAG, EI_NIDENT - 1 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(parse_prefix(mb, lens[i]), -ENOEXEC);
		assert_contains(err, "not an ELF file");
	}
}

static void test_rejects_file_truncated_inside_elf_header(void **state)
{
	struct mod *mb = *state;
	static const size_t lens[] = { EI_NIDENT, sizeof(Elf64_Ehdr) - 1 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(parse_prefix(mb, lens[i]), -EINVAL);
		assert_contains(err, "not a valid ELF file");
	}
}

static void test_rejects_file_truncated_inside_metadata(void **state)
{
	struct mod *mb = *state;
	const size_t lens[] = { mb->module.off + 1, mb->module.off + mb->module.size - 1,
				mb->params.off + mb->params.size / 2 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(parse_prefix(mb, lens[i]), -EINVAL);
		assert_contains(err, "truncated file");
	}
}

static void test_rejects_file_truncated_inside_section_headers(void **state)
{
	struct mod *mb = *state;
	const size_t lens[] = { mb->shoff + 1, mb->len - 1 };

	assert_true(mb->shoff < mb->len);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(parse_prefix(mb, lens[i]), -EINVAL);
		assert_contains(err, "truncated file");
	}
}

/* ---- the module descriptor ---- */

static void test_rejects_bad_magic(void **state)
{
	struct mod *mb = *state;

	desc(mb)->magic = 0x504c484c;
	assert_rejects(mb, -EINVAL, "bad khelp metadata magic 0x504c484c");
}

static void test_rejects_wrong_abi_version(void **state)
{
	struct mod *mb = *state;
	char want[64];

	desc(mb)->abi_version = KHELP_ABI_VERSION + 1;
	snprintf(want, sizeof(want), "khelp ABI version %u, this khelpd speaks %u", KHELP_ABI_VERSION + 1,
		 KHELP_ABI_VERSION);
	assert_rejects(mb, -EPROTO, want, "rebuild the module");
	desc(mb)->abi_version = 0;
	assert_rejects(mb, -EPROTO, "khelp ABI version 0");
}

static void test_rejects_module_name_with_invalid_characters(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->name, KHELP_NAME_MAX, "kt-conn");
	assert_rejects(mb, -EINVAL, "invalid module name");
}

static void test_rejects_uppercase_module_name(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->name, KHELP_NAME_MAX, "Kt_conn");
	assert_rejects(mb, -EINVAL, "invalid module name", "[a-z0-9_]");
}

static void test_rejects_module_name_starting_with_digit(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->name, KHELP_NAME_MAX, "9kt_conn");
	assert_rejects(mb, -EINVAL, "invalid module name", "starting with a letter");
}

static void test_rejects_empty_module_name(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->name, KHELP_NAME_MAX, "");
	assert_rejects(mb, -EINVAL, "invalid module name");
}

static void test_rejects_too_long_module_name(void **state)
{
	struct mod *mb = *state;

	/* 16 characters fill the field: no terminating NUL */
	set_str(desc(mb)->name, KHELP_NAME_MAX, "kt_conn_is_long1");
	assert_rejects(mb, -EINVAL, "invalid module name", "1-15 chars");
}

static void test_accepts_module_name_of_15_chars(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->name, KHELP_NAME_MAX, "kt_conn_is_long");
	assert_parse_ok(mb);
	assert_string_equal(meta.desc.name, "kt_conn_is_long");
}

static void test_rejects_unterminated_version_string(void **state)
{
	struct mod *mb = *state;

	memset(desc(mb)->version, '1', KHELP_VERSION_MAX);
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid version string");
}

static void test_rejects_empty_version_string(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->version, KHELP_VERSION_MAX, "");
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid version string");
}

static void test_rejects_version_string_with_blank(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->version, KHELP_VERSION_MAX, "1.0 beta");
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid version string");
}

static void test_rejects_unknown_class_bits(void **state)
{
	struct mod *mb = *state;

	desc(mb)->classes |= 0x4;
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid classes 0x5");
}

static void test_rejects_module_without_class(void **state)
{
	struct mod *mb = *state;

	desc(mb)->classes = 0;
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid classes 0x0");
}

static void test_rejects_unknown_flag_bits(void **state)
{
	struct mod *mb = *state;

	desc(mb)->flags |= 0x80000000u;
	assert_rejects(mb, -EINVAL, "module kt_conn", "unknown flags 0x80000001");
}

static void test_rejects_unknown_hook_bits(void **state)
{
	struct mod *mb = *state;

	desc(mb)->hooks |= KHELP_HOOK_BIT(KHELP_HOOK__MAX);
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid hook set 0xa00");
}

static void test_rejects_module_without_hooks(void **state)
{
	struct mod *mb = *state;

	desc(mb)->hooks = 0;
	assert_rejects(mb, -EINVAL, "module kt_conn", "invalid hook set 0x0");
}

static void test_rejects_class_cc_without_hook_cc(void **state)
{
	struct mod *mb = *state;

	desc(mb)->classes = KHELP_CLASS_TCP | KHELP_CLASS_CC;
	assert_rejects(mb, -EINVAL, "module kt_conn", "class cc and hook point cc go together");
}

static void test_rejects_hook_cc_without_class_cc(void **state)
{
	struct mod *mb = *state;

	desc(mb)->hooks |= KHELP_HOOK_BIT(KHELP_HOOK_CC);
	assert_rejects(mb, -EINVAL, "module kt_conn", "class cc and hook point cc go together");
}

static void test_rejects_class_tcp_with_only_hook_cc(void **state)
{
	struct mod *mb = *state;

	desc(mb)->classes = KHELP_CLASS_TCP | KHELP_CLASS_CC;
	desc(mb)->hooks = KHELP_HOOK_BIT(KHELP_HOOK_CC);
	assert_rejects(mb, -EINVAL, "module kt_conn", "class tcp without any tcp hook");
}

static void test_accepts_cc_module(void **state)
{
	struct mod *mb = *state;

	desc(mb)->classes = KHELP_CLASS_CC;
	desc(mb)->hooks = KHELP_HOOK_BIT(KHELP_HOOK_CC);
	assert_parse_ok(mb);
	assert_int_equal(meta.desc.classes, KHELP_CLASS_CC);
}

static void test_rejects_needs_data_with_data_size_zero(void **state)
{
	struct mod *mb = *state;

	desc(mb)->data_size = 0;
	assert_rejects(mb, -EINVAL, "module kt_conn needs per-connection data but declares size 0");
}

static void test_rejects_data_size_without_needs_data_flag(void **state)
{
	struct mod *mb = *state;
	char want[64];

	snprintf(want, sizeof(want), "data size %u without the needs-data flag", desc(mb)->data_size);
	desc(mb)->flags = 0;
	assert_rejects(mb, -EINVAL, "module kt_conn", want);
}

static void test_rejects_data_size_over_max(void **state)
{
	struct mod *mb = *state;

	desc(mb)->data_size = KHELP_DATA_MAX + 1;
	assert_rejects(mb, -E2BIG, "module kt_conn", "per-connection data of 4081 bytes, max 4080");
	desc(mb)->data_size = KHELP_DATA_MAX;
	assert_parse_ok(mb);
}

static void test_rejects_needs_data_without_type_name(void **state)
{
	struct mod *mb = *state;

	set_str(desc(mb)->data_type, KHELP_TYPE_NAME_MAX, "");
	assert_rejects(mb, -EINVAL, "module kt_conn", "per-connection data without a type name");
}

static void test_rejects_unterminated_data_type_name(void **state)
{
	struct mod *mb = *state;

	memset(desc(mb)->data_type, 't', KHELP_TYPE_NAME_MAX);
	assert_rejects(mb, -EINVAL, "module kt_conn", "data type name not terminated");
}

static void test_rejects_module_section_of_wrong_size(void **state)
{
	struct mod *mb = *state;

	shdr(mb, mb->module.idx)->sh_size = sizeof(struct khelp_module_desc) - 8;
	assert_rejects(mb, -EINVAL, KHELP_SEC_MODULE, "has 88 bytes, expected 96");
}

static void test_rejects_module_section_twice(void **state)
{
	struct mod *mb = *state;

	rename_section(mb, &mb->params, KHELP_SEC_MODULE);
	assert_rejects(mb, -EINVAL, "section .khelp.module appears twice");
}

static void test_rejects_metadata_section_past_end_of_file(void **state)
{
	struct mod *mb = *state;

	shdr(mb, mb->params.idx)->sh_offset = mb->len - 8;
	assert_rejects(mb, -EINVAL, "section .khelp.params runs past the end of the file");
	shdr(mb, mb->params.idx)->sh_offset = UINT64_MAX - 4;
	assert_rejects(mb, -EINVAL, "section .khelp.params runs past the end of the file");
}

static void test_rejects_metadata_section_without_data(void **state)
{
	struct mod *mb = *state;

	shdr(mb, mb->module.idx)->sh_type = SHT_NOBITS;
	assert_rejects(mb, -EINVAL, "section .khelp.module holds no data");
}

/* ---- parameters ---- */

static void test_rejects_more_params_than_max(void **state)
{
	struct mod *mb = *state;

	desc(mb)->nparams = KHELP_MAX_PARAMS + 1;
	assert_rejects(mb, -E2BIG, "module kt_conn", "17 parameters, max 16");
}

static void test_rejects_more_params_than_section_holds(void **state)
{
	struct mod *mb = *state;
	unsigned int n = mb->params.size / sizeof(struct khelp_param_desc) + 1;
	char want[64];

	desc(mb)->nparams = n;
	snprintf(want, sizeof(want), "module kt_conn declares %u parameters", n);
	assert_rejects(mb, -EINVAL, want, KHELP_SEC_PARAMS);
}

static void test_rejects_param_default_outside_range(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->def = 101;
	assert_rejects(mb, -ERANGE, "module kt_conn", "parameter weight", "default 101 outside its range 1..100");
}

static void test_rejects_param_default_below_range(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->def = 0;
	assert_rejects(mb, -ERANGE, "parameter weight", "default 0 outside its range 1..100");
}

static void test_rejects_param_min_greater_than_max(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->min = 50;
	param_at(mb, 0)->max = 10;
	param_at(mb, 0)->def = 10;
	assert_rejects(mb, -ERANGE, "parameter weight", "range 50..10");
}

static void test_rejects_bool_param_with_range_beyond_0_1(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->type = KHELP_PARAM_BOOL;
	param_at(mb, 0)->def = 1;
	param_at(mb, 0)->min = 0;
	param_at(mb, 0)->max = 2;
	assert_rejects(mb, -ERANGE, "module kt_conn", "bool parameter weight range must be within 0..1");
	param_at(mb, 0)->min = -1;
	param_at(mb, 0)->max = 1;
	assert_rejects(mb, -ERANGE, "bool parameter weight range must be within 0..1");
	param_at(mb, 0)->min = 0;
	assert_parse_ok(mb);
}

static void test_rejects_uint_param_with_negative_min(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->min = -1;
	assert_rejects(mb, -ERANGE, "module kt_conn", "unsigned parameter weight with negative minimum");
}

static void test_rejects_param_of_unknown_type(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->type = 4;
	assert_rejects(mb, -EINVAL, "module kt_conn", "parameter weight has unknown type 4");
}

static void test_rejects_param_with_wrong_index(void **state)
{
	struct mod *mb = *state;

	param_at(mb, 0)->index = 1;
	assert_rejects(mb, -EINVAL, "parameter weight has index 1, expected 0");
}

static void test_rejects_param_with_invalid_name(void **state)
{
	struct mod *mb = *state;

	set_str(param_at(mb, 0)->name, KHELP_PARAM_NAME_MAX, "Weight");
	assert_rejects(mb, -EINVAL, "module kt_conn", "parameter 0 has an invalid name");
	memset(param_at(mb, 0)->name, 'w', KHELP_PARAM_NAME_MAX);
	assert_rejects(mb, -EINVAL, "parameter 0 has an invalid name");
}

/* params[1] becomes a copy of weight under another name (or the same) */
static void add_second_param(struct mod *mb, const char *name)
{
	*param_at(mb, 1) = *param_at(mb, 0);
	set_str(param_at(mb, 1)->name, KHELP_PARAM_NAME_MAX, name);
	param_at(mb, 1)->index = 1;
	desc(mb)->nparams = 2;
}

static void test_accepts_two_distinct_params(void **state)
{
	struct mod *mb = *state;

	add_second_param(mb, "weight2");
	assert_parse_ok(mb);
	assert_int_equal(meta.desc.nparams, 2);
	assert_ptr_equal(meta__param(&meta, "weight2"), &meta.params[1]);
}

static void test_rejects_duplicate_param_names(void **state)
{
	struct mod *mb = *state;

	add_second_param(mb, "weight");
	assert_rejects(mb, -EINVAL, "module kt_conn", "parameter weight declared twice");
}

/* ---- dependencies ---- */

static void test_reads_dependencies(void **state)
{
	struct mod *mb = *state;
	const char *const deps[] = { "h_ertt", "h_other" };

	set_deps(mb, deps, ARRAY_SIZE(deps));
	assert_parse_ok(mb);
	assert_int_equal(meta.ndeps, 2);
	assert_string_equal(meta.deps[0].name, "h_ertt");
	assert_string_equal(meta.deps[1].name, "h_other");
	assert_int_equal(meta.desc.nparams, 0);
}

static void test_rejects_dependency_on_itself(void **state)
{
	struct mod *mb = *state;
	const char *const deps[] = { "h_ertt", "kt_conn" };

	set_deps(mb, deps, ARRAY_SIZE(deps));
	assert_rejects(mb, -ELOOP, "module kt_conn depends on itself");
}

static void test_rejects_duplicate_dependency(void **state)
{
	struct mod *mb = *state;
	const char *const deps[] = { "h_ertt", "h_other", "h_ertt" };

	set_deps(mb, deps, ARRAY_SIZE(deps));
	assert_rejects(mb, -EINVAL, "module kt_conn", "dependency h_ertt listed twice");
}

static void test_rejects_invalid_dependency_name(void **state)
{
	struct mod *mb = *state;
	const char *const bad[] = { "H_ertt", "", "h-ertt", "h_ertt_is_long16" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *deps[] = { "h_ertt", bad[i] };

		set_deps(mb, deps, ARRAY_SIZE(deps));
		assert_rejects(mb, -EINVAL, "module kt_conn", "dependency 1 has an invalid name");
	}
}

static void test_rejects_deps_section_with_partial_entry(void **state)
{
	struct mod *mb = *state;
	const char *const deps[] = { "h_ertt", "h_other" };

	set_deps(mb, deps, ARRAY_SIZE(deps));
	shdr(mb, mb->params.idx)->sh_size = sizeof(struct khelp_dep_desc) + 4;
	assert_rejects(mb, -EINVAL, "section .khelp.deps size 20 is not a multiple of 16");
}

/* ---- error buffer and helpers ---- */

static void test_short_error_buffer_is_truncated_not_overrun(void **state)
{
	struct mod *mb = *state;
	char small[24];

	param_at(mb, 0)->def = 101;
	for (size_t len = 1; len < sizeof(small); len++) {
		memset(small, 'X', sizeof(small));
		assert_int_equal(meta__parse(mb->buf, mb->len, &meta, small, len), -ERANGE);
		assert_non_null(memchr(small, '\0', len));
		for (size_t i = len; i < sizeof(small); i++)
			assert_int_equal(small[i], 'X');
	}
}

static void test_hook_names_round_trip(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < KHELP_HOOK__MAX; i++) {
		const char *name = meta__hook_name(i);

		assert_non_null(name);
		assert_string_not_equal(name, "?");
		assert_int_equal(meta__hook_id(name), (int)i);
	}
	assert_string_equal(meta__hook_name(KHELP_HOOK_TCP_ESTABLISHED), "tcp_established");
	assert_string_equal(meta__hook_name(KHELP_HOOK_CC), "cc");
	assert_string_equal(meta__hook_name(KHELP_HOOK__MAX), "?");
	assert_int_equal(meta__hook_id("tcp_nope"), -ENOENT);
	assert_int_equal(meta__hook_id(""), -ENOENT);
}

static void test_param_type_names(void **state)
{
	(void)state;
	assert_string_equal(meta__param_type_name(KHELP_PARAM_INT), "int");
	assert_string_equal(meta__param_type_name(KHELP_PARAM_UINT), "uint");
	assert_string_equal(meta__param_type_name(KHELP_PARAM_BOOL), "bool");
	assert_string_equal(meta__param_type_name(0), "?");
	assert_string_equal(meta__param_type_name(4), "?");
}

static void test_data_type_strips_struct_prefix(void **state)
{
	struct khelp_meta m = {};

	(void)state;
	snprintf(m.desc.data_type, sizeof(m.desc.data_type), "struct h_ertt");
	assert_string_equal(meta__data_type(&m), "h_ertt");
	snprintf(m.desc.data_type, sizeof(m.desc.data_type), "h_ertt");
	assert_string_equal(meta__data_type(&m), "h_ertt");
	snprintf(m.desc.data_type, sizeof(m.desc.data_type), "structure");
	assert_string_equal(meta__data_type(&m), "structure");
}

static void test_module_name_rules(void **state)
{
	static const char *const good[] = { "a", "h_ertt", "kh_vegas", "a1_", "kt_conn_is_long" };
	static const char *const bad[] = { "", "_a", "1a", "A", "h-ertt", "h ertt", "kt_conn_is_long1",
					   "h.ertt", "\xe9t\xe9" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!meta__name_valid(good[i]))
			fail_msg("'%s' rejected", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (meta__name_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

#define M(f) cmocka_unit_test_setup_teardown(f, setup_kt_conn, teardown_mod)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_kt_conn_metadata),
		M(test_parse_of_buffer_matches_read_file),
		M(test_parse_leaves_buffer_unchanged),
		cmocka_unit_test(test_reads_every_built_module),
		cmocka_unit_test(test_rejects_missing_file),
		cmocka_unit_test(test_rejects_directory),
		cmocka_unit_test(test_rejects_empty_file),
		cmocka_unit_test(test_rejects_file_that_is_not_elf),
		cmocka_unit_test(test_rejects_elf_for_another_machine),
		cmocka_unit_test(test_rejects_bpf_object_without_metadata),
		M(test_rejects_file_truncated_at_any_length),
		M(test_rejects_file_truncated_inside_elf_identification),
		M(test_rejects_file_truncated_inside_elf_header),
		M(test_rejects_file_truncated_inside_metadata),
		M(test_rejects_file_truncated_inside_section_headers),
		M(test_rejects_bad_magic),
		M(test_rejects_wrong_abi_version),
		M(test_rejects_module_name_with_invalid_characters),
		M(test_rejects_uppercase_module_name),
		M(test_rejects_module_name_starting_with_digit),
		M(test_rejects_empty_module_name),
		M(test_rejects_too_long_module_name),
		M(test_accepts_module_name_of_15_chars),
		M(test_rejects_unterminated_version_string),
		M(test_rejects_empty_version_string),
		M(test_rejects_version_string_with_blank),
		M(test_rejects_unknown_class_bits),
		M(test_rejects_module_without_class),
		M(test_rejects_unknown_flag_bits),
		M(test_rejects_unknown_hook_bits),
		M(test_rejects_module_without_hooks),
		M(test_rejects_class_cc_without_hook_cc),
		M(test_rejects_hook_cc_without_class_cc),
		M(test_rejects_class_tcp_with_only_hook_cc),
		M(test_accepts_cc_module),
		M(test_rejects_needs_data_with_data_size_zero),
		M(test_rejects_data_size_without_needs_data_flag),
		M(test_rejects_data_size_over_max),
		M(test_rejects_needs_data_without_type_name),
		M(test_rejects_unterminated_data_type_name),
		M(test_rejects_module_section_of_wrong_size),
		M(test_rejects_module_section_twice),
		M(test_rejects_metadata_section_past_end_of_file),
		M(test_rejects_metadata_section_without_data),
		M(test_rejects_more_params_than_max),
		M(test_rejects_more_params_than_section_holds),
		M(test_rejects_param_default_outside_range),
		M(test_rejects_param_default_below_range),
		M(test_rejects_param_min_greater_than_max),
		M(test_rejects_bool_param_with_range_beyond_0_1),
		M(test_rejects_uint_param_with_negative_min),
		M(test_rejects_param_of_unknown_type),
		M(test_rejects_param_with_wrong_index),
		M(test_rejects_param_with_invalid_name),
		M(test_accepts_two_distinct_params),
		M(test_rejects_duplicate_param_names),
		M(test_reads_dependencies),
		M(test_rejects_dependency_on_itself),
		M(test_rejects_duplicate_dependency),
		M(test_rejects_invalid_dependency_name),
		M(test_rejects_deps_section_with_partial_entry),
		M(test_short_error_buffer_is_truncated_not_overrun),
		cmocka_unit_test(test_hook_names_round_trip),
		cmocka_unit_test(test_param_type_names),
		cmocka_unit_test(test_data_type_strips_struct_prefix),
		cmocka_unit_test(test_module_name_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
