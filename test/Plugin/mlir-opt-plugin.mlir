// Upstream mlir-opt (Debian's, linked to libMLIR.so) loads the glu dialect
// and passes from the plugin. Pass plugins are loaded after the command line
// is parsed, so passes are named in --pass-pipeline.
// RUN: mlir-opt --load-dialect-plugin=%swiglu_plugin %s | FileCheck %s --check-prefix=PARSE
// RUN: mlir-opt --load-dialect-plugin=%swiglu_plugin --load-pass-plugin=%swiglu_plugin %s \
// RUN:   --pass-pipeline="builtin.module(glu-fuse-ffn{tile-tokens=2 chunk-ff=8},convert-glu-to-linalg)" \
// RUN:   | FileCheck %s --check-prefix=FUSE
// RUN: mlir-opt --load-dialect-plugin=%swiglu_plugin --load-pass-plugin=%swiglu_plugin %s \
// RUN:   --pass-pipeline="builtin.module(glu-fuse,glu-cpu-reference-pipeline)" \
// RUN:   | FileCheck %s --check-prefix=LLVM
// RUN: mlir-opt --load-dialect-plugin=%swiglu_plugin --load-pass-plugin=%swiglu_plugin %s \
// RUN:   --pass-pipeline="builtin.module(glu-report)" --verify-diagnostics -o /dev/null
// Without the plugin, upstream mlir-opt does not know the dialect.
// RUN: not mlir-opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN

// PARSE-LABEL: func.func @block
// PARSE: glu.ffn silu %{{.*}} : tensor<4x8xf32> gate_up %{{.*}} : tensor<32x8xf32> down %{{.*}} : tensor<8x16xf32> -> tensor<4x8xf32>
// FUSE-LABEL: func.func @block
// FUSE: scf.forall
// FUSE: scf.for
// FUSE: linalg.matmul
// FUSE-NOT: glu.
// LLVM: llvm.func @block
// LLVM-NOT: glu.
// NOPLUGIN: Dialect `glu' not found for custom op 'glu.ffn'
func.func @block(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{glu.ffn silu: d_model=8 d_ff=16 d_out=8 tokens=4; params=384}}
  %y = glu.ffn silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
