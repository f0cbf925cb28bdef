// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Go function table reader (see mt_go_pclntab.h). Layout (Go 1.18+,
 * src/runtime/symtab.go, 64-bit): a header { magic u32, pad u8 u8,
 * quantum u8, ptrsize u8, nfunc, nfiles, textStart, funcnameOffset,
 * cuOffset, filetabOffset, pctabOffset, pclnOffset } (8-byte fields, the
 * offsets from the header), then at pclnOffset nfunc+1 pairs { entry offset
 * from textStart, _func offset } and the _func records { entryOff, nameOff,
 * args, deferreturn, pcsp, pcfile, pcln, npcdata, cuOffset, ... } (u32
 * each). pcfile and pcln are offsets into pctab of varint-coded
 * (value delta, pc delta) streams. Every offset read is checked against
 * the table's size: a malformed table gives "no function", never a crash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>

#include "go/mt_go_elf.h"
#include "go/mt_go_pclntab.h"
#include "util/mt_log.h"

struct mt_go_pcln {
	uint8_t *data;
	uint64_t size;
	uint32_t magic;
	uint32_t quantum;
	uint64_t nfunc, text;
	uint64_t funcname, cu, filetab, pctab, pcln;  /* offsets in data */
};

bool mt_go_pcln_magic_known(uint32_t magic)
{
	return magic == MT_GO_PCLN_118 || magic == MT_GO_PCLN_120;
}

static bool header_shape(const uint8_t *h)
{
	uint32_t m;

	memcpy(&m, h, 4);
	return mt_go_pcln_magic_known(m) && h[4] == 0 && h[5] == 0 &&
	       (h[6] == 1 || h[6] == 2 || h[6] == 4) && h[7] == 8;
}

int mt_go_pcln_find(const struct mt_go_elf *e, uint64_t *vaddr, uint64_t *size)
{
	static const char *const where[] = { ".data.rel.ro", ".rodata", ".noptrdata" };
	const struct mt_go_sec *s = mt_go_elf_sec(e, ".gopclntab");
	uint32_t magic = 0;
	unsigned i;

	if (!s)   /* a PIE puts it among the relocated read-only data */
		s = mt_go_elf_sec(e, ".data.rel.ro.gopclntab");
	if (s && !mt_go_elf_read(e, s->addr, &magic, 4) && magic) {
		*vaddr = s->addr;
		*size = s->size;
		return 0;
	}
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		uint8_t *b;
		uint64_t off;

		s = mt_go_elf_sec(e, where[i]);
		if (!s || s->type == SHT_NOBITS || s->size < 72 || mt_go_elf_load(e, s, &b))
			continue;
		for (off = 0; off + 72 <= s->size; off += 8) {
			if (header_shape(b + off)) {
				*vaddr = s->addr + off;
				*size = s->size - off;
				free(b);
				return 0;
			}
		}
		free(b);
	}
	return -ENOENT;
}

static uint64_t u64at(const struct mt_go_pcln *p, uint64_t off)
{
	uint64_t v = 0;

	if (off + 8 <= p->size)
		memcpy(&v, p->data + off, 8);
	return v;
}

static uint32_t u32at(const struct mt_go_pcln *p, uint64_t off, bool *ok)
{
	uint32_t v = 0;

	if (off + 4 <= p->size && off + 4 > off)
		memcpy(&v, p->data + off, 4);
	else
		*ok = false;
	return v;
}

