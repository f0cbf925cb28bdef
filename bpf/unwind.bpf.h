/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The stack walker, included by heap.bpf.c (at an allocation's return
 * probe) and vm.bpf.c (at a memory syscall's exit, from the user registers
 * the kernel saved): from the registers up to the process root, frame
 * by frame, through frame pointers or CFI rows per mapping (tables in
 * unwind.h, built by user/unwind/). Every frame it records is a return
 * address inside an executable mapping of the target; a walk that cannot
 * go on stops and says why (struct mt_stack.end).
 *
 * Cost per frame: one binary search over the mappings (<= 9 steps) and, in
 * a CFI module, one over its rows (~15 steps for libc), plus one or two
 * 8-byte reads of the target's stack. The loop is bpf_loop, verified once.
 */
#ifndef MT_UNWIND_BPF_H
#define MT_UNWIND_BPF_H

#include <bpf/bpf_core_read.h>
#include "unwind.h"

const volatile __u32 uw_max_depth = 64;   /* --max-depth, <= MT_STACK_MAX */

/* The table maps below are the heap program's; the memory view's program
 * reuses them (user/unwind/mt_unwind.h, mt_unwind_sink), so both walk one
 * process with one set of tables. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_uw_state);
} mt_uw_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);   /* sized by user space before load */
	__type(key, __u32);
	__type(value, struct mt_uw_row);
} mt_uw_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct mt_uw_maps);
} mt_uw_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_UW_MAX_MODS);
	__type(key, struct mt_uw_mod_key);
	__type(value, struct mt_uw_mod);
} mt_uw_mods SEC(".maps");

/* The stack being built, per thread: a uprobe program may be preempted,
 * so a per-CPU buffer could be overwritten by another thread's walk. It
 * also remembers the thread's last stored stack: a thread that allocates
 * from the same stack again (a loop) skips the stack map's lookup (~50 ns).
 * Stacks are never removed from the map, so the key stays good. */
struct uw_buf {
	struct mt_stack st;    /* first: the walk's result is &buf->st */
	__u64 last_hash;       /* of the last stack stored or found, 0: none */
	__s64 last_key;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct uw_buf);
} mt_uw_buf SEC(".maps");

#ifndef MT_UW_INLINE_STACKS
/* Stacks by hash; value_size is set to MT_STACK_BYTES(max depth) before
 * load, and memory follows the stacks seen (no preallocation). A program
 * whose records carry their stack (vm.bpf.c) defines MT_UW_INLINE_STACKS
 * and has neither this map nor uw_stack_id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 16);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct mt_stack));
} mt_stacks SEC(".maps");
#endif

struct uw_ctx {
	struct mt_stack *st;
	struct mt_uw_maps *maps;
	struct mt_uw_map m;    /* mapping of pc (a copy) */
	__u64 pc, sp, bp;
	__u32 exact;           /* pc is where execution stands, not a return address */
	__u32 tramp_read;      /* tramp and ri are read (lazily: rarely needed) */
	__u64 tramp;           /* the uretprobe trampoline's address, 0: none */
	struct return_instance *ri;   /* next pending uretprobe, innermost first */
};

#define MT_VM_EXEC 0x4

struct uw_vma {
	struct mt_uw_map *out;
	int found;
};

/* The mapping of a return address the table does not hold: executable,
 * and if file-backed, of a module whose rows user space has loaded. */
