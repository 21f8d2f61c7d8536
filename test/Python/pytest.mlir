// The Python package's tests (python/tests) that need no torch, through the
// C API library of this build, except those other tests here run: the
// training ops' (test_grad*.py: pytest-grad.mlir, a shard of its own so
// that lit runs the two halves side by side), the OpenMP runtime's
// (openmp-runtime.mlir) and the PyTorch ones (torch-*.mlir).
// REQUIRES: numpy
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider %swiglu_src/python/tests \
// RUN:   '--ignore-glob=*/test_grad*.py' \
// RUN:   --ignore=%swiglu_src/python/tests/test_openmp_runtime.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_moe.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_frontend.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_module.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_backend.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_backend_training.py \
// RUN:   --ignore=%swiglu_src/python/tests/test_torch_training.py | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
