#!/bin/sh
# Runs one libFuzzer target of the fuzz tree (tests/fuzz) over its seeds.
#   run.sh check <fuzz build dir> <source dir> <target> <runs>
#     a bounded, repeatable run for ctest: -runs=<runs> -seed=1, new inputs kept in a scratch
#     directory that is removed afterwards
#   run.sh fuzz <fuzz build dir> <source dir> <target> <seconds>
#     a run of <seconds>, its corpus kept in <fuzz build dir>/fuzz-corpus/<target> and grown by
#     each run
# Prints how many inputs ran and whether one crashed; a crashing input is saved in
# <fuzz build dir>/fuzz-crashes/<target>/. Exits 0 when nothing crashed, 1 on a crash. When the
# target is not built it exits 77 (skipped), or 1 when CITYTWIN_TEST_TOOLS_REQUIRED=1.
set -u
mode=$1 build=$2 source=$3 target=$4 amount=$5
fuzzer="$build/tests/fuzz/citytwin_fuzz_$target"
if [ ! -x "$fuzzer" ]; then
  why="fuzz target $fuzzer is not built (make fuzz-build builds it with clang)"
  if [ "${CITYTWIN_TEST_TOOLS_REQUIRED:-0}" = 1 ]; then
    echo "FAILED: $why" >&2
    exit 1
  fi
  echo "SKIPPED: $why" >&2
  exit 77
fi

crashes="$build/fuzz-crashes/$target"
mkdir -p "$crashes"
# Seeds: frames written by this build's encoder, committed regression inputs, and for the CSV
# targets the replay excerpts and mappings of tests/data/replay.
seeds=""
for dir in "$build/tests/fuzz/seeds/$target" "$source/tests/fuzz/corpus/$target"; do
  [ -d "$dir" ] && seeds="$seeds $dir"
done
case $target in
  csv_replay | column_mapping) seeds="$seeds $source/tests/data/replay" ;;
esac

if [ "$mode" = check ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  limits="-runs=$amount -seed=1"
else
  work="$build/fuzz-corpus/$target"
  mkdir -p "$work"
  limits="-max_total_time=$amount"
fi
log=$(mktemp)
# libFuzzer's own error exit code is 77, which ctest would take for a skip.
# shellcheck disable=SC2086
"$fuzzer" $limits -error_exitcode=1 -timeout=30 -timeout_exitcode=1 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$crashes/" "$work" $seeds >"$log" 2>&1
status=$?
executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
if [ "$status" -ne 0 ]; then
  cat "$log"
  rm -f "$log"
  echo "fuzz $target: CRASH after ${executed:-?} inputs; input saved in $crashes/"
  echo "  reproduce: $fuzzer $crashes/<file>"
  exit 1
fi
rm -f "$log"
echo "fuzz $target: ${executed:-?} inputs run${seconds:+ in $seconds s}, no crash"
