"""Training through the PyTorch front end (docs/training.md): the compiled
backward in a torch.autograd.Function, against PyTorch's autograd; gradcheck
of the derivative formulas in float64; T5's dropout after the gating in
train mode; a short training run that follows PyTorch's loss curve."""

import copy
import os

os.environ.setdefault("KMP_BLOCKTIME", "0")  # libomp and PyTorch's threads alternate

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import swiglu.torch_frontend as stf
from swiglu import reference_grad as rg
from swiglu._torch import autograd as sag
from swiglu.ffn import FFNSpec

import families

OPTIONS = "threads=2"


class ReferenceFFN(torch.autograd.Function):
    """glu.ffn with the numpy reference's forward and backward (float64)."""

    @staticmethod
    def forward(ctx, spec, dropout, seed, x, *weights):
        ctx.spec, ctx.dropout, ctx.seed = spec, dropout, seed
        ctx.save_for_backward(x, *weights)
        names = [n for n, _, _, _ in spec.operands()]
        a = dict(zip(names, (w.detach().numpy() for w in weights)))
        kw = dict(dropout_p=dropout, seed=seed, layout=spec.layout, **a,
                  **{k: v for k, v in (("beta", spec.beta), ("alpha", spec.alpha),
                                       ("limit", spec.limit)) if v is not None})
        if spec.gated:
            y = rg.ffn(x.detach().numpy(), spec.activation, packing=spec.packing or "concat", **kw)
        else:
            y = rg.mlp(x.detach().numpy(), spec.activation, **kw)
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, dy):
        spec = ctx.spec
        x, *weights = ctx.saved_tensors
        names = [n for n, _, _, _ in spec.operands()]
        a = dict(zip(names, (w.detach().numpy() for w in weights)))
        kw = dict(dropout_p=ctx.dropout, seed=ctx.seed, layout=spec.layout, **a,
                  **{k: v for k, v in (("beta", spec.beta), ("alpha", spec.alpha),
                                       ("limit", spec.limit)) if v is not None})
        if spec.gated:
            g = rg.ffn_grad(x.numpy(), dy.numpy(), spec.activation,
                            packing=spec.packing or "concat", **kw)
        else:
            g = rg.mlp_grad(x.numpy(), dy.numpy(), spec.activation, **kw)
        return (None, None, None, torch.from_numpy(g["x"])) + tuple(
            torch.from_numpy(g[n]) for n in names)