int mt_go_pcln_open(const char *path, struct mt_go_pcln **out)
{
	struct mt_go_pcln *p = NULL;
	struct mt_go_elf e;
	uint64_t vaddr, size;
	int err;

	err = mt_go_elf_open(path, &e);
	if (err)
		return err;
	err = mt_go_pcln_find(&e, &vaddr, &size);
	if (err) {
		mt_err("'%s': no Go function table (.gopclntab)", path);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->data = malloc(size))) {
		err = -ENOMEM;
		goto out;
	}
	p->size = size;
	if (mt_go_elf_read(&e, vaddr, p->data, size)) {
		err = -EIO;
		mt_err("cannot read the Go function table of '%s'", path);
		goto out;
	}
	memcpy(&p->magic, p->data, 4);
	if (!mt_go_pcln_magic_known(p->magic) || size < 72) {
		err = -ENOTSUP;
		mt_err("'%s': Go function table format 0x%08x is not one memtrace reads "
		       "(Go 1.18 and later)", path, p->magic);
		goto out;
	}
	p->quantum = p->data[6];
	p->nfunc = u64at(p, 8);
	p->text = u64at(p, 24);
	p->funcname = u64at(p, 32);
	p->cu = u64at(p, 40);
	p->filetab = u64at(p, 48);
	p->pctab = u64at(p, 56);
	p->pcln = u64at(p, 64);
	if (!p->text) {   /* PIE: the field is relocated at run time */
		const struct mt_go_sec *t = mt_go_elf_sec(&e, ".text");

		p->text = t ? t->addr : 0;
	}
	if (p->pcln >= size || p->nfunc > (size - p->pcln) / 8 || p->funcname >= size ||
	    p->pctab >= size || p->filetab >= size || p->cu >= size) {
		err = -EINVAL;
		mt_err("'%s': malformed Go function table", path);
		goto out;
	}
out:
	mt_go_elf_close(&e);
	if (err) {
		mt_go_pcln_free(p);
		return err;
	}
	*out = p;
	return 0;
}

void mt_go_pcln_free(struct mt_go_pcln *p)
{
	if (!p)
		return;
	free(p->data);
	free(p);
}

uint64_t mt_go_pcln_nfunc(const struct mt_go_pcln *p)
{
	return p->nfunc;
}

uint32_t mt_go_pcln_magic(const struct mt_go_pcln *p)
{
	return p->magic;
}

static const char *cstr(const struct mt_go_pcln *p, uint64_t base, uint64_t off)
{
	uint64_t at = base + off;

	if (at < base || at >= p->size || !memchr(p->data + at, 0, p->size - at))
		return NULL;
	return (const char *)p->data + at;
}

static uint32_t uvarint(const struct mt_go_pcln *p, uint64_t *at, bool *ok)
{
	uint32_t v = 0;
	unsigned shift = 0;

	while (*at < p->size && shift < 35) {
		uint8_t b = p->data[(*at)++];

		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
	}
	*ok = false;
	return 0;
}

/* The value of the PC table at pctab+off for target (runtime.pcvalue). */
static int32_t pcvalue(const struct mt_go_pcln *p, uint32_t off, uint64_t entry, uint64_t target,
		       bool *ok)
{
	uint64_t at = p->pctab + off, pc = entry;
	int32_t val = -1;
	bool first = true;

	if (!off)
		goto bad;
	while (*ok) {
		uint32_t uv = uvarint(p, &at, ok), pcd;

		if (uv == 0 && !first)
			break;
		first = false;
		val += (int32_t)(-(uv & 1) ^ (uv >> 1));
		pcd = uvarint(p, &at, ok);
		pc += (uint64_t)pcd * p->quantum;
		if (target < pc)
			return val;
	}
bad:
	*ok = false;
	return -1;
}

/* The _func record's offset in data for function index i. */
static uint64_t func_at(const struct mt_go_pcln *p, uint64_t i, bool *ok)
{
	return p->pcln + u32at(p, p->pcln + i * 8 + 4, ok);
}

