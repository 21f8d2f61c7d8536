// target-cpu / target-features name the CPU the CPU pipeline compiles for
// (the host by default): its kernels (vector width, AVX512-BF16 dot
// products) and, in swiglu-compile, the C API and swiglu-run, LLVM's code.
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=x86-64-v3' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=AVX2
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=sapphirerapids' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BF16DOT
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=sapphirerapids target-features=-avx512bf16' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NODOT
// widen-once=auto: 16-bit weights without dot products are widened once per
// 288-row token block into a scratch, except on AMD Zen, where the
// micro-kernel widens them as they stream (96-row blocks, no scratch);
// widen-once=on|off decides alone.
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=sapphirerapids target-features=-avx512bf16 threads=2' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ONCE
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=znver4 target-features=-avx512bf16 threads=2' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=STREAM
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=znver4 target-features=-avx512bf16 threads=2 widen-once=on' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ONCE
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=sapphirerapids target-features=-avx512bf16 threads=2 widen-once=off' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=STREAM
// RUN: swiglu-opt %s --glu-cpu-pipeline='target-cpu=x86-64' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SSE

// Errors: an unknown CPU or feature, a feature without its sign; no output
// file is left behind.
// RUN: not swiglu-opt %s --glu-cpu-pipeline='target-cpu=pentium9' -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADCPU
// RUN: not swiglu-opt %s --glu-cpu-pipeline='target-features=+avx513' -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADFEATURE
// RUN: not swiglu-opt %s --glu-cpu-pipeline='target-features=avx2' -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOSIGN
// RUN: rm -f %t.so
// RUN: not swiglu-compile %s -o %t.so --options='target-cpu=pentium9' 2>&1 | FileCheck %s --check-prefix=COMPILE
// RUN: not ls %t.so
// RUN: not swiglu-compile %s -o %t.so --reference --options='target-cpu=pentium9' 2>&1 | FileCheck %s --check-prefix=COMPILE
// BADCPU: error: glu-cpu-pipeline: unknown target CPU 'pentium9' (LLVM's names, e.g. x86-64-v3, icelake-server, sapphirerapids, znver4; or host)
// BADFEATURE: error: glu-cpu-pipeline: target feature '+avx513' is not +name or -name of a feature LLVM knows
// NOSIGN: error: glu-cpu-pipeline: target feature 'avx2' is not +name or -name of a feature LLVM knows
// COMPILE: error: swiglu: unknown target CPU 'pentium9'
// COMPILE-NOT: see current operation

// AVX2-LABEL: func.func @ffn(
// AVX2:         vector.fma {{.*}} : vector<8xf32>
// BF16DOT-LABEL: func.func @ffn(
// BF16DOT:       x86vector.avx512.dot
// NODOT-LABEL:  func.func @ffn(
// NODOT-NOT:     x86vector.avx512.dot
// NODOT:         vector.fma {{.*}} : vector<16xf32>
// The accumulators [workers][MB][NR], then (widen-once) the widened chunk
// [workers][KC][NR].
// ONCE-LABEL:   func.func @ffn(
// ONCE:           memref.alloc(%c2, %c288, %c64{{[_0-9]*}})
// ONCE:           memref.alloc(%c2, %c512, %c64{{[_0-9]*}})
// ONCE-LABEL:   func.func private @__glu_cpu_panel(
// STREAM-LABEL: func.func @ffn(
// STREAM:         memref.alloc(%c2, %c96, %c64{{[_0-9]*}})
// STREAM-NOT:     memref.alloc(%c2, %c512
// STREAM-LABEL: func.func private @__glu_cpu_panel(
// SSE-LABEL:    func.func @ffn(
// SSE:           vector.fma {{.*}} : vector<4xf32>
func.func @ffn(%x: tensor<?x64xbf16>, %wg: tensor<64x64xbf16>, %wu: tensor<64x64xbf16>,
               %wd: tensor<64x64xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<64x64xbf16> up %wu : tensor<64x64xbf16>
         down %wd : tensor<64x64xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
