#!/usr/bin/env bash
# The main job: installs what is missing, builds, then compiles and runs the
# example LLaMA-style SwiGLU FFN on the CPU and reports correctness and speed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$SWIGLU_ROOT/scripts/build.sh"
"$(swiglu_venv_dir)/bin/python" "$SWIGLU_ROOT/examples/llama_ffn/run.py" \
  --runner "$SWIGLU_BUILD_DIR/bin/swiglu-run" "$@"