const char *mt_go_pcln_lookup(const struct mt_go_pcln *p, uint64_t pc, uint64_t *entry,
			      const char **file, int *line)
{
	uint64_t lo = 0, hi = p->nfunc, f, fentry;
	uint32_t off, eoff, nameoff;
	const char *name;
	bool ok = true;

	if (file)
		*file = NULL;
	if (line)
		*line = 0;
	if (pc < p->text || !p->nfunc)
		return NULL;
	off = (uint32_t)(pc - p->text);
	if (pc - p->text > UINT32_MAX || off >= u32at(p, p->pcln + p->nfunc * 8, &ok))
		return NULL;
	while (hi - lo > 1) {   /* the last entry whose start is <= off */
		uint64_t mid = lo + (hi - lo) / 2;

		if (u32at(p, p->pcln + mid * 8, &ok) <= off)
			lo = mid;
		else
			hi = mid;
	}
	f = func_at(p, lo, &ok);
	eoff = u32at(p, f, &ok);
	nameoff = u32at(p, f + 4, &ok);
	if (!ok || eoff > off || !(name = cstr(p, p->funcname, nameoff)))
		return NULL;
	fentry = p->text + eoff;
	if (entry)
		*entry = fentry;
	if (file || line) {
		uint32_t pcfile = u32at(p, f + 20, &ok), pcln = u32at(p, f + 24, &ok);
		uint32_t cuoff = u32at(p, f + 32, &ok);
		int32_t fileno = ok ? pcvalue(p, pcfile, fentry, pc, &ok) : -1;
		bool lok = true;
		int32_t ln = pcvalue(p, pcln, fentry, pc, &lok);

		if (line && lok && ln > 0)
			*line = ln;
		if (file && ok && fileno >= 0) {
			uint32_t fo = u32at(p, p->cu + ((uint64_t)cuoff + (uint32_t)fileno) * 4, &ok);

			if (ok && fo != UINT32_MAX)
				*file = cstr(p, p->filetab, fo);
		}
	}
	return name;
}

int mt_go_pcln_func(const struct mt_go_pcln *p, const char *name, uint64_t *entry, uint64_t *end)
{
	uint64_t i;
	bool ok = true;

	for (i = 0; i < p->nfunc && ok; i++) {
		uint64_t f = func_at(p, i, &ok);
		const char *n = cstr(p, p->funcname, u32at(p, f + 4, &ok));

		if (ok && n && !strcmp(n, name)) {
			*entry = p->text + u32at(p, p->pcln + i * 8, &ok);
			*end = p->text + u32at(p, p->pcln + (i + 1) * 8, &ok);
			return ok ? 0 : -EINVAL;
		}
	}
	return -ENOENT;
}

int mt_go_pcln_sp_zero(const struct mt_go_pcln *p, uint64_t entry, uint64_t (*ranges)[2],
		       size_t max)
{
	uint64_t lo = 0, hi = p->nfunc, f, at, pc = entry, start;
	uint32_t off, eoff, pcsp;
	int32_t val = -1;
	bool ok = true, first = true;
	size_t n = 0;

	if (entry < p->text || !p->nfunc || entry - p->text > UINT32_MAX)
		return -ENOENT;
	off = (uint32_t)(entry - p->text);
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (u32at(p, p->pcln + mid * 8, &ok) <= off)
			lo = mid;
		else
			hi = mid;
	}
	f = func_at(p, lo, &ok);
	eoff = u32at(p, f, &ok);
	pcsp = u32at(p, f + 16, &ok);
	if (!ok || eoff != off || !pcsp)
		return -ENOENT;
	at = p->pctab + pcsp;
	while (ok) {
		uint32_t uv = uvarint(p, &at, &ok), pcd;

		if (uv == 0 && !first)
			break;
		val += (int32_t)(-(uv & 1) ^ (uv >> 1));
		pcd = uvarint(p, &at, &ok);
		start = pc;
		pc += (uint64_t)pcd * p->quantum;
		/* the first range is the prologue, before the frame exists */
		if (!first && val == 0 && ok) {
			if (n == max)
				return -E2BIG;
			ranges[n][0] = start;
			ranges[n][1] = pc;
			n++;
		}
		first = false;
	}
	return ok ? (int)n : -EINVAL;
}

int mt_go_pcln_rets(const struct mt_go_pcln *p, const struct mt_go_elf *e, uint64_t entry,
		    uint64_t *at, size_t max)
{
	uint64_t r[16][2];
	int i, nr;
	size_t n = 0;

	nr = mt_go_pcln_sp_zero(p, entry, r, 16);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr; i++) {
		uint8_t code[8];
		uint64_t len = r[i][1] - r[i][0], j;
		bool ret = len && len <= sizeof(code) && !mt_go_elf_read(e, r[i][0], code, len) &&
			   code[len - 1] == 0xc3;

		for (j = 0; ret && j + 1 < len; j++)
			ret = code[j] == 0x90;
		if (!ret)
			continue;
		if (n == max)
			return -E2BIG;   /* all of them or none: a missed RET would misattribute */
		at[n++] = r[i][1] - 1;
	}
	return (int)n;
}
