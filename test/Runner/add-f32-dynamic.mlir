// Runs one function on f32 tensors with dynamic dims, on several shapes
// (including an empty one), at several optimization levels, from .npy files
// of format versions 1.0, 2.0 and 3.0, and checks the timing line.

// REQUIRES: numpy
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/npy_tool.py write %t/a.npy f32 3x5 --seed 1
// RUN: %python %S/npy_tool.py write %t/b.npy f32 3x5 --seed 2 --format-version 2
// RUN: swiglu-run %s -i %t/a.npy -i %t/b.npy -o %t/c.npy | count 0
// RUN: %python %S/npy_tool.py check %t/c.npy f32 "a + b" a=%t/a.npy b=%t/b.npy | FileCheck %s --check-prefix=CHECK-3x5
// CHECK-3x5: OK f32 (3, 5)

// The temporary file an output is written through is gone.
// RUN: ls %t | FileCheck %s --check-prefix=LS --implicit-check-not=tmp
// LS: a.npy
// LS: b.npy
// LS: c.npy

// Other shapes through the same dynamic function, other -O levels.
// RUN: %python %S/npy_tool.py write %t/a2.npy f32 7x1 --seed 3 --format-version 3
// RUN: %python %S/npy_tool.py write %t/b2.npy f32 7x1 --seed 4
// RUN: swiglu-run %s -O0 -i %t/a2.npy -i %t/b2.npy -o %t/c2.npy
// RUN: %python %S/npy_tool.py check %t/c2.npy f32 "a + b" a=%t/a2.npy b=%t/b2.npy | FileCheck %s --check-prefix=CHECK-7x1
// CHECK-7x1: OK f32 (7, 1)
// RUN: %python %S/npy_tool.py write %t/a3.npy f32 4x0
// RUN: %python %S/npy_tool.py write %t/b3.npy f32 4x0
// RUN: swiglu-run %s -O=3 --entry=@add -i %t/a3.npy -i %t/b3.npy -o %t/c3.npy
// RUN: %python %S/npy_tool.py check %t/c3.npy f32 "a + b" a=%t/a3.npy b=%t/b3.npy | FileCheck %s --check-prefix=CHECK-4x0
// CHECK-4x0: OK f32 (4, 0)

// Timing: one line on stdout with --repeat above 1 or with --time; running
// without -o is allowed.
// RUN: swiglu-run %s -i %t/a.npy -i %t/b.npy --warmup=2 --repeat=5 | FileCheck %s --check-prefix=TIME5
// TIME5: swiglu-run: @add calls=5 min_ms={{[0-9]+\.[0-9]+}} median_ms={{[0-9]+\.[0-9]+}} mean_ms={{[0-9]+\.[0-9]+}}{{$}}
// RUN: swiglu-run %s -i %t/a.npy -i %t/b.npy -o %t/c4.npy --time | FileCheck %s --check-prefix=TIME1
// TIME1: swiglu-run: @add calls=1 min_ms=
// RUN: %python %S/npy_tool.py check %t/c4.npy f32 "a + b" a=%t/a.npy b=%t/b.npy | FileCheck %s --check-prefix=CHECK-3x5

func.func @add(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %a, %c0 : tensor<?x?xf32>
  %d1 = tensor.dim %a, %c1 : tensor<?x?xf32>
  %init = tensor.empty(%d0, %d1) : tensor<?x?xf32>
  %sum = linalg.add ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                   outs(%init : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %sum : tensor<?x?xf32>
}

// Private helpers do not count when picking the default entry point.
func.func private @unused(%a: tensor<?x?xf32>) -> tensor<?x?xf32> {
  return %a : tensor<?x?xf32>
}