GRADCHECK_CASES = [
    dict(activation="silu"),
    dict(activation="gelu_erf", bias=True),
    dict(activation="gelu_tanh", packing="interleaved", layout="in_out"),
    dict(activation="relu", packing="concat", bias=True),
    dict(activation="clamped_swiglu", limit=0.6, packing="interleaved", bias=True),
    dict(activation="sigmoid", dropout=0.3),
    dict(activation="swish", beta=1.5, gated=False, bias=True),
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_gradcheck_float64(case):
    case = dict(case)
    dropout = case.pop("dropout", 0.0)
    spec = FFNSpec(d_model=5, d_ff=6, **case)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    weights = [(torch.randn(*shape, dtype=torch.float64, generator=gen) * 0.6).requires_grad_()
               for _, shape, _, _ in spec.operands()]
    assert torch.autograd.gradcheck(
        lambda x, *w: ReferenceFFN.apply(spec, dropout, 11, x, *w), (x, *weights),
        eps=1e-6, atol=1e-7, rtol=1e-5)


def _eager_block(x, wg, wu, wd, act):
    return F.linear(act(F.linear(x, wg)) * F.linear(x, wu), wd)


@pytest.mark.parametrize("activation,act,dtype,keep_pre", [
    ("silu", F.silu, torch.float32, False),
    ("gelu_erf", F.gelu, torch.float32, True),
    ("silu", F.silu, torch.bfloat16, False),
    # bf16 with keep_pre: PyTorch's bf16 forward (round-hidden), the kept
    # pre-activations rounded to bf16 as eager's are.
    ("silu", F.silu, torch.bfloat16, True),
])
def test_compiled_backward_llama_shape(activation, act, dtype, keep_pre):
    """A LLaMA-shaped block (d_model 256, d_ff = LLaMA's width 688), 64
    tokens: the compiled forward and backward against PyTorch's autograd in
    float64 on the same (rounded) inputs."""
    d, f = 256, 688
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 32, d, generator=gen).to(dtype)
    ws = [torch.randn(f, d, generator=gen) / d ** 0.5, torch.randn(f, d, generator=gen) / d ** 0.5,
          torch.randn(d, f, generator=gen) / f ** 0.5]
    ws = [w.to(dtype) for w in ws]
    spec = FFNSpec(d_model=d, d_ff=f, activation=activation, dtype="f32" if dtype ==
                   torch.float32 else "bf16", packing="concat")
    block = sag.TrainingBlock(spec, OPTIONS, keep_pre=keep_pre)
    leaves = [t.clone().requires_grad_() for t in [x] + ws]
    y = sag.apply(block, leaves[0], (leaves[1], leaves[2], leaves[3], None, None, None))
    dy = torch.randn(y.shape, generator=gen).to(dtype)
    y.backward(dy)
    ref = [t.double().requires_grad_() for t in [x] + ws]
    y_ref = _eager_block(*ref, act)
    y_ref.backward(dy.double())
    tol = 2e-5 if dtype == torch.float32 else 1e-2
    for name, got, want in zip(["y", "x", "w_gate", "w_up", "w_down"],
                               [y] + [t.grad for t in leaves], [y_ref] + [t.grad for t in ref]):
        err = (got.double() - want.detach()).abs().max().item()
        assert err <= tol * want.abs().max().item(), (name, err)


def _model(family, seed=0):
    eager = families.make(family, seed)
    model = copy.deepcopy(eager)
    report = stf.compile_mlps(model, options=OPTIONS, dispatch="always", backward="compiled")
    assert ("layers.0.mlp", "replaced") in list(report)
    return eager, model


@pytest.mark.parametrize("family", ["llama", "phi3", "gpt2", "bilinear"])
def test_module_gradients_are_compiled(family):
    eager, model = _model(family)
    mlp = model.layers[0].mlp
    x = families.inputs().requires_grad_()
    x_eager = x.detach().clone().requires_grad_()
    model(x).square().sum().backward()
    eager(x_eager).square().sum().backward()
    assert mlp.last_path == "autograd" and mlp.stats["grad"] == 0
    scale = x_eager.grad.abs().max()
    assert torch.allclose(x.grad, x_eager.grad, rtol=1e-4, atol=1e-5 * scale)
    for (name, p), (_, q) in zip(model.named_parameters(), eager.named_parameters()):
        assert p.grad is not None, name
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-5 * q.grad.abs().max()), name


def test_t5_dropout_after_gating_in_train_mode():
    eager, model = _model("t5_gated_gelu")
    mlp = model.layers[0].mlp
    assert mlp.dropout_p == pytest.approx(0.1)
    model.train()
    h_in = torch.randn(4, 9, families.D, requires_grad=True)
    torch.manual_seed(123)
    y = mlp(h_in)
    assert mlp.last_path == "autograd"
    torch.manual_seed(123)
    seed = sag.draw_seed()
    wg, wu, wd = (m.weight.detach().double().numpy() for m in (mlp.wi_0, mlp.wi_1, mlp.wo))
    want = rg.ffn(h_in.detach().double().numpy(), "gelu_tanh", w_gate=wg, w_up=wu, w_down=wd,
                  dropout_p=0.1, seed=seed)
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-4, atol=1e-5)
    dy = torch.randn(y.shape)
    y.backward(dy)
    g = rg.ffn_grad(h_in.detach().double().numpy(), dy.double().numpy(), "gelu_tanh",
                    w_gate=wg, w_up=wu, w_down=wd, dropout_p=0.1, seed=seed)
    for name, got in (("x", h_in.grad), ("w_gate", mlp.wi_0.weight.grad),
                      ("w_up", mlp.wi_1.weight.grad), ("w_down", mlp.wo.weight.grad)):
        np.testing.assert_allclose(got.numpy(), g[name], rtol=1e-4,
                                   atol=1e-5 * np.abs(g[name]).max(), err_msg=name)
    # A different seed every call, the dropout's scale 1/(1-p), eval mode without dropout.
    y2 = mlp(h_in)
    assert not torch.equal(y, y2)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(mlp(h_in), eager.layers[0].mlp(h_in), rtol=1e-4, atol=1e-5)


