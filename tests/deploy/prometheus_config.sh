#!/bin/sh
# promtool's check of the compose stack's Prometheus configuration, with observability's rules
# beside it as deploy/prometheus.Dockerfile puts them.
#   prometheus_config.sh PROMTOOL CONFIG RULES
# PROMTOOL empty: skipped (exit 77), or failed under CITYTWIN_TEST_TOOLS_REQUIRED=1.
set -u
promtool=$1 config=$2 rules=$3
if [ -z "$promtool" ] || [ ! -x "$promtool" ]; then
  why="promtool not found (make deps unpacks it into .deps/prometheus)"
  if [ "${CITYTWIN_TEST_TOOLS_REQUIRED:-0}" = 1 ]; then echo "FAILED: $why" >&2; exit 1; fi
  echo "SKIPPED: $why" >&2
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$config" "$work/prometheus.yml" && cp "$rules" "$work/rules.yml" || exit 1
"$promtool" check config "$work/prometheus.yml"
