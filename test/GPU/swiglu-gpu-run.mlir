// The kernel bundle and its launcher without a GPU: the manifest (format,
// entries, launches), input checking against it, and the clean failure
// when no CUDA driver can be loaded.
// REQUIRES: numpy
// RUN: rm -rf %t && mkdir -p %t
// RUN: swiglu-gpu-compile %s -o %t/bundle --no-cubin | FileCheck %s --check-prefix=COMPILE
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/bundle/manifest.json
// RUN: %python %S/check_bundle.py %t/bundle 2 | FileCheck %s --check-prefix=BUNDLE
// RUN: %python -c "import numpy as np; np.save('%t/x.npy', np.ones((2, 3, 64), np.float16)); np.save('%t/w.npy', np.ones((192, 64), np.float16)); np.save('%t/wd.npy', np.ones((64, 96), np.float16)); np.save('%t/x32.npy', np.ones((2, 64), np.float32)); np.save('%t/bad.npy', np.ones((2, 1, 65), np.float16))"
// RUN: not swiglu-gpu-run %t/bundle -i %t/x.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=ENTRY
// RUN: not swiglu-gpu-run %t/bundle --entry=ffn -i %t/x.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not swiglu-gpu-run %t/bundle --entry=ffn -i %t/x32.npy -i %t/w.npy -i %t/wd.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not swiglu-gpu-run %t/bundle --entry=ffn -i %t/bad.npy -i %t/w.npy -i %t/wd.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not swiglu-gpu-run %t/nothing --entry=ffn -i %t/x.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %if cuda-gpu %{ true %} %else %{ not swiglu-gpu-run %t/bundle --entry=ffn -i %t/x.npy -i %t/w.npy -i %t/wd.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=NODRIVER %}
// RUN: %if cuda-gpu %{ true %} %else %{ %python -c "import subprocess, sys; sys.exit(subprocess.run(['%swiglu_obj/bin/swiglu-gpu-run', '%t/bundle', '--entry=ffn', '-i', '%t/x.npy', '-i', '%t/w.npy', '-i', '%t/wd.npy', '-o', '%t/out.npy'], capture_output=True).returncode != 3)" %}

// COMPILE: wrote {{.*}}bundle (2 entries, PTX)
// MANIFEST: "cubin": null,
// MANIFEST: "entries": {
// MANIFEST:   "ffn": {
// MANIFEST:     "inputs": [
// MANIFEST:         "dtype": "f16",
// MANIFEST:         "name": "x",
// MANIFEST:         "name": "gate_up",
// MANIFEST:         "name": "down",
// MANIFEST:     "launches": [
// MANIFEST:         "args": [
// MANIFEST-NEXT:      "arg0",
// MANIFEST-NEXT:      "arg1",
// MANIFEST-NEXT:      "hidden",
// MANIFEST-NEXT:      "size:M",
// MANIFEST-NEXT:      "size:D",
// MANIFEST-NEXT:      "size:F"
// MANIFEST:         "block": [
// MANIFEST-NEXT:      256,
// MANIFEST:         "grid": [
// MANIFEST-NEXT:      [
// MANIFEST-NEXT:        "F",
// MANIFEST-NEXT:        8
// MANIFEST:         "kernel": "ffn_gate_up_decode1",
// MANIFEST-NEXT:    "kind": "decode",
// MANIFEST-NEXT:    "tokens": [
// MANIFEST-NEXT:      0,
// MANIFEST-NEXT:      1
// MANIFEST:         "kernel": "ffn_gate_up_decode",
// MANIFEST-NEXT:    "kind": "decode",
// MANIFEST-NEXT:    "tokens": [
// MANIFEST-NEXT:      2,
// MANIFEST-NEXT:      8
// MANIFEST:         "dynamic_shared_bytes": 46080,
// MANIFEST:         "kernel": "ffn_gate_up_mma",
// MANIFEST:         "kernel": "ffn_down_decode",
// MANIFEST:         "kernel": "ffn_down_mma",
// MANIFEST:     "sizes": {
// MANIFEST:       "F": {
// MANIFEST-NEXT:    "arg": 2,
// MANIFEST:     "temporaries": [
// MANIFEST:         "dtype": "f32",
// MANIFEST:         "name": "hidden"
// MANIFEST:   "gate": {
// MANIFEST: "format": "swiglu-gpu-bundle",
// BUNDLE: BUNDLE 2 entries 7 kernels decode:4 mma:2 simt:1 chip=sm_90 cubin=no
// ENTRY: swiglu-gpu-run: error: {{.*}}manifest.json: 2 entries, name one with --entry
// COUNT: swiglu-gpu-run: error: the entry takes 3 inputs, got 1
// DTYPE: swiglu-gpu-run: error: {{.*}}x32.npy: dtype <f4, input 0 is f16 (<f2)
// SHAPE: swiglu-gpu-run: error: input 0 ('x'): dim 2 is 65, expected 64
// MISSING: swiglu-gpu-run: error: cannot read {{.*}}nothing/manifest.json
// NODRIVER: swiglu-gpu-run: error: no CUDA driver found (dlopen libcuda.so.1:

func.func @ffn(%x: tensor<?x?x64xf16>, %w: tensor<192x64xf16>, %wd: tensor<64x96xf16>)
    -> tensor<?x?x64xf16> {
  %y = glu.ffn silu %x : tensor<?x?x64xf16> gate_up %w : tensor<192x64xf16>
         down %wd : tensor<64x96xf16> -> tensor<?x?x64xf16>
  return %y : tensor<?x?x64xf16>
}

func.func @gate(%g: tensor<?xbf16>, %u: tensor<?xbf16>) -> tensor<?xbf16> {
  %h = glu.gate gelu_tanh %g, %u : tensor<?xbf16>
  return %h : tensor<?xbf16>
}
