// The installed CMake package works for a downstream project: install the
// build tree, configure test/Downstream/project with find_package(Swiglu),
// build it, and run its pipeline on this file. The installed swiglu-opt and
// plugin run too.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %cmake --install %swiglu_obj --prefix %t/install > %t/install.log
// RUN: %cmake -S %S/project -B %t/build -G Ninja -DCMAKE_MAKE_PROGRAM=%ninja \
// RUN:   -DCMAKE_CXX_COMPILER=%cxx -DCMAKE_PREFIX_PATH=%t/install > %t/configure.log
// RUN: %cmake --build %t/build > %t/build.log
// RUN: %t/build/glu-downstream %s | FileCheck %s
// RUN: %t/install/bin/swiglu-opt %s --glu-fuse | FileCheck %s --check-prefix=TOOL
// RUN: mlir-opt --load-dialect-plugin=%t/install/lib/SwigluPlugin.so %s | FileCheck %s --check-prefix=TOOL

// (One tile and one chunk: canonicalization folds the loops away.)
// CHECK-LABEL: func.func @block
// CHECK: linalg.matmul
// CHECK: math.exp
// CHECK-NOT: glu.
// TOOL-LABEL: func.func @block
func.func @block(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>, %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %y = glu.ffn silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32> down %wd : tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
