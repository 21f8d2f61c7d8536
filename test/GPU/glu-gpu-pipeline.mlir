// RUN: swiglu-opt %s --glu-gpu-pipeline | FileCheck %s
// RUN: swiglu-opt %s --glu-gpu-pipeline="chip=sm_80 features=+ptx70" | FileCheck %s --check-prefix=SM80

// The whole pipeline without CUDA: kernels → NVVM → PTX from LLVM's NVPTX
// backend inside gpu.binary; host launches lowered to LLVM (mgpu* calls);
// the launch records kept on the module.

// CHECK: module attributes {glu.gpu.entries = {ffn = "{
// CHECK-LABEL: llvm.func @ffn(
// CHECK:         gpu.launch_func @glu_kernels::@ffn_gate_up_decode
// CHECK:         gpu.launch_func @glu_kernels::@ffn_gate_up_mma
// CHECK:         gpu.launch_func @glu_kernels::@ffn_down_decode
// CHECK:         gpu.launch_func @glu_kernels::@ffn_down_mma
// CHECK: gpu.binary @glu_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}assembly = "
// CHECK-SAME: .version 8.0
// CHECK-SAME: .target sm_90
// CHECK-SAME: .entry ffn_gate_up_decode(
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: fma.rn.f32
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: .entry ffn_gate_up_mma(
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: cp.async.wait_group
// CHECK-SAME: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-SAME: .entry ffn_down_decode(
// CHECK-SAME: .entry ffn_down_mma(
// CHECK-SAME: cvt.rn.bf16.f32
// CHECK-SAME: bar.sync
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-NOT: __nv_

// SM80: gpu.binary @glu_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70">
// SM80-SAME: .target sm_80
// SM80-SAME: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// SM80-SAME: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @ffn(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>,
               %wu: tensor<96x64xbf16>, %wd: tensor<64x96xbf16>)
    -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16>
         up %wu : tensor<96x64xbf16> down %wd : tensor<64x96xbf16>
         -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// f16 weights: nvgpu.mma.sync → mma.sync ... f16.f16.
func.func @ffn16(%x: tensor<?x64xf16>, %wg: tensor<96x64xf16>,
                 %wu: tensor<96x64xf16>, %wd: tensor<64x96xf16>)
    -> tensor<?x64xf16> {
  %y = glu.ffn gelu_tanh %x : tensor<?x64xf16> gate %wg : tensor<96x64xf16>
         up %wu : tensor<96x64xf16> down %wd : tensor<64x96xf16>
         -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
