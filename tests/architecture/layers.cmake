# The layer walls of docs/ARCHITECTURE.md, checked on the sources: which headers each top-level
# folder may not include. (Inside twin/ the rooms are enforced by the compiler: each room sees only
# the headers of the rooms it links.) Run as `cmake -DSOURCE_DIR=... -P layers.cmake`; fails with
# file:line for every include across a wall, and when it finds nothing to check.
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "layers.cmake: SOURCE_DIR is not set")
endif()

# folder -> include patterns (regular expressions on the include's path) it may not use.
set(forbidden_twin "^caf/" "^zmq" "^capnp/" "^kj/" "^prometheus/" "^actors/" "^cluster/"
  "^observability/" "^schemas/" "^node/" "^apps/")
set(forbidden_observability "^caf/" "^zmq" "^capnp/" "^kj/" "^actors/" "^cluster/" "^schemas/"
  "^node/" "^apps/")
set(forbidden_actors "^zmq" "^capnp/" "^kj/" "^prometheus/" "^cluster/" "^schemas/" "^node/"
  "^apps/")
set(forbidden_cluster "^caf/" "^prometheus/" "^actors/" "^observability/" "^node/" "^apps/")
# node/ composes a node from every layer below it, but not from the command line.
set(forbidden_node "^apps/" "^CLI/")
# The benchmarks and the tests use the layers as libraries; only apps/ is the command line.
set(forbidden_bench "^apps/")
set(forbidden_tests "^apps/")

set(files_checked 0)
set(violations "")
foreach(layer twin observability actors cluster node bench tests)
  file(GLOB_RECURSE sources "${SOURCE_DIR}/${layer}/*.hpp" "${SOURCE_DIR}/${layer}/*.cpp")
  foreach(source IN LISTS sources)
    math(EXPR files_checked "${files_checked} + 1")
    # Read whole and split at newlines by hand: a `;` in a line would split a CMake list.
    file(READ "${source}" text)
    string(REPLACE ";" "," text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(line_number 0)
    foreach(line IN LISTS lines)
      math(EXPR line_number "${line_number} + 1")
      if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
        set(path "${CMAKE_MATCH_1}")
        foreach(pattern IN LISTS forbidden_${layer})
          if(path MATCHES "${pattern}")
            file(RELATIVE_PATH where "${SOURCE_DIR}" "${source}")
            string(APPEND violations "  ${where}:${line_number}: ${layer}/ may not include ${path}\n")
          endif()
        endforeach()
      endif()
    endforeach()
  endforeach()
endforeach()

if(files_checked LESS 50)
  message(FATAL_ERROR "layers.cmake: only ${files_checked} source files found under ${SOURCE_DIR}")
endif()
if(violations)
  message(FATAL_ERROR "includes across the layer walls:\n${violations}")
endif()
message(STATUS "layer walls hold: ${files_checked} source files checked")
