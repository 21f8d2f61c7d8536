// docs/passes.md's code blocks, run as written (readme_blocks.py): the
// report of the example block, and the block fused and lowered to linalg.
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/passes.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/passes.md:{{[0-9]+}} (sh)
// CHECK: remark: glu.ffn silu: d_model=1024 d_ff=2816 d_out=1024 tokens=?; params=8650752 weight_bytes=34603008 flops_per_token=17301504
// CHECK-SAME: 8/3 rule (multiple_of=256, ffn_dim_multiplier=1.00) gives 2816 (matches)
// glu-fuse merged gate/up (packed by an emitted function) and fused the
// block; convert-glu-to-linalg left no glu op.
// CHECK: func.func @llama_ffn({{.*}}tensor<5632x1024xf32> {glu.packed_by = @llama_ffn_pack_gate_up}
// CHECK-NOT: glu.ffn
// CHECK: scf.forall
// CHECK: linalg.matmul
// CHECK-NOT: glu.ffn
// CHECK: func.func @llama_ffn_pack_gate_up({{.*}}attributes {glu.packing_function}
// CHECK: README BLOCKS: 1 run, 1 skipped, all passed
