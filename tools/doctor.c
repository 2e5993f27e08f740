/*
 * otel-preload doctor PROGRAM: can LD_PRELOAD=libotelpreload.so work for PROGRAM, and what will
 * it trace?
 *
 * Design:
 *
 * - The program is found like execvp finds it (a name without '/' goes through $PATH) and only
 *   its files are read: nothing is run. ELF files are parsed here with <elf.h> (32- and 64-bit,
 *   either byte order), through bounds-checked reads of a read-only mapping, so a truncated or
 *   hostile file gives "not a valid ELF file", never a crash.
 *
 * - Output (stdout): one verdict line, "ok: ..." or "no: <first reason it cannot work>", then
 *   indented detail sentences. Exit status: 0 the preload can work, 1 it cannot, 2 usage error
 *   or unreadable program.
 *
 * - Reasons it cannot work: static linking (no PT_INTERP: no dynamic loader ever reads
 *   LD_PRELOAD), a Go program (Go makes its own system calls; sections .go.buildinfo,
 *   .note.go.buildid, .gopclntab, a "Go" note, or the symbol runtime.main), secure-execution mode
 *   (set-user-ID or set-group-ID bits, or file capabilities in the security.capability
 *   attribute), the musl loader (our library is built against glibc), another class, byte order
 *   or machine than our library (the loader skips it), libotelpreload.so not found.
 *
 * - Scripts: the kernel runs the interpreter named on the #! line, and that is the process the
 *   library is preloaded into, so the interpreter is inspected instead (through `env` too, up to
 *   4 levels like the kernel). A text file without #! is run by execvp with /bin/sh.
 *
 * - Instrumentations come from the DT_NEEDED lists of the program and, transitively, of its
 *   libraries, resolved roughly the way ld.so does: DT_RPATH (when there is no DT_RUNPATH),
 *   LD_LIBRARY_PATH, DT_RUNPATH ($ORIGIN and $LIB expanded), then the directories of
 *   /etc/ld.so.conf (with its includes) instead of the binary /etc/ld.so.cache, then the
 *   multiarch and default directories. A candidate of another class or machine is skipped, as
 *   ld.so does. Libraries that cannot be found are listed but do not change the verdict.
 *
 * - The current environment's OTEL_SDK_DISABLED and OTEL_PRELOAD_ENABLED/DISABLED_INSTRUMENTATIONS
 *   are read with the library's rules (docs/configuration.md) to warn about instrumentations the
 *   run would switch off; they never change the verdict.
 */
#include "tools.h"
#include "common.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_SCRIPT_DEPTH 4    /* the kernel's limit of nested interpreters */
#define MAX_LIBS         1000 /* transitive dependencies looked at, at most */
#define SHEBANG_MAX      256  /* the kernel reads this much of a #! line */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fputs("otel-preload doctor: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s);
	if (!r) {
		fputs("otel-preload doctor: out of memory\n", stderr);
		exit(2);
	}
	return r;
}

static char *vxasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vxasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("otel-preload doctor: out of memory\n", stderr);
		exit(2);
	}
	return s;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = vxasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* A growable list of strings. */
struct strv {
	char **v;
	size_t n, cap;
};

static void strv_push(struct strv *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = s;
}