static long uw_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct uw_vma *v = data;
	struct mt_uw_map *out = v->out;
	struct mt_uw_mod_key key = {};
	struct mt_uw_mod *mod;
	struct file *f;
	__u64 off;
	int i;

	if (!(vma->vm_flags & MT_VM_EXEC))
		return 0;
	v->found = 1;
	out->start = vma->vm_start;
	out->end = vma->vm_end;
	out->kind = MT_UW_MAP_UNKNOWN;
	f = vma->vm_file;
	if (!f)
		return 0;   /* anonymous code: JIT */
	key.ino = BPF_CORE_READ(f, f_inode, i_ino);
	key.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	mod = bpf_map_lookup_elem(&mt_uw_mods, &key);
	if (!mod)
		return 0;
	off = (__u64)vma->vm_pgoff << 12;
	for (i = 0; i < MT_UW_MOD_LOADS; i++) {
		if (i >= mod->nloads)
			break;
		if (off >= mod->loads[i].off && off < mod->loads[i].off + mod->loads[i].filesz + 4096) {
			out->bias = out->start - off + mod->loads[i].off - mod->loads[i].vaddr;
			out->row_first = mod->row_first;
			out->row_count = mod->row_count;
			out->kind = mod->kind;
			break;
		}
	}
	return 0;
}

static __always_inline void uw_count_unknown(void)
{
	__u32 zero = 0;
	struct mt_uw_state *s = bpf_map_lookup_elem(&mt_uw_state, &zero);

	if (s)
		__sync_fetch_and_add(&s->unknown, 1);
}

/* Copy the executable mapping holding pc into *out: from the table, or
 * else from the kernel's own (the table is then stale: user space is told
 * to re-read the mappings). False when pc is in no executable mapping. */
static __always_inline bool uw_find_map(struct mt_uw_maps *maps, __u64 pc, struct mt_uw_map *out)
{
	struct uw_vma v = { .out = out };
	__u32 lo = 0, hi = maps->n, i, mid, gt;

	/* The table is one process's (-f traces several, an exec replaces
	 * the image): another's addresses go to the kernel's own mappings,
	 * and modules are found by inode, which every process shares. */
	if (maps->tgid != (__u32)(bpf_get_current_pid_tgid() >> 32)) {
		bpf_find_vma(bpf_get_current_task_btf(), pc, uw_vma_cb, &v, 0);
		return v.found;
	}
	/* branch-free binary search for the first mapping with end > pc */
	if (hi > MT_UW_MAX_MAPS)
		hi = MT_UW_MAX_MAPS;
	for (i = 0; i <= MT_UW_MAP_SHIFT; i++) {
		if (lo >= hi)
			break;
		mid = lo + (hi - lo) / 2;
		mid &= MT_UW_MAX_MAPS - 1;
		/* gt = maps->m[mid].end > pc */
		gt = (__u32)((pc - maps->m[mid].end) >> 63);
		asm volatile("" : "+r"(gt));
		lo = lo + (1 - gt) * (mid + 1 - lo);
		hi = mid + (1 - gt) * (hi - mid);
	}
	if (lo < maps->n) {
		asm volatile("" : "+r"(lo));   /* the mask below must stay */
		lo &= MT_UW_MAX_MAPS - 1;
		if (pc >= maps->m[lo].start) {
			*out = maps->m[lo];
			return true;
		}
	}
	uw_count_unknown();
	bpf_find_vma(bpf_get_current_task_btf(), pc, uw_vma_cb, &v, 0);
	return v.found;
}

/* Rows found lately, by module address: the index of the row + 1, 0 for
 * none. A hit is checked against the rows themselves (the row covers a:
 * its pc <= a < the next row's pc, and it is the module's), so a stale or
 * torn slot only costs the search; rows are never rewritten. Measured on
 * bench_churn: a search of libc's 28k rows costs ~150 ns (15 steps, most
 * of them cache misses), a hit ~20 ns; an allocation's stack repeats the
 * same return addresses. Per object (the heap's and the memory view's
 * each have one): 16 KiB. */
#define MT_UW_CACHE 4096   /* a power of two */
__u32 mt_uw_cache[MT_UW_CACHE];

static __always_inline __u32 uw_cache_slot(const struct mt_uw_map *m, __u64 a)
{
	return (((__u32)a ^ (m->row_first * 0x9e3779b1u)) * 0x9e3779b1u) >> 20;
}

