// ptxas (CUDA toolkit) assembles the tensor-core kernels for sm_80 and
// sm_90 without spilling registers, for the default mma kernel (64x64
// tiles, 3 stages) and the largest (128x128, 8 warps, 4 stages): gate/up
// with cp.async along K (out_in) and along N (in_out), the f32 hidden of
// the down projections split into hi + lo, and f32 x with gate and up
// (two products per tile and part, the most accumulators). Only the mma
// kernels' figures are checked (ptxas -v: entry, properties, spills).
// REQUIRES: ptxas
// RUN: swiglu-gpu-compile %s -o %t.90 --chip=sm_90 --ptxas=%ptxas
// RUN: %ptxas -arch=sm_90 -v %t.90/kernels.ptx -o %t.90.cubin 2> %t.90.log
// RUN: grep -A2 "entry function '.*_mma'" %t.90.log | FileCheck %s
// RUN: swiglu-gpu-compile %s -o %t.80 --chip=sm_80 --ptxas=%ptxas
// RUN: %ptxas -arch=sm_80 -v %t.80/kernels.ptx -o %t.80.cubin 2> %t.80.log
// RUN: grep -A2 "entry function '.*_mma'" %t.80.log | FileCheck %s
// RUN: swiglu-gpu-compile %s -o %t.90big --chip=sm_90 --ptxas=%ptxas --pipeline-options="mma-stages=4 mma-tile-m=128 mma-tile-n=128"
// RUN: %ptxas -arch=sm_90 -v %t.90big/kernels.ptx -o %t.90big.cubin 2> %t.90big.log
// RUN: grep -A2 "entry function '.*_mma'" %t.90big.log | FileCheck %s
// RUN: swiglu-gpu-compile %s -o %t.80big --chip=sm_80 --ptxas=%ptxas --pipeline-options="mma-stages=4 mma-tile-m=128 mma-tile-n=128"
// RUN: %ptxas -arch=sm_80 -v %t.80big/kernels.ptx -o %t.80big.cubin 2> %t.80big.log
// RUN: grep -A2 "entry function '.*_mma'" %t.80big.log | FileCheck %s
// CHECK: Compiling entry function '{{.*}}_mma'
// CHECK: 0 bytes spill stores, 0 bytes spill loads
// CHECK-NOT: {{[1-9][0-9]* bytes spill}}
func.func @ffn_bf16(%x: tensor<?x4096xbf16>, %wg: tensor<11008x4096xbf16>,
                    %wu: tensor<11008x4096xbf16>, %wd: tensor<4096x11008xbf16>)
    -> tensor<?x4096xbf16> {
  %y = glu.ffn silu %x : tensor<?x4096xbf16> gate %wg : tensor<11008x4096xbf16>
         up %wu : tensor<11008x4096xbf16> down %wd : tensor<4096x11008xbf16>
         -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
func.func @ffn_f16_in_out(%x: tensor<?x4096xf16>, %wg: tensor<4096x11008xf16>,
                          %wu: tensor<4096x11008xf16>, %wd: tensor<11008x4096xf16>)
    -> tensor<?x4096xf16> {
  %y = glu.ffn gelu_tanh %x : tensor<?x4096xf16> gate %wg : tensor<4096x11008xf16>
         up %wu : tensor<4096x11008xf16> down %wd : tensor<11008x4096xf16>
         layout in_out -> tensor<?x4096xf16>
  return %y : tensor<?x4096xf16>
}
func.func @gate_up_f32_x(%x: tensor<?x4096xf32>, %w: tensor<22016x4096xbf16>)
    -> tensor<?x11008xf32> {
  %y = glu.gate_up silu %x : tensor<?x4096xf32> gate_up %w : tensor<22016x4096xbf16>
         -> tensor<?x11008xf32>
  return %y : tensor<?x11008xf32>
}
