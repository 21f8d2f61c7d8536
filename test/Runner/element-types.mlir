// Every supported element type crosses the .npy boundary and comes back with
// the values numpy computes independently; bf16 as raw '<u2' patterns (and as
// the '<V2' np.save writes for ml_dtypes.bfloat16), f16 as '<f2', i1 as '|b1'.

// REQUIRES: numpy
// RUN: rm -rf %t && mkdir -p %t

// RUN: %python %S/npy_tool.py write %t/f64a.npy f64 2x3x4 --seed 1
// RUN: %python %S/npy_tool.py write %t/f64b.npy f64 2x3x4 --seed 2
// RUN: swiglu-run %s --entry=mul_f64 -i %t/f64a.npy -i %t/f64b.npy -o %t/f64.npy
// RUN: %python %S/npy_tool.py check %t/f64.npy f64 "a * b" a=%t/f64a.npy b=%t/f64b.npy | FileCheck %s --check-prefix=F64
// F64: OK f64 (2, 3, 4)

// RUN: %python %S/npy_tool.py write %t/f32a.npy f32 scalar --values 1.5
// RUN: %python %S/npy_tool.py write %t/f32b.npy f32 scalar --values -2.25
// RUN: swiglu-run %s --entry=mul_f32_rank0 -i %t/f32a.npy -i %t/f32b.npy -o %t/f32.npy
// RUN: %python %S/npy_tool.py check %t/f32.npy f32 "a * b" a=%t/f32a.npy b=%t/f32b.npy | FileCheck %s --check-prefix=F32
// F32: OK f32 ()

// RUN: %python %S/npy_tool.py write %t/f16a.npy f16 33 --seed 3
// RUN: %python %S/npy_tool.py write %t/f16b.npy f16 33 --seed 4
// RUN: swiglu-run %s --entry=add_f16 -i %t/f16a.npy -i %t/f16b.npy -o %t/f16.npy
// RUN: %python %S/npy_tool.py check %t/f16.npy f16 "a + b" a=%t/f16a.npy b=%t/f16b.npy | FileCheck %s --check-prefix=F16
// F16: OK f16 (33,)

// RUN: %python %S/npy_tool.py write %t/bf16a.npy bf16 5x17 --seed 5
// RUN: %python %S/npy_tool.py write %t/bf16b.npy bf16-void 5x17 --seed 6
// RUN: swiglu-run %s --entry=add_bf16 -i %t/bf16a.npy -i %t/bf16b.npy -o %t/bf16.npy
// RUN: %python %S/npy_tool.py check %t/bf16.npy bf16 "a.astype(np.float32) + b.astype(np.float32)" a=%t/bf16a.npy b=%t/bf16b.npy | FileCheck %s --check-prefix=BF16
// BF16: OK bf16 (5, 17)

// f64 -> bf16 is a runtime call (__truncdfbf2) that Debian 12's libgcc lacks;
// it resolves without --shared-libs. (MLIR's implementation rounds through
// f32, as ml_dtypes does, so the values avoid double-rounding cases.)
// RUN: %python %S/npy_tool.py write %t/f64c.npy f64 7 --values 3.3,-0.001,65536.5,1e30,-2.5e-30,1.00390625,1.01171875
// RUN: swiglu-run %s --entry=trunc_f64_to_bf16 -i %t/f64c.npy -o %t/bf16c.npy
// RUN: %python %S/npy_tool.py check %t/bf16c.npy bf16 "a" a=%t/f64c.npy | FileCheck %s --check-prefix=TRUNC
// TRUNC: OK bf16 (7,)

// RUN: %python %S/npy_tool.py write %t/i64a.npy i64 6 --seed 7
// RUN: %python %S/npy_tool.py write %t/i64b.npy i64 6 --seed 8
// RUN: swiglu-run %s --entry=sub_i64 -i %t/i64a.npy -i %t/i64b.npy -o %t/i64.npy
// RUN: %python %S/npy_tool.py check %t/i64.npy i64 "a - b" a=%t/i64a.npy b=%t/i64b.npy | FileCheck %s --check-prefix=I64
// I64: OK i64 (6,)

// RUN: %python %S/npy_tool.py write %t/i32a.npy i32 2x2 --seed 9
// RUN: %python %S/npy_tool.py write %t/i32b.npy i32 2x2 --seed 10
// RUN: swiglu-run %s --entry=add_i32 -i %t/i32a.npy -i %t/i32b.npy -o %t/i32.npy
// RUN: %python %S/npy_tool.py check %t/i32.npy i32 "a + b" a=%t/i32a.npy b=%t/i32b.npy | FileCheck %s --check-prefix=I32
// I32: OK i32 (2, 2)

// RUN: %python %S/npy_tool.py write %t/i16a.npy i16 9 --seed 11
// RUN: %python %S/npy_tool.py write %t/i16b.npy i16 9 --seed 12
// RUN: swiglu-run %s --entry=mul_i16 -i %t/i16a.npy -i %t/i16b.npy -o %t/i16.npy
// RUN: %python %S/npy_tool.py check %t/i16.npy i16 "a * b" a=%t/i16a.npy b=%t/i16b.npy | FileCheck %s --check-prefix=I16
// I16: OK i16 (9,)

// RUN: %python %S/npy_tool.py write %t/i8a.npy i8 3x3 --seed 13
// RUN: %python %S/npy_tool.py write %t/i8b.npy i8 3x3 --seed 14
// RUN: swiglu-run %s --entry=add_i8 -i %t/i8a.npy -i %t/i8b.npy -o %t/i8.npy
// RUN: %python %S/npy_tool.py check %t/i8.npy i8 "a + b" a=%t/i8a.npy b=%t/i8b.npy | FileCheck %s --check-prefix=I8
// I8: OK i8 (3, 3)

