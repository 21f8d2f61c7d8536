#!/usr/bin/env bash
# Differential soak: random seeds of test/Differential/diffgen.py until the
# time is up, then counts.
#
#   bash scripts/soak.sh [minutes] [diffgen options...]     (default: 10)
#   e.g. bash scripts/soak.sh 30 --pipeline fuse --pipeline fuse-ffn
#
# Builds first (scripts/build.sh, a no-op when up to date), then runs batches
# of 50 consecutive seeds from a random start, one process at a time, until
# <minutes> have passed (the last batch stops starting cases at the deadline).
# Logs and the files of failing cases go to build/soak/<date>/ (batch-<seed>.log,
# work-<seed>/<case>/); passing batches' files are deleted. Prints the cases
# run, passed and failed, every failing seed with its replay command, and
# appends a line to build/soak/history.tsv (date, minutes, cases, failures,
# first seeds of the batches). Exits 1 if any case failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

minutes="${1:-10}"
shift || true
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "error: minutes must be a number, got '$minutes'" >&2; exit 2; }

bash "$SWIGLU_ROOT/scripts/build.sh" >/dev/null
python="$(swiglu_venv_dir)/bin/python"
[ -x "$python" ] || { echo "error: no Python environment at $python (run scripts/setup.sh)" >&2; exit 1; }
export PATH="$SWIGLU_BUILD_DIR/bin:$PATH"

out="$SWIGLU_BUILD_DIR/soak/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
start=$(date +%s)
deadline=$(( start + $(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }') ))
cases=0 failures=0 batches=()
failing=()
log "soak: ${minutes} min of random differential cases; logs in $out"
while [ "$(date +%s)" -lt "$deadline" ]; do
  seed=$(( $(od -An -N4 -tu4 /dev/urandom) % 2000000000 ))
  batches+=("$seed")
  left=$(( deadline - $(date +%s) ))
  batch_log="$out/batch-$seed.log"
  set +e
  "$python" "$SWIGLU_ROOT/test/Differential/diffgen.py" --seed "$seed" \
    --cases 50 --time-limit "$left" --workdir "$out/work-$seed" "$@" \
    >"$batch_log" 2>&1
  rc=$?
  set -e
  summary=$(tail -1 "$batch_log")
  if [[ "$summary" =~ ^ALL\ ([0-9]+)\ CASES\ PASSED ]]; then
    cases=$(( cases + BASH_REMATCH[1] ))
    rm -rf "$out/work-$seed"
  elif [[ "$summary" =~ ^([0-9]+)\ OF\ ([0-9]+)\ CASES\ FAILED.*failing\ seeds:\ (.*)$ ]]; then
    cases=$(( cases + BASH_REMATCH[2] ))
    failures=$(( failures + BASH_REMATCH[1] ))
    for s in ${BASH_REMATCH[3]}; do failing+=("$s"); done
    log "batch $seed: $summary"
  else
    log "batch $seed: diffgen exited with $rc without a summary; see $batch_log"
    failures=$(( failures + 1 ))
    failing+=("batch-$seed")
  fi
done
elapsed=$(( $(date +%s) - start ))
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -Iseconds)" "$(awk -v s=$elapsed 'BEGIN { printf "%.1f", s / 60 }')" \
  "$cases" "$failures" "${batches[*]}" >>"$SWIGLU_BUILD_DIR/soak/history.tsv"
log "soak done: $cases cases in $(( elapsed / 60 )) min $(( elapsed % 60 )) s, ${#batches[@]} batches (first seeds: ${batches[*]}), $failures failed"
if [ "$failures" -gt 0 ]; then
  log "failing seeds (replay commands in the batch logs of $out):"
  for s in "${failing[@]}"; do
    grep -h -A4 "^FAIL seed=$s " "$out"/batch-*.log 2>/dev/null | grep -m1 'replay:' | sed "s/^ */  $s: /" || echo "  $s"
  done
  exit 1
fi
