#!/bin/bash
# Same-run comparison of `detc match` with Chainsaw and Hayabusa (docs/PERFORMANCE.md, "match").
# Not part of the test run: Chainsaw and Hayabusa are built from source outside this repository
# (see docs/PERFORMANCE.md for how), and their paths are given here.
#
#   CHAINSAW=.../chainsaw CHAINSAW_SRC=.../chainsaw-checkout \
#   HAYABUSA=.../hayabusa HAYABUSA_RULES=.../hayabusa-rules-checkout \
#   benches/compare_tools.sh [N]
#
# Inputs: the 192 regression .evtx files of ../shared/sigmahq/regression_data, and N (default
# 20000) lines of FLAT (a flat NDJSON file, e.g. the regression events flattened and repeated)
# and of WIN (the same events in Windows-event JSON form), which default to /tmp/flat100k.jsonl
# and /tmp/bench100k.jsonl.
set -u
N=${1:-20000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DETC=${DETC:-$ROOT/target/release/detc}
RULES=${RULES:-$ROOT/../shared/sigmahq/rules}
FLAT=${FLAT:-/tmp/flat100k.jsonl}
WIN=${WIN:-/tmp/bench100k.jsonl}
: "${CHAINSAW:?path to the chainsaw binary}" "${CHAINSAW_SRC:?chainsaw checkout (for mappings/)}"
: "${HAYABUSA:?path to the hayabusa binary}" "${HAYABUSA_RULES:?hayabusa-rules checkout}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/evtx"
i=0
while read -r f; do
  i=$((i + 1))
  ln -s "$f" "$WORK/evtx/$i.evtx"
done < <(find "$ROOT/../shared/sigmahq/regression_data/rules" -name '*.evtx' | sort)
head -n "$N" "$FLAT" > "$WORK/flat.jsonl"
head -n "$N" "$WIN" > "$WORK/win.jsonl"
run() { # label, file holding the output to count, command...
  local label=$1 out=$2
  shift 2
  /usr/bin/time -o "$WORK/time" -f "%e s wall, %U s user, %S s sys, %M KiB peak" "$@" \
    > "$WORK/stdout" 2> "$WORK/stderr"
  printf '%-62s %s | %s output lines\n' "$label" "$(tail -1 "$WORK/time")" "$(wc -l < "$out")"
}
echo "before: $(uptime)"
run "detc match, 192 .evtx, SigmaHQ corpus, 2 threads" "$WORK/stdout" \
  "$DETC" match --threads 2 --rules "$RULES" --events "$WORK/evtx"
run "chainsaw hunt, 192 .evtx, SigmaHQ corpus" "$WORK/cs.jsonl" \
  "$CHAINSAW" hunt -q -s "$RULES" --mapping "$CHAINSAW_SRC/mappings/sigma-event-logs-all.yml" \
  "$WORK/evtx" --jsonl --skip-errors -o "$WORK/cs.jsonl"
run "hayabusa dfir-timeline, 192 .evtx, hayabusa-rules sigma/" "$WORK/hb.jsonl" \
  "$HAYABUSA" dfir-timeline -w -q -C -t jsonl -A -D -n -u -K -N -Q -d "$WORK/evtx" \
  -r "$HAYABUSA_RULES/sigma" -c "$HAYABUSA_RULES/config" -o "$WORK/hb.jsonl" --threads 2
run "detc match, $N flat JSONL events, 2 threads" "$WORK/stdout" \
  "$DETC" match --threads 2 --rules "$RULES" --events "$WORK/flat.jsonl"
run "detc match, $N Windows-event JSONL events, 2 threads" "$WORK/stdout" \
  "$DETC" match --threads 2 --rules "$RULES" --events "$WORK/win.jsonl"
run "hayabusa dfir-timeline -J, $N flat JSONL events, 2 threads" "$WORK/hb.jsonl" \
  "$HAYABUSA" dfir-timeline -w -q -C -t jsonl -D -n -u -K -N -Q -J -f "$WORK/flat.jsonl" \
  -r "$HAYABUSA_RULES/sigma" -c "$HAYABUSA_RULES/config" -o "$WORK/hb.jsonl" --threads 2
echo "after: $(uptime)"
