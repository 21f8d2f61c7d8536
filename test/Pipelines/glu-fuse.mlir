// The whole --glu-fuse pipeline on the linalg a frontend (torch-mlir) writes
// for LLaMA's MLP: raised into glu.ffn, gate/up merged behind a load-time
// packing function, the block streamed in tiles, no glu op left.
// RUN: swiglu-opt %s --glu-fuse="tile-tokens=2 chunk-ff=32" | FileCheck %s
// And it still runs: the reference pipeline lowers the result to LLVM.
// RUN: swiglu-opt %s --glu-fuse --convert-glu-to-linalg --glu-cpu-reference-pipeline | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @llama_mlp
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[W:.*]]: tensor<192x64xf32> {glu.packed_by = @llama_mlp_pack_gate_up}, %[[WD:.*]]: tensor<64x96xf32>)
// CHECK: scf.forall (%{{.*}}) = (0) to (10) step (2)
// CHECK:   scf.for
// CHECK:     tensor.extract_slice %[[W]]
// CHECK:     linalg.matmul
// CHECK:     math.exp
// CHECK:     tensor.extract_slice %[[WD]]
// CHECK:     linalg.matmul
// CHECK-NOT: glu.
// CHECK-LABEL: func.func @llama_mlp_pack_gate_up
// CHECK-SAME: -> tensor<192x64xf32> attributes {glu.packing_function}
// CHECK: tensor.concat dim(0)
// LLVM-LABEL: llvm.func @llama_mlp
// LLVM-LABEL: llvm.func @llama_mlp_pack_gate_up
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @llama_mlp(%x: tensor<2x5x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                     %wd: tensor<64x96xf32>) -> tensor<2x5x64xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %0 = tensor.empty() : tensor<64x96xf32>
  %wgT = linalg.transpose ins(%wg : tensor<96x64xf32>) outs(%0 : tensor<64x96xf32>) permutation = [1, 0]
  %xg = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x5x64xf32> into tensor<10x64xf32>
  %1 = tensor.empty() : tensor<10x96xf32>
  %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<10x96xf32>) -> tensor<10x96xf32>
  %g2 = linalg.matmul ins(%xg, %wgT : tensor<10x64xf32>, tensor<64x96xf32>) outs(%2 : tensor<10x96xf32>) -> tensor<10x96xf32>
  %g = tensor.expand_shape %g2 [[0, 1], [2]] output_shape [2, 5, 96] : tensor<10x96xf32> into tensor<2x5x96xf32>
  %3 = tensor.empty() : tensor<2x5x96xf32>
  %act = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g : tensor<2x5x96xf32>) outs(%3 : tensor<2x5x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %in, %d : f32
    linalg.yield %s : f32
  } -> tensor<2x5x96xf32>
  %wuT = linalg.transpose ins(%wu : tensor<96x64xf32>) outs(%0 : tensor<64x96xf32>) permutation = [1, 0]
  %xu = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x5x64xf32> into tensor<10x64xf32>
  %u2 = linalg.matmul ins(%xu, %wuT : tensor<10x64xf32>, tensor<64x96xf32>) outs(%2 : tensor<10x96xf32>) -> tensor<10x96xf32>
  %u = tensor.expand_shape %u2 [[0, 1], [2]] output_shape [2, 5, 96] : tensor<10x96xf32> into tensor<2x5x96xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%act, %u : tensor<2x5x96xf32>, tensor<2x5x96xf32>) outs(%3 : tensor<2x5x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x5x96xf32>
  %4 = tensor.empty() : tensor<96x64xf32>
  %wdT = linalg.transpose ins(%wd : tensor<64x96xf32>) outs(%4 : tensor<96x64xf32>) permutation = [1, 0]
  %h2 = tensor.collapse_shape %h [[0, 1], [2]] : tensor<2x5x96xf32> into tensor<10x96xf32>
  %5 = tensor.empty() : tensor<10x64xf32>
  %6 = linalg.fill ins(%cst : f32) outs(%5 : tensor<10x64xf32>) -> tensor<10x64xf32>
  %y2 = linalg.matmul ins(%h2, %wdT : tensor<10x96xf32>, tensor<96x64xf32>) outs(%6 : tensor<10x64xf32>) -> tensor<10x64xf32>
  %y = tensor.expand_shape %y2 [[0, 1], [2]] output_shape [2, 5, 64] : tensor<10x64xf32> into tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}
