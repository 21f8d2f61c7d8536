// Training through the PyTorch front end (docs/training.md): the compiled
// backward (glu.ffn_grad through --glu-cpu-pipeline) in a
// torch.autograd.Function against PyTorch's autograd, gradcheck of the
// derivative formulas in float64, T5's dropout after the gating in train
// mode, 200 training steps that follow PyTorch's loss curve.
// REQUIRES: torch
// RUN: env SWIGLU_CAPI_LIBRARY=%swiglu_obj/lib/libSwigluCAPI.so \
// RUN:   %python -m pytest -q -p no:cacheprovider \
// RUN:   %swiglu_src/python/tests/test_torch_training.py | FileCheck %s
// CHECK: {{[0-9]+}} passed
// CHECK-NOT: failed
// CHECK-NOT: skipped
