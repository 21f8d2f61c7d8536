// Bad options of the CPU kernels and pipeline are refused with a message.
// REQUIRES: numpy
// RUN: not swiglu-opt %s --convert-glu-to-cpu-kernels='vector-bits=100' 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: convert-glu-to-cpu-kernels: invalid options: vector-bits must be 128, 256 or 512, micro-rows 1..8, micro-vectors 2, 4, 6 or 8, k-chunk >= 1 and tile-tokens >= micro-rows (or 0: automatic)
// RUN: not swiglu-opt %s --convert-glu-to-cpu-kernels='micro-rows=9' 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not swiglu-opt %s --convert-glu-to-cpu-kernels='tile-tokens=2' 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not swiglu-opt %s --glu-cpu-pipeline='bf16-dot=maybe' 2>&1 | FileCheck %s --check-prefix=DOT
// DOT: for the --bf16-dot option: Cannot find option named 'maybe'!
// A pipeline that packs the entry's weights cannot run it as declared.
// RUN: %python -c "import numpy as np; np.save('%t.x.npy', np.ones((2, 32), np.float32)); np.save('%t.w.npy', np.ones((64, 32), np.float32))"
// RUN: not swiglu-run %s --pipeline=glu-cpu-pipeline -i %t.x.npy -i %t.w.npy -o %t.out.npy 2>&1 | FileCheck %s --check-prefix=SIG
// SIG: swiglu-run: error: after lowering, @gu takes other arguments than it declares: the pipeline changed its signature (glu-cpu-pipeline packs argument weights at load time; run it with pack-at-load=false, or run the packing function first: see convert-glu-to-cpu-kernels)
// RUN: not test -e %t.out.npy
func.func @gu(%x: tensor<2x32xf32>, %w: tensor<64x32xf32>) -> tensor<2x32xf32> {
  %y = glu.gate_up silu %x : tensor<2x32xf32> gate_up %w : tensor<64x32xf32> -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}
