# Makefile: builds libbark, the `bark` CLI, the tests, fuzzers and benchmarks (see README.md).

CC      ?= cc
PKG_CONFIG ?= pkg-config
BUILD   ?= build
BOARD   ?= generic
include boards/$(BOARD).mk

PKGS    := sndfile alsa samplerate zlib openblas libcjson
# Zeroconf (the Wyoming server as _wyoming._tcp) through Avahi when libavahi-client is there at build time.
AVAHI   := $(shell $(PKG_CONFIG) --exists avahi-client && echo avahi-client)
CLI_PKGS:= libmicrohttpd sqlite3 libmosquitto $(AVAHI)
# No contraction into FMA anywhere: every kernel table must round exactly like its C twin (arch/kernels.h), and the
# glue around them (which int8 attention rows go to f32, say) must round alike on every ISA; gcc in -std=c11 already
# does not contract, clang does by default (FMA on aarch64).
CSTD    := -std=c11 -ffp-contract=off -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(BOARD_CFLAGS) -Iinclude -Isrc -Iarch $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS  += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -lm

ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif

ifeq ($(SAN),thread)
BUILD   := build-tsan
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
else ifeq ($(SAN),1)
BUILD   := build-san
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_DIRS := core text gpt generate codec clone model formats audio synth convert voices
LIB_SRC  := $(wildcard $(LIB_DIRS:%=src/%/*.c) arch/*.c arch/c/*.c) $(BOARD_ARCH_SRC)
CLI_SRC  := $(wildcard src/cli/*.c src/serve/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TUTIL_SRC:= $(wildcard tests/util/*.c)
TOOL_SRC := $(wildcard tools/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/page_files.o
TUTIL_OBJ:= $(TUTIL_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOLS    := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)
LIB      := $(BUILD)/libbark.a

# ---- the library as installed: libbark.so.$(VERSION), a localized libbark.a, bark.h, libbark.pc ----
VERSION  := $(shell sed -n 's/^.define BARK_VERSION "\(.*\)"/\1/p' include/bark.h)
SONAME   := libbark.so.$(shell sed -n 's/^.define BARK_VERSION_MAJOR \([0-9]*\).*/\1/p' include/bark.h)
SO       := $(BUILD)/libbark.so.$(VERSION)
SHARED   := $(SO) $(BUILD)/$(SONAME) $(BUILD)/libbark.so
DIST_LIB := $(BUILD)/dist/libbark.a
PIC_OBJ  := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
OBJCOPY  ?= objcopy
# libbark's own dependencies (no ALSA: that sink is the CLI's); the ones pkg-config knows are Requires.private.
LIB_PKGS := sndfile samplerate zlib openblas libcjson
PC_REQ   := $(foreach p,$(LIB_PKGS),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),$(p)))
PC_LIBS  := $(strip $(patsubst %,-l%,$(subst libcjson,cjson,$(subst zlib,z,$(filter-out $(PC_REQ),$(LIB_PKGS))))) \
            -lpthread -lm)
LIB_LIBS := $(if $(PC_REQ),$(shell $(PKG_CONFIG) --libs $(PC_REQ))) $(PC_LIBS)
# Nothing left undefined in the .so (except under the sanitizers: their runtime comes with the executable).
SO_LDFLAGS ?= $(if $(SAN),,-Wl,--no-undefined)

