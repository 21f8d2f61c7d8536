"""compile_mlps on every supported family's block inside a small model:
outputs against eager PyTorch, state_dict, load_state_dict, torch.save and
torch.load, dtype round trips, gradients (PyTorch's fallback), the report,
options and their errors."""

import copy
import io
import logging

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import families  # noqa: E402
import swiglu  # noqa: E402
import swiglu.torch_frontend as stf  # noqa: E402

TOL = {torch.float32: 1e-4, torch.bfloat16: 3e-2}


def close(got, expected):
    scale = expected.float().abs().max().item()
    err = (got.float() - expected.float()).abs().max().item()
    return err <= TOL[expected.dtype] * scale


def compiled(family, **kwargs):
    """(eager copy, compiled model, report)."""
    model = families.make(family)
    eager = copy.deepcopy(model)
    report = stf.compile_mlps(model, dispatch=kwargs.pop("dispatch", "always"), **kwargs)
    return eager, model, report


@pytest.mark.parametrize("family", sorted(families.FAMILIES))
def test_family_outputs_and_report(family):
    _, act, beta, gated = families.FAMILIES[family]
    eager, model, report = compiled(family)
    assert dict(report)["layers.0.mlp"] == "replaced", str(report)
    mlp = model.layers[0].mlp
    assert isinstance(mlp, stf.CompiledMLP)
    spec = mlp.spec
    assert (spec.activation, spec.beta, spec.gated) == (act, beta, gated)
    assert ("swish(beta=1.702)" if beta else act) in report.details["layers.0.mlp"]
    # Nothing else is touched; the attention's projections are no MLP.
    assert isinstance(model.layers[0].self_attn, families.Attention)
    assert [n for n, _ in report] == ["layers.0.mlp"]
    x = families.inputs()
    with torch.no_grad():
        expected = eager(x)
        got = model(x)
    assert mlp.last_path == "ours"
    assert close(got, expected)
    with torch.inference_mode():
        got = model(x)
    assert mlp.last_path == "ours" and close(got, expected)


def test_compiled_model_inside_torch_compile():
    """compile_mlps, then torch.compile of the model: Dynamo runs the
    compiled modules as they are (graph breaks) instead of tracing their
    ctypes calls, which failed in its guards."""
    eager, model, _ = compiled("llama")
    x = families.inputs()
    with torch.inference_mode():
        expected = eager(x)
        got = torch.compile(model, backend="eager")(x)
    assert model.layers[0].mlp.last_path == "ours"
    assert close(got, expected)


def test_state_dict_round_trip_and_repack():
    eager, model, _ = compiled("llama")
    keys = list(eager.state_dict())
    assert list(model.state_dict()) == keys
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 eager.state_dict().values()))
    # Parameters stay the model's nn.Parameters, under their names.
    names = dict(model.named_parameters())
    assert isinstance(names["layers.0.mlp.down_proj.weight"], nn.Parameter)
    assert names["layers.0.mlp.down_proj.weight"] is model.layers[0].mlp.down_proj.weight
    # Loading other weights (strict) changes the compiled block's output.
    other = families.make("llama", seed=7)
    model.load_state_dict(other.state_dict(), strict=True)
    x = families.inputs()
    with torch.no_grad():
        got, expected = model(x), other(x)
    assert model.layers[0].mlp.last_path == "ours"
    assert close(got, expected)
    # An in-place update repacks too.
    with torch.no_grad():
        other.layers[0].mlp.up_proj.weight.mul_(-2)
        model.layers[0].mlp.up_proj.weight.mul_(-2)
        assert close(model(x), other(x))
    # Strictness is the module's: a missing key is an error.
    partial = other.state_dict()
    del partial["layers.0.mlp.gate_proj.weight"]
    with pytest.raises(RuntimeError, match="Missing key.*layers.0.mlp.gate_proj.weight"):
        model.load_state_dict(partial, strict=True)


@pytest.mark.parametrize("family", ["phi3", "gpt2"])
def test_save_and_load(family):
    eager, model, _ = compiled(family)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert isinstance(loaded.layers[0].mlp, stf.CompiledMLP)
    x = families.inputs()
    with torch.no_grad():
        got, expected = loaded(x), eager(x)
    assert loaded.layers[0].mlp.last_path == "ours"
    assert close(got, expected)
    # The weights-only state_dict loads into a fresh eager model too.
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = families.make(family, seed=3)
    fresh.load_state_dict(torch.load(buffer))
    with torch.no_grad():
        assert torch.equal(fresh(x), eager(x))


