/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Go type names from a type pointer (mallocgc's typ): the type descriptor
 * (runtime._type, internal/abi.Type since 1.21: same layout through 1.23)
 * holds str, a nameOff into the module's types area, at byte 40; the name
 * there is a flag byte, a varint length and the bytes. Static types live in
 * the executable's read-only data, so they are read from the file: the
 * names resolve after the program exits too. The types area starts at the
 * symbol runtime.types, or (stripped) at .rodata (.data.rel.ro in a PIE),
 * where Go's linker puts it.
 * Types made at run time by reflect live in the heap: not named.
 */
#ifndef MT_GO_TYPES_H
#define MT_GO_TYPES_H

#include <stddef.h>
#include <stdint.h>

struct mt_go_types;

/* 0 or -errno (printed). */
int mt_go_types_open(const char *path, struct mt_go_types **out);
void mt_go_types_free(struct mt_go_types *t);   /* accepts NULL */

/* The name of the type at link-time address typ into buf ("main.Session",
 * "[]uint8", "map.bucket[string]int"), and its size: 0, or -ENOENT when
 * typ is not a static type of the binary (buf then ""). */
int mt_go_type_name(const struct mt_go_types *t, uint64_t typ, char *buf, size_t len, uint64_t *size);

#endif /* MT_GO_TYPES_H */