.PHONY: all deps test test-san test-tsan test-faults test-valgrind fuzz-smoke bench clean install uninstall example-installed
.SECONDARY:
all: $(BUILD)/bark $(TOOLS) $(SHARED) $(DIST_LIB) $(EXAMPLES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# ISA flags on the SIMD objects only, so the binary still starts on a CPU without them.
$(BUILD)/arch/x86/%.o $(BUILD)/pic/arch/x86/%.o: CFLAGS += -mavx2 -mfma -mf16c
$(BUILD)/arch/x86/%_avx512.o $(BUILD)/pic/arch/x86/%_avx512.o: CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512vnni
$(BUILD)/arch/arm/%_dotprod.o $(BUILD)/pic/arch/arm/%_dotprod.o: CFLAGS += -march=armv8.2-a+dotprod

# The kernel checks (tests/kernel_checks.c) inside the cmocka suite, and cross-built for arm64 where an
# aarch64 compiler exists: $(BUILD)/tests/arm64_kernels runs them under qemu-aarch64 as part of `make test`.
$(BUILD)/tests/test_kernels: $(BUILD)/tests/kernel_checks.o
CROSS_CC ?= aarch64-linux-gnu-gcc
ARM64_KSRC := $(wildcard arch/*.c arch/c/*.c arch/arm/*.c) src/model/quant.c src/core/threadpool.c tests/kernel_checks.c \
              tests/kernels_arm64_main.c
ifneq ($(shell uname -m),aarch64)
ifneq ($(shell command -v $(CROSS_CC) 2>/dev/null),)
ifneq ($(shell command -v qemu-aarch64 2>/dev/null),)
TESTS += $(BUILD)/tests/arm64_kernels
endif
endif
endif
$(BUILD)/arm64/kernels_check: $(ARM64_KSRC) $(wildcard arch/*.h arch/arm/*.h tests/kernel_checks.h)
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CSTD) $(WARN) -O2 -DBARK_HAVE_NEON -Iinclude -Isrc -Iarch -Itests -c arch/arm/kernels_neon_dotprod.c \
	    -march=armv8.2-a+dotprod -o $(BUILD)/arm64/dotprod.o
	$(CROSS_CC) $(CSTD) $(WARN) -O2 -DBARK_HAVE_NEON -Iinclude -Isrc -Iarch -Itests \
	    $(filter-out arch/arm/kernels_neon_dotprod.c,$(ARM64_KSRC)) $(BUILD)/arm64/dotprod.o -lm -lpthread -static -o $@
$(BUILD)/tests/arm64_kernels: $(BUILD)/arm64/kernels_check
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# runs the arm64 kernel checks under qemu (NEON, then NEON with dotprod via -cpu max)\nset -e\nqemu-aarch64 -cpu cortex-a72 $(CURDIR)/$< neon\nqemu-aarch64 -cpu max $(CURDIR)/$< neon-dotprod\n' > $@
	@chmod +x $@

# ---- The whole tree for arm64 (Raspberry Pi 4 and 5) in $(ARM64_BUILD), cross-built with Debian's multiarch -dev
# packages (tools/install_deps.sh). One ARMv8.0 build (boards/rpi4.mk) serves both boards: the SDOT kernels are
# compiled with +dotprod and chosen at run time (arch/dispatch.c), as an arm64 Debian package would ship them.
# `make test-arm64` runs it under qemu-aarch64 as a Pi 4 (cortex-a72) and a Pi 5 (cortex-a76): tests/arm64_e2e.sh.
ARM64_BUILD ?= build-arm64
ARM64_MAKE   = $(MAKE) BOARD=rpi4 BUILD=$(ARM64_BUILD) CC=$(CROSS_CC) PKG_CONFIG=aarch64-linux-gnu-pkg-config \
               AR=aarch64-linux-gnu-ar OBJCOPY=aarch64-linux-gnu-objcopy WERROR=$(WERROR)
ARM64_SUITES ?= test_quant test_gguf test_tokenizer test_sampler test_text_split test_threadpool test_readers test_audio_file
.PHONY: arm64 arm64-tests test-arm64
arm64:
	$(ARM64_MAKE) all arm64-tests
arm64-tests: $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
test-arm64: all arm64
	@ARM64_BUILD=$(ARM64_BUILD) SUITES="$(ARM64_SUITES)" sh tests/arm64_e2e.sh $(BUILD)

# The determinism suite runs twice: with OpenBLAS told it is on a Haswell with a 512 KB L2 (as this kind of machine
# and a Haswell-class laptop get) and without, since OpenBLAS reads those variables once, at start-up.
TESTS := $(filter-out $(BUILD)/tests/test_determinism,$(TESTS)) $(BUILD)/tests/determinism_both_envs
$(BUILD)/tests/determinism_both_envs: $(BUILD)/tests/test_determinism
	@printf '#!/bin/sh\n# runs test_determinism with and without the OpenBLAS variables\nenv OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 $(CURDIR)/$< && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(CURDIR)/$<\n' > $@
	@chmod +x $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The program's own parts (sinks, progress line, option parsing, the HTTP service) in an archive the tests link too.
CLI_LIB  := $(BUILD)/libbark_cli.a
$(CLI_LIB): $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

# The operator page's files (src/serve/page/) as C arrays srv_page_<name>[] and srv_page_<name>_len (od and sed).
PAGE_FILES := $(wildcard src/serve/page/*)
$(BUILD)/gen/page_files.c: $(PAGE_FILES)
	@mkdir -p $(dir $@)
	@{ echo '/* page_files.c: generated by the Makefile from src/serve/page/; do not edit. */'; \
	  echo '#include <stddef.h>'; \
	  for f in $(PAGE_FILES); do n=srv_page_$$(basename $$f | tr .- __); \
	    echo "const unsigned char $$n[] = {"; od -An -v -tx1 $$f | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; \
	    echo "const size_t $${n}_len = sizeof $$n;"; done; } > $@
$(BUILD)/gen/page_files.o: $(BUILD)/gen/page_files.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/bark: $(BUILD)/src/cli/main.o $(CLI_LIB) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(CLI_LIBS) -o $@

# Only the BARK_API functions of include/bark.h leave the library; the internal archive links as before.
$(LIB_OBJ): CFLAGS += -fvisibility=hidden
$(PIC_OBJ): CFLAGS += -fvisibility=hidden -fPIC

# Position-independent copies of the library objects, for the shared and the installable static library.
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The shared library, linked with its dependencies.
$(SO): $(PIC_OBJ)
	$(CC) -shared $(LDFLAGS) $(SO_LDFLAGS) -Wl,-soname,$(SONAME) $^ $(LIB_LIBS) -o $@

# The soname and development links.
$(BUILD)/$(SONAME) $(BUILD)/libbark.so: $(SO)
	ln -sf $(notdir $<) $@

# The installable archive: one relocatable object whose hidden (internal) symbols are made local.
$(DIST_LIB): $(PIC_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -r -nostdlib $^ -o $(@:.a=.o)
	$(OBJCOPY) --localize-hidden $(@:.a=.o)
	@rm -f $@
	$(AR) rcs $@ $(@:.a=.o)

# An example, compiled against the public header alone (-Iinclude, plain C11).
$(BUILD)/examples/%.o: examples/%.c include/bark.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) $(OPT) $(filter -Werror,$(CFLAGS)) -Iinclude -c $< -o $@

# An example program, linked with the internal archive.
$(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LIB_LIBS) -o $@

# Where `make install` puts things; DESTDIR stages them elsewhere (a Debian build sets LIBDIR and UNITDIR too).
PREFIX     ?= /usr/local
BINDIR     := $(PREFIX)/bin
LIBDIR     := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include
DATADIR    := $(PREFIX)/share/bark
UNITDIR    := $(LIBDIR)/systemd/system

# The CLI alone serves HTTP (libmicrohttpd) and searches $(DATADIR) for the model; libbark does neither.
CLI_LIBS   := $(shell $(PKG_CONFIG) --libs $(CLI_PKGS))
$(CLI_OBJ): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(CLI_PKGS)) -DBARK_DATADIR='"$(DATADIR)"'
$(CLI_OBJ): CFLAGS += $(if $(AVAHI),-DBARK_HAVE_AVAHI)

