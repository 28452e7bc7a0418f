#!/usr/bin/env bash
# Run every fuzz target (or the ones named) for SECONDS each, seeded by fuzz/seed.py, one after
# the other. Exits non-zero on the first finding (crash, failed property, timeout, out of
# memory); libFuzzer writes the input to fuzz/artifacts/<target>/. See docs/FUZZING.md.
#   fuzz/run.sh [SECONDS] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(det_parse sigma_read sigma_condition events_json events_evtx)

python3 fuzz/seed.py "${targets[@]}"
# No sanitizer: detc and its parsers are safe Rust, and ASan would halve the executions.
cargo +nightly fuzz build -s none
for t in "${targets[@]}"; do
  mkdir -p "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t.log"
  echo "==> fuzz $t for ${secs}s"
  if ! nice -n 15 cargo +nightly fuzz run -s none "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 2>"$log"; then
    tail -n 60 "$log"
    echo "fuzz target $t found a problem: the input is in fuzz/artifacts/$t/ (docs/FUZZING.md)" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|^Done' "$log" |
    tr -s ' \n' ' '
  echo
done
