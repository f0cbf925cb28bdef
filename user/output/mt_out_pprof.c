// SPDX-License-Identifier: BSD-2-Clause
/*
 * pprof output: a gzipped profile.proto (pprof's proto/profile.proto,
 * vendored in third_party/pprof, compiled by protobuf-c at build time) as
 * Go's heap profiles are written, so `go tool pprof` and its web UI read
 * it with the sample types people know:
 *   alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 *   inuse_space/bytes; default inuse_space.
 * One sample per site, its locations leaf first. A location is one return
 * address; functions inlined at it are more Line entries of the same
 * location, innermost first, as pprof represents inlining. Mappings are one
 * per module path, spanning the addresses seen in it, with has_functions
 * set: memtrace symbolized the frames already, pprof must not try again.
 * In sampling mode the site counters are memtrace's unbiased estimates,
 * which is what pprof expects in a profile (it never rescales on read).
 * What the listed sites do not add up to (a report read back from a version
 * 1 JSON holds only the top sites; allocations whose stack could not be
 * interned) is one more sample, "[other sites]", so pprof's totals are the
 * report's totals.
 * Cost: one pass over the sites and their frames, hash lookups for strings,
 * functions, locations and mappings; the profile is built in memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "profile.pb-c.h"
#include "sym/mt_elf.h"
#include "util/mt_log.h"
#include "output/mt_out.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_vt;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

#define NVALUES 4

/* Byte-string keys to indexes, open addressing; keys are copied. */
struct idmap {
	char **keys;
	size_t *klen;
	uint64_t *vals;
	size_t n, cap;
};

static uint64_t hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	while (len--)
		h = (h ^ *s++) * 1099511628211ULL;
	return h;
}

static size_t map_slot(const struct idmap *m, const void *key, size_t len)
{
	size_t i = hash(key, len) & (m->cap - 1);

	while (m->keys[i] && (m->klen[i] != len || memcmp(m->keys[i], key, len)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int map_grow(struct idmap *m)
{
	struct idmap o = *m;
	size_t i;

	m->cap = o.cap ? o.cap * 2 : 256;
	m->keys = calloc(m->cap, sizeof(*m->keys));
	m->klen = calloc(m->cap, sizeof(*m->klen));
	m->vals = calloc(m->cap, sizeof(*m->vals));
	if (!m->keys || !m->klen || !m->vals) {
		free(m->keys);
		free(m->klen);
		free(m->vals);
		*m = o;
		return -ENOMEM;
	}
	for (i = 0; i < o.cap; i++) {
		if (o.keys[i]) {
			size_t k = map_slot(m, o.keys[i], o.klen[i]);

			m->keys[k] = o.keys[i];
			m->klen[k] = o.klen[i];
			m->vals[k] = o.vals[i];
		}
	}
	free(o.keys);
	free(o.klen);
	free(o.vals);
	return 0;
}

/* *val of key, or 1 when absent (then *slot is where to put it). */
static int map_find(struct idmap *m, const void *key, size_t len, uint64_t *val, size_t *slot)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && map_grow(m))
		return -ENOMEM;
	i = map_slot(m, key, len);
	*slot = i;
	if (!m->keys[i])
		return 1;
	*val = m->vals[i];
	return 0;
}

static int map_put(struct idmap *m, size_t slot, const void *key, size_t len, uint64_t val)
{
	m->keys[slot] = malloc(len ? len : 1);
	if (!m->keys[slot])
		return -ENOMEM;
	memcpy(m->keys[slot], key, len);
	m->klen[slot] = len;
	m->vals[slot] = val;
	m->n++;
	return 0;
}

static void map_free(struct idmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->klen);
	free(m->vals);
}

/* Growable arrays of messages; protobuf-c wants arrays of pointers, made
 * at the end. */
#define VEC(T) struct { T *v; size_t n, cap; }
#define VEC_PUSH(vec, err) \
	(((vec).n == (vec).cap && ((err) = vec_grow((void **)&(vec).v, &(vec).cap, sizeof(*(vec).v)))) \
	 ? NULL : &(vec).v[(vec).n++])