# Installs the CLI, both libraries, the header, libbark.pc and the systemd unit under $(DESTDIR)$(PREFIX).
install: $(BUILD)/bark $(SHARED) $(DIST_LIB) libbark.pc.in packaging/bark-serve.service.in
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES_PRIVATE@|$(PC_REQ)|' \
	    -e 's|@LIBS_PRIVATE@|$(PC_LIBS)|' libbark.pc.in > $(BUILD)/libbark.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(DATADIR)
	install -m 755 $(BUILD)/bark $(DESTDIR)$(BINDIR)/bark
	install -m 755 $(SO) $(DESTDIR)$(LIBDIR)/libbark.so.$(VERSION)
	ln -sf libbark.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libbark.so
	install -m 644 $(DIST_LIB) $(DESTDIR)$(LIBDIR)/libbark.a
	install -m 644 include/bark.h $(DESTDIR)$(INCLUDEDIR)/bark.h
	install -m 644 $(BUILD)/libbark.pc $(DESTDIR)$(LIBDIR)/pkgconfig/libbark.pc
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' packaging/bark-serve.service.in \
	    > $(BUILD)/bark-serve.service
	install -d $(DESTDIR)$(UNITDIR)
	install -m 644 $(BUILD)/bark-serve.service $(DESTDIR)$(UNITDIR)/bark-serve.service

