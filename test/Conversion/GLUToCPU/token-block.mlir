// The token block (tile-tokens, MB) of tile-tokens=0, the default: 96 rows,
// or 288 where 16-bit weights are widened to f32 for f32 FMAs (no bf16 dot
// products), so that each widened K chunk of a panel serves three times the
// rows. An explicit tile-tokens decides alone. The block shows in the
// workers' accumulator scratch, [workers][MB][NR].
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2' | FileCheck %s --check-prefix=AUTO
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 tile-tokens=96' | FileCheck %s --check-prefix=FIXED
// RUN: swiglu-opt %s --convert-glu-to-cpu-kernels='threads=2 bf16-dot=true' | FileCheck %s --check-prefix=DOT

// AUTO-LABEL:  func.func @f32(
// AUTO:          memref.alloc(%c2{{[_0-9]*}}, %c96{{[_0-9]*}}, %c64{{[_0-9]*}})
// AUTO-LABEL:  func.func @bf16(
// AUTO:          memref.alloc(%c2{{[_0-9]*}}, %c288{{[_0-9]*}}, %c64{{[_0-9]*}})
// FIXED-LABEL: func.func @bf16(
// FIXED:         memref.alloc(%c2{{[_0-9]*}}, %c96{{[_0-9]*}}, %c64{{[_0-9]*}})
// DOT-LABEL:   func.func @bf16(
// DOT:           memref.alloc(%c2{{[_0-9]*}}, %c96{{[_0-9]*}}, %c64{{[_0-9]*}})
func.func @f32(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
               %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %y = glu.ffn silu %x : tensor<?x64xf32> gate %wg : tensor<96x64xf32>
      up %wu : tensor<96x64xf32> down %wd : tensor<64x96xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

func.func @bf16(%x: tensor<?x64xbf16>, %wg: tensor<96x64xbf16>, %wu: tensor<96x64xbf16>,
                %wd: tensor<64x96xbf16>) -> tensor<?x64xbf16> {
  %y = glu.ffn silu %x : tensor<?x64xbf16> gate %wg : tensor<96x64xbf16>
      up %wu : tensor<96x64xbf16> down %wd : tensor<64x96xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