static int vec_grow(void **v, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*v, ncap * size);

	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

struct mapping_ext {
	uint64_t lo, hi, lo_off;  /* addresses seen in the module, lo's file offset */
	bool files, lines, inl;
};

struct pb {
	VEC(char *) strs;         /* the string table, owned copies */
	struct idmap smap, fmap, lmap, mmap;
	VEC(pb_function) funcs;
	VEC(pb_location) locs;
	VEC(pb_mapping) maps;
	VEC(struct mapping_ext) mext;
	VEC(pb_sample) samples;
	VEC(uint64_t) locids;     /* every sample's location ids, one run each */
	VEC(int64_t) values;
};

static int64_t str_id(struct pb *b, const char *s, int *err)
{
	size_t len = s ? strlen(s) : 0, slot;
	uint64_t id;
	char **p;
	int rc;

	if (*err)
		return 0;
	rc = map_find(&b->smap, s ? s : "", len, &id, &slot);
	if (rc <= 0) {
		*err = rc;
		return rc ? 0 : (int64_t)id;
	}
	p = VEC_PUSH(b->strs, *err);
	if (!p)
		return 0;
	*p = strdup(s ? s : "");
	if (!*p) {
		b->strs.n--;
		*err = -ENOMEM;
		return 0;
	}
	*err = map_put(&b->smap, slot, s ? s : "", len, b->strs.n - 1);
	return (int64_t)(b->strs.n - 1);
}

static uint64_t mapping_id(struct pb *b, const struct mt_frame *f, int *err)
{
	size_t len, slot;
	uint64_t id;
	pb_mapping *m;
	struct mapping_ext *x;
	int rc;

	if (*err || !f->module)
		return 0;
	len = strlen(f->module);
	rc = map_find(&b->mmap, f->module, len, &id, &slot);
	if (rc < 0) {
		*err = rc;
		return 0;
	}
	if (rc == 1) {
		m = VEC_PUSH(b->maps, *err);
		x = m ? VEC_PUSH(b->mext, *err) : NULL;
		if (!x)
			return 0;
		perftools__profiles__mapping__init(m);
		m->id = b->maps.n;
		m->filename = str_id(b, f->module, err);
		*x = (struct mapping_ext){ .lo = f->addr, .hi = f->addr, .lo_off = f->module_off };
		id = m->id;
		if (!*err)
			*err = map_put(&b->mmap, slot, f->module, len, id);
	}
	x = &b->mext.v[id - 1];
	if (f->addr < x->lo) {
		x->lo = f->addr;
		x->lo_off = f->module_off;
	}
	if (f->addr > x->hi)
		x->hi = f->addr;
	if (f->file)
		x->files = true;
	if (f->line > 0)
		x->lines = true;
	return id;
}

static uint64_t function_id(struct pb *b, const struct mt_frame *f, int *err)
{
	int64_t name = str_id(b, f->func, err), file = str_id(b, f->file, err);
	int64_t key[2] = { name, file };
	size_t slot;
	uint64_t id;
	pb_function *fn;
	int rc;

	if (*err)
		return 0;
	rc = map_find(&b->fmap, key, sizeof(key), &id, &slot);
	if (rc <= 0) {
		*err = rc;
		return rc ? 0 : id;
	}
	fn = VEC_PUSH(b->funcs, *err);
	if (!fn)
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = b->funcs.n;
	fn->name = name;
	fn->system_name = name;
	fn->filename = file;
	*err = map_put(&b->fmap, slot, key, sizeof(key), fn->id);
	return fn->id;
}

/* Whether a frame is a function inlined at its address (its line belongs
 * to the location of the next real frame). The symbolizer marks such
 * frames once it reports inline chains. */
static bool frame_inlined(const struct mt_frame *f)
{
	return f->inlined;
}

