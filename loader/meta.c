// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The module metadata reader. Everything here treats the file as hostile:
 * every offset and size is checked against the buffer before use, every
 * string must be NUL-terminated inside its field.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "meta.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif
#define META_MAX_FILE	(64 << 20)	/* refuse module files over 64 MiB */

static const char *const hook_names[KHELP_HOOK__MAX] = {
	[KHELP_HOOK_TCP_EST_IN] = "tcp_est_in",
	[KHELP_HOOK_TCP_EST_OUT] = "tcp_est_out",
	[KHELP_HOOK_TCP_RTT] = "tcp_rtt",
	[KHELP_HOOK_TCP_STATE] = "tcp_state",
	[KHELP_HOOK_TCP_RETRANS] = "tcp_retrans",
	[KHELP_HOOK_TCP_RTO] = "tcp_rto",
	[KHELP_HOOK_TCP_CONNECT] = "tcp_connect",
	[KHELP_HOOK_TCP_ACCEPT] = "tcp_accept",
	[KHELP_HOOK_TCP_LISTEN] = "tcp_listen",
	[KHELP_HOOK_TCP_ESTABLISHED] = "tcp_established",
	[KHELP_HOOK_CC] = "cc",
};

const char *meta__hook_name(unsigned int id)
{
	return id < KHELP_HOOK__MAX ? hook_names[id] : "?";
}

int meta__hook_id(const char *name)
{
	for (unsigned int i = 0; i < KHELP_HOOK__MAX; i++)
		if (!strcmp(hook_names[i], name))
			return (int)i;
	return -ENOENT;
}

const char *meta__param_type_name(unsigned int type)
{
	switch (type) {
	case KHELP_PARAM_INT: return "int";
	case KHELP_PARAM_UINT: return "uint";
	case KHELP_PARAM_BOOL: return "bool";
	default: return "?";
	}
}

const struct khelp_param_desc *meta__param(const struct khelp_meta *m, const char *name)
{
	for (unsigned int i = 0; i < m->desc.nparams; i++)
		if (!strcmp(m->params[i].name, name))
			return &m->params[i];
	return NULL;
}