def test_dtype_round_trip():
    eager, model, _ = compiled("gemma")
    mlp = model.layers[0].mlp
    x = families.inputs()
    model.to(torch.bfloat16)
    eager_bf16 = copy.deepcopy(eager).to(torch.bfloat16)
    with torch.no_grad():
        got, expected = model(x.bfloat16()), eager_bf16(x.bfloat16())
    assert got.dtype == torch.bfloat16 and mlp.last_path == "ours"
    assert mlp.spec.dtype == "bf16"
    assert close(got, expected)
    model.to(torch.float32)
    eager = eager_bf16.to(torch.float32)  # the weights rounded to bf16, as the model's
    with torch.no_grad():
        got, expected = model(x), eager(x)
    assert mlp.last_path == "ours" and mlp.spec.dtype == "f32"
    assert close(got, expected)
    # float64 has no kernels: PyTorch's math runs, and says so.
    model.to(torch.float64)
    with torch.no_grad():
        got = model(x.double())
    assert mlp.last_path == "weights"
    assert torch.allclose(got, copy.deepcopy(eager).double()(x.double()))
    # An input of another dtype than the weights: PyTorch decides (here: an error).
    model.to(torch.float32)
    with torch.no_grad(), pytest.raises(RuntimeError):
        mlp(torch.randn(3, families.D, dtype=torch.float64))
    assert mlp.last_path == "dtype"


def test_gradients_run_the_compiled_backward(caplog):
    eager, model, _ = compiled("phi3", backward="compiled")
    mlp = model.layers[0].mlp
    x = families.inputs().requires_grad_()
    x_eager = x.detach().clone().requires_grad_()
    model(x).square().sum().backward()
    eager(x_eager).square().sum().backward()
    assert mlp.last_path == "autograd"  # docs/training.md; test_torch_training.py
    assert torch.allclose(x.grad, x_eager.grad, rtol=1e-4, atol=1e-5)
    for (name, p), (_, q) in zip(model.named_parameters(), eager.named_parameters()):
        assert p.grad is not None and torch.allclose(p.grad, q.grad, rtol=1e-4,
                                                     atol=1e-5 * q.grad.abs().max()), name
    # Parameters that require no grad, under grad mode: the compiled block.
    for p in model.parameters():
        p.requires_grad_(False)
    model(families.inputs())
    assert mlp.last_path == "ours"
    # Training mode without a dropout: the compiled forward and backward too.
    model.train()
    model(families.inputs())
    assert mlp.last_path == "autograd"
    assert mlp.stats["grad"] == 0 and mlp.stats["training"] == 0 and mlp.stats["autograd"] == 2


def test_gradients_default_to_pytorch_autograd():
    """backward='pytorch' (the default): gradients and training mode run the
    original module under PyTorch's autograd, and say so."""
    eager, model, _ = compiled("llama")
    mlp = model.layers[0].mlp
    x = families.inputs().requires_grad_()
    x_eager = x.detach().clone().requires_grad_()
    model(x).square().sum().backward()
    eager(x_eager).square().sum().backward()
    assert mlp.last_path == "grad"
    assert torch.allclose(x.grad, x_eager.grad, rtol=1e-4, atol=1e-5)
    model.train()
    model(families.inputs())
    assert mlp.last_path == "training"
    with pytest.raises(ValueError, match="backward must be one of 'pytorch', 'compiled'"):
        stf.compile_mlps(families.make("llama"), backward="fused")


class Tanhed(families.LlamaMLP):
    """A gated MLP with an activation the dialect does not have."""

    def __init__(self, d, f):
        super().__init__(d, f)
        self.act_fn = nn.Tanh()


class Impostor(families.LlamaMLP):
    """The names of a LLaMA MLP, another computation."""

    def forward(self, x):
        return self.down_proj(self.act_fn(self.up_proj(x)) * self.gate_proj(x)) + x


class FeedForward(nn.Module):
    """MLP-like by its name, with projections named like nothing known."""

    def __init__(self, d, f):
        super().__init__()
        self.inner = nn.Linear(d, f)
        self.outer = nn.Linear(f, d)

    def forward(self, x):
        return self.outer(torch.relu(self.inner(x)))


class HardCoded(nn.Module):
    """No activation attribute: the activation is found from the output."""

    def __init__(self, d, f):
        super().__init__()
        self.w1, self.w3 = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        self.w2 = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.w2(torch.relu(self.w1(x)) * self.w3(x))


def test_report_names_every_mlp_like_module():
    torch.manual_seed(0)
    model = nn.Sequential(families.LlamaMLP(32, 64), Tanhed(32, 64), Impostor(32, 64),
                          FeedForward(32, 64), HardCoded(32, 64),
                          families.Attention(32)).eval()
    report = stf.compile_mlps(model, dispatch="always")
    status = dict(report)
    assert sorted(status) == ["0", "1", "2", "3", "4"], str(report)
    assert status["0"] == "replaced"
    assert status["1"] == "left alone: its activation act_fn (Tanh) is not one of the dialect's"
    assert status["2"].startswith("left alone: its output differs from the gated block "
                                  "gate_proj/up_proj/down_proj")
    assert status["3"].startswith("left alone: no projection naming it knows")
    assert status["4"] == "replaced" and model[4].spec.activation == "relu"
    text = str(report)
    assert "0: replaced\n    ffn silu d_model=32 d_ff=64" in text
    assert "dispatch always" in text


