// torch.compile(model, backend="swiglu") (swiglu.torch_backend): every
// family's block in a small model, against eager PyTorch; Inductor once.
// REQUIRES: torch
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider \
// RUN:   %swiglu_src/python/tests/test_torch_backend.py | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
// CHECK-NOT: skipped