static bool strv_has(const struct strv *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void strv_free(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct strv){0};
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the report ---- */

struct report {
	struct strv lines;
	char *verdict; /* the first reason the preload cannot work */
	char *subject; /* the ok line's program */
	char *through; /* the interpreter a script is traced through */
	int warnings;
};

static void say(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strv_push(&r->lines, vxasprintf(fmt, ap));
	va_end(ap);
}

static void warn(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = vxasprintf(fmt, ap);
	va_end(ap);
	strv_push(&r->lines, xasprintf("warning: %s", s));
	free(s);
	r->warnings++;
}

/* The preload cannot work: `reason` is the verdict (the first one given) and `fmt`, when not
 * NULL, explains it on the following lines. */
static void cannot(struct report *r, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cannot(struct report *r, const char *reason, const char *fmt, ...)
{
	if (!r->verdict)
		r->verdict = xstrdup(reason);
	else
		strv_push(&r->lines, xasprintf("also: %s.", reason));
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		strv_push(&r->lines, vxasprintf(fmt, ap));
		va_end(ap);
	}
}

/* ---- files and ELF ---- */

struct file {
	const unsigned char *d;
	size_t size;
	void *map;
};

/* Maps path read-only. Returns 0, or -1 with errno set. */
static int map_file(const char *path, struct file *f)
{
	*f = (struct file){0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		f->map = m;
		f->d = m;
		f->size = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

static void unmap_file(struct file *f)
{
	if (f->map)
		munmap(f->map, f->size);
	*f = (struct file){0};
}

struct elf {
	const unsigned char *d;
	size_t size;
	int cls;  /* ELFCLASS32 or ELFCLASS64 */
	bool msb; /* big-endian */
	unsigned type, machine;
	uint64_t phoff, shoff;
	unsigned phnum, phentsize, shnum, shentsize, shstrndx;
};

/* n bytes (1, 2, 4 or 8) at off, in the file's byte order; 0 outside the file. */
static uint64_t rd(const struct elf *e, uint64_t off, size_t n)
{
	if (off > e->size || n > e->size - off)
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned b = e->d[off + (e->msb ? i : n - 1 - i)];
		v = (v << 8) | b;
	}
	return v;
}

#define ESIZE(e, S) ((e)->cls == ELFCLASS64 ? sizeof(Elf64_##S) : sizeof(Elf32_##S))
#define EF(e, base, S, f)                                                            \
	((e)->cls == ELFCLASS64                                                      \
	     ? rd((e), (base) + offsetof(Elf64_##S, f), sizeof(((Elf64_##S *)0)->f)) \
	     : rd((e), (base) + offsetof(Elf32_##S, f), sizeof(((Elf32_##S *)0)->f)))

static bool in_file(const struct elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static bool is_elf(const struct file *f)
{
	return f->size >= SELFMAG && memcmp(f->d, ELFMAG, SELFMAG) == 0;
}

/* Reads the ELF header. false: not a usable ELF file. */
static bool elf_parse(const struct file *f, struct elf *e)
{
	*e = (struct elf){.d = f->d, .size = f->size};
	if (!is_elf(f))
		return false;
	e->cls = f->d[EI_CLASS];
	if (e->cls != ELFCLASS32 && e->cls != ELFCLASS64)
		return false;
	if (f->d[EI_DATA] != ELFDATA2LSB && f->d[EI_DATA] != ELFDATA2MSB)
		return false;
	e->msb = f->d[EI_DATA] == ELFDATA2MSB;
	if (f->size < ESIZE(e, Ehdr))
		return false;
	e->type = (unsigned)EF(e, 0, Ehdr, e_type);
	e->machine = (unsigned)EF(e, 0, Ehdr, e_machine);
	e->phoff = EF(e, 0, Ehdr, e_phoff);
	e->shoff = EF(e, 0, Ehdr, e_shoff);
	e->phnum = (unsigned)EF(e, 0, Ehdr, e_phnum);
	e->phentsize = (unsigned)EF(e, 0, Ehdr, e_phentsize);
	e->shnum = (unsigned)EF(e, 0, Ehdr, e_shnum);
	e->shentsize = (unsigned)EF(e, 0, Ehdr, e_shentsize);
	e->shstrndx = (unsigned)EF(e, 0, Ehdr, e_shstrndx);
	/* Tables that do not fit are ignored, as if absent. */
	if (e->phentsize < ESIZE(e, Phdr) ||
	    !in_file(e, e->phoff, (uint64_t)e->phnum * e->phentsize))
		e->phnum = 0;
	if (e->shentsize < ESIZE(e, Shdr) ||
	    !in_file(e, e->shoff, (uint64_t)e->shnum * e->shentsize))
		e->shnum = 0;
	return true;
}

struct phdr {
	uint64_t type, offset, vaddr, filesz;
};

static struct phdr elf_phdr(const struct elf *e, unsigned i)
{
	uint64_t b = e->phoff + (uint64_t)i * e->phentsize;
	return (struct phdr){EF(e, b, Phdr, p_type), EF(e, b, Phdr, p_offset),
	                     EF(e, b, Phdr, p_vaddr), EF(e, b, Phdr, p_filesz)};
}

struct shdr {
	uint64_t name, type, offset, size, link, entsize;
};

static struct shdr elf_shdr(const struct elf *e, unsigned i)
{
	uint64_t b = e->shoff + (uint64_t)i * e->shentsize;
	return (struct shdr){EF(e, b, Shdr, sh_name),   EF(e, b, Shdr, sh_type),
	                     EF(e, b, Shdr, sh_offset), EF(e, b, Shdr, sh_size),
	                     EF(e, b, Shdr, sh_link),   EF(e, b, Shdr, sh_entsize)};
}

/* The NUL-terminated string at off, if it ends inside [off, limit) and the file; else NULL. */
static const char *elf_str(const struct elf *e, uint64_t off, uint64_t limit)
{
	if (limit > e->size)
		limit = e->size;
	if (off >= limit)
		return NULL;
	const char *s = (const char *)e->d + off;
	return memchr(s, '\0', limit - off) ? s : NULL;
}

static const char *section_name(const struct elf *e, const struct shdr *sh)
{
	if (e->shstrndx == SHN_UNDEF || e->shstrndx >= e->shnum)
		return NULL;
	struct shdr strs = elf_shdr(e, e->shstrndx);
	if (sh->name >= strs.size)
		return NULL;
	return elf_str(e, strs.offset + sh->name, strs.offset + strs.size);
}

static bool vaddr_to_offset(const struct elf *e, uint64_t vaddr, uint64_t *off)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr ph = elf_phdr(e, i);
		if (ph.type == PT_LOAD && vaddr >= ph.vaddr && vaddr - ph.vaddr < ph.filesz) {
			*off = ph.offset + (vaddr - ph.vaddr);
			return true;
		}
	}
	return false;
}

/* What the dynamic loader would read. Strings point into the mapping. */
struct dyn {
	const char *interp;
	bool dynamic;
	const char *soname, *rpath, *runpath;
	uint64_t flags_1;
	const char **needed;
	size_t nneeded;
};

/* The string at index v of the dynamic string table at stroff; NULL for UINT64_MAX (absent)
 * or outside the table. */
static const char *dyn_str(const struct elf *e, uint64_t stroff, uint64_t limit, uint64_t v)
{
	if (v == UINT64_MAX || v >= UINT64_MAX - stroff)
		return NULL;
	return elf_str(e, stroff + v, limit);
}

static void dyn_parse(const struct elf *e, struct dyn *dy)
{
	*dy = (struct dyn){0};
	uint64_t dyn_off = 0, dyn_size = 0;
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr ph = elf_phdr(e, i);
		if (ph.type == PT_INTERP && !dy->interp)
			dy->interp = elf_str(e, ph.offset, ph.offset + ph.filesz);
		if (ph.type == PT_DYNAMIC && !dy->dynamic) {
			dy->dynamic = true;
			dyn_off = ph.offset;
			dyn_size = ph.filesz;
		}
	}
	if (!dy->dynamic || !in_file(e, dyn_off, dyn_size))
		return;
	uint64_t strtab = 0, strsz = UINT64_MAX, soname = UINT64_MAX, rpath = UINT64_MAX,
	         runpath = UINT64_MAX;
	bool have_strtab = false;
	size_t cap = 0;
	uint64_t *needed = NULL;
	size_t esz = ESIZE(e, Dyn);
	for (uint64_t p = dyn_off; p + esz <= dyn_off + dyn_size; p += esz) {
		uint64_t tag = EF(e, p, Dyn, d_tag), val = EF(e, p, Dyn, d_un);
		if (tag == DT_NULL)
			break;
		switch (tag) {
		case DT_NEEDED:
			if (dy->nneeded == cap) {
				cap = cap ? 2 * cap : 16;
				needed = xrealloc(needed, cap * sizeof *needed);
			}
			needed[dy->nneeded++] = val;
			break;
		case DT_STRTAB:
			strtab = val;
			have_strtab = true;
			break;
		case DT_STRSZ:
			strsz = val;
			break;
		case DT_SONAME:
			soname = val;
			break;
		case DT_RPATH:
			rpath = val;
			break;
		case DT_RUNPATH:
			runpath = val;
			break;
		case DT_FLAGS_1:
			dy->flags_1 = val;
			break;
		}
	}
	uint64_t stroff = 0;
	bool found = have_strtab && vaddr_to_offset(e, strtab, &stroff);
	if (!found) {
		/* No usable DT_STRTAB: the string table linked to the SHT_DYNAMIC section. */
		for (unsigned i = 0; i < e->shnum && !found; i++) {
			struct shdr sh = elf_shdr(e, i);
			if (sh.type == SHT_DYNAMIC && sh.link < e->shnum) {
				struct shdr st = elf_shdr(e, (unsigned)sh.link);
				stroff = st.offset;
				strsz = st.size;
				found = true;
			}
		}
	}
	size_t n = dy->nneeded;
	dy->nneeded = 0;
	if (found) {
		uint64_t limit =
		    strsz == UINT64_MAX || stroff + strsz < stroff ? UINT64_MAX : stroff + strsz;
		dy->needed = xrealloc(NULL, (n ? n : 1) * sizeof *dy->needed);
		for (size_t i = 0; i < n; i++) {
			const char *s = dyn_str(e, stroff, limit, needed[i]);
			if (s && *s)
				dy->needed[dy->nneeded++] = s;
		}
		dy->soname = dyn_str(e, stroff, limit, soname);
		dy->rpath = dyn_str(e, stroff, limit, rpath);
		dy->runpath = dyn_str(e, stroff, limit, runpath);
	}
	free(needed);
}

static void dyn_free(struct dyn *dy)
{
	free(dy->needed);
	*dy = (struct dyn){0};
}

/* Symbols looked for in .symtab and .dynsym. */
enum sym_id { SYM_GO_MAIN, SYM_PQ, SYM_REDIS, SYM_COUNT };
static const char *const sym_names[][4] = {
    [SYM_GO_MAIN] = {"runtime.main", NULL},
    [SYM_PQ] = {"PQconnectdb", "PQconnectdbParams", "PQconnectStart", NULL},
    [SYM_REDIS] = {"redisConnect", "redisConnectWithOptions", "redisConnectWithTimeout", NULL},
};

/* defined[id]: a symbol of the group is defined in the file (not just imported). */
static void find_symbols(const struct elf *e, bool present[SYM_COUNT], bool defined[SYM_COUNT])
{
	for (unsigned i = 0; i < e->shnum; i++) {
		struct shdr sh = elf_shdr(e, i);
		if ((sh.type != SHT_SYMTAB && sh.type != SHT_DYNSYM) || sh.link >= e->shnum)
			continue;
		size_t esz = ESIZE(e, Sym);
		if (sh.entsize < esz || !in_file(e, sh.offset, sh.size))
			continue;
		struct shdr strs = elf_shdr(e, (unsigned)sh.link);
		for (uint64_t p = sh.offset; p + sh.entsize <= sh.offset + sh.size;
		     p += sh.entsize) {
			uint64_t name = EF(e, p, Sym, st_name);
			if (name == 0 || name >= strs.size)
				continue;
			const char *s = elf_str(e, strs.offset + name, strs.offset + strs.size);
			if (!s)
				continue;
			/* A cheap filter: every name looked for starts with 'r' or 'P'. */
			if (s[0] != 'r' && s[0] != 'P')
				continue;
			for (int id = 0; id < SYM_COUNT; id++)
				for (int k = 0; sym_names[id][k]; k++)
					if (strcmp(s, sym_names[id][k]) == 0) {
						present[id] = true;
						if (EF(e, p, Sym, st_shndx) != SHN_UNDEF)
							defined[id] = true;
					}
		}
	}
}

/* A note named "Go" of type 4 (NT_GO_BUILDID) in a PT_NOTE segment. */
static bool has_go_note(const struct elf *e)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr ph = elf_phdr(e, i);
		if (ph.type != PT_NOTE || !in_file(e, ph.offset, ph.filesz))
			continue;
		uint64_t p = ph.offset, end = ph.offset + ph.filesz;
		while (p + 12 <= end) {
			uint64_t namesz = rd(e, p, 4), descsz = rd(e, p + 4, 4),
			         type = rd(e, p + 8, 4);
			uint64_t name = p + 12;
			uint64_t next = name + ((namesz + 3) & ~3ULL) + ((descsz + 3) & ~3ULL);
			if (next > end || next <= p)
				break;
			if (namesz == 3 && type == 4 && memcmp(e->d + name, "Go", 3) == 0)
				return true;
			p = next;
		}
	}
	return false;
}

/* The reason to think this is a Go program, or NULL. */
static const char *go_evidence(const struct elf *e, bool go_main)
{
	static const char *const sections[] = {".go.buildinfo", ".note.go.buildid", ".gopclntab"};
	for (unsigned i = 0; i < e->shnum; i++) {
		struct shdr sh = elf_shdr(e, i);
		const char *name = section_name(e, &sh);
		for (size_t k = 0; name && k < OTELP_ARRAY_SIZE(sections); k++)
			if (strcmp(name, sections[k]) == 0)
				return sections[k];
	}
	if (has_go_note(e))
		return "a Go build ID note";
	if (go_main)
		return "the symbol runtime.main";
	return NULL;
}

/* ---- architectures ---- */

struct arch {
	unsigned machine;
	const char *name;
	const char *triplet64, *triplet32; /* Debian multiarch directories */
};

static const struct arch arches[] = {
    {EM_X86_64, "x86-64", "x86_64-linux-gnu", "x86_64-linux-gnux32"},
    {EM_386, "i386", NULL, "i386-linux-gnu"},
    {EM_AARCH64, "AArch64", "aarch64-linux-gnu", NULL},
    {EM_ARM, "ARM", NULL, "arm-linux-gnueabihf"},
    {EM_RISCV, "RISC-V", "riscv64-linux-gnu", NULL},
    {EM_PPC64, "PowerPC64", "powerpc64le-linux-gnu", NULL},
    {EM_PPC, "PowerPC", NULL, "powerpc-linux-gnu"},
    {EM_S390, "s390", "s390x-linux-gnu", NULL},
    {EM_MIPS, "MIPS", "mips64el-linux-gnuabi64", "mipsel-linux-gnu"},
    {EM_SPARCV9, "SPARC64", "sparc64-linux-gnu", NULL},
#ifdef EM_LOONGARCH
    {EM_LOONGARCH, "LoongArch", "loongarch64-linux-gnu", NULL},
#endif
};

static const struct arch *arch_of(unsigned machine)
{
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(arches); i++)
		if (arches[i].machine == machine)
			return &arches[i];
	return NULL;
}

/* "64-bit x86-64" (malloc'd). */
static char *arch_desc(const struct elf *e)
{
	const struct arch *a = arch_of(e->machine);
	char *m = a ? xstrdup(a->name) : xasprintf("machine %u", e->machine);
	char *r = xasprintf(
	    "%d-bit %s%s", e->cls == ELFCLASS64 ? 64 : 32, m,
	    e->msb && e->machine != EM_S390 && e->machine != EM_SPARCV9 ? " (big-endian)" : "");
	free(m);
	return r;
}

static bool same_arch(const struct elf *a, const struct elf *b)
{
	return a->cls == b->cls && a->msb == b->msb && a->machine == b->machine;
}

/* ---- finding libraries like ld.so ---- */

struct search {
	const struct elf *exe; /* the class and machine libraries must have */
	struct strv system;    /* ld.so.conf, multiarch and default directories */
	struct strv env;       /* LD_LIBRARY_PATH */
};

static void add_dir(struct strv *l, const char *dir, size_t len)
{
	if (len == 0)
		return;
	char *d = xasprintf("%.*s", (int)len, dir);
	if (strv_has(l, d))
		free(d);
	else
		strv_push(l, d);
}

static void read_ld_so_conf(struct strv *dirs, const char *path, int depth)
{
	if (depth > 8)
		return;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = line + strspn(line, " \t");
		size_t n = strlen(s);
		while (n > 0 && strchr(" \t\r\n", s[n - 1]))
			s[--n] = '\0';
		if (n == 0 || starts_with(s, "hwcap"))
			continue;
		if (starts_with(s, "include") && (s[7] == ' ' || s[7] == '\t')) {
			char *pat = s + 7 + strspn(s + 7, " \t");
			char *full = NULL;
			if (pat[0] != '/') {
				const char *slash = strrchr(path, '/');
				full = xasprintf("%.*s/%s", slash ? (int)(slash - path) : 1,
				                 slash ? path : ".", pat);
				pat = full;
			}
			glob_t g;
			if (glob(pat, 0, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++)
					read_ld_so_conf(dirs, g.gl_pathv[i], depth + 1);
				globfree(&g);
			}
			free(full);
			continue;
		}
		/* Directories, separated by blanks, commas or colons; old files may append
		 * "=TYPE" to one. */
		for (char *p = s; *p;) {
			p += strspn(p, " \t,:");
			size_t len = strcspn(p, " \t,:");
			if (len == 0)
				break;
			size_t dlen = strcspn(p, " \t,:=");
			if (p[0] == '/')
				add_dir(dirs, p, dlen);
			p += len;
		}
	}
	free(line);
	fclose(f);
}

static void add_path_list(struct strv *l, const char *list)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ":;");
		add_dir(l, p, n);
		p += n;
		if (*p)
			p++;
	}
}

