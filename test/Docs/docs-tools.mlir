// docs/tools.md's code blocks, run as written (readme_blocks.py) in one
// directory: swiglu-compile, then random .npy inputs (Python), swiglu-run
// through the reference pipeline, and the fast pipeline with the weights
// packed first.
// REQUIRES: numpy
// RUN: %python %S/readme_blocks.py %swiglu_src/docs/tools.md --src %swiglu_src \
// RUN:   --build %swiglu_obj --python %python --workdir %t | FileCheck %s
// CHECK: === docs/tools.md:{{[0-9]+}} (sh)
// CHECK: === docs/tools.md:{{[0-9]+}} (python)
// CHECK: === docs/tools.md:{{[0-9]+}} (sh)
// CHECK: swiglu-run: @llama_ffn calls=10 min_ms={{[0-9.]+}} median_ms={{[0-9.]+}}
// CHECK: === docs/tools.md:{{[0-9]+}} (sh)
// CHECK: swiglu-run: @llama_ffn calls=10 min_ms={{[0-9.]+}} median_ms={{[0-9.]+}}
// CHECK: README BLOCKS: 4 run, 0 skipped, all passed
// swiglu-compile's library and header: the entry point and the packing
// function.
// RUN: llvm-readelf --dyn-syms %t/libllama_ffn.so | FileCheck %s --check-prefix=LIB
// LIB-DAG: _mlir_ciface_llama_ffn{{$}}
// LIB-DAG: _mlir_ciface_llama_ffn_pack_weights{{$}}
// RUN: FileCheck %s --check-prefix=HDR < %t/llama_ffn.h
// HDR: void _mlir_ciface_llama_ffn(swiglu_memref_3d *result,
// HDR: void _mlir_ciface_llama_ffn_pack_weights(
// The last block's out.npy (fast pipeline, packed weights) is the block's
// value: SiLU(x·Wgᵀ) ⊙ (x·Wuᵀ) · Wdᵀ in numpy.
// RUN: %python -c "import numpy as np; L = lambda n: np.load('%t/' + n + '.npy'); x, g, u, d, y = map(L, ['x', 'wg', 'wu', 'wd', 'out']); h = x @ g.T; r = (h / (1 + np.exp(-h)) * (x @ u.T)) @ d.T; print(y.shape, bool(np.allclose(y, r, rtol=1e-4, atol=1e-4)))" | FileCheck %s --check-prefix=OUT
// OUT: (2, 16, 1024) True