/* The location of frames[0..n): n-1 inlined frames then the real one,
 * all at one address. */
static uint64_t location_id(struct pb *b, const struct mt_frame *fr, uint32_t n, int pid,
			    int *err)
{
	const struct mt_frame *real = &fr[n - 1];
	/* an address is one process image's: -f trees have several */
	struct { uint64_t addr; int64_t pid; } key = { real->addr, pid };
	size_t slot;
	uint64_t id;
	pb_location *loc;
	uint32_t i;
	int rc;

	if (*err)
		return 0;
	rc = map_find(&b->lmap, &key, sizeof(key), &id, &slot);
	if (rc <= 0) {
		*err = rc;
		return rc ? 0 : id;
	}
	loc = VEC_PUSH(b->locs, *err);
	if (!loc)
		return 0;
	perftools__profiles__location__init(loc);
	loc->id = b->locs.n;
	loc->address = real->addr;
	loc->mapping_id = mapping_id(b, real, err);
	if (n > 1 && loc->mapping_id && !*err)
		b->mext.v[loc->mapping_id - 1].inl = true;
	/* No name: the location is its address alone, as pprof shows an
	 * unsymbolized frame. */
	if (real->func) {
		loc->line = calloc(n, sizeof(*loc->line));
		if (!loc->line) {
			*err = -ENOMEM;
			return 0;
		}
		for (i = 0; i < n && !*err; i++) {
			pb_line *ln = malloc(sizeof(*ln));

			if (!ln) {
				*err = -ENOMEM;
				break;
			}
			perftools__profiles__line__init(ln);
			loc->line[loc->n_line++] = ln;
			ln->function_id = function_id(b, &fr[i], err);
			ln->line = fr[i].line > 0 ? fr[i].line : 0;
		}
	}
	if (!*err)
		*err = map_put(&b->lmap, slot, &key, sizeof(key), loc->id);
	return loc->id;
}

static int add_sample(struct pb *b, const struct mt_report_stack *st, int pid, const int64_t *v)
{
	size_t first = b->locids.n;
	pb_sample *s;
	uint32_t i, j;
	int err = 0, k;

	for (i = 0; i < st->nframes && !err; i = j) {
		uint64_t *lid;

		for (j = i; j + 1 < st->nframes && frame_inlined(&st->frames[j]); j++)
			;
		j++;
		lid = VEC_PUSH(b->locids, err);
		if (lid)
			*lid = location_id(b, &st->frames[i], j - i, pid, &err);
	}
	for (k = 0; k < NVALUES && !err; k++) {
		int64_t *p = VEC_PUSH(b->values, err);

		if (p)
			*p = v[k];
	}
	s = err ? NULL : VEC_PUSH(b->samples, err);
	if (!s)
		return err;
	perftools__profiles__sample__init(s);
	/* offsets for now: the arrays move while they grow */
	s->location_id = (uint64_t *)(uintptr_t)first;
	s->n_location_id = b->locids.n - first;
	s->value = (int64_t *)(uintptr_t)(b->values.n - NVALUES);
	s->n_value = NVALUES;
	return 0;
}

static int64_t clamp(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int gzip_buf(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream z = { 0 };
	size_t cap = compressBound(len) + 64;
	int rc;

	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	/* windowBits 15 + 16: a gzip header, as pprof reads */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto fail;
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	z.next_out = *out;
	z.avail_out = cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc == Z_STREAM_END)
		return 0;
fail:
	free(*out);
	*out = NULL;
	return -ENOMEM;
}

static void pb_free(struct pb *b)
{
	size_t i, k;

	for (i = 0; i < b->strs.n; i++)
		free(b->strs.v[i]);
	for (i = 0; i < b->locs.n; i++) {
		for (k = 0; k < b->locs.v[i].n_line; k++)
			free(b->locs.v[i].line[k]);
		free(b->locs.v[i].line);
	}
	free(b->strs.v);
	free(b->funcs.v);
	free(b->locs.v);
	free(b->maps.v);
	free(b->mext.v);
	free(b->samples.v);
	free(b->locids.v);
	free(b->values.v);
	map_free(&b->smap);
	map_free(&b->fmap);
	map_free(&b->lmap);
	map_free(&b->mmap);
}

