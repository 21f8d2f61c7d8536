#!/usr/bin/env bash
# Builds, on the development machine (LLVM/MLIR 22, no GPU needed), the
# self-contained package that the GPU machine runs: kernel bundles for the
# LLaMA-7B FFN (d_model 4096, d_ff 11008, bf16, merged [gate ‖ up] weight,
# PyTorch [out, in] layout, any token count), the launcher (swiglu-gpu-run,
# libswiglu-gpu-runtime.so: no CUDA/LLVM dependencies) and the harness.
#
#   bash bench/gpu/build.sh [--chip=sm_90] [out-dir]   # default build/gpu-bench
#
# Writes <out-dir>/ and <out-dir>.tar.gz. Bundles:
#   llama7b-exact/  glu semantics: the hidden kept in f32 (acc_type)
#   llama7b-fast/   round-hidden: the hidden rounded to bf16, as PyTorch's
#                   eager bf16 FFN does, so the down projection also runs on
#                   tensor cores
# A cubin is added when /usr/local/cuda/bin/ptxas exists (else the driver
# JIT-compiles the PTX on first load).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chip=sm_90
out=""
for a in "$@"; do
  case "$a" in
    --chip=*) chip="${a#--chip=}" ;;
    *) out="$a" ;;
  esac
done
build="${SWIGLU_BUILD_DIR:-$root/build}"
out="${out:-$build/gpu-bench}"
if [ ! -x "$build/bin/swiglu-gpu-compile" ] || [ ! -x "$build/bin/swiglu-gpu-run" ]; then
  bash "$root/scripts/build.sh"
fi
rm -rf "$out"
mkdir -p "$out"
cat > "$out/llama7b.mlir" <<'MLIR'
// LLaMA-7B MLP: x [T, 4096] bf16, merged [gate ‖ up] weight [22016, 4096],
// down weight [4096, 11008], SwiGLU, PyTorch layout.
func.func @llama7b(%x: tensor<?x4096xbf16>, %wgu: tensor<22016x4096xbf16>,
                   %wd: tensor<4096x11008xbf16>) -> tensor<?x4096xbf16> {
  %y = glu.ffn silu %x : tensor<?x4096xbf16>
         gate_up %wgu : tensor<22016x4096xbf16>
         down %wd : tensor<4096x11008xbf16> -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
MLIR
"$build/bin/swiglu-gpu-compile" "$out/llama7b.mlir" -o "$out/llama7b-exact" --chip="$chip"
"$build/bin/swiglu-gpu-compile" "$out/llama7b.mlir" -o "$out/llama7b-fast" --chip="$chip" \
  --pipeline-options="round-hidden=true"
cp "$build/bin/swiglu-gpu-run" "$build/lib/libswiglu-gpu-runtime.so" \
   "$root/tools/swiglu-gpu-run/SwigluGpuRuntime.h" \
   "$root/bench/gpu/harness.py" "$root/bench/gpu/README.md" "$out/"
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "wrote $out and $out.tar.gz ($(du -sh "$out.tar.gz" | cut -f1))"
