#!/usr/bin/env bash
# Builds the project (installing what is missing) and runs the whole test
# suite: lit + FileCheck tests of the dialect, passes and runner, and the
# execution tests against the numpy reference, then a 60 s fuzzing run
# (skip it with SWIGLU_SKIP_FUZZ=1). CI runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$SWIGLU_ROOT/scripts/build.sh"
start=$(date +%s)
"$LLVM_PREFIX/bin/lit" -sv --show-unsupported ${SWIGLU_LIT_FLAGS:-} "$SWIGLU_BUILD_DIR/test"
log "tests done in $(( $(date +%s) - start )) s"

# A bounded fuzzing run (scripts/fuzz.sh: libFuzzer over parse, verify and
# every glu pass, ASan+UBSan; it installs libclang-rt-22-dev if missing and
# builds build-fuzz/), failing on any crash it finds. SWIGLU_SKIP_FUZZ=1
# skips it; SWIGLU_FUZZ_SECONDS (default 60) sets its length.
if [ "${SWIGLU_SKIP_FUZZ:-0}" = 1 ]; then
  log "fuzzing skipped (SWIGLU_SKIP_FUZZ=1)"
else
  fuzz_start=$(date +%s)
  # Build with every core, like the main build (fuzz.sh alone defaults to -j1).
  SWIGLU_NINJA_FLAGS="${SWIGLU_NINJA_FLAGS:--j$(nproc)}" \
    bash "$SWIGLU_ROOT/scripts/fuzz.sh" "${SWIGLU_FUZZ_SECONDS:-60}"
  log "fuzzing (build, corpus, run) done in $(( $(date +%s) - fuzz_start )) s"
fi