/* Pointer arrays for protobuf-c, pointing into the vectors. */
static void *ptrs(void *base, size_t n, size_t size)
{
	void **p = calloc(n ? n : 1, sizeof(*p));
	size_t i;

	for (i = 0; p && i < n; i++)
		p[i] = (char *)base + i * size;
	return p;
}
#define PTRS(vec) ptrs((vec).v, (vec).n, sizeof(*(vec).v))

/* A live run's module files are the target's: read through its root
 * (containers), or as named once it is gone. A saved report's are not on
 * this machine: no build-id is better than another file's. */
static int64_t build_id(struct pb *b, const struct mt_report *r, const char *module, bool live,
			int *err)
{
	char p[4096 + 32], id[128];

	if (!live || !module)
		return 0;
	snprintf(p, sizeof(p), "/proc/%d/root%s", r->target.pid, module);
	if (mt_elf_build_id(p, id, sizeof(id)) && mt_elf_build_id(module, id, sizeof(id)))
		return 0;
	return str_id(b, id, err);
}

int mt_out_pprof(const char *path, const struct mt_report *r, const char *version, bool live)
{
	static const char *const types[NVALUES][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
	};
	pb_profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	pb_vt vt[NVALUES], period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	pb_vt *vtp[NVALUES];
	struct pb b = { 0 };
	uint64_t sum[NVALUES] = { 0 }, total[NVALUES];
	struct mt_report_stack none = { 0 };
	uint64_t (*vals)[NVALUES] = NULL;
	uint8_t *raw = NULL, *gz = NULL;
	size_t i, rawlen, gzlen = 0;
	int64_t comment[2];
	char text[256];
	int err = 0, k;

	str_id(&b, "", &err);   /* string 0 is "" */
	/* the main binary is mapping 1, as pprof expects */
	if (r->target.exe[0]) {
		struct mt_frame exe = { .module = r->target.exe, .addr = UINT64_MAX };

		mapping_id(&b, &exe, &err);
		if (!err)
			b.mext.v[0].lo = UINT64_MAX, b.mext.v[0].hi = 0;
	}
	for (k = 0; k < NVALUES; k++) {
		perftools__profiles__value_type__init(&vt[k]);
		vt[k].type = str_id(&b, types[k][0], &err);
		vt[k].unit = str_id(&b, types[k][1], &err);
		vtp[k] = &vt[k];
	}
	vals = calloc(r->nsites ? r->nsites : 1, sizeof(*vals));
	if (!vals)
		err = -ENOMEM;
	for (i = 0; i < r->nsites && !err; i++) {
		const struct mt_report_site *s = &r->sites[i];

		vals[i][0] = s->allocs;
		vals[i][1] = s->alloc_bytes;
		vals[i][2] = s->live_objects;
		vals[i][3] = s->live_bytes;
		for (k = 0; k < NVALUES; k++)
			sum[k] += vals[i][k];
	}
	total[0] = r->totals.c.allocs;
	total[1] = r->totals.c.alloc_bytes;
	total[2] = r->totals.c.live_objects;
	total[3] = r->totals.c.live_bytes;
	/* Sampling: each site's estimate is rounded on its own, so the sites
	 * may sum to more than the total (by at most half a unit per site).
	 * The excess is taken off the largest values, so pprof's totals (which
	 * add absolute values: no negative sample can fix it) are the report's. */
	for (k = 0; k < NVALUES && !err; k++) {
		while (sum[k] > total[k]) {
			size_t big = 0;
			uint64_t cut;

			for (i = 1; i < r->nsites; i++)
				if (vals[i][k] > vals[big][k])
					big = i;
			cut = sum[k] - total[k] < vals[big][k] ? sum[k] - total[k] : vals[big][k];
			if (!cut)
				break;
			vals[big][k] -= cut;
			sum[k] -= cut;
		}
	}
	for (i = 0; i < r->nsites && !err; i++) {
		int64_t v[NVALUES];

		for (k = 0; k < NVALUES; k++)
			v[k] = clamp(vals[i][k]);
		err = add_sample(&b, &r->sites[i].stack, r->sites[i].pid, v);
	}
	if (!err && (sum[0] < total[0] || sum[1] < total[1] || sum[2] < total[2] || sum[3] < total[3])) {
		struct mt_frame other = { .func = "[other sites]" };
		int64_t v[NVALUES];

		for (k = 0; k < NVALUES; k++)
			v[k] = sum[k] < total[k] ? clamp(total[k] - sum[k]) : 0;
		none.nframes = 1;
		none.frames = &other;
		err = add_sample(&b, &none, 0, v);
	}
	if (err)
		goto out;

	for (i = 0; i < b.samples.n; i++) {
		b.samples.v[i].location_id = b.locids.v + (uintptr_t)b.samples.v[i].location_id;
		b.samples.v[i].value = b.values.v + (uintptr_t)b.samples.v[i].value;
	}
	for (i = 0; i < b.maps.n; i++) {
		struct mapping_ext *x = &b.mext.v[i];
		pb_mapping *m = &b.maps.v[i];

		if (x->lo <= x->hi) {
			m->memory_start = x->lo;
			m->memory_limit = x->hi + 1;
			m->file_offset = x->lo_off;
		}
		m->build_id = build_id(&b, r, b.strs.v[m->filename], live, &err);
		m->has_functions = true;
		m->has_filenames = x->files;
		m->has_line_numbers = x->lines;
		m->has_inline_frames = x->inl;
	}
	p.n_sample_type = NVALUES;
	p.sample_type = vtp;
	p.default_sample_type = vt[3].type;
	period_type.type = str_id(&b, "space", &err);
	period_type.unit = str_id(&b, "bytes", &err);
	p.period_type = &period_type;
	p.period = (int64_t)r->sample_bytes;
	p.duration_nanos = (int64_t)(r->duration_s * 1e9);
	snprintf(text, sizeof(text), "memtrace %s: pid %d (%s)%s", version ? version : "",
		 r->target.pid, r->target.comm, r->sample_bytes ? ", sampled: estimates" :
		 r->traced_fraction > 0 ? ", overhead budget: estimates" : "");
	comment[0] = str_id(&b, text, &err);
	snprintf(text, sizeof(text), "%s", r->opts.launch ? "mode launch" : "mode attach");
	comment[1] = str_id(&b, text, &err);
	p.n_comment = 2;
	p.comment = comment;
	if (err)
		goto out;
	p.n_sample = b.samples.n;
	p.sample = PTRS(b.samples);
	p.n_mapping = b.maps.n;
	p.mapping = PTRS(b.maps);
	p.n_location = b.locs.n;
	p.location = PTRS(b.locs);
	p.n_function = b.funcs.n;
	p.function = PTRS(b.funcs);
	p.n_string_table = b.strs.n;
	p.string_table = b.strs.v;
	if (!p.sample || !p.mapping || !p.location || !p.function) {
		err = -ENOMEM;
		goto out;
	}
	rawlen = perftools__profiles__profile__get_packed_size(&p);
	raw = malloc(rawlen ? rawlen : 1);
	if (!raw) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&p, raw);
	err = gzip_buf(raw, rawlen, &gz, &gzlen);
out:
	if (!err)
		err = mt_out_write_file(path, gz, gzlen);   /* reports its own error */
	else
		mt_err("cannot write the profile '%s': %s", path, strerror(-err));
	free(p.sample);
	free(p.mapping);
	free(p.location);
	free(p.function);
	free(vals);
	free(raw);
	free(gz);
	pb_free(&b);
	return err;
}
