// --glu-cpu-pipeline picks the kernels' vector width and micro-kernel from
// the host unless told: 512-bit vectors and 6 x 4 of them with AVX-512
// (32 registers), 256 with AVX2 and 128 otherwise, both 6 x 2 (16
// registers). The packed gate/up panels show the choice: NR = micro-vectors
// x lanes, half gate and half up.
// RUN: swiglu-opt %s --glu-cpu-pipeline --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BITS%host_vector_bits
// RUN: swiglu-opt %s --glu-cpu-pipeline=vector-bits=512 --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BITS512
// RUN: swiglu-opt %s --glu-cpu-pipeline=vector-bits=256 --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BITS256
// RUN: swiglu-opt %s --glu-cpu-pipeline=vector-bits=128 --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BITS128
// An explicit micro-vectors wins.
// RUN: swiglu-opt %s --glu-cpu-pipeline='vector-bits=256 micro-vectors=4' --mlir-print-ir-after=convert-glu-to-cpu-kernels -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MV4

// BITS512-LABEL: func.func @ffn(
// BITS512-SAME:    tensor<2x64x64xf32> {glu.packed_by = @ffn_pack_weights}
// BITS512:       vector.fma {{.*}} : vector<16xf32>
// BITS256-LABEL: func.func @ffn(
// BITS256-SAME:    tensor<8x64x16xf32> {glu.packed_by = @ffn_pack_weights}
// BITS256:       vector.fma {{.*}} : vector<8xf32>
// BITS128-LABEL: func.func @ffn(
// BITS128-SAME:    tensor<16x64x8xf32> {glu.packed_by = @ffn_pack_weights}
// BITS128:       vector.fma {{.*}} : vector<4xf32>
// MV4-LABEL:     func.func @ffn(
// MV4-SAME:        tensor<4x64x32xf32> {glu.packed_by = @ffn_pack_weights}
func.func @ffn(%x: tensor<?x64xf32>, %wg: tensor<64x64xf32>, %wu: tensor<64x64xf32>,
               %wd: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn silu %x : tensor<?x64xf32>
      gate %wg : tensor<64x64xf32> up %wu : tensor<64x64xf32>
      down %wd : tensor<64x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