# Removes what install put there (share/bark and lib/systemd/system only if empty).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bark $(DESTDIR)$(LIBDIR)/libbark.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libbark.so $(DESTDIR)$(LIBDIR)/libbark.a $(DESTDIR)$(INCLUDEDIR)/bark.h \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/libbark.pc $(DESTDIR)$(UNITDIR)/bark-serve.service
	[ ! -d $(DESTDIR)$(DATADIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DATADIR)
	[ ! -d $(DESTDIR)$(UNITDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LIBDIR)/systemd

# install/uninstall with DESTDIR and PREFIX, then examples/speak.c built against a temporary prefix via pkg-config.
example-installed:
	@MAKE="$(MAKE)" sh tests/check_install.sh

$(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TUTIL_OBJ) $(CLI_LIB) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(CLI_LIBS) $(shell $(PKG_CONFIG) --libs cmocka) -o $@

# Installs the Debian packages the build, the tests and the cross build need (root or sudo).
deps:
	@sh tools/install_deps.sh

# Runs every cmocka suite (with the CLI built for the end-to-end tests); ends with "N passed, N failed".
test: all $(TESTS)
	@BUILD=$(BUILD) sh tests/run.sh $(TESTS) tests/check_exports.sh

# The same suites under AddressSanitizer and UndefinedBehaviorSanitizer.
test-san:
	$(MAKE) SAN=1 CC=clang WERROR=$(WERROR) test

# The suites that run threads side by side under ThreadSanitizer (clang): two syntheses at once, the pool, the
# batched engine with callers joining and leaving, the Wyoming server's connection threads.
TSAN_TESTS ?= test_determinism test_threadpool test_batch test_wyoming
test-tsan:
	$(MAKE) SAN=thread CC=clang WERROR=$(WERROR) all $(TSAN_TESTS:%=build-tsan/tests/%)
	@BUILD=build-tsan TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	    sh tests/run.sh $(TSAN_TESTS:%=build-tsan/tests/%)

# The parsers and the converter under valgrind (memory errors and definite leaks fail the run).
VALGRIND_TESTS ?= test_gguf test_quant test_readers test_convert test_tokenizer test_sampler
test-valgrind: all $(VALGRIND_TESTS:%=$(BUILD)/tests/%)
	@for t in $(VALGRIND_TESTS); do \
	    valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	        $(BUILD)/tests/$$t > $(BUILD)/valgrind-$$t.log 2>&1 \
	        && echo "valgrind $$t: clean" || { cat $(BUILD)/valgrind-$$t.log; echo "valgrind $$t: FAILED"; exit 1; }; \
	done

# Fault injection (tests/fault/): the LD_PRELOAD shim that fails the Nth allocation or I/O call, built without the
# sanitizers (it sits in front of their allocator), and the sweep of real `bark` runs under it on an ASan+UBSan
# build made with gcc (whose sanitizer runtime is a shared library the shim can precede). FAULT_STRIDE=K samples
# every Kth point (CI); 1, the default, is every point. FAULT_PATHS: which runs (tests/fault/run.sh lists them).
$(BUILD)/tests/fault_shim.so: tests/fault/fault_shim.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) $(filter -Werror,$(CFLAGS)) -O1 -g -fPIC -shared $< -ldl -o $@
# The ALSA shim (tests/fault/alsa_shim.c) makes snd_pcm_writei underrun, suspend, vanish or stall.
$(BUILD)/tests/alsa_shim.so: tests/fault/alsa_shim.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) $(filter -Werror,$(CFLAGS)) -O1 -g -fPIC -shared $< -ldl -o $@
$(BUILD)/tests/test_faults: | $(BUILD)/tests/fault_shim.so $(BUILD)/tests/alsa_shim.so
FAULT_STRIDE ?= 1
FAULT_PATHS  ?= info convert say decode clone serve
FAULT_BUILD  := build-fault-asan
test-faults:
	$(MAKE) SAN=1 CC=gcc BUILD=$(FAULT_BUILD) WERROR=$(WERROR) $(FAULT_BUILD)/bark $(FAULT_BUILD)/tests/fault_shim.so \
	    $(FAULT_BUILD)/tests/alsa_shim.so
	BUILD=$(FAULT_BUILD) tests/fault/alsa.sh
	tests/fault/run.sh -b $(FAULT_BUILD) -s $(FAULT_STRIDE) $(FAULT_PATHS)

