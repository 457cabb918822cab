# tome -- one non-recursive Makefile.
#
#   make            build/tome, build/tome.so, build/libtome.a
#   make test       install what is missing, build, run every spec (normal
#                   build, then again under ASan + UBSan)
#   make demo       install what is missing, build, generate a sample log
#                   and run the example report on it
#   make bench      the benchmark against the peers (big files, slow)
#   make asan       the sanitizer build only (build-asan/)
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make deb        the Debian packages tome, lua-tome, libtome-dev (build/deb/)

BUILD    ?= build
CC       ?= cc
LUA_INC  ?= /usr/include/lua5.4
LUA_LIB  ?= -llua5.4
OPT      ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -fPIC -g $(OPT) \
               -I$(LUA_INC) -Isrc -I$(BUILD)/gen
SAN      ?=
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
endif
# CPPFLAGS, CFLAGS and LDFLAGS from the environment come last (Debian's
# hardening flags, for one)
ALL_CFLAGS = $(CFLAGS_BASE) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS)
# the decompressors of src/source.c (Debian's zlib, libzstd, liblzma, libbz2)
SRC_LIBS := -lz -lzstd -llzma -lbz2
LIBS     := $(SRC_LIBS) -lm -ldl -lpthread

# the library rooms (everything but the command)
LIB_SRC  := $(filter-out src/host.c src/repl.c src/oneliner.c,$(wildcard src/*.c))
HOST_SRC := $(wildcard src/host.c src/repl.c src/oneliner.c)
LUA_SRC  := $(sort $(wildcard lua/tome/*.lua))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/luasrc.o
HOST_OBJ := $(HOST_SRC:src/%.c=$(BUILD)/obj/%.o)
CSPEC_SRC := $(wildcard spec/c/*.c)
CSPEC_BIN := $(CSPEC_SRC:spec/c/%.c=$(BUILD)/spec_%)

HOST_LIBS := $(shell pkg-config --exists libedit 2>/dev/null && echo -ledit)
ifneq ($(HOST_LIBS),)
  HOST_DEFS := -DTOME_HAVE_EDITLINE
endif

.PHONY: all deps deps-test test spec-c spec-lua test-normal test-asan asan demo \
        bench bench-readme fuzz fuzz-slice lint deb deb-check version \
        clean install uninstall
GEN_BIN := $(BUILD)/gen_log $(BUILD)/gen_csv
all: $(BUILD)/tome $(BUILD)/tome.so $(BUILD)/libtome.a $(CSPEC_BIN) $(GEN_BIN)

$(BUILD)/obj $(BUILD)/gen:
	@mkdir -p $@

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) $(HOST_DEFS) -c $< -o $@

# The Lua files under lua/ are compiled into the binaries as byte arrays.
$(BUILD)/gen/luasrc.c: scripts/embed_lua.lua $(LUA_SRC) | $(BUILD)/gen
	lua5.4 scripts/embed_lua.lua $@ $(LUA_SRC)
$(BUILD)/obj/luasrc.o: $(BUILD)/gen/luasrc.c | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libtome.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# a module links no -llua: the host or lua5.4 provides the API
$(BUILD)/tome.so: $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -o $@ $^ $(SRC_LIBS) -lm -lpthread

$(BUILD)/tome: $(HOST_OBJ) $(BUILD)/libtome.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wl,-E -o $@ $(HOST_OBJ) $(BUILD)/libtome.a \
	  $(LUA_LIB) $(HOST_LIBS) $(LIBS)

# C-level specs: one program per file under spec/c/
$(BUILD)/spec_%: spec/c/%.c spec/c/harness.h $(BUILD)/libtome.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtome.a $(LUA_LIB) $(LIBS)

# the data generators for the demo and the benchmarks (scripts/gen_*.c)
$(BUILD)/gen_%: scripts/gen_%.c scripts/gen_common.h | $(BUILD)/obj
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o $@ $< -lm

# {====== set-up ======
# Debian packages, installed when missing.  DEB_PKGS: what building tome
# and running it need (make demo installs only these); TEST_PKGS: what
# only the specs need (make test installs both).
DEB_PKGS := gcc libc6-dev lua5.4 liblua5.4-dev lua-lpeg libedit-dev pkg-config \
            zlib1g-dev libzstd-dev liblzma-dev libbz2-dev
TEST_PKGS := lua-busted lua-check tmux luarocks clang libclang-rt-14-dev \
             zstd xz-utils bzip2 \
             debhelper build-essential lintian
# the writer specs trace system calls (0600 from the open call, directory fsync)
TEST_PKGS += strace
# and copy ACLs (setfacl, getfacl)
TEST_PKGS += acl
# lua-cjson: -F json and v:jsonl need it at run time; python3: the CSV and
# JSON differential specs
DEB_PKGS += lua-cjson
TEST_PKGS += python3
deps:
	@sh scripts/deps.sh $(DEB_PKGS)
deps-test:
	@sh scripts/deps.sh $(DEB_PKGS) $(TEST_PKGS) $(SLURM_PKGS)
# }======

# {====== tests ======
# make test prints a line per stage (scripts/stage.sh); what a stage
# prints goes to build/test/NAME.log, shown when it fails.  To add a
# stage, add a line `$(STAGE) [-k] NAME command` to the recipe (-k: the
# stages after it still run when it fails; make test fails at the end).
BUSTED := /usr/bin/busted
STAGE  := @sh scripts/stage.sh
SUBMAKE := $(MAKE) --no-print-directory
ASAN_VARS := BUILD=build-asan SAN=1 OPT=-O1
test:
	$(STAGE) begin "make test"
	$(STAGE) deps $(SUBMAKE) deps-test
	$(STAGE) build $(SUBMAKE) all
	$(STAGE) -k c-specs $(SUBMAKE) spec-c
	$(STAGE) -k specs $(SUBMAKE) spec-lua
	$(STAGE) asan-build $(SUBMAKE) asan
	$(STAGE) -k asan-c-specs $(SUBMAKE) $(ASAN_VARS) spec-c
	$(STAGE) -k asan-specs $(SUBMAKE) $(ASAN_VARS) spec-lua
	$(STAGE) -k fuzz $(SUBMAKE) fuzz-slice
	$(STAGE) -k fuzz-decode $(SUBMAKE) fuzz-decode-slice
	$(STAGE) -k slurm $(SUBMAKE) slurm-test
	$(STAGE) -k lint $(SUBMAKE) lint
	$(STAGE) -k packages $(SUBMAKE) deb-check
	$(STAGE) end

# The C specs and the busted specs of one build (BUILD, SAN as for make):
# every C spec program runs, then "N passed, M failed".
ASAN_ENV := ASAN_OPTIONS=detect_leaks=0:allow_user_segv_handler=1:handle_sigbus=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
RUN_ENV = $(if $(filter 1,$(SAN)),$(ASAN_ENV))
spec-c: all
	@p=0; f=0; for t in $(CSPEC_BIN); do echo "== $$t"; \
	  if $(RUN_ENV) ./$$t; then p=$$((p + 1)); else f=$$((f + 1)); fi; \
	done; echo "$$p passed, $$f failed"; [ $$f -eq 0 ]
spec-lua: all
	$(RUN_ENV) TOME_BUILD=$(BUILD) $(BUILD)/tome $(BUSTED) --ignore-lua \
	  --output=utfTerminal spec

# the same by hand: the normal build, the sanitizer build
test-normal: spec-c spec-lua
asan:
	$(SUBMAKE) $(ASAN_VARS) all
test-asan:
	$(SUBMAKE) $(ASAN_VARS) spec-c spec-lua

lint:
	@if command -v luacheck >/dev/null; then \
	  luacheck -q $(wildcard lua spec scripts types); else \
	  echo "luacheck missing"; exit 1; fi
# }======

# {====== fuzzing: our pattern engine against the string library ======
FUZZ := build/fuzz/pattern_fuzz
FUZZ_FLAGS := -max_len=256 -timeout=10 -dict=fuzz/pattern.dict
$(FUZZ): fuzz/pattern_fuzz.c spec/c/pattern.c src/pattern.c src/pattern.h \
         src/scan.c src/scan.h
	@mkdir -p build/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(LUA_INC) -Isrc -o $@ fuzz/pattern_fuzz.c src/pattern.c src/scan.c \
	  $(LUA_LIB) -lm
build/fuzz/corpus: fuzz/seeds.lua
	@mkdir -p $@
	lua5.4 fuzz/seeds.lua $@
# a short, seeded slice (make test); `make fuzz` runs 10 million cases
# (its progress lines go to build/fuzz/slice.log; shown when it fails)
fuzz-slice: $(FUZZ) build/fuzz/corpus
	@echo "fuzz: 200000 seeded cases of the pattern engine"
	@$(FUZZ) -seed=1 -runs=200000 $(FUZZ_FLAGS) build/fuzz/corpus \
	  > build/fuzz/slice.log 2>&1 || { tail -60 build/fuzz/slice.log; exit 1; }
	@tail -1 build/fuzz/slice.log
fuzz: $(FUZZ) build/fuzz/corpus fuzz-decode
	$(FUZZ) -runs=$${FUZZ_RUNS:-10000000} $(FUZZ_FLAGS) \
	  -print_final_stats=1 build/fuzz/corpus
# }======

# {====== fuzzing: tome.decode on untrusted bytes ======
DFUZZ := build/fuzz/decode_fuzz
DFUZZ_FLAGS := -max_len=4096 -timeout=10
$(DFUZZ): fuzz/decode_fuzz.c src/codec.c src/codec.h
	@mkdir -p build/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(LUA_INC) -Isrc -o $@ fuzz/decode_fuzz.c src/codec.c $(LUA_LIB) -lm
build/fuzz/dcorpus: fuzz/decode_seeds.lua
	@mkdir -p $@
	lua5.4 fuzz/decode_seeds.lua $@
.PHONY: fuzz-decode fuzz-decode-slice
# a seeded slice in make test; `make fuzz` (or fuzz-decode) runs 10 million
fuzz-decode-slice: $(DFUZZ) build/fuzz/dcorpus
	@echo "fuzz: 200000 seeded cases of the decoder"
	@$(DFUZZ) -seed=1 -runs=200000 $(DFUZZ_FLAGS) build/fuzz/dcorpus \
	  > build/fuzz/dslice.log 2>&1 || { tail -60 build/fuzz/dslice.log; exit 1; }
	@tail -1 build/fuzz/dslice.log
fuzz-decode: $(DFUZZ) build/fuzz/dcorpus
	$(DFUZZ) -runs=$${FUZZ_RUNS:-10000000} $(DFUZZ_FLAGS) \
	  -print_final_stats=1 build/fuzz/dcorpus
# }======

# {====== the Slurm test ======
# make slurm-test: installs slurm-wlm and munge when missing, starts a
# one-node cluster on localhost under a temporary directory, as root
# without systemd (scripts/slurm/cluster.sh), runs tome.job scripts with
# N = 1, 2, 4 and 8 shards through scripts/slurm/tome-sbatch against the
# plain run and tome.parallel, kills a shard, and stops every daemon by
# its PID on the way out (scripts/slurm/test.sh).
SLURM_PKGS := slurm-wlm munge
.PHONY: slurm-test
slurm-test: all
	@sh scripts/deps.sh $(SLURM_PKGS)
	@sh scripts/slurm/test.sh $(BUILD)
# }======

# make version: the version; make version V=1.2.3 sets it (in src/tome.h,
# and where it is repeated: the rockspec, debian/changelog, the man page)
version:
	@sh scripts/version.sh $(V)

# {====== Debian packages ======
# make deb: the packages tome, lua-tome and libtome-dev (debian/), built
# with debhelper from a copy of the sources in build/deb/tome-VERSION;
# the .deb files land in build/deb/.  make deb-check: lintian must report
# no error, then the packages are installed, tried and purged again
# (scripts/debcheck.sh, a stage of make test).
DEB_DIR := build/deb
DEB_SRC := Makefile LICENSE README.md tome.pc.in src lua doc scripts debian
deb:
	@sh scripts/deps.sh $(DEB_PKGS) debhelper build-essential
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/tome-$(TOME_VER)
	cp -r $(DEB_SRC) $(DEB_DIR)/tome-$(TOME_VER)/
	cd $(DEB_DIR)/tome-$(TOME_VER) && dpkg-buildpackage -b -us -uc -J
deb-check: deb
	@sh scripts/deps.sh lintian
	sh scripts/debcheck.sh $(DEB_DIR) $(TOME_VER)
# }======

demo:
	$(STAGE) begin "make demo"
	$(STAGE) deps $(SUBMAKE) deps
	$(STAGE) build $(SUBMAKE) all
	@sh scripts/demo.sh $(BUILD)

bench: all
	sh scripts/bench.sh $(BUILD)
# the README's benchmark table, from the last `make bench`
bench-readme:
	lua5.4 scripts/bench/report.lua --readme \
	  $${TOME_BENCH_DIR:-/tmp/tome-bench}/results README.md

clean:
	rm -rf build build-asan

# {====== install ======
# make install [PREFIX=/usr/local] [DESTDIR=/staging]; make uninstall (same
# variables).  Each directory can be set on its own (GNU names); tome.pc
# names them relative to ${prefix} when they are under PREFIX.  The
# module goes where lua5.4 looks for C modules: $(PREFIX)/lib/lua/5.4 is
# on Debian's package.cpath for PREFIX=/usr/local and PREFIX=/usr alike.
PREFIX       ?= /usr/local
bindir       ?= $(PREFIX)/bin
libdir       ?= $(PREFIX)/lib
includedir   ?= $(PREFIX)/include
mandir       ?= $(PREFIX)/share/man
pkgconfigdir ?= $(libdir)/pkgconfig
luacmoddir   ?= $(PREFIX)/lib/lua/5.4
TOME_VER      = $(shell sed -n 's/^\#define TOME_VERSION "tome \(.*\)"/\1/p' src/tome.h)

install: $(BUILD)/tome $(BUILD)/tome.so $(BUILD)/libtome.a
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir) $(DESTDIR)$(includedir) \
	  $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(pkgconfigdir) $(DESTDIR)$(luacmoddir)
	install -m 755 $(BUILD)/tome $(DESTDIR)$(bindir)/tome
	install -m 755 $(BUILD)/tome.so $(DESTDIR)$(luacmoddir)/tome.so
	install -m 644 $(BUILD)/libtome.a $(DESTDIR)$(libdir)/libtome.a
	install -m 644 src/tome.h $(DESTDIR)$(includedir)/tome.h
	install -m 644 doc/tome.1 $(DESTDIR)$(mandir)/man1/tome.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(TOME_VER)|g' \
	  -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(libdir))|g' \
	  -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(includedir))|g' \
	  tome.pc.in > $(DESTDIR)$(pkgconfigdir)/tome.pc
	chmod 644 $(DESTDIR)$(pkgconfigdir)/tome.pc

uninstall:
	rm -f $(DESTDIR)$(bindir)/tome $(DESTDIR)$(luacmoddir)/tome.so \
	  $(DESTDIR)$(libdir)/libtome.a $(DESTDIR)$(includedir)/tome.h \
	  $(DESTDIR)$(mandir)/man1/tome.1 $(DESTDIR)$(pkgconfigdir)/tome.pc
# }======
