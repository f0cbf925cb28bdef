/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where a Go function's body starts: after its stack-bound check. A Go
 * function begins `cmp rsp (or rsp - frame), [r14 + 16]; jbe more`; when
 * the goroutine's stack is too small, morestack copies the stack and jumps
 * back to the entry, so a probe on the first instruction would count one
 * call twice. After the jbe it fires once per call, with nothing pushed
 * yet: the return address still at RSP, the arguments still in registers.
 */
#ifndef MT_GO_PROLOGUE_H
#define MT_GO_PROLOGUE_H

#include <stddef.h>
#include <stdint.h>

/* code: the function's first n bytes, at address addr. 0 with *body (the
 * address after the check's conditional jump), -ENOENT when the first
 * instructions are not such a check. */
int mt_go_after_stack_check(const uint8_t *code, size_t n, uint64_t addr, uint64_t *body);

#endif /* MT_GO_PROLOGUE_H */
