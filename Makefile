# memtrace (BPF memory tracer) and libmtpool (pool library).
# Everything the build makes goes under build/; `make clean` removes it.
#   make            memtrace, workloads, libmtpool
#   make demo       trace the bundled demo with a planted leak
#   make test       unit and end-to-end tests (root for the BPF ones)
#   make bench      benchmarks, see docs/BENCHMARKS.md
#   make vmlinux    regenerate vmlinux/x86/vmlinux.h from the running kernel
# V=1 shows the full commands.

BUILD    ?= build
# BPF programs read registers through the kernel's pt_regs of one
# architecture; vmlinux/ holds its generated vmlinux.h.
ARCH     := $(patsubst x86_64,x86,$(shell uname -m))
ifeq ($(wildcard vmlinux/$(ARCH)/vmlinux.h),)
$(error memtrace supports x86-64 only (this machine: $(shell uname -m)))
endif
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
LLVM_STRIP ?= llvm-strip
VERSION  := 0.1.0

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CFLAGS   ?= -O2 -g
# SANITIZE=1 builds memtrace and its unit tests with ASan and UBSan; give it
# its own BUILD (make test does: BUILD=build/san).
ifeq ($(SANITIZE),1)
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
USER_PKGS   := libbpf libdw libelf capstone libmicrohttpd libprotobuf-c libdebuginfod
# Headers are included by folder ("collect/mt_agg.h"): the layer check
# (tests/lint/layers.sh) reads the folder from the include line.
USER_CFLAGS := $(CFLAGS) $(SAN) $(WARN) -std=gnu11 -MMD -MP -D_GNU_SOURCE \
	-DMT_VERSION='"$(VERSION)"' -I$(BUILD)/bpf -I$(BUILD)/gen -Ibpf -Iuser \
	$(shell pkg-config --cflags $(USER_PKGS) 2>/dev/null)
USER_LIBS   = $(shell pkg-config --libs $(USER_PKGS)) -liberty -lz -lm -lpthread
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Ivmlinux/$(ARCH) -Ibpf -MMD -MP \
	-idirafter /usr/include/$(shell $(CC) -dumpmachine)  # asm/ for libbpf's usdt.bpf.h

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o)
# pprof's profile.proto (third_party/pprof), compiled by protobuf-c.
PB_GEN    := $(BUILD)/gen/profile.pb-c.c $(BUILD)/gen/profile.pb-c.h
LIB_OBJS  := $(filter-out $(BUILD)/user/cli/memtrace.o,$(USER_OBJS)) $(BUILD)/gen/profile.pb-c.o \
	$(BUILD)/gen/mt_html_page.o
