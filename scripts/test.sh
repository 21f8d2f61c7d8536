#!/usr/bin/env bash
# Builds the project (installing what is missing) and runs the whole test
# suite: lit + FileCheck tests of the dialect, passes and runner, and the
# execution tests against the numpy reference. CI runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$SWIGLU_ROOT/scripts/build.sh"
start=$(date +%s)
"$LLVM_PREFIX/bin/lit" -sv ${SWIGLU_LIT_FLAGS:-} "$SWIGLU_BUILD_DIR/test"
log "tests done in $(( $(date +%s) - start )) s"