// RUN: %python %S/npy_tool.py write %t/i1a.npy i1 4x4 --seed 15
// RUN: %python %S/npy_tool.py write %t/i1b.npy i1 4x4 --seed 16
// RUN: swiglu-run %s --entry=xor_i1 -i %t/i1a.npy -i %t/i1b.npy -o %t/i1.npy
// RUN: %python %S/npy_tool.py check %t/i1.npy i1 "a ^ b" a=%t/i1a.npy b=%t/i1b.npy | FileCheck %s --check-prefix=I1
// I1: OK i1 (4, 4)

#id1 = affine_map<(d0) -> (d0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#scalar = affine_map<() -> ()>

func.func @mul_f64(%a: tensor<2x3x4xf64>, %b: tensor<2x3x4xf64>) -> tensor<2x3x4xf64> {
  %init = tensor.empty() : tensor<2x3x4xf64>
  %r = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %b : tensor<2x3x4xf64>, tensor<2x3x4xf64>) outs(%init : tensor<2x3x4xf64>) {
  ^bb0(%x: f64, %y: f64, %o: f64):
    %v = arith.mulf %x, %y : f64
    linalg.yield %v : f64
  } -> tensor<2x3x4xf64>
  return %r : tensor<2x3x4xf64>
}

func.func @mul_f32_rank0(%a: tensor<f32>, %b: tensor<f32>) -> tensor<f32> {
  %init = tensor.empty() : tensor<f32>
  %r = linalg.generic {indexing_maps = [#scalar, #scalar, #scalar], iterator_types = []}
      ins(%a, %b : tensor<f32>, tensor<f32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %v = arith.mulf %x, %y : f32
    linalg.yield %v : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

func.func @add_f16(%a: tensor<?xf16>, %b: tensor<?xf16>) -> tensor<?xf16> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?xf16>
  %init = tensor.empty(%n) : tensor<?xf16>
  %r = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%a, %b : tensor<?xf16>, tensor<?xf16>) outs(%init : tensor<?xf16>) {
  ^bb0(%x: f16, %y: f16, %o: f16):
    %v = arith.addf %x, %y : f16
    linalg.yield %v : f16
  } -> tensor<?xf16>
  return %r : tensor<?xf16>
}

func.func @add_bf16(%a: tensor<?x17xbf16>, %b: tensor<5x?xbf16>) -> tensor<5x17xbf16> {
  %init = tensor.empty() : tensor<5x17xbf16>
  %r = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<?x17xbf16>, tensor<5x?xbf16>) outs(%init : tensor<5x17xbf16>) {
  ^bb0(%x: bf16, %y: bf16, %o: bf16):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %s = arith.addf %xf, %yf : f32
    %v = arith.truncf %s : f32 to bf16
    linalg.yield %v : bf16
  } -> tensor<5x17xbf16>
  return %r : tensor<5x17xbf16>
}

func.func @trunc_f64_to_bf16(%a: tensor<?xf64>) -> tensor<?xbf16> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?xf64>
  %init = tensor.empty(%n) : tensor<?xbf16>
  %r = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%a : tensor<?xf64>) outs(%init : tensor<?xbf16>) {
  ^bb0(%x: f64, %o: bf16):
    %v = arith.truncf %x : f64 to bf16
    linalg.yield %v : bf16
  } -> tensor<?xbf16>
  return %r : tensor<?xbf16>
}

func.func @sub_i64(%a: tensor<6xi64>, %b: tensor<6xi64>) -> tensor<6xi64> {
  %init = tensor.empty() : tensor<6xi64>
  %r = linalg.sub ins(%a, %b : tensor<6xi64>, tensor<6xi64>) outs(%init : tensor<6xi64>) -> tensor<6xi64>
  return %r : tensor<6xi64>
}

func.func @add_i32(%a: tensor<2x2xi32>, %b: tensor<2x2xi32>) -> tensor<2x2xi32> {
  %init = tensor.empty() : tensor<2x2xi32>
  %r = linalg.add ins(%a, %b : tensor<2x2xi32>, tensor<2x2xi32>) outs(%init : tensor<2x2xi32>) -> tensor<2x2xi32>
  return %r : tensor<2x2xi32>
}

func.func @mul_i16(%a: tensor<9xi16>, %b: tensor<9xi16>) -> tensor<9xi16> {
  %init = tensor.empty() : tensor<9xi16>
  %r = linalg.mul ins(%a, %b : tensor<9xi16>, tensor<9xi16>) outs(%init : tensor<9xi16>) -> tensor<9xi16>
  return %r : tensor<9xi16>
}

func.func @add_i8(%a: tensor<3x3xi8>, %b: tensor<3x3xi8>) -> tensor<3x3xi8> {
  %init = tensor.empty() : tensor<3x3xi8>
  %r = linalg.add ins(%a, %b : tensor<3x3xi8>, tensor<3x3xi8>) outs(%init : tensor<3x3xi8>) -> tensor<3x3xi8>
  return %r : tensor<3x3xi8>
}

func.func @xor_i1(%a: tensor<4x4xi1>, %b: tensor<4x4xi1>) -> tensor<4x4xi1> {
  %init = tensor.empty() : tensor<4x4xi1>
  %r = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x4xi1>, tensor<4x4xi1>) outs(%init : tensor<4x4xi1>) {
  ^bb0(%x: i1, %y: i1, %o: i1):
    %v = arith.xori %x, %y : i1
    linalg.yield %v : i1
  } -> tensor<4x4xi1>
  return %r : tensor<4x4xi1>
}
