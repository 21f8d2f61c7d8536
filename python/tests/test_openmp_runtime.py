"""The OpenMP runtime compiled blocks run their threads on.

In a process with libgomp (after `import torch`), compiled code links
libSwigluGompBridge.so and its parallel regions run on libgomp's threads:
PyTorch's pool, not a second one. These tests check the results against a
numpy reference written from the formula at sizes and team sizes that make
the static schedule split unevenly (fewer iterations than threads included),
that no second OpenMP runtime is loaded, and the choice's errors."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from swiglu import SwigluError  # noqa: E402
from swiglu.ffn import FFNSpec, openmp_runtime  # noqa: E402


def silu(v):
    return v / (1.0 + np.exp(-v))


def reference(x, wg, wu, wd):
    """SwiGLU with [in, out] weights, in float64."""
    x, wg, wu, wd = (a.astype(np.float64) for a in (x, wg, wu, wd))
    return (silu(x @ wg) * (x @ wu)) @ wd


def test_auto_picks_gomp_after_torch():
    assert openmp_runtime() == "gomp"
    assert openmp_runtime("libomp") == "libomp"


def test_unknown_runtime_is_an_error():
    with pytest.raises(SwigluError, match="must be one of 'auto', 'libomp', 'gomp'"):
        openmp_runtime("iomp5")


@pytest.mark.parametrize("d_model,d_ff", [(48, 80), (64, 176)])
def test_gomp_matches_numpy_at_every_team_size(d_model, d_ff):
    spec = FFNSpec(d_model=d_model, d_ff=d_ff, activation="silu", layout="in_out")
    ffn = spec.compile(openmp="gomp")
    assert ffn.openmp == "gomp"
    rng = np.random.default_rng(7)
    wg = (rng.standard_normal((d_model, d_ff)) / np.sqrt(d_model)).astype(np.float32)
    wu = (rng.standard_normal((d_model, d_ff)) / np.sqrt(d_model)).astype(np.float32)
    wd = (rng.standard_normal((d_ff, d_model)) / np.sqrt(d_ff)).astype(np.float32)
    bound = ffn.bind(w_gate=wg, w_up=wu, w_down=wd)
    before = torch.get_num_threads()
    try:
        for threads in (1, 2, 3, 5):
            torch.set_num_threads(threads)
            for tokens in (1, 2, 3, 17, 130):
                x = rng.standard_normal((tokens, d_model), np.float32)
                want = reference(x, wg, wu, wd)
                got = bound(x)
                err = np.abs(got - want).max() / np.abs(want).max()
                assert err < 1e-5, (threads, tokens, err)
    finally:
        torch.set_num_threads(before)


def test_one_openmp_runtime_in_the_process():
    """A fresh process that imports torch and runs a compiled block has
    libgomp loaded and no libomp."""
    code = textwrap.dedent("""
        import numpy as np, torch
        from swiglu.ffn import FFNSpec
        spec = FFNSpec(d_model=32, d_ff=64, activation="silu")
        f = spec.compile()
        x = np.ones((4, 32), np.float32)
        w = np.full((64, 32), 0.01, np.float32)
        y = f(x, w_gate=w, w_up=w, w_down=np.full((32, 64), 0.01, np.float32))
        assert np.isfinite(y).all()
        maps = open("/proc/self/maps").read()
        print(f.openmp, "libgomp" in maps, "libomp.so" in maps)
    """)
    env = dict(os.environ)
    env.pop("SWIGLU_OPENMP", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["gomp", "True", "False"], out


def test_gomp_block_inside_a_libgomp_region():
    """A block called from inside a libgomp parallel region (each member of a
    team of 3 calls it, on its own input): the bridge runs its regions inline
    on the calling thread, a team of one, so every member gets its whole
    result (the thread numbers of the outer team must not split the work)."""
    import ctypes
    d_model, d_ff = 48, 80
    spec = FFNSpec(d_model=d_model, d_ff=d_ff, activation="silu", layout="in_out")
    rng = np.random.default_rng(3)
    wg, wu = (rng.standard_normal((d_model, d_ff)).astype(np.float32) * 0.2 for _ in "gu")
    wd = rng.standard_normal((d_ff, d_model)).astype(np.float32) * 0.2
    bound = spec.compile(openmp="gomp").bind(w_gate=wg, w_up=wu, w_down=wd)
    gomp = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD)
    member = gomp.omp_get_thread_num
    inputs = [rng.standard_normal((tokens, d_model)).astype(np.float32) for tokens in (1, 7, 130)]
    outputs = [np.zeros((x.shape[0], d_model), np.float32) for x in inputs]
    seen = []

    @ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    def body(_):
        i = member()
        seen.append(i)
        x = inputs[i]
        bound.call_into(x.ctypes.data, x.shape[0], outputs[i].ctypes.data)

    gomp.GOMP_parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # the inner blocks would otherwise ask for 2
        gomp.GOMP_parallel(ctypes.cast(body, ctypes.c_void_p), None, 3, 0)
    finally:
        torch.set_num_threads(before)
    assert sorted(seen) == [0, 1, 2]
    for x, got in zip(inputs, outputs):
        want = reference(x, wg, wu, wd)
        assert np.abs(got - want).max() / np.abs(want).max() < 1e-5