static void search_init(struct search *s, const struct elf *exe)
{
	*s = (struct search){.exe = exe};
	read_ld_so_conf(&s->system, "/etc/ld.so.conf", 0);
	const struct arch *a = arch_of(exe->machine);
	const char *triplet = a ? (exe->cls == ELFCLASS64 ? a->triplet64 : a->triplet32) : NULL;
	if (triplet) {
		char *d = xasprintf("/lib/%s", triplet);
		add_dir(&s->system, d, strlen(d));
		free(d);
		d = xasprintf("/usr/lib/%s", triplet);
		add_dir(&s->system, d, strlen(d));
		free(d);
	}
	if (exe->cls == ELFCLASS64) {
		add_dir(&s->system, "/lib64", 6);
		add_dir(&s->system, "/usr/lib64", 10);
	}
	add_dir(&s->system, "/lib", 4);
	add_dir(&s->system, "/usr/lib", 8);
	add_path_list(&s->env, getenv("LD_LIBRARY_PATH"));
}

static void search_free(struct search *s)
{
	strv_free(&s->system);
	strv_free(&s->env);
}

/* A library file the loader would accept for the program: an ELF of the same class, byte
 * order and machine. */
static bool compatible(const struct search *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	unsigned char h[64];
	ssize_t n;
	do
		n = pread(fd, h, sizeof h, 0);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return false;
	struct file f = {.d = h, .size = (size_t)n};
	struct elf e;
	return elf_parse(&f, &e) && same_arch(&e, s->exe);
}

