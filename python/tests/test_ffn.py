"""Tests of the swiglu Python package: compile FFN blocks through the C API
and check them against the independent numpy reference."""

import numpy as np
import pytest

import swiglu
from swiglu import _capi, reference as ref

UNIT_ROUNDOFF = {"f32": 2.0**-24, "f16": 2.0**-11, "bf16": 2.0**-8}


def random_operands(spec, seed=0, tokens=(3, 5)):
    """x and the spec's weights/biases, scaled so pre-activations are O(1..8)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tokens + (spec.d_model,))
    arrays = {}
    for name, shape, dtype, _ in spec.operands():
        fan_in = spec.d_ff if name == "w_down" else spec.d_model
        scale = 1.0 if name.startswith("b_") else 3.0 / np.sqrt(fan_in)
        arrays[name] = (rng.standard_normal(shape) * scale).astype(swiglu.ffn.numpy_dtype(dtype))
    return x.astype(swiglu.ffn.numpy_dtype(spec.dtype)), arrays


def reference_of(spec, x, a):
    """The numpy reference (float64 from the rounded inputs)."""
    params = {k: v for k, v in (("beta", spec.beta), ("alpha", spec.alpha),
                                ("limit", spec.limit)) if v is not None}
    if not spec.gated:
        return ref.mlp(x, spec.activation, w_up=a["w_up"], w_down=a["w_down"],
                       b_up=a.get("b_up"), b_down=a.get("b_down"), layout=spec.layout,
                       **params)
    return ref.ffn(x, spec.activation, w_gate=a.get("w_gate"), w_up=a.get("w_up"),
                   w_gate_up=a.get("w_gate_up"), w_down=a["w_down"],
                   b_gate=a.get("b_gate"), b_up=a.get("b_up"),
                   b_gate_up=a.get("b_gate_up"), b_down=a.get("b_down"),
                   layout=spec.layout, packing=spec.packing or "concat", **params)


def assert_close(spec, y, expected):
    # Output rounding, plus f32 accumulation over d_ff terms relative to the
    # output's scale (generous for f32 sums of ~100 terms, still far below
    # the O(1) errors of a wrong layout, packing, bias or activation).
    y64 = y.astype(np.float64)
    tol = UNIT_ROUNDOFF[spec.dtype] * np.abs(expected) + 1e-4 * np.abs(expected).max()
    assert y.shape == expected.shape
    assert np.all(np.abs(y64 - expected) <= tol), np.abs(y64 - expected).max()


CASES = [
    dict(activation="silu"),
    dict(activation="silu", dtype="bf16"),
    dict(activation="gelu_tanh", dtype="f16", layout="in_out"),
    dict(activation="gelu_erf", bias=True),
    dict(activation="relu", packing="concat", bias=True),
    dict(activation="swish", beta=1.5, packing="interleaved", layout="in_out"),
    dict(activation="clamped_swiglu", alpha=1.702, limit=7.0, packing="interleaved",
         bias=True, dtype="bf16"),
    dict(activation="sigmoid", d_out=37),
    dict(activation="identity", weight_dtype="bf16"),
    dict(activation="gelu_tanh", gated=False, bias=True),
    dict(activation="relu", gated=False, layout="in_out", dtype="f16"),
]


TARGETS = {"fast": dict(target="cpu"),
           "reference-fused": dict(target="cpu-reference", fuse=True),
           "reference": dict(target="cpu-reference", fuse=False)}


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join("%s=%s" % kv for kv in c.items()))
def test_matches_reference(case, target):
    spec = swiglu.FFNSpec(d_model=48, d_ff=129, **case)
    x, arrays = random_operands(spec)
    y = spec.compile(**TARGETS[target])(x, **arrays)
    assert y.dtype == swiglu.ffn.numpy_dtype(spec.dtype)
    assert_close(spec, y, reference_of(spec, x, arrays))


# CPUs other than the host: without AVX512_BF16 (bf16 conversions become
# integer code, no vdpbf16ps) and x86-64 (128-bit vectors, no FMA, no F16C).
# Both run on any x86-64 host; the libraries they give need only libc, libm
# and libomp (test/Deploy/runtime-symbols.test checks the symbols).
OTHER_CPUS = {"no-avx512bf16": "target-features=-avx512bf16",
              "x86-64": "target-cpu=x86-64"}


@pytest.mark.parametrize("cpu", list(OTHER_CPUS))
@pytest.mark.parametrize("case", [c for c in CASES if "bf16" in c.values() or "f16" in c.values()],
                         ids=lambda c: "-".join("%s=%s" % kv for kv in c.items()))
def test_other_cpus(case, cpu):
    spec = swiglu.FFNSpec(d_model=48, d_ff=129, **case)
    x, arrays = random_operands(spec)
    ffn = spec.compile(options=OTHER_CPUS[cpu])
    y = ffn.bind(**arrays)(x)
    assert y.dtype == swiglu.ffn.numpy_dtype(spec.dtype)
    assert_close(spec, y, reference_of(spec, x, arrays))


@pytest.mark.parametrize("widen_once", ["on", "off"])
@pytest.mark.parametrize("dtype,weight_dtype", [("bf16", None), ("f32", "bf16"), ("f16", None)])
def test_widened_weights_every_split(dtype, weight_dtype, widen_once):
    """16-bit weights widened to f32 (no bf16 dot products), both ways:
    widen-once (288-row token blocks, each K chunk widened once into a
    scratch for all its row blocks, panel-parallel up to half a block per
    worker, token-parallel beyond) and in the micro-kernel (96-row blocks);
    partial blocks and row blocks; every token count against the numpy
    reference."""
    spec = swiglu.FFNSpec(d_model=48, d_ff=129, dtype=dtype, weight_dtype=weight_dtype,
                          bias=True)
    x, arrays = random_operands(spec, tokens=(700,))
    bound = spec.compile(options="threads=2 target-features=-avx512bf16 widen-once="
                         + widen_once).bind(**arrays)
    for tokens in (1, 7, 12, 18, 130, 287, 289, 300, 577, 700):
        xs = x[:tokens]
        assert_close(spec, bound(xs), reference_of(spec, xs, arrays))


@pytest.mark.parametrize("options", ["", "target-features=-avx512bf16 widen-once=on",
                                     "target-features=-avx512bf16 widen-once=off"])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_small_batch_prefetch(dtype, options):
    """Small batches of 2-3 row blocks (12-18 tokens) run the panels that
    prefetch the next K chunk; with K = 1100 (three chunks of 512, the last
    partial) and a down projection of 2 chunks, the prefetch runs ahead of
    every chunk and stops at the panel's last row. Results match the numpy
    reference on either side of the 12-18 range (bf16: dot products where
    the host has them, or widened weights)."""
    spec = swiglu.FFNSpec(d_model=1100, d_ff=600, dtype=dtype)
    x, arrays = random_operands(spec, tokens=(20,))
    # (prefetch-min-bytes=0: the bf16 weights, 3.96 MB, are under the default.)
    bound = spec.compile(options="threads=2 prefetch-min-bytes=0 " + options).bind(**arrays)
    for tokens in (11, 12, 13, 17, 18, 19):
        xs = x[:tokens]
        assert_close(spec, bound(xs), reference_of(spec, xs, arrays))


def test_unknown_target_cpu():
    spec = swiglu.FFNSpec(d_model=16, d_ff=40)
    with pytest.raises(swiglu.SwigluError, match="unknown target CPU 'pentium9'"):
        spec.compile(options="target-cpu=pentium9")


def test_one_token_and_reuse():
    spec = swiglu.FFNSpec(d_model=16, d_ff=40)
    ffn = spec.compile()
    for tokens in [(1,), (7,), (2, 3)]:
        x, arrays = random_operands(spec, seed=len(tokens), tokens=tokens)
        assert_close(spec, ffn(x, **arrays), reference_of(spec, x, arrays))


def test_bind_packs_once():
    """bind() packs the weights into the kernels' panels once; the bound
    function gives the same results as packing on every call, for any token
    count (1: the decode path; 300: several token blocks per worker)."""
    spec = swiglu.FFNSpec(d_model=64, d_ff=100, bias=True)
    ffn = spec.compile()
    x, arrays = random_operands(spec, tokens=(300,))
    bound = ffn.bind(**arrays)
    for tokens in (1, 7, 300):
        xs = x[:tokens]
        y = bound(xs)
        assert_close(spec, y, reference_of(spec, xs, arrays))
        np.testing.assert_array_equal(y, ffn(xs, **arrays))


def native_built():
    """Whether the _swiglu_call extension was built next to the C API
    library (it is whenever Python's headers were there at build time)."""
    import importlib.machinery
    directory = _capi.library_path().parent
    return any((directory / ("_swiglu_call" + s)).exists()
               for s in importlib.machinery.EXTENSION_SUFFIXES)


def bind_with(monkeypatch, call, compiled, arrays):
    """compiled.bind(**arrays) calling through `call`: 'native' (the
    _swiglu_call extension) or 'ctypes' (SWIGLU_NATIVE_CALL=0)."""
    if call == "native":
        if not native_built():
            pytest.skip("_swiglu_call was not built (no Python headers)")
        monkeypatch.delenv("SWIGLU_NATIVE_CALL", raising=False)
    else:
        monkeypatch.setenv("SWIGLU_NATIVE_CALL", "0")
    bound = compiled.bind(**arrays)
    assert bound.native == (call == "native")
    return bound


CALLS = ["native", "ctypes"]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_call_into_writes_the_callers_buffer(dtype, call, monkeypatch):
    """Destination passing: call_into writes the [tokens, d_out] result into
    the caller's buffer, exactly that region (guard rows before and after
    keep their values), for the decode path (1 token) and the token-parallel
    one (300), and the output is that of the numpy reference, through the
    extension and through ctypes alike (bit for bit the same)."""
    spec = swiglu.FFNSpec(d_model=64, d_ff=100, d_out=48, bias=True, dtype=dtype)
    x, arrays = random_operands(spec, tokens=(300,))
    bound = bind_with(monkeypatch, call, spec.compile(), arrays)
    dt = swiglu.ffn.numpy_dtype(dtype)
    for tokens in (1, 300):
        xs = np.ascontiguousarray(x[:tokens])
        buf = np.full((tokens + 2, 48), 7.0, np.float32).astype(dt)
        bound.call_into(xs.ctypes.data, tokens, buf[1:].ctypes.data)
        assert_close(spec, buf[1:tokens + 1], reference_of(spec, xs, arrays))
        assert np.all(buf[0].astype(np.float32) == 7) and \
            np.all(buf[-1].astype(np.float32) == 7)
        np.testing.assert_array_equal(buf[1:tokens + 1], bound(xs))


@pytest.mark.parametrize("call", CALLS)
def test_bound_block_shared_by_threads(call, monkeypatch):
    """One BoundFFN called from several Python threads at once (the calls
    release the GIL; the descriptors of x and out are per call): every
    thread gets its own input's result."""
    import concurrent.futures
    spec = swiglu.FFNSpec(d_model=64, d_ff=100)
    x, arrays = random_operands(spec, tokens=(64,))
    bound = bind_with(monkeypatch, call, spec.compile(), arrays)
    inputs = [np.ascontiguousarray(x[i:i + 1 + i % 9]) for i in range(40)]

    def run(xs):
        y = np.empty((xs.shape[0], 64), np.float32)
        for _ in range(20):
            bound.call_into(xs.ctypes.data, xs.shape[0], y.ctypes.data)
        return y
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(run, inputs))
    for xs, y in zip(inputs, outputs):
        assert_close(spec, y, reference_of(spec, xs, arrays))


