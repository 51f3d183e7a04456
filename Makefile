# Top-level entry points. CMake does the C++ build; this file wires set-up,
# tests, the demo and the install targets (mk/install.mk) together.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup check check-full demo fuzz format format-check clean

all:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDKMS_TESTS=OFF >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

setup:
	scripts/setup-deps.sh

# Everything CI runs: set-up, format check, the sanitizer build of the unit
# and integration tests, then the upstream comparison suites.
check: setup
	$(MAKE) format-check
	$(MAKE) all
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DDKMS_SANITIZE=ON -DDKMS_FAULT_INJECTION=ON >/dev/null
	cmake --build $(ASAN_DIR) -j$(JOBS)
	cd $(ASAN_DIR) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) fuzz FUZZ_SECONDS=30

# libFuzzer targets (clang), each run for a bounded time: the tarball
# reader, and our parsers (options, .modinfo, decompression, versions).
FUZZ_SECONDS ?= 60
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS) build-fuzz
	cmake -S fuzz/parsers -B build-fuzz-parsers -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	cmake --build build-fuzz-parsers -j$(JOBS)
	mkdir -p build-fuzz-parsers/corpus
	build-fuzz-parsers/parsers_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz-parsers/corpus

# check plus the long comparisons with upstream 3.2.2 (transcripts of every
# scenario, a real Debian *-dkms package end to end).
check-full:
	DKMS_FULL_TESTS=1 $(MAKE) check

demo: setup all
	examples/demo.sh $(BUILD_DIR)/dkms

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

format-check:
	clang-format --dry-run -Werror $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) dist

-include mk/install.mk
-include mk/upstream.mk
