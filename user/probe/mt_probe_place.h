/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Probe placement: choose where in an allocator function the entry uprobe
 * goes so that the kernel emulates the probed instruction instead of
 * single-stepping it out of line. On this machine (a VM) an emulated hit
 * costs ~0.7 us and a single-stepped one ~10 us; glibc's free starts with
 * `test %rdi,%rdi`, which is single-stepped, while the `je` after it is
 * emulated. See docs/probe-placement.md for the rules and measurements.
 *
 * Limitations: x86-64 only. Decoding is a linear sweep with Capstone over
 * the bytes given, so a branch into the function's first bytes from outside
 * them (a .cold fragment, another function, an indirect jump through a
 * table) cannot be seen; register-indirect jumps in the function therefore
 * keep the probe at the entry. The emulation rules mirror Linux
 * arch/x86/kernel/uprobes.c as of v6.18 and stay valid for later kernels
 * (they only emulate more). Stateless and thread-safe.
 */
#ifndef MT_PROBE_PLACE_H
#define MT_PROBE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Moving the probe skips at most this many instructions and this many
 * bytes: a prologue's first basic block is short, and a longer scan only
 * raises the odds of mis-judging an instruction. */
#define MT_PROBE_PLACE_MAX_SKIP_INSNS 4
#define MT_PROBE_PLACE_MAX_SKIP_BYTES 16

/* mt_probe_place_file reads at most this much of a function; a larger one
 * cannot be swept for branches back into its prologue and keeps the entry. */
#define MT_PROBE_PLACE_MAX_FUNC (256u * 1024)

struct mt_placement {
	uint64_t offset;      /* bytes from the function entry to the probed instruction */
	int64_t sp_off;       /* bytes the skipped instructions pushed; 0 under the current rules */
	unsigned int skipped; /* instructions skipped, 0 when offset == 0 */
	bool emulated;        /* the kernel emulates the probed instruction (no single-step) */
	char insn[64];        /* probed instruction, "mnemonic operands" (Intel syntax); "" if undecodable */
	char reason[96];      /* why the probe stays at the entry although not emulated; else "" */
};

/*
 * mt_probe_place - choose the entry probe's offset in one function
 * @code:       the function's bytes as in the file (not from a traced
 *              process's memory, where other uprobes show up as int3)
 * @len:        number of bytes, normally the symbol size. Branches beyond
 *              @len are not seen, so pass the whole function.
 * @func_addr:  the function's address; only used for branch-target
 *              arithmetic, any base (file vaddr or runtime) works
 * @keep_entry: the function also gets a return probe, which needs [rsp] to
 *              be the return address: stay at offset 0 and only report
 *              whether that instruction is emulated
 * @out:        filled on success
 *
 * The probe moves past an instruction only if it writes no argument
 * register (rdi, rsi, rdx, rcx, r8, r9, any width) nor rsp, writes no
 * memory, cannot change control flow, and is one of a small set of plain
 * data instructions; it lands on the first instruction the kernel emulates,
 * provided no direct branch in the function targets (entry, probe]. When no
 * such instruction comes soon enough, the probe stays at the entry and
 * @out->reason says why.
 *
 * Return: 0 on success (even when the entry is kept), -EINVAL for NULL
 * pointers or @len == 0, -ENOMEM if Capstone cannot be set up.
 */
int mt_probe_place(const uint8_t *code, size_t len, uint64_t func_addr, bool keep_entry,
		   struct mt_placement *out);

/*
 * mt_probe_place_file - mt_probe_place on bytes read from an ELF file
 * @path:     the file (e.g. /proc/PID/root/usr/lib/.../libc.so.6)
 * @file_off: file offset of the function (the caller converted the symbol
 *            through its PT_LOAD segment)
 * @size:     symbol size; above MT_PROBE_PLACE_MAX_FUNC only the first
 *            bytes are read and the entry is kept
 * @vaddr:    the symbol's address, for branch targets
 *
 * Return: 0, -EINVAL (bad arguments), -EIO (file shorter than
 * @file_off + @size), or -errno from open/pread/Capstone.
 */
int mt_probe_place_file(const char *path, uint64_t file_off, uint64_t size, uint64_t vaddr,
			bool keep_entry, struct mt_placement *out);

/*
 * mt_probe_may_nest - can a call of this function enter another probed
 * entry point before it returns?
 * @code, @len, @func_addr: the function, as for mt_probe_place
 * @complete:  @len covers the whole function
 * @eps, @neps: addresses of the other entry points (same base as func_addr)
 * @plt, @nplt: [start, end) address ranges of PLT sections
 *
 * Sampling skips the return probe of an unsampled call, and with it the
 * nesting bookkeeping; that is only exact for a function that cannot reach
 * another entry point (musl's calloc calls malloc; glibc's does not).
 * Conservative: true for a direct call or jump to an entry point or into a
 * PLT, any indirect call or jump, undecodable bytes or a truncated
 * function.
 */
bool mt_probe_may_nest(const uint8_t *code, size_t len, uint64_t func_addr, bool complete,
		       const uint64_t *eps, unsigned neps, const uint64_t (*plt)[2], unsigned nplt);

/* mt_probe_may_nest on the bytes of a function in an ELF file (see
 * mt_probe_place_file); true when they cannot be read. */
bool mt_probe_may_nest_file(const char *path, uint64_t file_off, uint64_t size, uint64_t vaddr,
			    const uint64_t *eps, unsigned neps, const uint64_t (*plt)[2],
			    unsigned nplt);

#endif /* MT_PROBE_PLACE_H */