/* Expands $ORIGIN, ${ORIGIN}, $LIB and ${LIB} in one directory of a DT_RPATH/DT_RUNPATH. */
static char *expand_dst(const struct search *s, const char *dir, size_t len, const char *origin)
{
	const struct arch *a = arch_of(s->exe->machine);
	const char *triplet = a ? (s->exe->cls == ELFCLASS64 ? a->triplet64 : a->triplet32) : NULL;
	char *lib = triplet ? xasprintf("lib/%s", triplet) : xstrdup("lib");
	char *out = xstrdup("");
	for (size_t i = 0; i < len;) {
		const char *rep = NULL;
		size_t skip = 0;
		if (dir[i] == '$') {
			static const struct {
				const char *tok;
				int which;
			} toks[] = {{"${ORIGIN}", 0}, {"$ORIGIN", 0}, {"${LIB}", 1}, {"$LIB", 1}};
			for (size_t k = 0; k < OTELP_ARRAY_SIZE(toks) && !rep; k++) {
				size_t tl = strlen(toks[k].tok);
				if (len - i >= tl && memcmp(dir + i, toks[k].tok, tl) == 0) {
					rep = toks[k].which == 0 ? origin : lib;
					skip = tl;
				}
			}
		}
		char *next;
		if (rep) {
			next = xasprintf("%s%s", out, rep);
			i += skip;
		} else {
			next = xasprintf("%s%c", out, dir[i]);
			i++;
		}
		free(out);
		out = next;
	}
	free(lib);
	return out;
}

static char *try_dirs_list(const struct search *s, const char *list, const char *origin,
                           const char *name)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0) {
			char *dir = expand_dst(s, p, n, origin);
			char *cand = xasprintf("%s/%s", dir, name);
			free(dir);
			if (compatible(s, cand))
				return cand;
			free(cand);
		}
		p += n;
		if (*p)
			p++;
	}
	return NULL;
}

static char *try_strv(const struct search *s, const struct strv *dirs, const char *name)
{
	for (size_t i = 0; i < dirs->n; i++) {
		char *cand = xasprintf("%s/%s", dirs->v[i], name);
		if (compatible(s, cand))
			return cand;
		free(cand);
	}
	return NULL;
}

/* The file a DT_NEEDED name of `obj` resolves to (malloc'd), or NULL. */
static char *resolve_needed(const struct search *s, const char *name, const struct dyn *obj,
                            const char *origin, const struct dyn *exe)
{
	if (strchr(name, '/'))
		return compatible(s, name) ? xstrdup(name) : NULL;
	char *r = NULL;
	if (!obj->runpath) {
		r = try_dirs_list(s, obj->rpath, origin, name);
		if (!r && exe != obj && !exe->runpath)
			r = try_dirs_list(s, exe->rpath, origin, name);
	}
	if (!r)
		r = try_strv(s, &s->env, name);
	if (!r)
		r = try_dirs_list(s, obj->runpath, origin, name);
	if (!r)
		r = try_strv(s, &s->system, name);
	return r;
}

/* ---- what the libraries mean ---- */

