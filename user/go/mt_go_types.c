// SPDX-License-Identifier: BSD-2-Clause
/* Go type names from the binary (see mt_go_types.h). */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "go/mt_go_elf.h"
#include "go/mt_go_types.h"

#define TYPE_STR_OFF 40       /* _type.str (nameOff, int32) on 64-bit */
#define TFLAG_EXTRA_STAR 2    /* the stored name has a leading '*' to drop */

struct mt_go_types {
	struct mt_go_elf e;
	uint64_t types, etypes;   /* the module's types area */
};

int mt_go_types_open(const char *path, struct mt_go_types **out)
{
	struct mt_go_types *t = calloc(1, sizeof(*t));
	const struct mt_go_sec *ro;
	uint64_t end;
	int err;

	if (!t)
		return -ENOMEM;
	err = mt_go_elf_open(path, &t->e);
	if (err) {
		free(t);
		return err;
	}
	/* where Go's linker starts the types: read-only data, relocated
	 * read-only data in a PIE (their pointers are relocated) */
	ro = mt_go_elf_sec(&t->e, t->e.etype == ET_DYN ? ".data.rel.ro" : ".rodata");
	if (mt_go_elf_sym(&t->e, "runtime.types", &t->types, NULL) ||
	    mt_go_elf_sym(&t->e, "runtime.etypes", &end, NULL)) {
		t->types = ro ? ro->addr : 0;
		end = ro ? ro->addr + ro->size : 0;
	}
	t->etypes = end;
	*out = t;
	return 0;
}

void mt_go_types_free(struct mt_go_types *t)
{
	if (!t)
		return;
	mt_go_elf_close(&t->e);
	free(t);
}

int mt_go_type_name(const struct mt_go_types *t, uint64_t typ, char *buf, size_t len, uint64_t *size)
{
	uint8_t d[48], nm[8];
	uint64_t at, n = 0;
	int32_t str;
	unsigned shift = 0, i;

	buf[0] = 0;
	if (!t->types || typ < t->types || typ >= t->etypes ||
	    mt_go_elf_read(&t->e, typ, d, sizeof(d)))
		return -ENOENT;
	memcpy(&str, d + TYPE_STR_OFF, 4);
	memcpy(size, d, 8);
	at = t->types + (uint64_t)(int64_t)str;
	if (str <= 0 || at >= t->etypes || mt_go_elf_read(&t->e, at, nm, sizeof(nm)))
		return -ENOENT;
	for (i = 1; i < sizeof(nm); i++) {   /* varint length after the flag byte */
		n |= (uint64_t)(nm[i] & 0x7f) << shift;
		shift += 7;
		if (!(nm[i] & 0x80))
			break;
	}
	if (i == sizeof(nm) || n == 0 || n >= len || at + 1 + i + n > t->etypes ||
	    mt_go_elf_read(&t->e, at + 1 + i, buf, n)) {
		buf[0] = 0;
		return -ENOENT;
	}
	buf[n] = 0;
	if ((d[20] & TFLAG_EXTRA_STAR) && buf[0] == '*')
		memmove(buf, buf + 1, n);
	return 0;
}
