#!/usr/bin/env bash
# Installs what the project needs and is missing: Debian packages (LLVM/MLIR
# 22, clang, lld, cmake, ninja, ccache) and the project's Python virtual
# environment (pinned numpy, ml-dtypes, pytest). Idempotent, no prompts;
# run as root or with sudo available for the apt part.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APT_PACKAGES=(
  cmake ninja-build ccache
  clang-22 lld-22
  llvm-22-dev llvm-22-tools
  libmlir-22-dev mlir-22-tools libomp-22-dev
  python3 python3-venv
  # the fuzz step of scripts/test.sh (libFuzzer, sanitizer runtimes)
  libclang-rt-22-dev
  # torch.compile(backend="swiglu") hands the rest of the graph to Inductor,
  # which compiles its CPU kernels with g++ against Python.h
  # (test/Python/torch-backend.mlir); Python.h also builds _swiglu_call,
  # the per-call entry of bound blocks (lib/Runtime/PyCall.c)
  g++ python3-dev
  # tensor-parallel runs on MPI (docs/distributed.md, test/Distributed)
  libopenmpi-dev openmpi-bin
)

apt_ensure "${APT_PACKAGES[@]}"
log "Debian packages: ready"

venv="$(swiglu_venv_dir)"
if [ -x "$venv/bin/python" ] && [ -f "$venv/.complete" ]; then
  log "Python environment: $venv (cached)"
else
  log "creating the Python environment in $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$SWIGLU_ROOT/python/requirements.txt"
  touch "$venv/.complete"
fi