/* The row covering module address a in m's rows, or NULL. A branch-free
 * binary search: the verifier follows one path per step instead of two,
 * so it runs inline, without a callback per step. */
static __always_inline struct mt_uw_row *uw_find_row(const struct mt_uw_map *m, __u64 a)
{
	__u32 lo = 0, hi = m->row_count, i, mid, idx, le, slot;
	struct mt_uw_row *r, *next;

	if (a > 0xffffffffull)
		return NULL;
	slot = uw_cache_slot(m, a) & (MT_UW_CACHE - 1);
	idx = mt_uw_cache[slot] - 1;
	if (idx - m->row_first < m->row_count) {
		r = bpf_map_lookup_elem(&mt_uw_rows, &idx);
		if (r && r->pc <= a) {
			if (idx + 1 == m->row_first + m->row_count)
				return r;
			idx++;
			next = bpf_map_lookup_elem(&mt_uw_rows, &idx);
			if (next && next->pc > a)
				return r;
		}
	}
	for (i = 0; i <= MT_UW_ROW_SHIFT; i++) {
		if (lo >= hi)
			break;
		mid = lo + (hi - lo) / 2;
		idx = m->row_first + mid;
		r = bpf_map_lookup_elem(&mt_uw_rows, &idx);
		if (!r)
			return NULL;
		/* le = r->pc <= a, as arithmetic */
		le = 1 - (__u32)(((__u64)a - (__u64)r->pc) >> 63);
		asm volatile("" : "+r"(le));
		lo = lo + le * (mid + 1 - lo);
		hi = mid + le * (hi - mid);
	}
	if (lo == 0)
		return NULL;
	idx = m->row_first + lo - 1;
	mt_uw_cache[slot] = idx + 1;
	return bpf_map_lookup_elem(&mt_uw_rows, &idx);
}

/* A return address that is the uretprobe trampoline (a function with a
 * return probe pending: ours on malloc when the memory view walks from
 * inside it, anyone's) stands for the one the kernel saved in the task's
 * return instances: slot is where the return address was read, which
 * is the stack pointer the kernel saved at that function's entry. Reads
 * kernel memory only when the walk meets code outside every module. */
static __always_inline bool uw_uretprobe(struct uw_ctx *c, __u64 *ra, __u64 slot)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct return_instance *ri;
	int i;

	if (!c->tramp_read) {
		c->tramp_read = 1;
		c->tramp = BPF_CORE_READ(t, mm, uprobes_state.xol_area, vaddr);
		c->ri = BPF_CORE_READ(t, utask, return_instances);
	}
	if (!c->tramp || *ra != c->tramp)
		return false;
	ri = c->ri;
	/* instances of frames below this one (returned through already, or
	 * not on this walk) are skipped; a tail call's instance shares its
	 * caller's slot and comes first, with the real address copied */
	for (i = 0; i < 8 && ri; i++) {
		if (BPF_CORE_READ(ri, stack) >= slot)
			break;
		ri = BPF_CORE_READ(ri, next);
	}
	if (!ri || BPF_CORE_READ(ri, stack) != slot)
		return false;
	*ra = BPF_CORE_READ(ri, orig_ret_vaddr);
	c->ri = BPF_CORE_READ(ri, next);
	return true;
}

static __always_inline int uw_read(__u64 *v, __u64 addr)
{
	return bpf_probe_read_user(v, sizeof(*v), (const void *)addr);
}

static __always_inline long uw_stop(struct uw_ctx *c, __u32 why)
{
	c->st->end = why;
	return 1;
}