enum feature {
	F_LIBPQ,
	F_HIREDIS,
	F_TLS,
	F_URING,
	F_INTERP, /* a language runtime embedded as a library */
	F_COUNT
};

static const struct {
	enum feature f;
	const char *prefix;
} lib_features[] = {
    {F_LIBPQ, "libpq.so"},    {F_HIREDIS, "libhiredis.so"}, {F_TLS, "libssl.so"},
    {F_TLS, "libgnutls.so"},  {F_TLS, "libnss3.so"},        {F_TLS, "libmbedtls.so"},
    {F_TLS, "libwolfssl.so"}, {F_URING, "liburing.so"},     {F_INTERP, "libpython"},
    {F_INTERP, "libnode.so"}, {F_INTERP, "libruby"},        {F_INTERP, "libperl.so"},
    {F_INTERP, "libphp"},
};

struct found {
	char *lib[F_COUNT]; /* the first library name giving the feature */
	char *by[F_COUNT];  /* the object that needs it */
};

static void note_features(struct found *fd, const char *name, const char *by)
{
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(lib_features); i++) {
		enum feature f = lib_features[i].f;
		if (!fd->lib[f] && starts_with(name, lib_features[i].prefix)) {
			fd->lib[f] = xstrdup(name);
			fd->by[f] = xstrdup(by);
		}
	}
}

/* Walks the dependency tree of the executable (already parsed as exe/exe_dyn). */
static void scan_dependencies(struct report *r, struct search *s, const char *exe_path,
                              const struct dyn *exe_dyn, struct found *fd)
{
	struct strv queue = {0}, by = {0}, seen_names = {0}, seen_paths = {0}, missing = {0};
	char *real = realpath(exe_path, NULL);
	char *origin = xstrdup(real ? real : exe_path);
	free(real);
	char *slash = strrchr(origin, '/');
	if (slash)
		*(slash == origin ? slash + 1 : slash) = '\0';
	for (size_t i = 0; i < exe_dyn->nneeded; i++) {
		const char *name = exe_dyn->needed[i];
		note_features(fd, name, base_name(exe_path));
		if (strv_has(&seen_names, name))
			continue;
		strv_push(&seen_names, xstrdup(name));
		char *path = resolve_needed(s, name, exe_dyn, origin, exe_dyn);
		if (!path) {
			strv_push(&missing, xstrdup(name));
			continue;
		}
		strv_push(&queue, path);
		strv_push(&by, xstrdup(name));
	}
	free(origin);
	size_t nlibs = 0;
	for (size_t qi = 0; qi < queue.n && nlibs < MAX_LIBS; qi++) {
		const char *path = queue.v[qi];
		char *rp = realpath(path, NULL);
		char *key = rp ? rp : xstrdup(path);
		if (strv_has(&seen_paths, key)) {
			free(key);
			continue;
		}
		strv_push(&seen_paths, key);
		nlibs++;
		struct file f;
		struct elf e;
		if (map_file(path, &f) != 0)
			continue;
		if (!elf_parse(&f, &e)) {
			unmap_file(&f);
			continue;
		}
		struct dyn dy;
		dyn_parse(&e, &dy);
		char *lorigin = xstrdup(key);
		char *ls = strrchr(lorigin, '/');
		if (ls)
			*(ls == lorigin ? ls + 1 : ls) = '\0';
		for (size_t i = 0; i < dy.nneeded; i++) {
			const char *name = dy.needed[i];
			note_features(fd, name, by.v[qi]);
			if (strv_has(&seen_names, name))
				continue;
			strv_push(&seen_names, xstrdup(name));
			char *p = resolve_needed(s, name, &dy, lorigin, exe_dyn);
			if (!p) {
				strv_push(&missing, xstrdup(name));
				continue;
			}
			strv_push(&queue, p);
			strv_push(&by, xstrdup(name));
		}
		free(lorigin);
		dyn_free(&dy);
		unmap_file(&f);
	}
	say(r, "It needs %zu shared librar%s (directly and through other libraries).", seen_names.n,
	    seen_names.n == 1 ? "y" : "ies");
	if (missing.n > 0) {
		char *list = xstrdup("");
		for (size_t i = 0; i < missing.n; i++) {
			char *n = xasprintf("%s%s%s", list, i ? ", " : "", missing.v[i]);
			free(list);
			list = n;
		}
		say(r,
		    "Not found in the usual directories: %s (the loader may still find %s "
		    "through /etc/ld.so.cache; otherwise the program cannot start).",
		    list, missing.n == 1 ? "it" : "them");
		free(list);
	}
	strv_free(&queue);
	strv_free(&by);
	strv_free(&seen_names);
	strv_free(&seen_paths);
	strv_free(&missing);
}

/* ---- the environment's configuration ---- */

static bool blank_value(const char *v)
{
	return !v || v[strspn(v, " \t")] == '\0';
}

/* Whether the comma-separated list holds name (any case, blanks around items ignored). */
static bool list_has(const char *list, const char *name)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		const char *a = p, *b = p + n;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if ((size_t)(b - a) == strlen(name) && strncasecmp(a, name, (size_t)(b - a)) == 0)
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* Why the environment turns instrumentation `name` off, or NULL (malloc'd). */
static char *env_disables(const char *name)
{
	const char *en = getenv("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS");
	const char *dis = getenv("OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS");
	if (!blank_value(en) && !list_has(en, name))
		return xasprintf("OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS=%s does not list it", en);
	if (!blank_value(dis) && list_has(dis, name))
		return xasprintf("OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=%s lists it", dis);
	return NULL;
}

static void instrumentation(struct report *r, const char *name, const char *what)
{
	char *why = env_disables(name);
	if (why) {
		warn(r, "%s: %s, but this environment disables it (%s).", name, what, why);
		free(why);
	} else {
		say(r, "%s: %s.", name, what);
	}
}

/* ---- the program ---- */

/* Like execvp's search. Returns a malloc'd path or NULL (errno). */
static char *find_program(const char *name)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int err = ENOENT;
	for (const char *p = path;;) {
		size_t n = strcspn(p, ":");
		char *cand = n ? xasprintf("%.*s/%s", (int)n, p, name) : xasprintf("./%s", name);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0)
				return cand;
			err = EACCES;
		}
		free(cand);
		p += n;
		if (!*p)
			break;
		p++;
	}
	errno = err;
	return NULL;
}

struct ctx {
	struct report *r;
	struct elf lib; /* our library's header (lib_ok) */
	bool lib_ok;
	char *lib_path;
	struct file lib_file;
};

static int inspect(struct ctx *c, const char *path, int depth);

