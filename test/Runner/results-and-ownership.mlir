// Several results, results that alias an argument or a constant, and repeated
// calls: results are freed after every call (never an input buffer, never
// twice), and arguments are never written, so every call sees the same inputs.

// REQUIRES: numpy
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/npy_tool.py write %t/a.npy i32 3x4 --seed 1
// RUN: %python %S/npy_tool.py write %t/b.npy i32 3x4 --seed 2

// RUN: swiglu-run %s --entry=sum_and_difference -i %t/a.npy -i %t/b.npy -o %t/sum.npy -o %t/diff.npy --repeat=3 | FileCheck %s --check-prefix=TIME
// TIME: swiglu-run: @sum_and_difference calls=3
// RUN: %python %S/npy_tool.py check %t/sum.npy i32 "a + b" a=%t/a.npy b=%t/b.npy | FileCheck %s --check-prefix=SUM
// SUM: OK i32 (3, 4)
// RUN: %python %S/npy_tool.py check %t/diff.npy i32 "(a - b).T" a=%t/a.npy b=%t/b.npy | FileCheck %s --check-prefix=DIFF
// DIFF: OK i32 (4, 3)

// RUN: swiglu-run %s --entry=identity_twice -i %t/a.npy -o %t/first.npy -o %t/second.npy --warmup=2 --repeat=3
// RUN: %python %S/npy_tool.py check %t/first.npy i32 "a" a=%t/a.npy | FileCheck %s --check-prefix=ID
// RUN: %python %S/npy_tool.py check %t/second.npy i32 "a" a=%t/a.npy | FileCheck %s --check-prefix=ID
// ID: OK i32 (3, 4)

// RUN: swiglu-run %s --entry=constant --repeat=3 -o %t/constant.npy
// RUN: %python %S/npy_tool.py check %t/constant.npy i32 "np.array([1, 2, 3])" | FileCheck %s --check-prefix=CONST
// CONST: OK i32 (3,)

// Doubling in place into the argument: three calls must still give 2 * a.
// RUN: swiglu-run %s --entry=double_in_place -i %t/a.npy -o %t/doubled.npy --repeat=3
// RUN: %python %S/npy_tool.py check %t/doubled.npy i32 "2 * a" a=%t/a.npy | FileCheck %s --check-prefix=DOUBLE
// DOUBLE: OK i32 (3, 4)

// A function without results runs (and may be timed).
// RUN: swiglu-run %s --entry=no_results -i %t/a.npy --time | FileCheck %s --check-prefix=NORES
// NORES: swiglu-run: @no_results calls=1

func.func @sum_and_difference(%a: tensor<3x4xi32>, %b: tensor<3x4xi32>)
    -> (tensor<3x4xi32>, tensor<4x3xi32>) {
  %init = tensor.empty() : tensor<3x4xi32>
  %sum = linalg.add ins(%a, %b : tensor<3x4xi32>, tensor<3x4xi32>)
                   outs(%init : tensor<3x4xi32>) -> tensor<3x4xi32>
  %diff = linalg.sub ins(%a, %b : tensor<3x4xi32>, tensor<3x4xi32>)
                    outs(%init : tensor<3x4xi32>) -> tensor<3x4xi32>
  %tinit = tensor.empty() : tensor<4x3xi32>
  %t = linalg.transpose ins(%diff : tensor<3x4xi32>) outs(%tinit : tensor<4x3xi32>)
                        permutation = [1, 0]
  return %sum, %t : tensor<3x4xi32>, tensor<4x3xi32>
}

func.func @identity_twice(%a: tensor<?x?xi32>) -> (tensor<?x?xi32>, tensor<?x?xi32>) {
  return %a, %a : tensor<?x?xi32>, tensor<?x?xi32>
}

func.func @constant() -> tensor<3xi32> {
  %c = arith.constant dense<[1, 2, 3]> : tensor<3xi32>
  return %c : tensor<3xi32>
}

func.func @double_in_place(%a: tensor<3x4xi32>) -> tensor<3x4xi32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      outs(%a : tensor<3x4xi32>) {
  ^bb0(%x: i32):
    %v = arith.addi %x, %x : i32
    linalg.yield %v : i32
  } -> tensor<3x4xi32>
  return %r : tensor<3x4xi32>
}

func.func @no_results(%a: tensor<3x4xi32>) {
  return
}
