"""Load-time cost of the fast CPU target: `CompiledFFN.bind()` packs a
LLaMA-7B block's weights (d_model 4096, d_ff 11008, PyTorch [out, in]) once,
through the emitted packing function. Prints the best of 3 binds per dtype
and checks a 3-token call against a numpy SwiGLU written from the formula.

    python bench/pack_time.py        (the project's venv, after the build)
"""
import os
import sys
import time

import ml_dtypes
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from swiglu.ffn import FFNSpec  # noqa: E402

D, F = 4096, 11008
rng = np.random.default_rng(0)
for dtype, npd in (("f32", np.float32), ("bf16", ml_dtypes.bfloat16)):
    compiled = FFNSpec(d_model=D, d_ff=F, dtype=dtype).compile(target="cpu", fuse=False)
    scale = D ** -0.5
    w = {name: (rng.standard_normal(shape, dtype=np.float32) * scale).astype(npd)
         for name, shape in (("w_gate", (F, D)), ("w_up", (F, D)), ("w_down", (D, F)))}
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        ffn = compiled.bind(**w)
        best = min(best, time.perf_counter() - start)
    x = rng.standard_normal((3, D), dtype=np.float32).astype(npd)
    y = ffn(x).astype(np.float64)
    xf = x.astype(np.float64)
    g = xf @ w["w_gate"].astype(np.float64).T
    u = xf @ w["w_up"].astype(np.float64).T
    ref = (g / (1 + np.exp(-g)) * u) @ w["w_down"].astype(np.float64).T
    err = np.abs(y - ref).max() / np.abs(ref).max()
    print("%-4s %dx%d: bind (packing %.0f MB of weights) best of 3: %.3f s; "
          "max error / max |y| %.1e" % (dtype, D, F, 3 * D * F * np.dtype(npd).itemsize / 1e6,
                                        best, err))
