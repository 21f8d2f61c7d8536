#!/usr/bin/env bash
# Fuzzes the glu dialect and passes with libFuzzer (tools/swiglu-fuzz).
#
#   bash scripts/fuzz.sh [seconds] [jobs]      (defaults: 60, 1)
#
# 1. installs libFuzzer's runtime if missing (Debian: libclang-rt-22-dev);
# 2. configures and builds build-fuzz/ (-DSWIGLU_ENABLE_FUZZER=ON: our
#    libraries instrumented with fuzzer-no-link,address,undefined; only the
#    swiglu-fuzz target is built, ninja -j1 unless SWIGLU_NINJA_FLAGS says);
# 3. builds the seed corpus in build-fuzz/fuzz/seeds (lit tests of
#    test/Dialect, test/Conversion, test/Pipelines and test/Fuzz, the functions of
#    test/Execution/run_cases.py, their linalg lowering), each prefixed with
#    the byte that selects a pass pipeline;
# 4. merges new seeds into the working corpus build-fuzz/fuzz/corpus (kept
#    between runs, grown by the fuzzer), then runs swiglu-fuzz on it for
#    <seconds> in libFuzzer's fork mode with <jobs> worker processes (a crash
#    is saved and fuzzing goes on), with the dictionary
#    tools/swiglu-fuzz/glu.dict;
# 5. prints the inputs executed and the crashes found, and appends a line to
#    build-fuzz/fuzz/history.tsv (date, seconds, inputs, crashes, jobs).
#    Crash/timeout/OOM/leak reproducers are left in build-fuzz/fuzz/artifacts/
#    (override with SWIGLU_FUZZ_ARTIFACTS), each with a .log of its report;
#    exits 1 if there is a new one.
#
# Reproduce: SWIGLU_FUZZ_VERBOSE=1 build-fuzz/bin/swiglu-fuzz <file> prints the
# selected pipeline and the diagnostics; `tail -c +2 <file>` is the MLIR.
# Extra libFuzzer flags: SWIGLU_FUZZ_FLAGS="-max_len=8192 ...".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds="${1:-60}"
jobs="${2:-1}"
FUZZ_BUILD_DIR="${SWIGLU_FUZZ_BUILD_DIR:-$SWIGLU_ROOT/build-fuzz}"
work="$FUZZ_BUILD_DIR/fuzz"
artifacts="${SWIGLU_FUZZ_ARTIFACTS:-$work/artifacts}"

# --- 1. libFuzzer runtime ----------------------------------------------------
# (A file test, not `dpkg -L | grep -q`: with pipefail, grep -q closing the
# pipe early makes the check fail at random.)
if [ ! -f "$("$LLVM_PREFIX/bin/clang" -print-runtime-dir)/libclang_rt.fuzzer-x86_64.a" ]; then
  log "installing libclang-rt-22-dev (libFuzzer and sanitizer runtimes)"
  apt_install libclang-rt-22-dev
fi

# --- 2. build ----------------------------------------------------------------
start=$(date +%s)
if [ ! -f "$FUZZ_BUILD_DIR/CMakeCache.txt" ]; then
  log "configuring $FUZZ_BUILD_DIR"
  # -O1: sanitizer builds at -O3 are slow to compile for little gain.
  cmake -S "$SWIGLU_ROOT" -B "$FUZZ_BUILD_DIR" -G Ninja \
    -DSWIGLU_ENABLE_FUZZER=ON \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1" -DCMAKE_C_FLAGS_RELEASE="-O1" \
    -DCMAKE_C_COMPILER="$LLVM_PREFIX/bin/clang" \
    -DCMAKE_CXX_COMPILER="$LLVM_PREFIX/bin/clang++" \
    -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" >/dev/null
fi
ninja -C "$FUZZ_BUILD_DIR" ${SWIGLU_NINJA_FLAGS:--j1} swiglu-fuzz swiglu-opt
log "build done in $(( $(date +%s) - start )) s"
fuzzer="$FUZZ_BUILD_DIR/bin/swiglu-fuzz"

# --- 3. seed corpus ----------------------------------------------------------
python="$(swiglu_venv_dir)/bin/python"
[ -x "$python" ] || python=/tmp/vtest/bin/python
[ -x "$python" ] || python=python3
# swiglu-opt of the normal build if there is one (faster than the ASan one),
# to lower the seeds to linalg for glu-raise.
opt="$SWIGLU_BUILD_DIR/bin/swiglu-opt"
[ -x "$opt" ] || opt="$FUZZ_BUILD_DIR/bin/swiglu-opt"
mkdir -p "$work/seeds" "$work/corpus" "$artifacts"
ASAN_OPTIONS=detect_leaks=0 "$python" "$SWIGLU_ROOT/tools/swiglu-fuzz/make_corpus.py" \
  --fuzzer "$fuzzer" --out "$work/seeds" --python "$python" --swiglu-opt "$opt"

