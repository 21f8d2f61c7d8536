// glu-expand-float-conversions: the conversions LLVM would lower to
// compiler-rt calls become integer arithmetic; f32 <-> f16 only with f16=true
// (targets without F16C). The numerics are tested bit for bit by
// test/Deploy/float-conversions.test.
// RUN: swiglu-opt %s --glu-expand-float-conversions | FileCheck %s
// RUN: swiglu-opt %s --glu-expand-float-conversions=f16=true | FileCheck %s --check-prefix=F16

// CHECK-LABEL: func.func @f32_to_bf16(
// CHECK-NOT:     arith.truncf
// CHECK:         arith.shrui {{.*}} : vector<16xi32>
// CHECK:         arith.select {{.*}} : vector<16xi1>, vector<16xi32>
// CHECK:         arith.trunci {{.*}} : vector<16xi32> to vector<16xi16>
// CHECK:         arith.bitcast {{.*}} : vector<16xi16> to vector<16xbf16>
// CHECK-NOT:     arith.truncf
func.func @f32_to_bf16(%x: vector<16xf32>) -> vector<16xbf16> {
  %y = arith.truncf %x : vector<16xf32> to vector<16xbf16>
  return %y : vector<16xbf16>
}

// f64 -> bf16: rounded to odd in f32 first (the f64 -> f32 truncf stays).
// CHECK-LABEL: func.func @f64_to_bf16(
// CHECK:         arith.truncf {{.*}} : f64 to f32
// CHECK:         arith.extf {{.*}} : f32 to f64
// CHECK:         arith.cmpf one
// CHECK:         arith.ori
// CHECK-NOT:     arith.truncf
// CHECK:         arith.bitcast {{.*}} : i16 to bf16
func.func @f64_to_bf16(%x: f64) -> bf16 {
  %y = arith.truncf %x : f64 to bf16
  return %y : bf16
}

// CHECK-LABEL: func.func @bf16_to_f64(
// CHECK:         arith.bitcast {{.*}} : bf16 to i16
// CHECK:         arith.extui {{.*}} : i16 to i32
// CHECK:         arith.shli
// CHECK:         arith.bitcast {{.*}} : i32 to f32
// CHECK:         arith.extf {{.*}} : f32 to f64
func.func @bf16_to_f64(%x: bf16) -> f64 {
  %y = arith.extf %x : bf16 to f64
  return %y : f64
}

// Without f16=true, f32 <-> f16 stay (vcvtps2ph / vcvtph2ps); f64 -> f16
// goes through f32 rounded to odd, whatever the option.
// CHECK-LABEL: func.func @f16(
// CHECK:         arith.truncf {{.*}} : vector<8xf32> to vector<8xf16>
// CHECK:         arith.extf {{.*}} : vector<8xf16> to vector<8xf32>
// CHECK:         arith.cmpf one
// CHECK:         arith.truncf {{.*}} : f32 to f16
// F16-LABEL:   func.func @f16(
// F16-NOT:       arith.truncf {{.*}} to {{.*}}f16
// F16-NOT:       arith.extf {{.*}}f16 to
// F16:           return
func.func @f16(%x: vector<8xf32>, %d: f64) -> (vector<8xf32>, f16) {
  %h = arith.truncf %x : vector<8xf32> to vector<8xf16>
  %y = arith.extf %h : vector<8xf16> to vector<8xf32>
  %z = arith.truncf %d : f64 to f16
  return %y, %z : vector<8xf32>, f16
}

// A bf16 select moves bit patterns: LLVM would promote it through f32.
// CHECK-LABEL: func.func @select(
// CHECK:         %[[A:.*]] = arith.bitcast %{{.*}} : vector<4xbf16> to vector<4xi16>
// CHECK:         %[[B:.*]] = arith.bitcast %{{.*}} : vector<4xbf16> to vector<4xi16>
// CHECK:         %[[S:.*]] = arith.select %{{.*}}, %[[A]], %[[B]] : vector<4xi1>, vector<4xi16>
// CHECK:         arith.bitcast %[[S]] : vector<4xi16> to vector<4xbf16>
func.func @select(%c: vector<4xi1>, %a: vector<4xbf16>, %b: vector<4xbf16>) -> vector<4xbf16> {
  %y = arith.select %c, %a, %b : vector<4xi1>, vector<4xbf16>
  return %y : vector<4xbf16>
}

// A rounding mode other than to-nearest-even is left alone.
// CHECK-LABEL: func.func @toward_zero(
// CHECK:         arith.truncf %{{.*}} toward_zero : f32 to bf16
func.func @toward_zero(%x: f32) -> bf16 {
  %y = arith.truncf %x toward_zero : f32 to bf16
  return %y : bf16
}