const char *meta__data_type(const struct khelp_meta *m)
{
	const char *t = m->desc.data_type;

	return strncmp(t, "struct ", 7) ? t : t + 7;
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* NUL-terminated within size and made of allowed characters */
static int str_in_field(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int meta__name_valid(const char *s)
{
	size_t n = strnlen(s, KHELP_NAME_MAX);

	if (n == 0 || n >= KHELP_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int ident_valid(const char *s, size_t size)
{
	size_t n;

	if (!str_in_field(s, size))
		return 0;
	n = strlen(s);
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int printable(const char *s, size_t size)
{
	if (!str_in_field(s, size) || !s[0])
		return 0;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

struct sec_data {
	const void *buf;
	size_t size;
	int found;
};

/* Find the khelp sections; each must lie inside the file and hold bytes. */
static int find_sections(Elf *elf, size_t filelen, struct sec_data *mod, struct sec_data *deps,
			 struct sec_data *params, char *err, size_t errlen)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Ehdr ehdr;

	if (!gelf_getehdr(elf, &ehdr))
		return fail(err, errlen, -EINVAL, "not a valid ELF file: %s", elf_errmsg(-1));
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_BPF)
		return fail(err, errlen, -EINVAL, "not a BPF object (ELF machine %u, expected %u)",
			    ehdr.e_machine, EM_BPF);
	if (!ehdr.e_shoff || ehdr.e_shentsize != sizeof(Elf64_Shdr) || ehdr.e_shoff > filelen ||
	    (filelen - ehdr.e_shoff) / sizeof(Elf64_Shdr) < ehdr.e_shnum)
		return fail(err, errlen, -EINVAL,
			    "truncated file: its section headers end past its %zu bytes (still being written?)",
			    filelen);
	if (elf_getshdrstrndx(elf, &shstrndx))
		return fail(err, errlen, -EINVAL, "ELF section names unreadable (truncated file?): %s",
			    elf_errmsg(-1));
	while ((scn = elf_nextscn(elf, scn))) {
		struct sec_data *dst = NULL;
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			return fail(err, errlen, -EINVAL, "ELF section header unreadable: %s", elf_errmsg(-1));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, KHELP_SEC_MODULE))
			dst = mod;
		else if (!strcmp(name, KHELP_SEC_DEPS))
			dst = deps;
		else if (!strcmp(name, KHELP_SEC_PARAMS))
			dst = params;
		if (!dst)
			continue;
		if (dst->found)
			return fail(err, errlen, -EINVAL, "section %s appears twice", name);
		if (sh.sh_type != SHT_PROGBITS)
			return fail(err, errlen, -EINVAL, "section %s holds no data", name);
		if (sh.sh_offset > filelen || sh.sh_size > filelen - sh.sh_offset)
			return fail(err, errlen, -EINVAL,
				    "section %s runs past the end of the file (truncated file?)", name);
		d = elf_getdata(scn, NULL);
		if (!d || (sh.sh_size && !d->d_buf) || d->d_size != sh.sh_size)
			return fail(err, errlen, -EINVAL, "section %s unreadable (truncated file?)", name);
		dst->buf = d->d_buf;
		dst->size = d->d_size;
		dst->found = 1;
	}
	return 0;
}

static int check_desc(const struct khelp_module_desc *d, char *err, size_t errlen)
{
	if (d->magic != KHELP_META_MAGIC)
		return fail(err, errlen, -EINVAL, "bad khelp metadata magic 0x%08x", d->magic);
	if (d->abi_version != KHELP_ABI_VERSION)
		return fail(err, errlen, -EPROTO, "khelp ABI version %u, this khelpd speaks %u: rebuild the module",
			    d->abi_version, KHELP_ABI_VERSION);
	if (!str_in_field(d->name, sizeof(d->name)) || !meta__name_valid(d->name))
		return fail(err, errlen, -EINVAL,
			    "invalid module name: 1-15 chars of [a-z0-9_], starting with a letter");
	if (!printable(d->version, sizeof(d->version)))
		return fail(err, errlen, -EINVAL, "module %s: invalid version string", d->name);
	if (!d->classes || (d->classes & ~KHELP_CLASSES_ALL))
		return fail(err, errlen, -EINVAL, "module %s: invalid classes 0x%x (valid: tcp 0x1, cc 0x2)",
			    d->name, d->classes);
	if (d->flags & ~KHELP_FLAGS_ALL)
		return fail(err, errlen, -EINVAL, "module %s: unknown flags 0x%x", d->name, d->flags);
	if (!d->hooks || (d->hooks & ~KHELP_HOOKS_ALL))
		return fail(err, errlen, -EINVAL, "module %s: invalid hook set 0x%llx", d->name,
			    (unsigned long long)d->hooks);
	if (!!(d->classes & KHELP_CLASS_CC) != !!(d->hooks & KHELP_HOOK_BIT(KHELP_HOOK_CC)))
		return fail(err, errlen, -EINVAL, "module %s: class cc and hook point cc go together",
			    d->name);
	if (!(d->classes & KHELP_CLASS_TCP) && (d->hooks & ~KHELP_HOOK_BIT(KHELP_HOOK_CC)))
		return fail(err, errlen, -EINVAL, "module %s: tcp hook points without class tcp", d->name);
	if ((d->classes & KHELP_CLASS_TCP) && !(d->hooks & ~KHELP_HOOK_BIT(KHELP_HOOK_CC)))
		return fail(err, errlen, -EINVAL, "module %s: class tcp without any tcp hook", d->name);
	if (!str_in_field(d->data_type, sizeof(d->data_type)))
		return fail(err, errlen, -EINVAL, "module %s: data type name not terminated", d->name);
	if (d->flags & KHELP_F_NEEDS_DATA) {
		if (!d->data_size)
			return fail(err, errlen, -EINVAL,
				    "module %s needs per-connection data but declares size 0", d->name);
		if (d->data_size > KHELP_DATA_MAX)
			return fail(err, errlen, -E2BIG, "module %s: per-connection data of %u bytes, max %u",
				    d->name, d->data_size, KHELP_DATA_MAX);
		if (!d->data_type[0])
			return fail(err, errlen, -EINVAL, "module %s: per-connection data without a type name",
				    d->name);
	} else if (d->data_size) {
		return fail(err, errlen, -EINVAL, "module %s: data size %u without the needs-data flag",
			    d->name, d->data_size);
	}
	if (d->nparams > KHELP_MAX_PARAMS)
		return fail(err, errlen, -E2BIG, "module %s: %u parameters, max %u", d->name, d->nparams,
			    KHELP_MAX_PARAMS);
	return 0;
}

static int check_param(const struct khelp_meta *m, unsigned int i, char *err, size_t errlen)
{
	const struct khelp_param_desc *p = &m->params[i];
	const char *mod = m->desc.name;

	if (!ident_valid(p->name, sizeof(p->name)))
		return fail(err, errlen, -EINVAL, "module %s: parameter %u has an invalid name", mod, i);
	for (unsigned int j = 0; j < i; j++)
		if (!strcmp(m->params[j].name, p->name))
			return fail(err, errlen, -EINVAL, "module %s: parameter %s declared twice", mod, p->name);
	if (p->type != KHELP_PARAM_INT && p->type != KHELP_PARAM_UINT && p->type != KHELP_PARAM_BOOL)
		return fail(err, errlen, -EINVAL, "module %s: parameter %s has unknown type %u", mod, p->name,
			    p->type);
	if (p->index != i)
		return fail(err, errlen, -EINVAL, "module %s: parameter %s has index %u, expected %u", mod,
			    p->name, p->index, i);
	if (p->min > p->max || p->def < p->min || p->def > p->max)
		return fail(err, errlen, -ERANGE,
			    "module %s: parameter %s: default %lld outside its range %lld..%lld", mod, p->name,
			    (long long)p->def, (long long)p->min, (long long)p->max);
	if (p->type == KHELP_PARAM_UINT && p->min < 0)
		return fail(err, errlen, -ERANGE, "module %s: unsigned parameter %s with negative minimum",
			    mod, p->name);
	if (p->type == KHELP_PARAM_BOOL && (p->min < 0 || p->max > 1))
		return fail(err, errlen, -ERANGE, "module %s: bool parameter %s range must be within 0..1",
			    mod, p->name);
	return 0;
}

int meta__parse(const void *buf, size_t len, struct khelp_meta *m, char *err, size_t errlen)
{
	struct sec_data mod = {}, deps = {}, params = {};
	Elf *elf;
	int ret;

	memset(m, 0, sizeof(*m));
	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return fail(err, errlen, -ENOEXEC, "not an ELF file");
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(err, errlen, -EINVAL, "libelf: %s", elf_errmsg(-1));
	elf = elf_memory((char *)buf, len);
	if (!elf)
		return fail(err, errlen, -EINVAL, "not a valid ELF file: %s", elf_errmsg(-1));
	ret = find_sections(elf, len, &mod, &deps, &params, err, errlen);
	if (ret)
		goto out;
	if (!mod.found) {
		ret = fail(err, errlen, -ENOMSG,
			   "no khelp metadata (section %s): not a khelp module; declare it with KHELP_MODULE",
			   KHELP_SEC_MODULE);
		goto out;
	}
	if (mod.size != sizeof(m->desc)) {
		ret = fail(err, errlen, -EINVAL, "section %s has %zu bytes, expected %zu", KHELP_SEC_MODULE,
			   mod.size, sizeof(m->desc));
		goto out;
	}
	memcpy(&m->desc, mod.buf, sizeof(m->desc));
	ret = check_desc(&m->desc, err, errlen);
	if (ret)
		goto out;

	if (deps.size % sizeof(struct khelp_dep_desc)) {
		ret = fail(err, errlen, -EINVAL, "section %s size %zu is not a multiple of %zu", KHELP_SEC_DEPS,
			   deps.size, sizeof(struct khelp_dep_desc));
		goto out;
	}
	if (deps.size / sizeof(struct khelp_dep_desc) > KHELP_MAX_DEPS) {
		ret = fail(err, errlen, -E2BIG, "module %s: more than %d dependencies", m->desc.name,
			   KHELP_MAX_DEPS);
		goto out;
	}
	m->ndeps = deps.size / sizeof(struct khelp_dep_desc);
	if (m->ndeps)
		memcpy(m->deps, deps.buf, deps.size);
	for (unsigned int i = 0; i < m->ndeps; i++) {
		const char *d = m->deps[i].name;

		if (!str_in_field(d, KHELP_NAME_MAX) || !meta__name_valid(d)) {
			ret = fail(err, errlen, -EINVAL, "module %s: dependency %u has an invalid name",
				   m->desc.name, i);
			goto out;
		}
		if (!strcmp(d, m->desc.name)) {
			ret = fail(err, errlen, -ELOOP, "module %s depends on itself", m->desc.name);
			goto out;
		}
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(m->deps[j].name, d)) {
				ret = fail(err, errlen, -EINVAL, "module %s: dependency %s listed twice",
					   m->desc.name, d);
				goto out;
			}
	}

	if (params.size < (size_t)m->desc.nparams * sizeof(struct khelp_param_desc)) {
		ret = fail(err, errlen, -EINVAL, "module %s declares %u parameters, section %s holds %zu bytes",
			   m->desc.name, m->desc.nparams, KHELP_SEC_PARAMS, params.size);
		goto out;
	}
	if (m->desc.nparams)
		memcpy(m->params, params.buf, m->desc.nparams * sizeof(struct khelp_param_desc));
	for (unsigned int i = 0; i < m->desc.nparams; i++) {
		ret = check_param(m, i, err, errlen);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	elf_end(elf);
	return ret;
}

int meta__slurp(const char *path, char **out, size_t *len, struct stat *st, char *err, size_t errlen)
{
	ssize_t n;
	char *buf;
	int fd;

	*out = NULL;
	/* O_NONBLOCK: a FIFO must not block khelpd; fstat below refuses it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, -errno, "cannot open: %s", strerror(errno));
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "not a regular file");
	}
	if (st->st_size > META_MAX_FILE) {
		close(fd);
		return fail(err, errlen, -EFBIG, "file of %lld bytes, larger than %d", (long long)st->st_size,
			    META_MAX_FILE);
	}
	buf = malloc(st->st_size ? st->st_size : 1);
	if (!buf) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	n = pread(fd, buf, st->st_size, 0);
	close(fd);
	if (n != st->st_size) {
		free(buf);
		return fail(err, errlen, -EIO, "short read (file changed while reading?)");
	}
	*out = buf;
	*len = n;
	return 0;
}

int meta__read_file(const char *path, struct khelp_meta *m, char *err, size_t errlen)
{
	struct stat st;
	size_t len;
	char *buf;
	int ret;

	ret = meta__slurp(path, &buf, &len, &st, err, errlen);
	if (ret)
		return ret;
	ret = meta__parse(buf, len, m, err, errlen);
	free(buf);
	return ret;
}
