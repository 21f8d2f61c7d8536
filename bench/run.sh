#!/usr/bin/env bash
# The FFN benchmark in one command:
#
#   bash bench/run.sh [--quick] [more options of bench/ffn_bench.py]
#
# Makes (once, cached) the benchmark's Python environment from
# bench/requirements.txt, builds the C pieces (bench/openblas_ffn.c,
# bench/peak.c) into $SWIGLU_BUILD_DIR/bench (installing libopenblas-dev when
# missing), and runs bench/ffn_bench.py,
# which prints the tables and writes bench/RESULTS.md and the plot
# bench/results-gflops.png. Failures of optional parts (IREE or matplotlib
# install, the OpenBLAS build) become a row or a line that says why.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
cd "$SWIGLU_ROOT"
BENCH="$SWIGLU_ROOT/bench"

# --- what the baselines need (Debian): OpenBLAS for the C FFN; libmvec and
# libm come with libc6-dev ----------------------------------------------------
apt_ensure libopenblas-dev libc6-dev

# --- the project itself: build it only when it is not there ---------------
if [[ ! -e "$SWIGLU_BUILD_DIR/lib/libSwigluCAPI.so" || ! -x "$SWIGLU_BUILD_DIR/bin/swiglu-opt" ]]; then
  log "no build in $SWIGLU_BUILD_DIR: building the project"
  bash "$SWIGLU_ROOT/scripts/build.sh"
fi

# --- Python environment ------------------------------------------------------
# From the project's venv Python when it exists (same interpreter), else python3.
BASE_PY="$(swiglu_venv_dir)/bin/python"
[[ -x "$BASE_PY" ]] || BASE_PY="$(command -v python3)"
KEY="$( { cat "$BENCH/requirements.txt"; "$BASE_PY" --version; } | sha256sum | cut -c1-12)"
VENV="$SWIGLU_CACHE_DIR/bench-venv-$KEY"
OUT="$SWIGLU_BUILD_DIR/bench"
mkdir -p "$OUT"
# The optional parts: a failed install of one becomes a line of the results.
OPTIONAL=(iree matplotlib)
if [[ -n "${SWIGLU_BENCH_VENV:-}" ]]; then
  VENV="$SWIGLU_BENCH_VENV"  # yours: used as it is, nothing installed
elif [[ ! -e "$VENV/.complete" ]]; then
  log "making the benchmark environment $VENV"
  rm -rf "$VENV"
  "$BASE_PY" -m venv "$VENV"
  PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q --timeout 30 --retries 2)
  if "${PIP[@]}" -r "$BENCH/requirements.txt" >"$OUT/pip.log" 2>&1; then
    touch "$VENV/.complete"  # only a complete install is reused; else retried next run
  else
    log "installing the requirements failed (see $OUT/pip.log); installing them in parts"
    grep -v -E "^($(IFS='|'; echo "${OPTIONAL[*]}"))" "$BENCH/requirements.txt" >"$OUT/requirements-core.txt"
    "${PIP[@]}" -r "$OUT/requirements-core.txt"
    for part in "${OPTIONAL[@]}"; do
      grep "^$part" "$BENCH/requirements.txt" >"$OUT/requirements-$part.txt"
      if ! "${PIP[@]}" -r "$OUT/requirements-$part.txt" >"$OUT/pip-$part.log" 2>&1; then
        log "installing $part failed (see $OUT/pip-$part.log)"
        { grep '^ERROR' "$OUT/pip-$part.log" || tail -n 3 "$OUT/pip-$part.log"; } | tail -n 1 \
          >"$OUT/$part-install-error.txt"
      else
        rm -f "$OUT/$part-install-error.txt"
      fi
    done
  fi
fi
if [[ -e "$VENV/.complete" || -n "${SWIGLU_BENCH_VENV:-}" ]]; then
  for part in "${OPTIONAL[@]}"; do rm -f "$OUT/$part-install-error.txt"; done
fi
# PyTorch (eager and torch.compile rows) from the project's environment, which
# has it pinned (python/requirements.txt): its site-packages go at the end of
# the benchmark environment's path, so the benchmark's own pins win.
PROJECT_SITE="$("$(swiglu_venv_dir)/bin/python" -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null || true)"
BENCH_SITE="$("$VENV/bin/python" -c 'import site; print(site.getsitepackages()[0])')"
if [[ -z "${SWIGLU_BENCH_VENV:-}" && -n "$PROJECT_SITE" && "$PROJECT_SITE" != "$BENCH_SITE" ]]; then
  echo "$PROJECT_SITE" >"$BENCH_SITE/swiglu-project-site.pth"
fi

# --- C pieces ----------------------------------------------------------------
CC="${CC:-$LLVM_PREFIX/bin/clang}"
[[ -x "$CC" ]] || CC="$(command -v clang || command -v cc)"
CFLAGS=(-O3 -march=native)
OPENBLAS_ERROR="$OUT/openblas-build-error.txt"
rm -f "$OPENBLAS_ERROR" "$OUT/libopenblas_ffn.so" "$OUT/peak"
if ! "$CC" "${CFLAGS[@]}" -fno-math-errno -fveclib=libmvec -shared -fPIC \
     "$BENCH/openblas_ffn.c" -o "$OUT/libopenblas_ffn.so" -lopenblas -lmvec -lm 2>"$OPENBLAS_ERROR"; then
  log "building bench/openblas_ffn.c failed: $(head -n 3 "$OPENBLAS_ERROR")"
  rm -f "$OUT/libopenblas_ffn.so"
else
  rm -f "$OPENBLAS_ERROR"
fi
if ! "$CC" "${CFLAGS[@]}" -pthread "$BENCH/peak.c" -o "$OUT/peak"; then
  log "building bench/peak.c failed: the peak and bandwidth columns stay empty"
  rm -f "$OUT/peak"
fi

# LLVM's name of the host CPU, for the header (what target-cpu=host means).
LLVM_CPU="$("$CC" -### -march=native -x c -c /dev/null 2>&1 | grep -o '"-target-cpu" "[^"]*"' | cut -d'"' -f4 || true)"

# --- run ---------------------------------------------------------------------
export PYTHONPATH="$SWIGLU_ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
# The Python package finds the C API of $SWIGLU_BUILD_DIR (not only ./build).
export SWIGLU_CAPI_LIBRARY="${SWIGLU_CAPI_LIBRARY:-$SWIGLU_BUILD_DIR/lib/libSwigluCAPI.so}"
exec "$VENV/bin/python" "$BENCH/ffn_bench.py" \
  --command "bash bench/run.sh${*:+ $*}" \
  --openblas-lib "$OUT/libopenblas_ffn.so" --openblas-error "$OPENBLAS_ERROR" \
  --peak-bin "$OUT/peak" --iree-error "$OUT/iree-install-error.txt" \
  --plot-error "$OUT/matplotlib-install-error.txt" --llvm-cpu "$LLVM_CPU" \
  --swiglu-opt "$SWIGLU_BUILD_DIR/bin/swiglu-opt" \
  --compiler-info "$("$CC" --version | head -n 1) ${CFLAGS[*]}" \
  "$@"
