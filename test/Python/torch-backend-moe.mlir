// torch.compile(backend="swiglu") on mixture-of-experts blocks: the routed
// expert loop of Mixtral's and Qwen-MoE's sparse blocks as published, traced
// whole with capture_dynamic_output_shape_ops, replaced by one
// torch.ops.swiglu.moe (static and dynamic token counts, one packed copy,
// repacking, a shared expert beside it), against eager PyTorch; without the
// capture flag and with gradients required the loop stays PyTorch's;
// GPT-OSS's dense stacked experts run on the top k (and stay dense where
// the scores are not a top-k scatter).
// REQUIRES: torch
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so SWIGLU_VERSUS_CACHE=off \
// RUN:   %python -m pytest -q -p no:cacheprovider \
// RUN:   %swiglu_src/python/tests/test_torch_backend_moe.py | FileCheck %s
// CHECK: 11 passed
// CHECK-NOT: failed
// CHECK-NOT: skipped