def test_native_call_errors(monkeypatch):
    """The extension's checks: clear Python errors, no call made, the
    buffer untouched; an unbuilt or disabled extension is ctypes."""
    spec = swiglu.FFNSpec(d_model=16, d_ff=32)
    x, arrays = random_operands(spec, tokens=(2,))
    bound = bind_with(monkeypatch, "native", spec.compile(), arrays)
    y = np.full((2, 16), 5.0, np.float32)
    with pytest.raises(ValueError, match="tokens must be >= 0"):
        bound.call_into(x.ctypes.data, -1, y.ctypes.data)
    with pytest.raises(ValueError, match="a null address"):
        bound.call_into(0, 2, y.ctypes.data)
    with pytest.raises(TypeError):
        bound.call_into("x", 2, y.ctypes.data)
    with pytest.raises(TypeError, match=r"takes 8 arguments, got 9"):
        bound.call_into(x.ctypes.data, 2, y.ctypes.data, 0)
    assert np.all(y == 5.0)
    call = _capi.native_call()
    with pytest.raises(ValueError, match="20 weight descriptors, at most 14"):
        call(1, 1, 20, 16, 16, x.ctypes.data, 2, y.ctypes.data)
    monkeypatch.setenv("SWIGLU_NATIVE_CALL", "0")
    assert _capi.native_call() is None