static void secure_mode(struct ctx *c, const char *path, const struct stat *st)
{
	struct report *r = c->r;
	if (st->st_mode & (S_ISUID | S_ISGID)) {
		struct statvfs vfs;
		if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
			say(r, "Its set-user-ID/set-group-ID bits are ignored: its filesystem is "
			       "mounted nosuid.");
		} else {
			bool suid = st->st_mode & S_ISUID;
			char *reason =
			    xasprintf("%s is set-%s-ID; the loader ignores LD_PRELOAD in "
			              "secure-execution mode",
			              path, suid ? "user" : "group");
			cannot(
			    r, reason,
			    "It runs in secure-execution mode (AT_SECURE) whenever it is started "
			    "%s (%s %ld): the loader then ignores LD_PRELOAD paths such as ours, "
			    "and otelpreload disables itself.",
			    suid ? "by a user other than its owner"
			         : "with a real group other than its group",
			    suid ? "uid" : "gid", suid ? (long)st->st_uid : (long)st->st_gid);
			if (suid ? st->st_uid == getuid() : st->st_gid == getgid())
				say(r,
				    "Started by you (%s), it is not in secure mode and could be "
				    "traced; started by anyone else, it cannot.",
				    suid ? "its owner" : "your group is its group");
			free(reason);
		}
	}
	ssize_t n = getxattr(path, "security.capability", NULL, 0);
	if (n > 0) {
		char *reason = xasprintf("%s has file capabilities; the loader ignores LD_PRELOAD "
		                         "in secure-execution mode",
		                         path);
		cannot(r, reason,
		       "Capabilities granted by the file (the security.capability attribute, see "
		       "getcap) put the process in secure-execution mode (AT_SECURE).");
		free(reason);
	}
}

static void check_interpreter(struct ctx *c, const char *path, const char *interp)
{
	struct report *r = c->r;
	const char *b = base_name(interp);
	struct stat st;
	bool exists = stat(interp, &st) == 0;
	if (starts_with(b, "ld-musl-")) {
		char *reason = xasprintf("%s uses the musl loader %s; libotelpreload.so is built "
		                         "for glibc",
		                         path, interp);
		cannot(r, reason,
		       "musl's loader would try to load a glibc library and fail (or crash); a "
		       "build of otelpreload against musl would be needed.");
		free(reason);
	} else if (starts_with(b, "ld-linux") || starts_with(b, "ld64.so.") ||
	           strcmp(b, "ld.so.1") == 0) {
		say(r, "Its loader %s is glibc's, which reads LD_PRELOAD.", interp);
	} else {
		warn(r,
		     "its loader %s is not one I know (glibc's is ld-linux*.so.*): it may not "
		     "read LD_PRELOAD.",
		     interp);
	}
	if (!exists)
		warn(r,
		     "the loader %s does not exist on this system: the program cannot start "
		     "here.",
		     interp);
}

static void language_runtime_note(struct report *r, const char *why)
{
	say(r,
	    "%s: libraries it loads at run time (a Python psycopg2 loads libpq, for example) "
	    "are covered, because the hooks also bind for libraries opened with dlopen. "
	    "Database drivers written in the language itself (node-postgres, redis-py) speak "
	    "their protocols over plain sockets: only HTTP is recognised in their traffic.",
	    why);
}

static bool is_language_runtime(const char *name)
{
	static const char *const names[] = {"python", "node", "nodejs", "ruby", "php",
	                                    "perl",   "pypy", "bun",    "deno"};
	for (size_t i = 0; i < OTELP_ARRAY_SIZE(names); i++)
		if (starts_with(name, names[i])) {
			const char *rest = name + strlen(names[i]);
			/* python3, python3.11, php8.2, ruby3.1, perl5.36.0, node */
			if (strspn(rest, "0123456789.-") == strlen(rest))
				return true;
		}
	return false;
}