FUZZ_CFLAGS := $(CSTD) -g -O1 -Iinclude -Isrc -Iarch $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_SAN    := address,undefined
FUZZ_OBJ    := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(wildcard $(LIB_DIRS:%=src/%/*.c) arch/*.c arch/c/*.c))
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@
$(BUILD)/fuzz/fuzz_wyoming: $(BUILD)/fuzzobj/src/serve/wyoming_frame.o
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) $^ $(LDLIBS) -o $@

# The targets of the command line's and the service's parsers link the program's own parts, built the same way
# (as an archive: only what the target calls is linked).
FUZZ_CLI     := fuzz_say_json fuzz_speech fuzz_announce fuzz_mqtt fuzz_voices
FUZZ_CLI_OBJ := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(filter-out src/cli/main.c,$(CLI_SRC))) $(BUILD)/gen/page_files.o
$(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(CLI_SRC)): FUZZ_CFLAGS += $(shell pkg-config --cflags $(CLI_PKGS)) \
    -DBARK_DATADIR='"$(DATADIR)"'
$(BUILD)/fuzzobj/libbark_cli.a: $(FUZZ_CLI_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
# The service's targets open the tiny model (tests/fuzz/tiny_model.c), linked ahead of the archive.
$(patsubst %,$(BUILD)/fuzz/%,fuzz_speech fuzz_announce fuzz_mqtt fuzz_voices): $(BUILD)/fuzzobj/tests/fuzz/tiny_model.o
$(FUZZ_CLI:%=$(BUILD)/fuzz/%): $(BUILD)/fuzzobj/libbark_cli.a
$(FUZZ_CLI:%=$(BUILD)/fuzz/%): LDLIBS += $(CLI_LIBS)

# A short libFuzzer run of every parser (FUZZ_SECONDS each), seeded from tests/fuzz/corpus/<name>.
FUZZ_SECONDS ?= 15
fuzz-smoke: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
	@sh tests/fuzz/smoke.sh $(FUZZ_SECONDS) $^

bench: all
	@sh tools/bench.sh $(BUILD)

clean:
	rm -rf build build-san build-*

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TUTIL_OBJ:.o=.d) $(TEST_SRC:%.c=$(BUILD)/%.d)
