// docs/capi.md's code blocks, run as written (readme_blocks.py): upstream
// mlir-opt with SwigluPlugin.so fuses the example block and lowers it.
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/capi.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/capi.md:{{[0-9]+}} (sh)
// CHECK: func.func @llama_ffn({{.*}}glu.packed_by = @llama_ffn_pack_gate_up
// CHECK-NOT: glu.ffn
// CHECK: linalg.matmul
// CHECK-NOT: glu.ffn
// CHECK: func.func @llama_ffn_pack_gate_up
// CHECK: === docs/capi.md:{{[0-9]+}} (cmake) skipped: test/Downstream
// CHECK: === docs/capi.md:{{[0-9]+}} (c) skipped: a declaration
// CHECK: README BLOCKS: 1 run, 2 skipped, all passed
