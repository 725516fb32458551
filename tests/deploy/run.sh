#!/bin/sh
# Runs one check of check.mjs with the validators that the install step puts in DEPS_DIR
# (cmake/install-deps.sh: `npm ci` of tests/deploy/package-lock.json).
#   run.sh CHECK SOURCE_DIR DEPS_DIR [ARGS...]
# When node or the validators are missing the check is skipped (exit 77), or fails under
# CITYTWIN_TEST_TOOLS_REQUIRED=1.
set -u
check=$1 source=$2 deps=$3
shift 3
missing=""
command -v node >/dev/null 2>&1 || missing="node (Debian's nodejs)"
[ -d "$deps/node_modules/kubernetes-models" ] && [ -d "$deps/node_modules/typescript" ] &&
  [ -f "$deps/node_modules/dclint/schemas/compose.schema.json" ] ||
  missing="${missing:+$missing and }the validators in $deps (make deps installs them)"
if [ -n "$missing" ]; then
  why="deploy $check: $missing not found"
  if [ "${CITYTWIN_TEST_TOOLS_REQUIRED:-0}" = 1 ]; then echo "FAILED: $why" >&2; exit 1; fi
  echo "SKIPPED: $why" >&2
  exit 77
fi
exec node "$source/tests/deploy/check.mjs" "$check" "$source" "$deps" "$@"