def test_native_call_missing_or_broken(monkeypatch, tmp_path):
    """No extension next to the C API library, or one that does not load:
    native_call() is None (bound blocks then call through ctypes)."""
    import importlib.machinery
    monkeypatch.delenv("SWIGLU_NATIVE_CALL", raising=False)
    monkeypatch.setattr(_capi, "library_path", lambda: tmp_path / "libSwigluCAPI.so")
    monkeypatch.setattr(_capi, "_native", {})
    assert _capi.native_call() is None
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / ("_swiglu_call" + suffix)).write_bytes(b"not a shared object")
    monkeypatch.setattr(_capi, "_native", {})
    assert _capi.native_call() is None


def test_round_hidden_bf16():
    """round-hidden rounds a bf16 block's hidden to bf16 (PyTorch's bf16
    semantics; the down projection then uses bf16 dot products where the CPU
    has them): it matches a reference that rounds the hidden the same way."""
    import ml_dtypes
    spec = swiglu.FFNSpec(d_model=64, d_ff=100, dtype="bf16", bias=True)
    x, a = random_operands(spec, tokens=(37,))
    y = spec.compile(options="round-hidden=true").bind(**a)(x).astype(np.float64)
    g = ref.project(x, a["w_gate"]) + a["b_gate"].astype(np.float64)
    u = ref.project(x, a["w_up"]) + a["b_up"].astype(np.float64)
    h = ref.gating("silu", g, u).astype(ml_dtypes.bfloat16)
    expected = ref.project(h, a["w_down"]) + a["b_down"].astype(np.float64)
    scale = np.abs(expected).max()
    assert np.abs(y - expected).max() <= 2 * UNIT_ROUNDOFF["bf16"] * scale


