# citytwin: the two commands a newcomer needs are `make demo` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
SANITIZE ?= OFF
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench asan fuzz fuzz-build format clean sim

all: build

deps:
	@bash cmake/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCITYTWIN_SANITIZE=$(SANITIZE) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The install step provides promtool and prometheus: here a test that lacks them fails instead of
# being reported as skipped (tests/skip.hpp).
test: build fuzz-build
	cd $(BUILD_DIR) && CITYTWIN_TEST_TOOLS_REQUIRED=1 ctest --output-on-failure -j $(JOBS) --timeout 300

# The cluster's deterministic simulation (tests/cluster/membership_sim.test.cpp) over SIM_SEEDS
# seeds instead of the 200 of `make test`; a failing seed is printed with how to rerun it alone.
SIM_SEEDS ?= 5000
sim: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target citytwin_cluster_tests
	CITYTWIN_SIM_SEEDS=$(SIM_SEEDS) $(BUILD_DIR)/tests/citytwin_cluster_tests -tc='cluster simulation*'

demo: build
	$(BUILD_DIR)/apps/citytwin demo --city examples/macau

# The benchmarks (figures beside references measured in the same run, the assignment's beside
# published figures), built for Release in a tree of their own: ingest, traffic assignment,
# dispersion grid, write-ahead log.
BENCH_DIR ?= build-release
BENCHES = citytwin_bench_ingest citytwin_bench_assign citytwin_bench_dispersion citytwin_bench_wal \
  citytwin_bench_cluster
bench: deps
	$(MAKE) $(BENCH_DIR)/build.ninja BUILD_DIR=$(BENCH_DIR) BUILD_TYPE=Release
	cmake --build $(BENCH_DIR) -j $(JOBS) --target $(BENCHES)
	$(BENCH_DIR)/bench/citytwin_bench_ingest
	$(BENCH_DIR)/bench/citytwin_bench_assign --repeat 5
	$(BENCH_DIR)/bench/citytwin_bench_dispersion
	$(BENCH_DIR)/bench/citytwin_bench_wal
	$(BENCH_DIR)/bench/citytwin_bench_cluster

# An ASan + UBSan build and test run in its own build tree.
asan:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE=ON

# libFuzzer targets (tests/fuzz), built by clang with ASan and UBSan in a tree of their own.
# `make test` builds them and runs each for a bounded number of inputs (ctest fuzz/*); `make fuzz`
# runs each for FUZZ_SECONDS, keeping its corpus in $(FUZZ_DIR)/fuzz-corpus/ and any crashing
# input in $(FUZZ_DIR)/fuzz-crashes/.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = $(shell sed -n 's/^\([a-z_]*\) [0-9]*$$/\1/p' tests/fuzz/targets.txt)

$(FUZZ_DIR)/build.ninja: CMakeLists.txt cmake/fuzz.cmake | deps
	@command -v clang++ >/dev/null 2>&1 || { echo "citytwin: clang++ not found; the fuzz" \
	  "targets need clang and libclang-rt-14-dev (make deps installs them)" >&2; exit 1; }
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCITYTWIN_FUZZ=ON -DCMAKE_BUILD_TYPE= \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++

fuzz-build: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS)

fuzz: fuzz-build
	@crashed=""; for t in $(FUZZ_TARGETS); do \
	  sh tests/fuzz/run.sh fuzz $(FUZZ_DIR) . $$t $(FUZZ_SECONDS) || crashed="$$crashed $$t"; \
	done; \
	if [ -n "$$crashed" ]; then echo "fuzz: crashes in:$$crashed (inputs in $(FUZZ_DIR)/fuzz-crashes/)"; exit 1; fi

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-asan $(BENCH_DIR) $(FUZZ_DIR)
