# citytwin: the two commands a newcomer needs are `make demo` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
SANITIZE ?= OFF
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench asan format clean

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
test: build
	cd $(BUILD_DIR) && CITYTWIN_TEST_TOOLS_REQUIRED=1 ctest --output-on-failure -j $(JOBS) --timeout 300

demo: build
	$(BUILD_DIR)/apps/citytwin demo --city examples/macau

# The benchmarks (figures beside references measured in the same run, the assignment's beside
# published figures), built for Release in a tree of their own: ingest, traffic assignment,
# dispersion grid, write-ahead log.
BENCH_DIR ?= build-release
BENCHES = citytwin_bench_ingest citytwin_bench_assign citytwin_bench_dispersion citytwin_bench_wal
bench: deps
	$(MAKE) $(BENCH_DIR)/build.ninja BUILD_DIR=$(BENCH_DIR) BUILD_TYPE=Release
	cmake --build $(BENCH_DIR) -j $(JOBS) --target $(BENCHES)
	$(BENCH_DIR)/bench/citytwin_bench_ingest
	$(BENCH_DIR)/bench/citytwin_bench_assign --repeat 5
	$(BENCH_DIR)/bench/citytwin_bench_dispersion
	$(BENCH_DIR)/bench/citytwin_bench_wal

# An ASan + UBSan build and test run in its own build tree.
asan:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE=ON

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-asan $(BENCH_DIR)
