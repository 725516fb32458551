# The fuzz tree (CITYTWIN_FUZZ=ON, included by the top-level CMakeLists.txt): clang's libFuzzer with
# AddressSanitizer and UndefinedBehaviorSanitizer. Everything the targets link is compiled with
# coverage instrumentation (-fsanitize=fuzzer-no-link); the targets alone link libFuzzer's main.
# Only what the targets need is built: the twin rooms they link, the schemas and the codec.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "CITYTWIN_FUZZ needs clang (libFuzzer): configure with "
                      "-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
endif()

set(CITYTWIN_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -g -O1)
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=fuzzer,address,undefined")
check_cxx_source_compiles([=[
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
]=] CITYTWIN_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(NOT CITYTWIN_HAVE_LIBFUZZER)
  message(FATAL_ERROR "clang cannot link -fsanitize=fuzzer,address,undefined: install "
                      "libclang-rt-14-dev (cmake/install-deps.sh does)")
endif()

# -Wno-unknown-warning-option: the sources silence some GCC-only warnings by name.
add_compile_options(-fsanitize=fuzzer-no-link ${CITYTWIN_FUZZ_FLAGS} -Wno-unknown-warning-option)
add_link_options(-fsanitize=address,undefined)

find_package(Threads REQUIRED)
find_package(CapnProto CONFIG REQUIRED)
find_package(cppzmq CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)

# Libraries are built only as far as a fuzz target needs them.
add_subdirectory(twin EXCLUDE_FROM_ALL)
add_subdirectory(schemas EXCLUDE_FROM_ALL)
add_subdirectory(tests/fuzz)