def test_options_and_dispatch():
    _, model, report = compiled("llama", options="threads=2", dispatch="auto")
    mlp = model.layers[0].mlp
    assert mlp.options == "threads=2"
    detail = report.details["layers.0.mlp"]
    assert "dispatch auto (1 tokens: ours" in detail and "128 tokens" in detail
    x = families.inputs(tokens=1)
    with torch.no_grad():
        model(x)
    assert mlp.last_path in ("ours", "dispatch")
    assert mlp.last_path == ("ours" if mlp._runtime[1].use_ours(2) else "dispatch")


def test_errors():
    with pytest.raises(swiglu.SwigluError, match=r"invalid options in target 'cpu\{bogus=1\}'"):
        stf.compile_mlps(families.make("llama"), options="bogus=1")
    with pytest.raises(ValueError, match="dispatch must be one of 'auto', 'always', "
                                         "'never', got 'sometimes'"):
        stf.compile_mlps(families.make("llama"), dispatch="sometimes")
    with pytest.raises(TypeError, match="compile_mlps takes an nn.Module, got int"):
        stf.compile_mlps(3)


def test_per_call_path_sees_every_change():
    """The per-call path (armed by the first call) redoes the checks that
    can change between calls: an in-place update, a new Parameter, new
    storage under the same Parameter (`.data =`), a new projection module, a
    bias that appears, gradients, training mode. Each time the output is
    eager PyTorch's on the same weights, and the path is the one the full
    checks give."""
    eager, model, _ = compiled("llama")
    mlp, ref = model.layers[0].mlp, eager.layers[0].mlp
    x = families.inputs()

    def check(path="ours"):
        with torch.no_grad():
            got, expected = model(x), eager(x)
        assert mlp.last_path == path
        assert close(got, expected)

    check()
    assert mlp._fast is not None
    calls = mlp.stats["ours"]
    check()
    assert mlp.stats["ours"] == calls + 1
    torch.manual_seed(1)
    with torch.no_grad():
        for m in (mlp, ref):  # in place: the version counter
            m.up_proj.weight.mul_(-2)
    check()
    w = torch.randn_like(ref.gate_proj.weight) * 0.1
    mlp.gate_proj.weight = nn.Parameter(w.clone())  # another Parameter
    ref.gate_proj.weight = nn.Parameter(w.clone())
    check()
    w = torch.randn_like(ref.down_proj.weight) * 0.1
    mlp.down_proj.weight.data = w.clone()  # the same Parameter, new storage
    ref.down_proj.weight.data = w.clone()
    check()
    layer = nn.Linear(families.D, ref.up_proj.out_features, bias=False)
    mlp.up_proj = layer  # another module
    ref.up_proj = copy.deepcopy(layer)
    check()
    b = torch.randn(families.D)
    mlp.down_proj.bias = nn.Parameter(b.clone())  # a bias appears: another block
    ref.down_proj.bias = nn.Parameter(b.clone())
    check()
    assert mlp.spec.bias
    # Gradients through the parameters, then the input: PyTorch's autograd.
    xg = x.clone().requires_grad_()
    model(xg).sum().backward()
    assert mlp.last_path == "grad" and mlp.down_proj.bias.grad is not None
    for p in model.parameters():
        p.requires_grad_(False)
    model(x)
    assert mlp.last_path == "ours"
    model(xg)
    assert mlp.last_path == "grad"
    model.train()
    model(x)
    assert mlp.last_path == "training"
    model.eval()
    check()


def test_hooks_and_dispatch_on_the_per_call_path():
    """Forward hooks and pre-hooks of a CompiledMLP run on every call (the
    module call is nn.Module's); a token count dispatched to PyTorch stays
    PyTorch's on the per-call path."""
    eager, model, _ = compiled("llama")
    mlp, ref = model.layers[0].mlp, eager.layers[0].mlp
    x = families.inputs()
    with torch.no_grad():
        model(x)
        handles = [m.register_forward_pre_hook(lambda _m, args: (args[0] * 2,))
                   for m in (mlp, ref)]
        handles += [m.register_forward_hook(lambda _m, _a, y: y + 1) for m in (mlp, ref)]
        for _ in range(2):
            got, expected = model(x), eager(x)
            assert mlp.last_path == "ours" and close(got, expected)
        for h in handles:
            h.remove()
        assert close(model(x), eager(x))
    _, model, _ = compiled("llama", dispatch="never")
    mlp = model.layers[0].mlp
    with torch.no_grad():
        for _ in range(3):
            assert close(model(x), eager(x))
    assert mlp.last_path == "dispatch" and mlp.stats["dispatch"] == 3
    assert mlp.stats["ours"] == 0


def test_threads_share_a_compiled_module():
    """Four Python threads calling one CompiledMLP at once, each on its own
    input: each gets eager PyTorch's output for its input."""
    import concurrent.futures
    eager, model, _ = compiled("llama")
    mlp, ref = model.layers[0].mlp, eager.layers[0].mlp
    torch.manual_seed(2)
    inputs = [torch.randn(1 + i % 5, families.D) for i in range(16)]

    def run(x):
        with torch.inference_mode():
            for _ in range(20):
                y = mlp(x)
        return y
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(run, inputs))
    with torch.no_grad():
        for x, y in zip(inputs, outputs):
            assert close(y, ref(x))
    assert list(mlp.stats) == ["ours"]