/* One frame up: from (pc, sp, bp) in c->m to the caller's. */
static long uw_step(__u32 i, void *arg)
{
	struct uw_ctx *c = arg;
	struct mt_stack *st = c->st;
	struct mt_uw_map *m = &c->m;
	__u64 cfa, ra, bp = c->bp, v, pair[2], slot = 0;
	bool sig = false, found;
	__u32 n = st->nr;

	if (n >= uw_max_depth || n >= MT_STACK_MAX)
		return uw_stop(c, MT_END_DEPTH);
	if (m->kind == MT_UW_MAP_FP) {
		/* rbp 0 is where _start and thread starts leave it */
		if (!c->bp)
			return uw_stop(c, MT_END_ROOT);
		if (c->bp < c->sp || (c->bp & 7))
			return uw_stop(c, MT_END_FAULT);
		cfa = c->bp + 16;
		slot = c->bp + 8;
		/* one read for the saved rbp and the return address above it */
		if (bpf_probe_read_user(pair, sizeof(pair), (const void *)c->bp))
			return uw_stop(c, MT_END_FAULT);
		bp = pair[0];
		ra = pair[1];
	} else if (m->kind == MT_UW_MAP_CFI) {
		/* A return address may be one past a call that ends its
		 * function: look up the call instruction itself. */
		struct mt_uw_row *r = uw_find_row(m, c->pc - m->bias - (c->exact ? 0 : 1));

		if (!r)
			return uw_stop(c, MT_END_NO_CFI);
		switch (MT_UW_KIND(r->kind)) {
		case MT_UW_CFA_RSP:
			cfa = c->sp + ((__u64)r->cfa_off << (r->kind & MT_UW_SCALED ? 3 : 0));
			break;
		case MT_UW_CFA_RBP:
			cfa = c->bp + ((__u64)r->cfa_off << (r->kind & MT_UW_SCALED ? 3 : 0));
			break;
		case MT_UW_CFA_DEREF_RBP:
			if (uw_read(&cfa, c->bp + (__s16)r->cfa_off))
				return uw_stop(c, MT_END_FAULT);
			break;
		case MT_UW_ROOT:
			return uw_stop(c, MT_END_ROOT);
		case MT_UW_SIGNAL:
			/* rt_sigframe: the ucontext's gregs at rsp + 40 */
			if (uw_read(&bp, c->sp + 40 + 10 * 8) || uw_read(&cfa, c->sp + 40 + 15 * 8) ||
			    uw_read(&ra, c->sp + 40 + 16 * 8))
				return uw_stop(c, MT_END_FAULT);
			sig = true;
			break;
		default:
			return uw_stop(c, MT_END_NO_CFI);
		}
		if (!sig) {
			if (cfa <= c->sp)
				return uw_stop(c, MT_END_FAULT);
			slot = cfa - 8;
			if (r->kind & MT_UW_RBP_REL) {
				if (uw_read(&ra, cfa - 8) || uw_read(&v, c->bp + (__s64)r->rbp_off * 8))
					return uw_stop(c, MT_END_FAULT);
				bp = v;
			} else if (r->rbp_off == -2) {
				/* rbp pushed right below the return address (every
				 * function that saves it first): one read */
				if (bpf_probe_read_user(pair, sizeof(pair), (const void *)(cfa - 16)))
					return uw_stop(c, MT_END_FAULT);
				bp = pair[0];
				ra = pair[1];
			} else if (uw_read(&ra, cfa - 8)) {
				return uw_stop(c, MT_END_FAULT);
			} else if (r->rbp_off) {
				if (uw_read(&v, cfa + (__s64)r->rbp_off * 8))
					return uw_stop(c, MT_END_FAULT);
				bp = v;
			}
		}
	} else {
		return uw_stop(c, MT_END_UNKNOWN_CODE);
	}
	if (!ra)
		return uw_stop(c, MT_END_ROOT);
	/* garbage (a frame-pointer walk through code without them) ends here;
	 * most callers are in the same mapping as their callee: no search */
	v = sig ? ra : ra - 1;
	if (v < m->start || v >= m->end) {
		found = uw_find_map(c->maps, v, &c->m);
		/* the trampoline's ra - 1 is outside its mapping: in none, or
		 * at the very end of the mapping below it */
		if ((!found || c->m.kind == MT_UW_MAP_UNKNOWN || ra >= c->m.end) && slot &&
		    uw_uretprobe(c, &ra, slot))
			found = ra && uw_find_map(c->maps, ra - 1, &c->m);
		if (!found)
			return uw_stop(c, MT_END_UNKNOWN_CODE);
	}
	if (n < MT_STACK_MAX)
		st->ip[n] = ra;
	st->nr = n + 1;
	c->pc = ra;
	c->sp = cfa;
	c->bp = bp;
	c->exact = sig;
	return 0;
}

