// tuning-cache: an entry for the op's CPU, types and shape sets its tiles
// (here micro-vectors=2: panels of 2 x 16 = 32 columns, 16 gate + 16 up, for
// d_ff = 96: 6 panels); other CPUs keep the options (4 vectors: 3 panels of
// 32 gate + 32 up); a missing file is an empty cache.
// RUN: swiglu-opt %s --split-input-file --verify-diagnostics \
// RUN:   --convert-glu-to-cpu-kernels='tuning-cache=%S/Inputs/tuning.json cpu=testcpu remarks=true' | FileCheck %s
// RUN: swiglu-opt %s --split-input-file \
// RUN:   --convert-glu-to-cpu-kernels='tuning-cache=%S/Inputs/tuning.json cpu=othercpu' | FileCheck %s --check-prefix=OTHER
// RUN: swiglu-opt %s --split-input-file \
// RUN:   --convert-glu-to-cpu-kernels='tuning-cache=%t.does-not-exist.json cpu=testcpu' | FileCheck %s --check-prefix=OTHER
// Bad caches and entries are errors that name the file and the problem.
// RUN: not swiglu-opt %s --split-input-file \
// RUN:   --convert-glu-to-cpu-kernels='tuning-cache=%S/Inputs/tuning-broken.json' 2>&1 | FileCheck %s --check-prefix=BROKEN
// RUN: not swiglu-opt %s --split-input-file \
// RUN:   --convert-glu-to-cpu-kernels='tuning-cache=%S/Inputs/tuning-incomplete.json' 2>&1 | FileCheck %s --check-prefix=INCOMPLETE
// BROKEN: error: convert-glu-to-cpu-kernels: tuning cache '{{.*}}tuning-broken.json': not JSON
// INCOMPLETE: error: convert-glu-to-cpu-kernels: tuning cache '{{.*}}tuning-incomplete.json': entry 'x' has no integer "micro-vectors"

// CHECK-LABEL: func.func @tuned(
// CHECK-SAME:    tensor<6x64x32xf32> {glu.packed_by = @tuned_pack_weights}
// OTHER-LABEL: func.func @tuned(
// OTHER-SAME:    tensor<3x64x64xf32> {glu.packed_by = @tuned_pack_weights}
func.func @tuned(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
                 %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  // expected-remark @+1 {{tuned configuration testcpu/v512|ffn|f32xf32|64x96: micro-rows=4 micro-vectors=2 k-chunk=256 tile-tokens=48}}
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32> up %wu : tensor<96x64xf32>
         down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// An entry that is not a valid configuration is an error on the op.
func.func @invalid_entry(%x: tensor<?x64xf32>, %w1: tensor<96x64xf32>, %w2: tensor<64x96xf32>)
    -> tensor<?x64xf32> {
  // expected-error @+1 {{the tuning cache's entry 'testcpu/v512|mlp|f32xf32|64x96' is not a valid configuration}}
  %y = glu.mlp relu %x : tensor<?x64xf32> up %w1 : tensor<96x64xf32>
         down %w2 : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