def test_unknown_dropout_place_runs_the_original():
    class InputDropout(families.LlamaMLP):
        def __init__(self, d, f):
            super().__init__(d, f)
            self.drop = torch.nn.Dropout(0.2)

        def forward(self, x):
            return super().forward(self.drop(x))

    model = torch.nn.Sequential(torch.nn.Identity(), InputDropout(16, 40))
    assert list(stf.compile_mlps(model, options=OPTIONS, dispatch="always", backward="compiled")) == [("1", "replaced")]
    assert model[1].dropout_p is None
    model.train()
    model(torch.randn(3, 16))
    assert model[1].last_path == "training"


class TinyLlama(torch.nn.Module):
    """Embedding, 2 pre-norm residual SwiGLU MLP blocks, a head."""

    def __init__(self, vocab=32, d=64, f=176, layers=2):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        self.norms = torch.nn.ModuleList([families.RMSNorm(d) for _ in range(layers)])
        self.mlps = torch.nn.ModuleList([families.LlamaMLP(d, f) for _ in range(layers)])
        self.head = torch.nn.Linear(d, vocab)

    def forward(self, tokens):
        h = self.embed(tokens)
        for norm, mlp in zip(self.norms, self.mlps):
            h = h + mlp(norm(h))
        return self.head(h)


def test_training_follows_pytorch_loss_curve():
    """200 Adam steps on a synthetic task (predict (3·t + 7) mod 32 from the
    token t and its left neighbour): the compiled blocks' loss curve stays
    within 2 % of PyTorch's, and both learn."""
    torch.manual_seed(0)
    eager = TinyLlama()
    model = copy.deepcopy(eager)
    report = stf.compile_mlps(model, options=OPTIONS, dispatch="always", backward="compiled")
    assert [n for n, s in report if s == "replaced"] == ["mlps.0", "mlps.1"]
    gen = torch.Generator().manual_seed(5)
    losses = {}
    for name, m in (("eager", eager), ("ours", model)):
        opt = torch.optim.Adam(m.parameters(), lr=3e-3)
        curve = []
        g = torch.Generator().manual_seed(5)
        for step in range(200):
            t = torch.randint(0, 32, (16, 8), generator=g)
            target = (3 * t + 7) % 32
            loss = F.cross_entropy(m(t).flatten(0, 1), target.flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
            curve.append(loss.item())
        losses[name] = np.array(curve)
    assert all(mlp.last_path == "autograd" for mlp in model.mlps)
    e, o = losses["eager"], losses["ours"]
    assert e[-10:].mean() < 0.25 * e[:10].mean()
    assert np.all(np.abs(o - e) <= 0.02 * np.maximum(e, 0.05)), np.abs(o - e).max()


def test_compiled_backward_inside_torch_compile():
    """compile_mlps, then torch.compile of the model (the compiled modules
    are opaque to Dynamo): the gradients go through the compiled backward."""
    eager, model = _model("llama")
    x = families.inputs().requires_grad_()
    x_eager = x.detach().clone().requires_grad_()
    torch.compile(model, backend="eager")(x).square().sum().backward()
    eager(x_eager).square().sum().backward()
    assert model.layers[0].mlp.last_path == "autograd"
    assert torch.allclose(x.grad, x_eager.grad, rtol=1e-4, atol=1e-5 * x_eager.grad.abs().max())
    for (name, p), (_, q) in zip(model.named_parameters(), eager.named_parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-5 * q.grad.abs().max()), name