static __always_inline __u64 uw_mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* Walk the user stack from the user registers ctx into the thread's buffer.
 * Returns the stack or NULL (no buffer, no tables). */
static __always_inline struct mt_stack *uw_walk(struct pt_regs *ctx)
{
	struct uw_ctx c = {};
	struct mt_uw_state *state;
	struct uw_buf *buf;
	struct mt_stack *st;
	__u32 cur = 0, i;
	__u64 h = 0xcbf29ce484222325ull;

	buf = bpf_task_storage_get(&mt_uw_buf, bpf_get_current_task_btf(), 0,
				   BPF_LOCAL_STORAGE_GET_F_CREATE);
	state = bpf_map_lookup_elem(&mt_uw_state, &cur);
	if (!buf || !state)
		return NULL;
	st = &buf->st;
	cur = state->cur & 1;
	c.maps = bpf_map_lookup_elem(&mt_uw_maps, &cur);
	if (!c.maps)
		return NULL;
	c.st = st;
	c.pc = PT_REGS_IP(ctx);
	c.sp = PT_REGS_SP(ctx);
	c.bp = ctx->bp;
	st->ip[0] = c.pc;
	st->nr = 1;
	st->end = MT_END_NONE;
	if (!uw_find_map(c.maps, c.pc, &c.m)) {
		st->end = MT_END_UNKNOWN_CODE;
	} else {
		/* the return probe stands at the return address itself */
		c.exact = 1;
		bpf_loop(MT_STACK_MAX + 1, uw_step, &c, 0);
	}
	h = uw_mix(h, st->nr);
	h = uw_mix(h, st->end);
	for (i = 0; i < MT_STACK_MAX; i++) {
		if (i >= st->nr)
			break;
		h = uw_mix(h, st->ip[i]);
	}
	st->hash = h;
	return st;
}

#ifndef MT_UW_INLINE_STACKS
/* The stack's id in mt_stacks (>= 0), or -MT_EEXIST when its bucket holds
 * another stack (the caller sends it inline), or -1 when it could not be
 * stored. *out is the stack walked (NULL when none). */
static __always_inline long uw_stack_key(struct mt_stack *st)
{
	struct mt_stack *old;
	__u32 key;
	long err;

	key = (__u32)(st->hash ^ (st->hash >> 32)) & 0x7fffffff;
	old = bpf_map_lookup_elem(&mt_stacks, &key);
	if (old)
		return old->hash == st->hash ? key : -MT_EEXIST;
	err = bpf_map_update_elem(&mt_stacks, &key, st, BPF_NOEXIST);
	if (err == -MT_EEXIST) {
		/* another CPU stored it just now: same stack or a collision */
		old = bpf_map_lookup_elem(&mt_stacks, &key);
		return old && old->hash == st->hash ? key : -MT_EEXIST;
	}
	return err ? -MT_EEXIST : key;
}

static __always_inline long uw_stack_id(struct pt_regs *ctx, struct mt_stack **out)
{
	struct mt_stack *st = uw_walk(ctx);
	struct uw_buf *buf = (struct uw_buf *)st;   /* st is its first member */
	long key;

	*out = st;
	if (!st)
		return -1;
	if (buf->last_hash == st->hash && st->hash)
		return buf->last_key;
	key = uw_stack_key(st);
	if (key >= 0) {
		buf->last_hash = st->hash;
		buf->last_key = key;
	}
	return key;
}
#endif

#endif /* MT_UNWIND_BPF_H */
