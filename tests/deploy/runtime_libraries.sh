#!/bin/sh
# Checks the runtime stage of deploy/Dockerfile against the built binary: every shared library the
# binary links directly (its DT_NEEDED entries) must come from a Debian package that the stage
# installs by name, and every library it loads at all (ldd) from one of those packages or their
# dependencies, as the package database of this Debian system records them.
#   runtime_libraries.sh DOCKERFILE CITYTWIN
# Exits 0 when all are provided, 1 otherwise; 77 (skipped) when dpkg or readelf is missing, 1 then
# under CITYTWIN_TEST_TOOLS_REQUIRED=1.
set -u
dockerfile=$1 binary=$2
for tool in dpkg dpkg-query readelf ldd; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    why="$tool not found: cannot map the binary's libraries to Debian packages"
    if [ "${CITYTWIN_TEST_TOOLS_REQUIRED:-0}" = 1 ]; then echo "FAILED: $why" >&2; exit 1; fi
    echo "SKIPPED: $why" >&2
    exit 77
  fi
done

# The packages of the runtime stage's `apt-get install` (continuation lines joined).
installed=$(sed -n '/^FROM .* AS runtime/,$p' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
  grep 'apt-get install' | sed 's/.*apt-get install//; s/&&.*//' | tr ' ' '\n' |
  grep -v '^-' | grep -v '^$' | sort -u)
if [ -z "$installed" ]; then echo "no apt-get install in the runtime stage of $dockerfile"; exit 1; fi

# The package that owns a file, without its architecture.
owner() { dpkg -S "$1" 2>/dev/null | head -n 1 | cut -d: -f1; }
# A library's path as the loader resolves it, the way ldd prints it ("name => path (address)").
# The loader may name /lib/... where the package database has /usr/lib/... (merged /usr): try both.
owner_of_library() {
  path=$(ldd "$binary" | awk -v n="$1" '$1 == n && $2 == "=>" { print $3 }')
  [ -n "$path" ] || { echo "?"; return; }
  pkg=$(owner "$path")
  [ -n "$pkg" ] || pkg=$(owner "$(readlink -f "$path")")
  [ -n "$pkg" ] || pkg=$(owner "/usr$path")
  echo "${pkg:-?}"
}

# The dependency closure of the installed set, from the package database (alternatives and
# versions ignored: any alternative counts).
closure=$installed
frontier=$installed
while [ -n "$frontier" ]; do
  next=""
  for p in $frontier; do
    deps=$(dpkg-query -W -f='${Depends},${Pre-Depends}\n' "$p" 2>/dev/null |
      sed 's/([^)]*)//g; s/|/,/g; s/:any//g' | tr ',' '\n' | tr -d ' ' | grep -v '^$')
    for d in $deps; do
      if ! printf '%s\n' $closure | grep -qx "$d"; then closure="$closure $d"; next="$next $d"; fi
    done
  done
  frontier=$next
done

status=0
for lib in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  pkg=$(owner_of_library "$lib")
  if printf '%s\n' $installed | grep -qx "$pkg"; then
    echo "ok: $lib from $pkg"
  else
    echo "MISSING: $lib (package $pkg) is linked by citytwin but not installed by the runtime stage"
    status=1
  fi
done
for lib in $(ldd "$binary" | awk '$2 == "=>" { print $1 }'); do
  pkg=$(owner_of_library "$lib")
  if ! printf '%s\n' $closure | grep -qx "$pkg"; then
    echo "MISSING: $lib (package $pkg) is loaded by citytwin but no installed package brings it"
    status=1
  fi
done
[ $status -eq 0 ] && echo "every library citytwin needs is installed by the runtime stage"
exit $status
