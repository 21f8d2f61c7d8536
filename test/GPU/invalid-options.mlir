// Bad mma-kernel options of convert-glu-to-gpu (and of the pipeline that
// forwards them) are refused with one message.
// RUN: swiglu-opt %s --convert-glu-to-gpu="mma-stages=1" -verify-diagnostics
// RUN: swiglu-opt %s --convert-glu-to-gpu="mma-stages=5" -verify-diagnostics
// RUN: swiglu-opt %s --convert-glu-to-gpu="mma-tile-m=32" -verify-diagnostics
// RUN: swiglu-opt %s --convert-glu-to-gpu="mma-tile-n=96" -verify-diagnostics
// RUN: swiglu-opt %s --glu-gpu-pipeline="mma-stages=0" -verify-diagnostics

// expected-error@+1 {{convert-glu-to-gpu: mma-tile-m and mma-tile-n must be 64 or 128, mma-stages in [2, 4]}}
module {
  func.func @gu(%x: tensor<?x64xbf16>, %w: tensor<128x64xbf16>)
      -> tensor<?x64xbf16> {
    %y = glu.gate_up silu %x : tensor<?x64xbf16> gate_up %w : tensor<128x64xbf16>
           -> tensor<?x64xbf16>
    return %y : tensor<?x64xbf16>
  }
}
