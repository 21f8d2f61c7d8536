// python -m swiglu.export: from a PyTorch module (Hugging Face's LlamaMLP in
// Inputs/llama_mlp.py) to a shared library in one command, with a dynamic
// token count (f32 and bf16: raised with allow-rounding-changes) and a
// static one through TOSA; --check runs the library on random tokens and
// compares it with the module in PyTorch (float64 on the same weights).
// REQUIRES: torch_mlir
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -m swiglu.export %S/Inputs/llama_mlp.py:MLP --tokens dynamic --dtype f32 -o %t/f32.so --header %t/f32.h --check | FileCheck %s --check-prefix=F32
// RUN: FileCheck %s --check-prefix=HEADER < %t/f32.h
// RUN: %python -m swiglu.export %S/Inputs/llama_mlp.py:MLP --tokens dynamic --dtype bf16 -o %t/bf16.so --check | FileCheck %s --check-prefix=BF16
// RUN: %python -m swiglu.export %S/Inputs/llama_mlp.py:MLP --args '32, 96' --tokens 5 --output-type tosa --mlir %t/tosa.mlir -o %t/tosa.so --check | FileCheck %s --check-prefix=TOSA
// RUN: not %python -m swiglu.export %S/Inputs/llama_mlp.py -o %t/x.so 2>&1 | FileCheck %s --check-prefix=BAD-SPEC
// RUN: not %python -m swiglu.export %S/Inputs/llama_mlp.py:Nothing -o %t/x.so 2>&1 | FileCheck %s --check-prefix=NO-CLASS

// F32: glu-raise: raised to glu.ffn silu
// F32: wrote {{.*}}f32.so and {{.*}}f32.h (entry point main: x [?, 64] f32)
// F32: check: max |library - PyTorch| / max |PyTorch| = {{.*}} (PASS, tolerance 1e-05)

// HEADER: void _mlir_ciface_main(swiglu_memref_2d *result, const swiglu_memref_2d *arg0);

// BF16: glu-raise: raised to glu.ffn silu
// BF16: wrote {{.*}}bf16.so (entry point main: x [?, 64] bf16)
// BF16: check: {{.*}} (PASS, tolerance 0.03)

// TOSA: glu-raise: raised to glu.ffn silu
// TOSA: wrote {{.*}}tosa.so (entry point main: x [5, 32] f32)
// TOSA: check: {{.*}} (PASS, tolerance 1e-05)

// BAD-SPEC: swiglu.export: expected FILE.py:CLASS, got '{{.*}}llama_mlp.py'
// NO-CLASS: swiglu.export: {{.*}}llama_mlp.py has no Nothing