def test_bad_target():
    with pytest.raises(swiglu.SwigluError, match="target must be 'cpu' or 'cpu-reference'"):
        swiglu.FFNSpec(d_model=8, d_ff=16).compile(target="gpu")
    with pytest.raises(swiglu.SwigluError, match="invalid options in target 'cpu{no-such=1}'"):
        swiglu.FFNSpec(d_model=8, d_ff=16).compile(options="no-such=1")


def test_mlir_text():
    text = swiglu.FFNSpec(d_model=8, d_ff=16, packing="interleaved", layout="in_out",
                          bias=True, beta=None).mlir()
    assert "glu.ffn silu %x : tensor<?x8xf32>" in text
    assert "gate_up %w_gate_up : tensor<8x32xf32>" in text
    assert "packing interleaved" in text and "layout in_out" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(activation="swiglu"), "unknown activation 'swiglu'"),
    (dict(dtype="f64"), "unknown dtype 'f64'"),
    (dict(layout="row_major"), "layout must be 'out_in' or 'in_out'"),
    (dict(gated=False, activation="clamped_swiglu"), "needs gated=True"),
    (dict(d_ff=0), "d_ff must be a positive integer"),
])
def test_bad_spec(kwargs, message):
    args = dict(d_model=8, d_ff=16)
    args.update(kwargs)
    with pytest.raises(swiglu.SwigluError, match=message):
        swiglu.FFNSpec(**args)


def test_bad_calls():
    spec = swiglu.FFNSpec(d_model=8, d_ff=16)
    ffn = spec.compile()
    x, a = random_operands(spec)
    with pytest.raises(ValueError, match=r"w_gate must have shape \(16, 8\) \(layout out_in: \[out, in\]\), got \(8, 16\)"):
        ffn(x, **dict(a, w_gate=a["w_gate"].T.copy()))
    with pytest.raises(TypeError, match="w_up must have dtype float32"):
        ffn(x, **dict(a, w_up=a["w_up"].astype(np.float64)))
    with pytest.raises(TypeError, match="missing: w_down"):
        ffn(x, w_gate=a["w_gate"], w_up=a["w_up"])
    with pytest.raises(ValueError, match=r"x must be an array of shape \[\.\.\., 8\]"):
        ffn(x[..., :4], **a)


