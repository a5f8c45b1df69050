# SPDX-License-Identifier: Apache-2.0
# The two commands: `make demo` (fresh Debian 12 -> running demo) and
# `make check` (install, build, every test, the sanitizer run, bounded fuzzing,
# the systemd unit's checks).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
PYTHON     := /usr/bin/python3

.PHONY: all deps build lint test unit model packaging-check e2e asan fuzz check demo demo-stop bench format clean

all: build

deps:
	./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

lint:
	./scripts/lint.sh

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

# The spin model of the governor: every property holds, every mutant is caught.
model: deps
	./model/check.sh

# The systemd unit of packaging/: verify, the security exposure, sysusers.d and tmpfiles.d.
packaging-check: build
	BULWARK_BUILD=$(abspath $(BUILD)) ./packaging/check.sh

e2e: build
	BULWARK_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/e2e

test: unit e2e

# AddressSanitizer + UndefinedBehaviorSanitizer: unit and end-to-end tests once.
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  BULWARK_BUILD=$(abspath $(ASAN_BUILD)) BULWARK_SANITIZED=1 $(PYTHON) -m pytest -q tests/e2e

# libFuzzer harnesses: replay the corpora and regressions, then a bounded run each.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debug -Dfuzz=true -Dtests=false \
	  -Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	meson test -C $(FUZZ_BUILD) --suite fuzz --print-errorlogs
	./fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BUILD)

check: lint unit model packaging-check e2e asan fuzz
	@echo "make check: all tests passed"

demo: build
	./scripts/demo.sh $(BUILD)

demo-stop:
	./scripts/demo.sh --stop

bench: build
	./bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
