// Mixture of experts: glu.route then glu.moe (the routers of Mixtral,
// Qwen3-MoE in bf16, DeepSeek-V3 with its group-limited selection and
// DeepSeek-V2's, GPT-OSS with clamped SwiGLU; exact ties in the logits;
// precomputed routing with ids outside [0, E) and an expert chosen twice)
// through the reference and the fast CPU pipelines (glu-moe-to-experts,
// every expert's weights packed once by moe_pack_weights), against the float64
// numpy reference (python/swiglu/reference_moe.py): the same expert ids,
// routing weights within 1e-5, outputs within 2e-5 (bf16: 1e-2). See moe.py.
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python %S/moe.py | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: OK mixtral cpu{threads=2} (packed at load)
// CHECK: OK gpt_oss cpu{threads=2} (packed at load)
// CHECK: OK ties_softmax cpu-reference
// CHECK: OK precomputed cpu{threads=2} (packed at load)
// CHECK: ALL OK