static void inspect_elf(struct ctx *c, const char *path, const struct file *f,
                        const struct stat *st)
{
	struct report *r = c->r;
	struct elf e;
	if (!elf_parse(f, &e)) {
		char *reason = xasprintf("%s is not a valid ELF file", path);
		cannot(r, reason, NULL);
		free(reason);
		return;
	}
	char *desc = arch_desc(&e);
	if (e.type != ET_EXEC && e.type != ET_DYN) {
		char *reason = xasprintf("%s is an ELF %s, not a program", path,
		                         e.type == ET_REL    ? "object file"
		                         : e.type == ET_CORE ? "core dump"
		                                             : "file of unknown type");
		cannot(r, reason, NULL);
		free(reason);
		free(desc);
		return;
	}
	struct dyn dy;
	dyn_parse(&e, &dy);
	bool syms_present[SYM_COUNT] = {0}, syms_defined[SYM_COUNT] = {0};
	find_symbols(&e, syms_present, syms_defined);
	const char *go = go_evidence(&e, syms_present[SYM_GO_MAIN]);
	bool is_library = !dy.interp && e.type == ET_DYN && dy.soname && !(dy.flags_1 & DF_1_PIE);

	if (is_library) {
		char *reason =
		    xasprintf("%s is a shared library (%s), not a program", path, dy.soname);
		cannot(r, reason, "Run the program that uses it under otel-preload instead.");
		free(reason);
		goto out;
	}
	if (dy.interp)
		say(r, "%s is a %s program, dynamically linked (loader %s).", path, desc,
		    dy.interp);
	else
		say(r, "%s is a %s program, statically linked%s.", path, desc,
		    dy.dynamic ? " (static-pie)" : "");
	secure_mode(c, path, st);

	if (go) {
		char *reason = xasprintf("%s is a Go program; Go makes its own system calls, so "
		                         "LD_PRELOAD hooks never see its I/O",
		                         path);
		cannot(r, reason,
		       "Found %s. The Go runtime talks to the kernel directly instead of calling "
		       "the C library's socket functions that otelpreload replaces.%s",
		       go,
		       dy.interp ? " This one is dynamically linked (cgo), so the library is "
		                   "loaded, but it may see only the calls made through cgo (C "
		                   "libraries such as libpq)."
		                 : "");
		free(reason);
	}
	if (!dy.interp) {
		char *reason =
		    xasprintf("%s is statically linked; LD_PRELOAD cannot reach it", path);
		cannot(r, reason,
		       "Without a program interpreter (PT_INTERP) no dynamic loader runs, so "
		       "nothing reads LD_PRELOAD and nothing can replace its functions.");
		free(reason);
	}

	/* Class and machine against our library's. */
	if (c->lib_ok && !same_arch(&e, &c->lib)) {
		char *libdesc = arch_desc(&c->lib);
		char *reason = xasprintf("%s is a %s program and libotelpreload.so is a %s library",
		                         path, desc, libdesc);
		cannot(r, reason,
		       "The loader skips a preloaded library of another class or machine "
		       "(\"wrong ELF class\"); a build of otelpreload for %s would be needed.",
		       desc);
		free(reason);
		free(libdesc);
	}
	if (go)
		goto out;
	if (dy.interp)
		check_interpreter(c, path, dy.interp);
	if (!dy.interp)
		goto out;

	/* The dependencies and what they mean for the instrumentations. */
	struct search s;
	search_init(&s, &e);
	struct found fd = {0};
	scan_dependencies(r, &s, path, &dy, &fd);
	search_free(&s);

	instrumentation(r, "http",
	                "HTTP/1.x requests it makes or serves over plain TCP and Unix sockets "
	                "will be traced");
	if (fd.lib[F_LIBPQ]) {
		char *what = xasprintf("PostgreSQL queries will be traced (%s, needed by %s)",
		                       fd.lib[F_LIBPQ], fd.by[F_LIBPQ]);
		instrumentation(r, "libpq", what);
		free(what);
	} else if (syms_defined[SYM_PQ]) {
		warn(r, "libpq seems to be linked statically into the program: its calls do not "
		        "go through the dynamic loader, so PostgreSQL queries will not be traced.");
	}
	if (fd.lib[F_HIREDIS]) {
		char *what = xasprintf("Redis commands will be traced (%s, needed by %s)",
		                       fd.lib[F_HIREDIS], fd.by[F_HIREDIS]);
		instrumentation(r, "hiredis", what);
		free(what);
	} else if (syms_defined[SYM_REDIS]) {
		warn(r, "hiredis seems to be linked statically into the program: its calls do "
		        "not go through the dynamic loader, so Redis commands will not be traced.");
	}
	if (fd.lib[F_TLS])
		say(r,
		    "%s is linked (needed by %s): HTTPS traffic is encrypted before it reaches "
		    "the socket, so it is not traced (yet); plain HTTP is.",
		    fd.lib[F_TLS], fd.by[F_TLS]);
	if (fd.lib[F_URING])
		say(r,
		    "%s is linked (needed by %s): I/O submitted through io_uring bypasses the "
		    "socket calls otelpreload hooks, so requests made that way are not traced.",
		    fd.lib[F_URING], fd.by[F_URING]);
	char *real = realpath(path, NULL);
	const char *rb = base_name(real ? real : path);
	if (is_language_runtime(base_name(path)) || is_language_runtime(rb)) {
		char *why = xasprintf("%s is a language runtime", base_name(path));
		language_runtime_note(r, why);
		free(why);
	} else if (fd.lib[F_INTERP]) {
		char *why = xasprintf("It embeds a language runtime (%s)", fd.lib[F_INTERP]);
		language_runtime_note(r, why);
		free(why);
	}
	free(real);
	for (int i = 0; i < F_COUNT; i++) {
		free(fd.lib[i]);
		free(fd.by[i]);
	}
out:
	dyn_free(&dy);
	free(desc);
}

/* The interpreter of a #! line (malloc'd): the path, or for `env` the program it runs, found in
 * PATH (*env_name is then the name given to env). NULL when there is none (reported). */
static char *shebang_interpreter(struct ctx *c, const char *script, const unsigned char *d,
                                 size_t size, char **shown, char **env_name)
{
	*env_name = NULL;
	size_t n = size < SHEBANG_MAX ? size : SHEBANG_MAX;
	const char *line = (const char *)d + 2;
	size_t len = 0;
	while (2 + len < n && line[len] != '\n')
		len++;
	char *l = xasprintf("%.*s", (int)len, line);
	size_t end = strlen(l);
	while (end > 0 && strchr("\r \t", l[end - 1]))
		l[--end] = '\0';
	char *p = l + strspn(l, " \t");
	*shown = xstrdup(p);
	size_t plen = strcspn(p, " \t");
	char *interp = xasprintf("%.*s", (int)plen, p);
	char *rest = p + plen;
	char *result = interp[0] ? xstrdup(interp) : NULL;
	if (!result) {
		char *reason = xasprintf("%s has an empty #! line", script);
		cannot(c->r, reason, NULL);
		free(reason);
	} else if (strcmp(base_name(interp), "env") == 0) {
		/* env [-S] [-i] [NAME=VALUE...] PROGRAM ... */
		for (char *t = strtok(rest, " \t"); t; t = strtok(NULL, " \t")) {
			if (t[0] == '-' || strchr(t, '='))
				continue;
			free(result);
			result = find_program(t);
			if (result) {
				*env_name = xstrdup(t);
			} else {
				char *reason = xasprintf("%s runs %s through env, and %s is not in "
				                         "PATH",
				                         script, t, t);
				cannot(c->r, reason, NULL);
				free(reason);
			}
			break;
		}
	}
	free(interp);
	free(l);
	return result;
}

/* Debian's /usr/bin/psql (and pg_dump...) is pg_wrapper, a Perl script running
 * /usr/lib/postgresql/<version>/bin/<name>: the newest version, unless configured otherwise. */
static char *pg_wrapper_target(const char *path)
{
	char *real = realpath(path, NULL);
	bool wrapper = real && strcmp(base_name(real), "pg_wrapper") == 0;
	free(real);
	if (!wrapper)
		return NULL;
	char *pat = xasprintf("/usr/lib/postgresql/*/bin/%s", base_name(path));
	glob_t g;
	char *best = NULL;
	double best_version = -1;
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			double v = strtod(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL);
			if (v > best_version && access(g.gl_pathv[i], X_OK) == 0) {
				best_version = v;
				free(best);
				best = xstrdup(g.gl_pathv[i]);
			}
		}
		globfree(&g);
	}
	free(pat);
	return best;
}

static void inspect_script(struct ctx *c, const char *path, const struct file *f, int depth)
{
	struct report *r = c->r;
	if (depth >= MAX_SCRIPT_DEPTH) {
		char *reason = xasprintf("%s: too many levels of #! interpreters", path);
		cannot(r, reason, NULL);
		free(reason);
		return;
	}
	char *shown = NULL, *env_name = NULL;
	char *interp = shebang_interpreter(c, path, f->d, f->size, &shown, &env_name);
	if (interp) {
		say(r,
		    "%s is a script (#!%s): LD_PRELOAD applies to its interpreter %s, which is "
		    "inspected below. The programs the script starts inherit LD_PRELOAD too.",
		    path, shown, env_name ? env_name : interp);
		if (env_name)
			say(r, "env finds %s in PATH: %s.", env_name, interp);
		free(r->through);
		r->through = xasprintf("through its interpreter %s", interp);
		inspect(c, interp, depth + 1);
		char *target = pg_wrapper_target(path);
		if (target) {
			say(r,
			    "%s is Debian's pg_wrapper: it runs %s (the newest version installed, "
			    "unless ~/.postgresqlrc or PGCLUSTER choose another), which inherits "
			    "LD_PRELOAD and is inspected below.",
			    path, target);
			free(r->through);
			r->through = xasprintf("through %s, which pg_wrapper runs", target);
			inspect(c, target, depth + 1);
			free(target);
		}
	}
	free(interp);
	free(env_name);
	free(shown);
}

