// Non-positive tile sizes were meant to be rejected by glu-fuse-ffn and
// glu-fuse-activation in Pass::initialize, but the error path called
// Pass::getContext(), which needs the pass state that only exists while the
// pass runs: swiglu-opt crashed (segfault; "pass state was never
// initialized" with assertions) instead of printing the error. glu-report
// did not check its options at all: multiple-of=0 divided by zero (SIGFPE),
// a negative or huge ffn-dim-multiplier gave garbage or UB, non-positive
// tile sizes nonsense. Found by reviewing the option handling while writing
// the fuzzer (options are not fuzzed: each fuzz entry uses fixed ones).
// `not` fails if swiglu-opt crashes, so these check the error is printed.
// (test/Dialect/GLU/pass-options.mlir has the direct glu-fuse-ffn,
// glu-fuse-activation and glu-merge-gate-up cases; here the options passed
// down by the glu-fuse pipeline, and glu-report's.)
// RUN: not swiglu-opt %s --glu-fuse=chunk-ff=0 -o /dev/null 2>&1 | FileCheck %s --check-prefix=FFN
// RUN: not swiglu-opt %s --glu-fuse=tile-tokens=-3 -o /dev/null 2>&1 | FileCheck %s --check-prefix=FFN
// RUN: not swiglu-opt %s --glu-report=multiple-of=0 -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: not swiglu-opt %s --glu-report=ffn-dim-multiplier=-1 -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: not swiglu-opt %s --glu-report=tile-tokens=0 -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// A huge but valid multiplier: the width does not fit in int64_t.
// RUN: swiglu-opt %s --glu-report=ffn-dim-multiplier=1e300 -o /dev/null 2>&1 | FileCheck %s --check-prefix=HUGE

// FFN: error: glu-fuse-ffn: tile-tokens and chunk-ff must be positive
// REPORT: error: glu-report: multiple-of, tile-tokens and chunk-ff must be positive, and ffn-dim-multiplier positive and finite
// HUGE: remark: glu.ffn silu: d_model=8 d_ff=16 d_out=8; sizes overflow 64-bit integers, not reported

func.func @block(%x: tensor<2x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>) -> tensor<2x8xf32> {
  %r = glu.ffn silu %x : tensor<2x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> -> tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}