def test_compile_errors_are_diagnostics():
    ctx = _capi.Context()
    with pytest.raises(swiglu.SwigluError, match="does not parse: .*expected"):
        ctx.compile("func.func @f(")
    bad_gate = ("func.func @f(%g: tensor<4xf32>, %u: tensor<4xf32>) -> tensor<4xf32> {\n"
                "  %h = glu.gate silu %g, %u {beta = 2.0 : f32} : tensor<4xf32>\n"
                "  return %h : tensor<4xf32>\n}\n")
    with pytest.raises(swiglu.SwigluError, match="'beta' only applies to the 'swish' activation"):
        ctx.compile(bad_gate)
    with pytest.raises(swiglu.SwigluError, match="unknown target 'tpu'"):
        ctx.compile("func.func @f() { return }", target="tpu")
    with pytest.raises(swiglu.SwigluError, match="bad pass pipeline"):
        ctx.compile("func.func @f() { return }", passes="builtin.module(no-such-pass)")


def test_sizing():
    assert swiglu.llama_ffn_dim(4096) == 11008
    assert swiglu.llama_ffn_dim(4096, multiple_of=1024, ffn_dim_multiplier=1.3) == 14336
    assert swiglu.llama_ffn_dim(1024) == 2816
    assert swiglu.parameters(4096, 11008) == 3 * 4096 * 11008
    assert swiglu.parameters(768, 3072, gated=False, bias=True) == 2 * 768 * 3072 + 3072 + 768
    assert swiglu.flops_per_token(4096, 11008) == 2 * 3 * 4096 * 11008
    assert swiglu.parity_with_classic(3, 8) == 1.0


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("layout, packing", [("out_in", None), ("in_out", "interleaved"),
                                             ("out_in", "concat")])
def test_constant_weights(dtype, layout, packing):
    """Weights that are constants (what torch-mlir exports) are packed at
    compile time by the fast pipeline: the function takes only x."""
    from swiglu.ffn import CompiledFunction, compile_function, numpy_dtype
    spec = swiglu.FFNSpec(d_model=48, d_ff=70, dtype=dtype, layout=layout, packing=packing,
                          activation="gelu_tanh", bias=True)
    x, a = random_operands(spec, tokens=(9,))
    nd = numpy_dtype(dtype)

    def const(name):
        arr = np.ascontiguousarray(a[name])
        shape = "x".join(str(d) for d in arr.shape)
        return ("%%%s = arith.constant dense<\"0x%s\"> : tensor<%sx%s>"
                % (name, arr.view(np.uint8).tobytes().hex().upper(), shape, dtype))

    text = spec.mlir("ffn")
    header, rest = text.split("{", 1)
    names = [n for n, _, _, _ in spec.operands()]
    header = "func.func @ffn(%%x: tensor<?x48x%s>) -> tensor<?x48x%s> " % (dtype, dtype)
    body = "\n".join("  " + const(n) for n in names) + rest
    module = header + "{\n" + body
    y = {}
    for target in ("cpu", "cpu-reference"):
        code = compile_function(module, "ffn", None, target)
        if target == "cpu":
            assert b"ffn_pack_weights" not in code and b"__glu_cpu_pack" not in code
        y[target] = CompiledFunction(code, "ffn", [2], 2).call([x], nd)
    expected = reference_of(spec, x, a)
    assert_close(spec, y["cpu"], expected)
    assert_close(spec, y["cpu-reference"], expected)


def test_gpu_bundle(tmp_path):
    """A GPU kernel bundle from Python (no GPU needed): PTX for sm_90, the
    launch records of @ffn, a cubin when ptxas is found; the bundle's
    launcher (swiglu-gpu-run) runs it on a GPU machine."""
    import json, os
    spec = swiglu.FFNSpec(d_model=64, d_ff=176, dtype="bf16", packing="concat")
    path = spec.gpu_bundle(tmp_path / "bundle")
    manifest = json.loads(path.read_text())
    assert manifest["format"] == "swiglu-gpu-bundle" and manifest["chip"] == "sm_90"
    assert ".entry" in (tmp_path / "bundle" / "kernels.ptx").read_text()
    entry = manifest["entries"]["ffn"]
    assert entry["launches"], entry
    assert (manifest["cubin"] is not None) == os.path.exists(tmp_path / "bundle" / "kernels.cubin")


def test_large_edge_sizes():
    """1000 tokens and a d_ff of 1000 (neither divides the kernels' tiles),
    separate and interleaved merged weights, against the reference."""
    for packing in (None, "interleaved"):
        spec = swiglu.FFNSpec(d_model=130, d_ff=1000, packing=packing, bias=True)
        x, a = random_operands(spec, tokens=(1000,))
        assert_close(spec, spec.compile().bind(**a)(x), reference_of(spec, x, a))