static int inspect(struct ctx *c, const char *path, int depth)
{
	struct report *r = c->r;
	struct stat st;
	struct file f;
	if (stat(path, &st) != 0 || map_file(path, &f) != 0) {
		if (depth == 0) {
			fprintf(stderr, "otel-preload doctor: %s: %s\n", path, strerror(errno));
			return 2;
		}
		char *reason =
		    xasprintf("its interpreter %s cannot be read: %s", path, strerror(errno));
		cannot(r, reason, NULL);
		free(reason);
		return 0;
	}
	if (is_elf(&f)) {
		inspect_elf(c, path, &f, &st);
	} else if (f.size >= 2 && f.d[0] == '#' && f.d[1] == '!') {
		inspect_script(c, path, &f, depth);
	} else if (f.size > 0 && !memchr(f.d, '\0', f.size < SHEBANG_MAX ? f.size : SHEBANG_MAX)) {
		say(r,
		    "%s is a text file without a #! line: otel-preload (like a shell) runs it "
		    "with /bin/sh, which is inspected below.",
		    path);
		free(r->through);
		r->through = xstrdup("through /bin/sh");
		inspect(c, "/bin/sh", depth + 1);
	} else {
		char *reason =
		    xasprintf("%s is %s, not a program (neither ELF nor a #! script)", path,
		              f.size == 0 ? "empty" : "a binary file of unknown format");
		cannot(r, reason, NULL);
		free(reason);
	}
	if (access(path, X_OK) != 0)
		warn(r, "%s is not executable by you: running it fails with \"Permission denied\".",
		     path);
	unmap_file(&f);
	return 0;
}

static void config_notes(struct report *r)
{
	const char *v = getenv("OTEL_SDK_DISABLED");
	if (v && strcasecmp(v, "true") == 0)
		warn(r,
		     "OTEL_SDK_DISABLED=%s in this environment turns tracing off: nothing will "
		     "be traced.",
		     v);
}

/* Writes s, a line built from names read from files, with control characters and invalid UTF-8
 * escaped as \xNN: a crafted file must not send escape sequences to the terminal. */
static void put_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t len = c < 0x80             ? 1
		             : (c & 0xe0) == 0xc0 ? 2
		             : (c & 0xf0) == 0xe0 ? 3
		             : (c & 0xf8) == 0xf0 ? 4
		                                  : 0;
		bool ok = len > 0 && (len > 1 || (c >= 0x20 && c != 0x7f));
		for (size_t i = 1; ok && i < len; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok && len == 2) {
			unsigned cp = ((c & 0x1f) << 6) | (p[1] & 0x3f);
			ok = cp >= 0xa0; /* overlong forms and C1 controls */
		} else if (ok && len == 3) {
			unsigned cp = ((c & 0x0f) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3f);
			ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
		} else if (ok && len == 4) {
			unsigned cp = ((c & 0x07) << 18) | ((p[1] & 0x3fu) << 12) |
			              ((p[2] & 0x3fu) << 6) | (p[3] & 0x3f);
			ok = cp >= 0x10000 && cp <= 0x10ffff;
		}
		if (ok) {
			fwrite(p, 1, len, stdout);
			p += len;
		} else {
			printf("\\x%02x", c);
			p++;
		}
	}
	putchar('\n');
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: otel-preload doctor PROGRAM\n"
	           "Tells whether LD_PRELOAD=libotelpreload.so can work for PROGRAM (found "
	           "through PATH)\nand what it will trace. Exit status: 0 it can, 1 it cannot, 2 "
	           "usage error or unreadable file.\n");
}

int otelp_tool_doctor(int argc, char **argv)
{
	const char *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--") == 0 && i + 1 < argc && !name) {
			name = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' || name) {
			fprintf(stderr, "otel-preload doctor: %s: %s\n", argv[i],
			        name ? "only one program can be inspected" : "unknown option");
			usage(stderr);
			return 2;
		}
		name = argv[i];
	}
	if (!name || !name[0]) {
		usage(stderr);
		return 2;
	}
	char *path = find_program(name);
	if (!path) {
		fprintf(stderr, "otel-preload doctor: %s: %s\n", name,
		        errno == EACCES ? "found in PATH but not executable" : "not found in PATH");
		return 2;
	}

	struct report r = {.subject = path};
	struct ctx c = {.r = &r};
	char *why = NULL;
	c.lib_path = otelp_tool_find_library(&why);
	if (c.lib_path && map_file(c.lib_path, &c.lib_file) == 0)
		c.lib_ok = elf_parse(&c.lib_file, &c.lib);

	int rc = inspect(&c, path, 0);
	if (rc == 0) {
		if (!c.lib_path) {
			cannot(&r, why, NULL);
		} else if (!c.lib_ok) {
			char *reason = xasprintf("%s is not a valid ELF library", c.lib_path);
			cannot(&r, reason, NULL);
			free(reason);
		} else {
			char *d = arch_desc(&c.lib);
			say(&r, "otel-preload preloads %s (%s).", c.lib_path, d);
			free(d);
		}
		config_notes(&r);
		char *first;
		if (r.verdict)
			first = xasprintf("no: %s", r.verdict);
		else
			first =
			    xasprintf("ok: %s can be traced%s%s%s%s", path, r.through ? " (" : "",
			              r.through ? r.through : "", r.through ? ")" : "",
			              r.warnings ? "; see the warnings below" : "");
		put_clean(first);
		free(first);
		for (size_t i = 0; i < r.lines.n; i++) {
			fputs("  ", stdout);
			put_clean(r.lines.v[i]);
		}
		if (fflush(stdout) != 0)
			rc = 2;
		else
			rc = r.verdict ? 1 : 0;
	}
	strv_free(&r.lines);
	free(r.verdict);
	free(r.through);
	free(why);
	unmap_file(&c.lib_file);
	free(c.lib_path);
	free(path);
	return rc;
}
