// glu.moe on 1 to 8 tokens: the grouped decode kernel (glu-cpu-pipeline's
// moe-decode-tokens=8) against the float64 numpy reference (within 2e-5,
// bf16 1e-2) and bit for bit against the per-expert path
// (moe-decode-tokens=0): every activation, experts without tokens, ties,
// ids outside [0, E), an expert chosen several times by a token and split
// over two slots, merged and separate gate/up, both layouts, biases, bf16,
// 1 to 3 threads. See moe_decode.py.
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python %S/moe_decode.py | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: OK sigmoid_t1
// CHECK: OK clamped_swiglu_t8
// CHECK: OK empty_experts_t1
// CHECK: OK qwen_like_bf16
// CHECK: OK ties_t4
// CHECK: OK precomputed_t6
// CHECK: ALL OK
