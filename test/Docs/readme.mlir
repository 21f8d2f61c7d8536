// The README's example code blocks (the five-minute tour), run exactly as
// written (shell blocks with bash, the build's and LLVM's tools on PATH;
// Python blocks with the project's Python, PYTHONPATH=python) in a scratch
// copy of the checkout whose build/ is the build under test. Blocks marked
// `<!-- readme-test: skip: why -->` are listed, not run. The pages of docs/
// have a test each (docs-<page>.mlir).
// REQUIRES: numpy, torch
// RUN: %python %S/readme_blocks.py %swiglu_src/README.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// swiglu-opt: the report, then the fused block lowered to linalg.
// CHECK: === README.md:{{[0-9]+}} (sh)
// CHECK: remark: glu.ffn silu: d_model=1024 d_ff=2816
// CHECK: func.func @llama_ffn({{.*}}glu.packed_by = @llama_ffn_pack_gate_up
// CHECK-NOT: glu.ffn
// CHECK: func.func @llama_ffn_pack_gate_up
// The Python package: the glu IR it prints.
// CHECK: === README.md:{{[0-9]+}} (python)
// CHECK: glu.ffn silu
// The PyTorch front end.
// CHECK: === README.md:{{[0-9]+}} (python)
// CHECK: 1: replaced
// CHECK-NEXT: ffn silu d_model=64 d_ff=176 d_out=64 f32 from MLP (gate_proj/up_proj/down_proj); dispatch auto
// swiglu-compile.
// CHECK: === README.md:{{[0-9]+}} (sh)
// CHECK: README BLOCKS: 4 run, 3 skipped, all passed
// What swiglu-compile wrote: the library and its header, with the entry
// point and the packing function.
// RUN: llvm-readelf --dyn-syms %t/libllama_ffn.so | FileCheck %s --check-prefix=LIB
// LIB-DAG: _mlir_ciface_llama_ffn{{$}}
// LIB-DAG: _mlir_ciface_llama_ffn_pack_weights{{$}}
// RUN: FileCheck %s --check-prefix=HDR < %t/llama_ffn.h
// HDR: void _mlir_ciface_llama_ffn(swiglu_memref_3d *result,
// HDR: void _mlir_ciface_llama_ffn_pack_weights(
