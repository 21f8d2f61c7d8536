// glu-float16-storage-as-i16: bf16/f16 values that are only moved become
// i16 in the LLVM dialect (no f32 promotion and __truncsfbf2 in LLVM's x86
// backend); operations that compute with them get bitcasts.
// RUN: swiglu-opt %s --glu-float16-storage-as-i16 | FileCheck %s

// CHECK-LABEL: llvm.func @masked_store(
// CHECK:         %[[V:.*]] = llvm.load %{{.*}} : !llvm.ptr -> vector<16xi16>
// CHECK:         llvm.intr.masked.store %[[V]], %{{.*}}, %{{.*}} {alignment = 2 : i32} : vector<16xi16>, vector<16xi1> into !llvm.ptr
// CHECK-NOT:     bf16
llvm.func @masked_store(%p: !llvm.ptr, %q: !llvm.ptr, %m: vector<16xi1>) {
  %v = llvm.load %p : !llvm.ptr -> vector<16xbf16>
  llvm.intr.masked.store %v, %q, %m {alignment = 2 : i32} : vector<16xbf16>, vector<16xi1> into !llvm.ptr
  llvm.return
}

// Constants keep their bits; a value through a block argument stays i16.
// CHECK-LABEL: llvm.func @branches(
// CHECK:         llvm.mlir.constant(16256 : i16) : i16
// CHECK:         ^bb1(%{{.*}}: i16):
// CHECK-NOT:     bf16
llvm.func @branches(%p: !llvm.ptr, %c: i1) {
  %one = llvm.mlir.constant(1.0 : bf16) : bf16
  %v = llvm.load %p : !llvm.ptr -> bf16
  llvm.cond_br %c, ^bb1(%one : bf16), ^bb1(%v : bf16)
^bb1(%x: bf16):
  llvm.store %x, %p : bf16, !llvm.ptr
  llvm.return
}

// Arithmetic keeps its types, with bitcasts at the boundary.
// CHECK-LABEL: llvm.func @compute(
// CHECK:         %[[L:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i16
// CHECK:         %[[F:.*]] = llvm.bitcast %[[L]] : i16 to f16
// CHECK:         %[[E:.*]] = llvm.fpext %[[F]] : f16 to f32
// CHECK:         %[[T:.*]] = llvm.fptrunc %{{.*}} : f32 to f16
// CHECK:         %[[I:.*]] = llvm.bitcast %[[T]] : f16 to i16
// CHECK:         llvm.store %[[I]], %{{.*}} : i16, !llvm.ptr
llvm.func @compute(%p: !llvm.ptr) {
  %h = llvm.load %p : !llvm.ptr -> f16
  %f = llvm.fpext %h : f16 to f32
  %g = llvm.fadd %f, %f : f32
  %t = llvm.fptrunc %g : f32 to f16
  llvm.store %t, %p : f16, !llvm.ptr
  llvm.return
}

// Aggregates keep their types (an LLVM bitcast cannot convert them): a
// value inserted into one is cast back to bf16 there.
// CHECK-LABEL: llvm.func @aggregate(
// CHECK:         %[[L:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i16
// CHECK:         %[[B:.*]] = llvm.bitcast %[[L]] : i16 to bf16
// CHECK:         llvm.insertvalue %[[B]], %{{.*}}[0] : !llvm.struct<(bf16, bf16)>
// CHECK:         llvm.return %{{.*}} : !llvm.struct<(bf16, bf16)>
llvm.func @aggregate(%p: !llvm.ptr) -> !llvm.struct<(bf16, bf16)> {
  %v = llvm.load %p : !llvm.ptr -> bf16
  %u = llvm.mlir.undef : !llvm.struct<(bf16, bf16)>
  %a = llvm.insertvalue %v, %u[0] : !llvm.struct<(bf16, bf16)>
  %b = llvm.insertvalue %v, %a[1] : !llvm.struct<(bf16, bf16)>
  llvm.return %b : !llvm.struct<(bf16, bf16)>
}
