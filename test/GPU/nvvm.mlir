// The kernels at the NVVM level (convert-glu-to-gpu, convert-nvgpu-to-nvvm,
// convert-gpu-to-nvvm; the serialization to PTX is glu-gpu-pipeline.mlir's):
// each kind of kernel becomes an nvvm.kernel with the expanded memref ABI
// (pointer, pointer, offset, size, stride per buffer, then M, K, N), and
// no call is left (no libdevice).
// RUN: swiglu-opt %s --convert-glu-to-gpu --convert-nvgpu-to-nvvm --convert-gpu-to-nvvm | FileCheck %s --implicit-check-not=llvm.call
// RUN: swiglu-opt %s --convert-glu-to-gpu="round-hidden=true" --convert-nvgpu-to-nvvm --convert-gpu-to-nvvm | FileCheck %s --check-prefix=F16

// CHECK-LABEL: llvm.func @ffn_gate_up_decode1(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64,
// CHECK-SAME:    nvvm.kernel
// CHECK-SAME:    nvvm.maxntid = array<i32: 256, 1, 1>
// CHECK:         nvvm.read.ptx.sreg.tid.x
// CHECK:         llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr -> vector<8xbf16>
// CHECK:         nvvm.shfl.sync  bfly
// CHECK-LABEL: llvm.func @ffn_gate_up_mma(
// CHECK-SAME:    nvvm.maxntid = array<i32: 128, 1, 1>
// CHECK:         llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
// CHECK:         nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         nvvm.cp.async.wait.group 1
// CHECK:         nvvm.barrier0
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK:         nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[{{.*}}]  {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-LABEL: llvm.func @ffn_down_decode1(
// CHECK:         llvm.fmul %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<contract>} : f32
// CHECK-LABEL: llvm.func @ffn_down_mma(
// CHECK:         llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
// CHECK:         llvm.fsub
// CHECK:         nvvm.barrier0
// CHECK:         nvvm.mma.sync
func.func @ffn(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>,
               %wu: tensor<96x64xbf16>, %wd: tensor<64x96xbf16>)
    -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16>
         up %wu : tensor<96x64xbf16> down %wd : tensor<64x96xbf16>
         -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// f16 through nvgpu.mma.sync: vector<2xf16> registers; with round-hidden
// the down projection is an mma kernel too.
// F16-LABEL: llvm.func @ffn16_gate_up_mma(
// F16:         nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[{{.*}}]  {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// F16-LABEL: llvm.func @ffn16_down_mma(
// F16:         nvvm.mma.sync
func.func @ffn16(%x: tensor<?x64xf16>, %wg: tensor<96x64xf16>,
                 %wu: tensor<96x64xf16>, %wd: tensor<64x96xf16>)
    -> tensor<?x64xf16> {
  %y = glu.ffn gelu_erf %x : tensor<?x64xf16> gate %wg : tensor<96x64xf16>
         up %wu : tensor<96x64xf16> down %wd : tensor<64x96xf16>
         -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
