// The Python package's tests (python/tests) that need no torch, through the
// C API library of this build; the PyTorch ones are torch-*.mlir here.
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider %swiglu_src/python/tests \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_frontend.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_module.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_backend.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_backend_training.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_training.py | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
