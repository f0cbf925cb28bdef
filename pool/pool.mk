# libmtpool: included by the top Makefile, which owns BUILD, CC, Q, msg and WARN.
#   make build/libmtpool.so build/libmtpool.a build/mtpool.pc
#   make install PREFIX=/usr/local DESTDIR=
#   make bench-pool       (writes nothing; see tools/bench_pool/bench_pool.sh)
# Test binaries land in $(BUILD)/tests/bin/pool_* so tests/run.sh finds them.

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig
OBJCOPY    ?= objcopy
POOL_VERSION := $(VERSION)

POOL_SRCS := $(wildcard pool/src/*.c)
POOL_PIC_OBJS := $(POOL_SRCS:pool/src/%.c=$(BUILD)/pool/%.o)
POOL_ST_OBJS  := $(POOL_SRCS:pool/src/%.c=$(BUILD)/pool/st/%.o)

# -fno-semantic-interposition lets calls between public functions inside the
# library bind locally (no PLT hop on the fast paths); -fvisibility=hidden
# exports only what mtpool.h marks MTPOOL_API. The compiler flag only covers
# calls within one file; -Bsymbolic-functions (POOL_SO_LDFLAGS) binds the
# calls between files (bufpool.c -> mtpool_get, ...) the same way.
POOL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -MMD -MP -D_GNU_SOURCE \
	-fvisibility=hidden -fno-semantic-interposition -Ipool/include -Ipool/src
POOL_LIBS := -lpthread
POOL_SO_LDFLAGS := -Wl,-Bsymbolic-functions

$(BUILD)/pool/%.o: pool/src/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(POOL_CFLAGS) -fPIC -c $< -o $@

$(BUILD)/pool/st/%.o: pool/src/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(POOL_CFLAGS) -c $< -o $@

$(BUILD)/libmtpool.so: $(POOL_PIC_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) -shared -Wl,-soname,libmtpool.so.0 -Wl,--no-undefined $(POOL_SO_LDFLAGS) $^ $(POOL_LIBS) -o $@
	$(Q)ln -sf libmtpool.so $(BUILD)/libmtpool.so.0

# In an archive, hidden symbols are still global (visibility only acts when
# a shared object or executable is linked), so libmtpool.a holds one object:
# ld -r links the files together, then every hidden symbol (the internal
# mtpool__*, the probe semaphores other than get/put) becomes local and only
# MTPOOL_API stays global. Except _.stapsdt.base: sys/sdt.h defines it weak
# and hidden in a COMDAT group in every object with probes; when a program's
# own probes win that group, our notes must still find the symbol, so it goes
# back to weak (objcopy tests each option against the binding a symbol had
# before the run, hence three runs). The recipe decides what the archive
# exports, so it depends on this file. tests/e2e/t05-pool-symbols.sh checks.
$(BUILD)/libmtpool.a: $(POOL_ST_OBJS) pool/pool.mk
	$(call msg,AR,$@)
	$(Q)$(LD) -r $(POOL_ST_OBJS) -o $(BUILD)/pool/libmtpool.o
	$(Q)$(OBJCOPY) --localize-hidden $(BUILD)/pool/libmtpool.o
	$(Q)$(OBJCOPY) --globalize-symbol=_.stapsdt.base $(BUILD)/pool/libmtpool.o
	$(Q)$(OBJCOPY) --weaken-symbol=_.stapsdt.base $(BUILD)/pool/libmtpool.o
	$(Q)rm -f $@ && ar rcs $@ $(BUILD)/pool/libmtpool.o

# The .pc bakes in PREFIX: rewrite it when the install paths change (the
# stamp only changes content when they do, as redis's settings file).
POOL_PC_VARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(POOL_VERSION)
.PHONY: pool-pc-force
$(BUILD)/pool/pc-vars: pool-pc-force
	$(Q)mkdir -p $(@D)
	$(Q)echo '$(POOL_PC_VARS)' | cmp -s - $@ || echo '$(POOL_PC_VARS)' > $@

$(BUILD)/mtpool.pc: pool/mtpool.pc.in $(BUILD)/pool/pc-vars
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(POOL_VERSION)|g' $< > $@

all: $(BUILD)/libmtpool.so $(BUILD)/libmtpool.a $(BUILD)/mtpool.pc

.PHONY: install install-pool bench-pool
install: install-pool
install-pool: $(BUILD)/libmtpool.so $(BUILD)/libmtpool.a $(BUILD)/mtpool.pc $(BUILD)/man/libmtpool.3
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PCDIR)
	install -D -m 644 $(BUILD)/man/libmtpool.3 $(DESTDIR)$(MANDIR)/man3/libmtpool.3
	install -m 644 pool/include/mtpool.h $(DESTDIR)$(INCLUDEDIR)/mtpool.h
	install -m 755 $(BUILD)/libmtpool.so $(DESTDIR)$(LIBDIR)/libmtpool.so.$(POOL_VERSION)
	ln -sf libmtpool.so.$(POOL_VERSION) $(DESTDIR)$(LIBDIR)/libmtpool.so.0
	ln -sf libmtpool.so.0 $(DESTDIR)$(LIBDIR)/libmtpool.so
	install -m 644 $(BUILD)/libmtpool.a $(DESTDIR)$(LIBDIR)/libmtpool.a
	install -m 644 $(BUILD)/mtpool.pc $(DESTDIR)$(PCDIR)/mtpool.pc

# --- tests -------------------------------------------------------------------
# Every tests/pool/NAME.c becomes pool_NAME (static libmtpool). The stress test
# and the whole library are also built with sanitizers: the library sources
# are compiled straight into those binaries so they are instrumented too.
POOL_TEST_SRCS := $(wildcard tests/pool/*.c)
POOL_TEST_NAMES := $(POOL_TEST_SRCS:tests/pool/%.c=%)
POOL_TEST_PLAIN := $(POOL_TEST_NAMES:%=$(BUILD)/tests/bin/pool_%)
POOL_TEST_ASAN  := $(POOL_TEST_NAMES:%=$(BUILD)/tests/bin/pool_%_asan)
# Also the object pool tests: they exit threads whose caches hold objects.
POOL_TEST_TSAN  := $(BUILD)/tests/bin/pool_stress_tsan $(BUILD)/tests/bin/pool_objpool_tsan
POOL_TEST_BINS  := $(POOL_TEST_PLAIN) $(POOL_TEST_ASAN) $(POOL_TEST_TSAN)

POOL_TEST_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Ipool/include -Itests -pthread
# Sanitizer builds compile the library in, so they depend on all of it.
POOL_SAN_DEPS    := $(POOL_SRCS) $(wildcard pool/src/*.h) pool/include/mtpool.h tests/mt_test.h
POOL_ASAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
POOL_TSAN_FLAGS  := -O1 -g -fsanitize=thread

$(BUILD)/tests/bin/pool_%: tests/pool/%.c $(BUILD)/libmtpool.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(POOL_TEST_CFLAGS) -MMD -MP $< $(BUILD)/libmtpool.a -o $@

$(BUILD)/tests/bin/pool_%_asan: tests/pool/%.c $(POOL_SAN_DEPS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(POOL_TEST_CFLAGS) $(POOL_ASAN_FLAGS) -Ipool/src $< $(POOL_SRCS) -o $@

$(BUILD)/tests/bin/pool_%_tsan: tests/pool/%.c $(POOL_SAN_DEPS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(POOL_TEST_CFLAGS) $(POOL_TSAN_FLAGS) -Ipool/src $< $(POOL_SRCS) -o $@

# --- benchmark (never part of `make test`) -----------------------------------
BENCH_POOL_ALLOCS := glibc jemalloc mimalloc tcmalloc
BENCH_POOL_LIB_glibc    :=
BENCH_POOL_LIB_jemalloc := -ljemalloc
BENCH_POOL_LIB_mimalloc := -lmimalloc
BENCH_POOL_LIB_tcmalloc := -ltcmalloc_minimal
POOL_BENCH_BINS := $(BENCH_POOL_ALLOCS:%=$(BUILD)/tools/bench_pool_%)

# The allocator library goes first and --no-as-needed keeps it loaded, so its
# malloc interposes glibc's; the binary prints which one it got. A static
# pattern rule: a plain one would also match the included
# $(BUILD)/tools/bench_pool_*.d files and make would "remake" them as binaries.
$(POOL_BENCH_BINS): $(BUILD)/tools/bench_pool_%: tools/bench_pool/bench_pool.c $(BUILD)/libmtpool.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g $(WARN) -std=gnu11 -MMD -MP -D_GNU_SOURCE -Ipool/include -pthread \
		-DBENCH_ALLOC='"$*"' $< -Wl,--no-as-needed $(BENCH_POOL_LIB_$*) -Wl,--as-needed \
		$(BUILD)/libmtpool.a -ldl -lm -o $@

bench-pool: $(POOL_BENCH_BINS)
	./tools/bench_pool/bench_pool.sh $(BUILD)

# $(BUILD)/pool/*.d, $(BUILD)/pool/st/*.d and $(BUILD)/tests/bin/*.d are
# picked up by the top Makefile's -include.