WL_SRCS   := $(wildcard tools/workloads/*.c)
WL_BINS   := $(WL_SRCS:tools/workloads/%.c=$(BUILD)/tools/%)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/bin/%)
# Fuzzers: clang's libFuzzer with ASan and UBSan over what reads saved reports.
FUZZ_SRCS := $(addprefix user/,util/mt_json_read.c util/mt_json.c util/mt_log.c util/mt_outfile.c util/mt_grow.c util/mt_fmt.c \
	diff/mt_diff.c diff/mt_diff_report.c diff/mt_diff_go.c)
FUZZ_BINS := $(BUILD)/tests/fuzz/fuzz_report

.PHONY: all demo demo-compare test check-unit check-sanitized bench vmlinux install clean
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(BPF_SKELS) $(PB_GEN)

# Unwinding workloads (tools/workloads/unwind/): built the way distributions
# build, -O2 without frame pointers, plus one program with them against
# the same library (mixed stacks, and the frame-pointer side of the bench).
UW_DIR    := tools/workloads/unwind
UW_BINS   := $(BUILD)/tools/wl_unwind $(BUILD)/tools/wl_unwind_fp $(BUILD)/tools/wl_unwind_cxx \
	$(BUILD)/tools/wl_dlopen $(BUILD)/tools/libwl_dlopen.so
UW_CFLAGS := -O2 -g -fno-inline -fno-optimize-sibling-calls -MMD -MP $(WARN)

all: $(BUILD)/memtrace $(WL_BINS) $(BUILD)/tools/wl_exact_static $(BUILD)/tools/wl_proc_static $(BUILD)/tools/wl_vm_static \
	$(BUILD)/tools/wl_pool $(BUILD)/tools/wl_pool_static \
	$(BUILD)/tools/libmt_count.so $(UW_BINS)

# libmtpool: its own rules; it adds to all, install, POOL_TEST_BINS and
# POOL_BENCH_BINS.
include pool/pool.mk

# Fail early, naming the script, instead of with a cryptic compiler error.
$(BUILD)/.deps-ok: tools/check-deps.sh
	$(Q)mkdir -p $(@D)
	$(Q)./tools/check-deps.sh
	$(Q)touch $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/.deps-ok
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<))_bpf > $@

# One protoc-c run writes both files (a grouped target).
$(PB_GEN) &: third_party/pprof/profile.proto | $(BUILD)/.deps-ok
	$(call msg,PROTOC,$(BUILD)/gen/profile.pb-c.c)
	$(Q)mkdir -p $(BUILD)/gen
	$(Q)protoc-c --c_out=$(BUILD)/gen --proto_path=third_party/pprof $<

# Generated code: compiled without our warnings.
$(BUILD)/gen/profile.pb-c.o: $(BUILD)/gen/profile.pb-c.c $(BUILD)/gen/profile.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN) -I$(BUILD)/gen $(shell pkg-config --cflags libprotobuf-c) -c $< -o $@

# The HTML report's page (CSS and JavaScript in one file) as a C string:
# backslashes and quotes escaped, one literal per line.
$(BUILD)/gen/mt_html_page.c: user/output/mt_html_page.html
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q){ echo 'const char mt_html_page[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } > $@

$(BUILD)/gen/mt_html_page.o: $(BUILD)/gen/mt_html_page.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN) -c $< -o $@

# Skeletons and the generated protobuf header are made before any user
# object (order-only); the -MMD files then tie each object to what it
# really includes, so editing one BPF program rebuilds only its loader.
$(BUILD)/user/%.o: user/%.c | $(BPF_SKELS) $(BUILD)/gen/profile.pb-c.h $(BUILD)/.deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/libmt.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/memtrace: $(BUILD)/user/cli/memtrace.o $(BUILD)/libmt.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN) $^ $(USER_LIBS) -o $@

# Workloads keep frame pointers and their own functions, so stacks are exact.
$(BUILD)/tools/%: tools/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls \
		-MMD -MP $(WARN) -pthread $< -o $@

# The pools workload: against libmtpool.so (found next to it through
# $$ORIGIN/..) and with libmtpool.a linked in (the probes in the executable).
$(BUILD)/tools/wl_pool: tools/workloads/pool/wl_pool.c $(BUILD)/libmtpool.so
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -MMD -MP $(WARN) -Ipool/include -pthread \
		$< -L$(BUILD) -l:libmtpool.so -Wl,-rpath,'$$ORIGIN/..' -o $@

# The pooled fast path of tools/bench/pools.py: inline get/put, and calls.
$(BUILD)/tools/bench_pool_path: tools/workloads/pool/bench_pool_path.c $(BUILD)/libmtpool.so
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -MMD -MP $(WARN) -Ipool/include $< -L$(BUILD) -l:libmtpool.so \
		-Wl,-rpath,'$$ORIGIN/..' -o $@

$(BUILD)/tools/bench_pool_path_call: tools/workloads/pool/bench_pool_path.c $(BUILD)/libmtpool.so
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -MMD -MP $(WARN) -Ipool/include -DMTPOOL_NO_INLINE $< -L$(BUILD) \
		-l:libmtpool.so -Wl,-rpath,'$$ORIGIN/..' -o $@

$(BUILD)/tools/wl_pool_static: tools/workloads/pool/wl_pool.c $(BUILD)/libmtpool.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -MMD -MP $(WARN) -Ipool/include -pthread \
		$< $(BUILD)/libmtpool.a -o $@

# A statically linked copy: there the executable itself is the allocator.
$(BUILD)/tools/%_static: tools/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -static -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls \
		-MMD -MP $(WARN) -pthread $< -o $@

$(BUILD)/tools/libwl_unwind.so: $(UW_DIR)/wl_unwind_lib.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UW_CFLAGS) -fomit-frame-pointer -shared -fPIC $< -o $@

$(BUILD)/tools/wl_unwind: $(UW_DIR)/wl_unwind.c $(BUILD)/tools/libwl_unwind.so
	$(call msg,CC,$@)
	$(Q)$(CC) $(UW_CFLAGS) -fomit-frame-pointer -DWL_NO_FP -pthread $< -L$(@D) -lwl_unwind -Wl,-rpath,'$$ORIGIN' -o $@

$(BUILD)/tools/wl_unwind_fp: $(UW_DIR)/wl_unwind.c $(BUILD)/tools/libwl_unwind.so
	$(call msg,CC,$@)
	$(Q)$(CC) $(UW_CFLAGS) -fno-omit-frame-pointer -pthread $< -L$(@D) -lwl_unwind -Wl,-rpath,'$$ORIGIN' -o $@

# A library only ever dlopen()ed: mapped after memtrace attached.
$(BUILD)/tools/libwl_dlopen.so: $(UW_DIR)/wl_dlopen_lib.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UW_CFLAGS) -fomit-frame-pointer -shared -fPIC $< -o $@

$(BUILD)/tools/wl_dlopen: $(UW_DIR)/wl_dlopen.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UW_CFLAGS) -fomit-frame-pointer $< -ldl -o $@

$(BUILD)/tools/wl_unwind_cxx: $(UW_DIR)/wl_unwind_cxx.cc
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(filter-out -Wstrict-prototypes,$(UW_CFLAGS)) -fomit-frame-pointer $< -o $@

# The example server of `make demo-compare` (tools/examples/): the pooled
# and unpooled code in one binary (MTPOOL_DISABLE=1 picks the unpooled),
# built like the workloads so its stacks are exact, libmtpool linked in.
all: $(BUILD)/tools/mt_server
$(BUILD)/tools/mt_server: tools/examples/mt_server.c $(BUILD)/libmtpool.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls \
		-MMD -MP $(WARN) -Ipool/include $< $(BUILD)/libmtpool.a -pthread -o $@

# The LD_PRELOAD call counter the end-to-end tests compare calls with.
$(BUILD)/tools/libmt_count.so: tools/preload/mt_count.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -shared -fPIC $(WARN) $< -ldl -o $@

# A unit test links libmt.a and any other archive given to it below.
$(BUILD)/tests/bin/%: tests/unit/%.c $(BUILD)/libmt.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -Ipool/include $< $(filter %.a,$^) $(USER_LIBS) -o $@

# memtrace's size classes against libmtpool's own.
$(BUILD)/tests/bin/test_sizeclass_pool: $(BUILD)/libmtpool.a

# mt_log erases a progress line before it prints.
FUZZ_SRCS += user/util/mt_progress.c

# One compiler run over several sources writes no usable -MMD file, so the
# headers of the folders involved are listed instead.
$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard user/util/*.h user/diff/*.h) \
		| $(BUILD)/.deps-ok
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iuser \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$(filter %.c,$^) -o $@

demo: all
	./tools/demo.sh

# memtrace compare on the example server: unpooled vs pooled, advice
# predicted vs achieved.
demo-compare: all
	./tools/demo-compare.sh $(BUILD)

# Then the unit and end-to-end tests again with memtrace under ASan+UBSan.
test: all $(UNIT_BINS) $(POOL_TEST_BINS) $(FUZZ_BINS)
	./tests/run.sh $(BUILD) $(UNIT_BINS) $(POOL_TEST_BINS)
	$(MAKE) --no-print-directory SANITIZE=1 BUILD=$(BUILD)/san check-sanitized

check-sanitized: all $(UNIT_BINS)
	./tests/run.sh --sanitized $(BUILD) $(UNIT_BINS)

# What needs no root and no BPF, in seconds: the lint scripts and unit tests.
check-unit: $(UNIT_BINS) $(POOL_TEST_BINS)
	./tests/run.sh --unit $(BUILD) $(UNIT_BINS) $(POOL_TEST_BINS)

bench: all $(POOL_BENCH_BINS) $(BUILD)/tools/bench_pool_path $(BUILD)/tools/bench_pool_path_call
	./tools/bench.sh $(BUILD)

# make install PREFIX=/usr/local DESTDIR=: memtrace, its man page and bash
# completion here; libmtpool (.so, .a, header, pkg-config, man page) in
# pool/pool.mk. Man pages carry the version.
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

$(BUILD)/man/%: docs/man/%
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed 's|@VERSION@|$(VERSION)|g' $< > $@

install: $(BUILD)/memtrace $(BUILD)/man/memtrace.1
	install -D -m 755 $(BUILD)/memtrace $(DESTDIR)$(BINDIR)/memtrace
	install -D -m 644 $(BUILD)/man/memtrace.1 $(DESTDIR)$(MANDIR)/man1/memtrace.1
	install -D -m 644 tools/completion/memtrace.bash $(DESTDIR)$(BASHCOMPDIR)/memtrace

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d $(BUILD)/*/*/*/*.d)
