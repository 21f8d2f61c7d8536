// Every activation at ±1e4, ±Inf, NaN, ±0, ±88, ±100, ±1e20, just past the
// clamp, through glu.gate and glu.ffn, f32 and bf16, against PyTorch's own
// functions (F.silu, F.gelu both forms, F.relu, torch.sigmoid, GPT-OSS's
// clamped SwiGLU): NaN exactly where PyTorch has NaN, the same infinities,
// and no overflow (see extremes.py).
// REQUIRES: torch
// RUN: %python %S/extremes.py --workdir %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: ALL 44 CASES PASSED