# --- 4. fuzz -----------------------------------------------------------------
# ASan: halt on the first report; leaks are reported too (the harness frees
# everything per input, so a leak is a finding). swiglu-fuzz itself sets
# allow_user_poisoning=0 and detect_container_overflow=0 (see
# __asan_default_options in swiglu-fuzz.cpp: false positives from mixing our
# instrumented code with the uninstrumented libMLIR.so). UBSan: any report is
# fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_container_overflow=0:detect_leaks=1:symbolize=1:print_stacktrace=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$LLVM_PREFIX/bin/llvm-symbolizer}"

marker="$work/.run-start"
touch "$marker"
# New seeds are merged into the working corpus once (libFuzzer keeps the
# inputs that add coverage), so that later runs do not replay thousands of
# seeds. A seed that crashes is saved in $artifacts like any other crash.
if [ ! -f "$work/.merged" ] || [ -n "$(find "$work/seeds" -type f -newer "$work/.merged" | head -1)" ]; then
  log "merging the seeds into $work/corpus"
  touch "$work/.merged.new"
  "$fuzzer" -merge=1 -timeout=30 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$artifacts/" "$work/corpus" "$work/seeds" \
    >"$work/merge.log" 2>&1 || { log "merge failed, see $work/merge.log"; exit 1; }
  mv "$work/.merged.new" "$work/.merged"
  log "corpus: $(find "$work/corpus" -type f | wc -l) files"
fi

log_file="$work/fuzz-$(date +%Y%m%d-%H%M%S).log"
# Fork mode even for one job: a crash is saved and fuzzing goes on, so one
# run reports every crash it finds (each reproducer in $artifacts).
# -report_slow_units: libFuzzer saves a "slow-unit-*" for any input slower
# than this (10 s by default); a compile through the CPU pipeline in this
# sanitizer build can take that on a loaded 2-core machine. Only -timeout
# is a failure; slow units are listed, not counted as crashes.
flags=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
       -max_total_time="$seconds" -timeout=30 -report_slow_units=30
       -rss_limit_mb=4096
       -max_len=65536 -artifact_prefix="$artifacts/"
       -dict="$SWIGLU_ROOT/tools/swiglu-fuzz/glu.dict")
log "fuzzing ${seconds}s with $jobs job(s); log: $log_file"
t0=$(date +%s)
set +e
# shellcheck disable=SC2086
"$fuzzer" "${flags[@]}" ${SWIGLU_FUZZ_FLAGS:-} "$work/corpus" >"$log_file" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - t0 ))

# --- 5. summary ----------------------------------------------------------------
# Fork mode's status lines read "#<total execs>: cov: ... crash: a/b/c ...".
execs=$(grep -Eo '^#[0-9]+:' "$log_file" | tail -1 | tr -d '#:' || true)
execs="${execs:-0}"
mapfile -t found < <(find "$artifacts" -type f -newer "$marker" \
                      ! -name 'slow-unit-*' ! -name '*.log' | sort)
mapfile -t slow < <(find "$artifacts" -type f -newer "$marker" -name 'slow-unit-*' | sort)
for f in "${slow[@]}"; do
  log "slow input (over 30 s once; not a failure): $f"
done
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -Iseconds)" "$elapsed" "$execs" \
  "${#found[@]}" "$jobs" >>"$work/history.tsv"
total=$(awk -F'\t' '{t+=$2; e+=$3} END {printf "%d s, %d inputs", t, e}' "$work/history.tsv")
log "inputs executed: $execs in ${elapsed}s; corpus: $(find "$work/corpus" -type f | wc -l) files; fuzzer exit code $rc"
log "all runs so far ($work/history.tsv): $total"
if [ "${#found[@]}" -gt 0 ]; then
  log "crashes found: ${#found[@]} new reproducer(s) in $artifacts:"
  for f in "${found[@]}"; do
    # Re-run each one for its report (fork mode keeps only the first line).
    "$fuzzer" "$f" >"$f.log" 2>&1 || true
    why=$(grep -Em1 'SUMMARY:|runtime error:|LLVM ERROR|Assertion|ERROR: libFuzzer' "$f.log" || true)
    echo "  $f (pipeline byte $(od -An -tu1 -N1 "$f" | tr -d ' ')): ${why:-does not reproduce alone, see $log_file}"
  done
  log "reproduce: SWIGLU_FUZZ_VERBOSE=1 $fuzzer <file>; MLIR text: tail -c +2 <file>"
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  log "swiglu-fuzz failed (exit code $rc) without a reproducer; see $log_file"
  exit "$rc"
fi
log "crashes found: 0"
