// Mixture-of-experts blocks: MoESpec (glu.route + glu.moe) against the numpy
// reference, and the PyTorch front end on Mixtral's and Qwen-MoE's sparse
// blocks as published (replaced, state_dict, repacking, save/load, the
// gradient path, a shared-expert block left alone with its reason).
// REQUIRES: torch
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider \
// RUN:   %swiglu_src/python/tests/test_torch_moe.py | FileCheck %s
// CHECK: 16 passed
// CHECK-NOT: failed
// CHECK-NOT: skipped
