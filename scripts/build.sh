#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then configures and builds the
# project in build/ with Ninja, clang-22, lld and ccache, against the MLIR 22
# shared library. Rebuilds only what changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$SWIGLU_ROOT/scripts/setup.sh"
venv="$(swiglu_venv_dir)"

start=$(date +%s)
if [ ! -f "$SWIGLU_BUILD_DIR/CMakeCache.txt" ]; then
  # First configure: choose the toolchain (changing it later would make
  # CMake drop its cache, so later runs leave it alone).
  cmake -S "$SWIGLU_ROOT" -B "$SWIGLU_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DCMAKE_C_COMPILER="$LLVM_PREFIX/bin/clang" \
    -DCMAKE_CXX_COMPILER="$LLVM_PREFIX/bin/clang++" \
    -DLLVM_USE_LINKER=lld >/dev/null
fi
cmake -S "$SWIGLU_ROOT" -B "$SWIGLU_BUILD_DIR" \
  -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
  -DSWIGLU_PYTHON="$venv/bin/python" >/dev/null
ninja -C "$SWIGLU_BUILD_DIR" ${SWIGLU_NINJA_FLAGS:-}
log "build done in $(( $(date +%s) - start )) s"
