"""Training through torch.compile(model, backend="swiglu",
options={"backward": "compiled"}): the blocks that need gradients become
torch.ops.swiglu.ffn with the compiled backward (torch.ops.swiglu.ffn_backward,
glu.ffn_grad / glu.mlp_grad) under Dynamo, AOTAutograd and Inductor.
Outputs and gradients against eager autograd, the loss curve of a few
optimizer steps, no recompilation across token counts, the report, what is
saved for the backward, and counters that fail if PyTorch's autograd ran in
place of the compiled backward."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import families  # noqa: E402
import swiglu.torch_backend as stb  # noqa: E402
from swiglu._torch import autograd as sag  # noqa: E402
from swiglu._torch import kernel  # noqa: E402

COMPILED = {"backward": "compiled", "dispatch": "always", "pipeline": "threads=2"}


class GPT2LinearMLP(nn.Module):
    """GPT-2's MLP (c_fc, c_proj with biases, gelu_new written out) with
    nn.Linear projections, as most ports write it (the backend does not
    take Conv1D's addmm)."""

    def __init__(self, d, f):
        super().__init__()
        self.c_fc = nn.Linear(d, f)
        self.c_proj = nn.Linear(f, d)
        self.act = families.NewGELUActivation()

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class Phi3BiasMLP(families.Phi3MLP):
    """Phi-3's merged gate_up_proj, with biases."""

    def __init__(self, d, f):
        super().__init__(d, f)
        self.gate_up_proj = nn.Linear(d, 2 * f)
        self.down_proj = nn.Linear(f, d)


class UpFirstBiasMLP(Phi3BiasMLP):
    """The merged projection chunked as [up ‖ gate]."""

    def forward(self, x):
        up, gate = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(self.activation_fn(gate) * up)


def make(family, seed=0):
    if family in ("phi3_bias", "up_first_bias"):
        torch.manual_seed(seed)
        with torch.no_grad():
            mlp = (Phi3BiasMLP if family == "phi3_bias" else UpFirstBiasMLP)(
                families.D, families.FF)
            for p in mlp.parameters():
                p.normal_(0, 0.2)
        return families.TinyModel(mlp).train()
    if family == "gpt2_linear":
        torch.manual_seed(seed)
        with torch.no_grad():
            mlp = GPT2LinearMLP(families.D, families.FF)
            for p in mlp.parameters():  # biases not zero: their gradients matter
                p.normal_(0, 0.2)
        return families.TinyModel(mlp).train()
    return families.make(family, seed).train()


def assert_close(got, expected, tol=1e-4, what=""):
    """f32: within tol of max|expected|."""
    scale = expected.abs().max().item() or 1.0
    err = (got - expected).abs().max().item()
    assert err <= tol * scale, "%s: %.3g > %.3g * %.3g" % (what, err, tol, scale)


def backward_calls():
    return sum(s["backward"] for s in stb.block_stats().values())


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("fallback", ["eager", "inductor"])
@pytest.mark.parametrize("family", ["llama", "phi3", "phi3_bias", "up_first_bias",
                                    "gpt2_linear"])
def test_outputs_and_gradients_against_eager(family, fallback):
    model = make(family)
    eager = copy.deepcopy(model)
    x = families.inputs().requires_grad_()
    x_eager = x.detach().clone().requires_grad_()
    before = backward_calls()
    y = torch.compile(model, backend="swiglu", options=dict(COMPILED, fallback=fallback))(x)
    y.square().sum().backward()
    y_eager = eager(x_eager)
    y_eager.square().sum().backward()

    report = stb.last_report()
    assert dict(report) == {"layers.0.mlp": "replaced"}, str(report)
    gated = family != "gpt2_linear"
    assert "backward: compiled (glu.%s_grad" % ("ffn" if gated else "mlp") in \
        report.details["layers.0.mlp"]
    # The compiled backward ran, once: not PyTorch's autograd on the math.
    assert backward_calls() == before + 1
    stats = list(stb.block_stats().values())[-1]
    assert stats["training"] and stats["ours"] == 1 and stats["backward"] == 1

    assert_close(y, y_eager, what="y")
    assert_close(x.grad, x_eager.grad, what="dx")
    for (name, p), (_, q) in zip(model.named_parameters(), eager.named_parameters()):
        assert p.grad is not None, name
        assert_close(p.grad, q.grad, what=name)
    if family.startswith(("phi3", "up_first")):  # the gradient reaches the merged parameter
        assert model.layers[0].mlp.gate_up_proj.weight.grad.shape == (2 * families.FF,
                                                                       families.D)


def _saved_activation_shapes(model, options, tokens=7):
    """The shapes of the tensors autograd keeps for the backward of one
    forward, other than the parameters."""
    params = {p.data_ptr() for p in model.parameters()}
    shapes = []

    def pack(t):
        if t.data_ptr() not in params:
            shapes.append(tuple(t.shape))
        return t

    x = families.inputs(tokens=tokens).requires_grad_()
    compiled = torch.compile(model, backend="swiglu", options=options)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = compiled(x)
    y.sum().backward()
    return shapes


@pytest.mark.parametrize("fallback", ["eager", "inductor"])
def test_nothing_d_ff_wide_is_saved(fallback):
    ff = families.FF
    shapes = _saved_activation_shapes(make("llama"), dict(COMPILED, fallback=fallback))
    assert shapes and not any(ff in s for s in shapes), shapes
    # The same model left to PyTorch's autograd keeps the hidden: the check
    # above would see it.
    torch._dynamo.reset()
    shapes = _saved_activation_shapes(make("llama"), {"fallback": fallback})
    assert any(ff in s for s in shapes), shapes


class TinyLlama(nn.Module):
    def __init__(self, vocab=32, d=32, f=88, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.norms = nn.ModuleList([families.RMSNorm(d) for _ in range(layers)])
        self.mlps = nn.ModuleList([families.LlamaMLP(d, f) for _ in range(layers)])
        self.head = nn.Linear(d, vocab)

    def forward(self, tokens):
        h = self.embed(tokens)
        for norm, mlp in zip(self.norms, self.mlps):
            h = h + mlp(norm(h))
        return self.head(h)


SEQ_LENS = (8, 5, 13)


def _train(model, steps, after_first=lambda: None):
    """`steps` Adam steps on a synthetic task (predict (3·t + 7) mod 32 from
    the token t and its left neighbour), batches of 4 sequences of the
    lengths SEQ_LENS in turn; the losses."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(5)
    curve = []
    for step in range(steps):
        t = torch.randint(0, 32, (4, SEQ_LENS[step % len(SEQ_LENS)]), generator=g)
        target = (3 * t + 7) % 32
        loss = F.cross_entropy(model(t).flatten(0, 1), target.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(loss.item())
        if step == 0:
            after_first()
    return np.array(curve)


def test_optimizer_steps_follow_eager_without_recompiling():
    """30 Adam steps with sequence lengths 8, 5, 13 under dynamic=True and
    Inductor: the loss curve stays within 1 % of eager's, one graph is
    compiled (no recompilation for new token counts), no block or backward
    is compiled again after the first step, and every step ran the compiled
    backward of both blocks (the weights, updated in place by the
    optimizer, packed again each step)."""
    torch.manual_seed(0)
    eager = TinyLlama()
    model = copy.deepcopy(eager)
    compiled = torch.compile(model, backend="swiglu", options=COMPILED, dynamic=True)
    graphs, backward = torch._dynamo.utils.counters["stats"]["unique_graphs"], backward_calls()
    counts = []
    steps = 30
    got = _train(compiled, steps,
                 lambda: counts.append((kernel.compile_count, sag.compile_count)))
    want = _train(eager, steps)
    # One graph (Dynamo may restart its analysis once, for nn.Embedding's
    # float norm_type, calling the backend twice for it).
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs + 1
    report = stb.last_report()
    assert [n for n, s in report if s == "replaced"] == ["mlps.0", "mlps.1"], str(report)
    assert counts == [(kernel.compile_count, sag.compile_count)]
    assert backward_calls() == backward + 2 * steps
    packs = [s["packs"] for s in list(stb.block_stats().values())[-2:]]
    assert packs == [steps, steps], packs
    assert np.all(np.abs(got - want) <= 0.01 * want), np.abs(got - want).max()
    assert want[-5:].mean() < 0.8 * want[:5].mean()


def test_pytorch_backward_is_the_default():
    model = make("llama")
    x = families.inputs().requires_grad_()
    before = backward_calls()
    torch.compile(model, backend="swiglu", options={"fallback": "eager"})(x).sum().backward()
    assert dict(stb.last_report())["layers.0.mlp"].startswith(
        "left alone: gradients are required (backward='pytorch'")
    assert backward_calls() == before


def t5_reference(model, x, seed, p):
    """T5's block `model` in PyTorch's autograd with the mask of glu.dropout for
    `seed` (numpy's Philox4x32-10, reference_grad.dropout_factor, checked
    against Random123's known-answer vectors): y = wo((gelu(wi_0 x) * wi_1 x) * mask)."""
    from swiglu import reference_grad
    mlp = model
    h = mlp.act(mlp.wi_0(x)) * mlp.wi_1(x)
    mask = torch.from_numpy(reference_grad.dropout_factor(
        seed, (h.numel() // h.shape[-1], h.shape[-1]), p)).to(h.dtype).view(h.shape)
    return mlp.wo(h * mask)


def test_t5_dropout_in_training_mode():
    """T5's dropout between the gating and wo, in train mode with
    backward='compiled': the graph draws the seed from PyTorch's generator
    (torch.manual_seed repeats it), the forward applies glu.dropout's mask
    and the compiled backward recomputes it. Output and gradients against
    autograd on the same mask (eager fallback: the seed is torch.randint's,
    so the reference can draw it too); under Inductor the same manual_seed
    gives the same output and another one another mask."""
    model = families.make("t5_gated_gelu").train()
    mlp = model.layers[0].mlp
    ref_mlp = copy.deepcopy(mlp)
    x = torch.randn(2, 7, families.D, generator=torch.Generator().manual_seed(1))
    x.requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    before = backward_calls()
    torch.manual_seed(3)
    y = torch.compile(mlp, backend="swiglu", options=dict(COMPILED, fallback="eager"))(x)
    report = stb.last_report()
    assert dict(report) == {"<root>": "replaced"}, str(report)
    assert "mask of its dropout p=0.1" in report.details["<root>"]
    torch.manual_seed(3)
    seed = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))
    y_ref = t5_reference(ref_mlp, x_ref, seed, 0.1)
    assert_close(y, y_ref, what="y")
    dy = torch.randn_like(y)
    y.backward(dy)
    y_ref.backward(dy)
    assert backward_calls() == before + 1
    assert_close(x.grad, x_ref.grad, what="dx")
    for name in ("wi_0", "wi_1", "wo"):
        assert_close(getattr(mlp, name).weight.grad, getattr(ref_mlp, name).weight.grad,
                     what=name)
    # Inductor: the seed is drawn by Inductor's own randint.
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="swiglu", options=COMPILED)
    outs = []
    inputs = families.inputs().requires_grad_()
    for s in (5, 5, 6):
        torch.manual_seed(s)
        y = compiled(inputs)
        y.sum().backward()
        outs.append(y.detach())
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    assert dict(stb.last_report())["layers.0.mlp"] == "replaced"
    assert backward_calls() == before + 4


def test_dropout_in_training_mode_left_to_pytorch_by_default():
    """With backward='pytorch' (the default) a T5 block in train mode stays
    PyTorch's; in eval mode it is taken."""
    model = families.make("t5_gated_gelu").train()
    eager = copy.deepcopy(model)
    x = families.inputs().requires_grad_()
    x_eager = x.detach().clone().requires_grad_()
    torch.manual_seed(3)
    y = torch.compile(model, backend="swiglu", options={"fallback": "eager"})(x)
    torch.manual_seed(3)
    y_eager = eager(x_eager)
    status = dict(stb.last_report())["layers.0.mlp"]
    assert status.startswith("left alone: a dropout in training mode between the activation "
                             "and the down projection"), status
    assert_close(y, y_eager, tol=1e-5, what="y")
    torch._dynamo.reset()
    with torch.no_grad():
        torch.compile(model.eval(), backend="swiglu", options=COMPILED)(x)
    assert dict(stb.last_report())["layers.0.mlp"] == "replaced"


def test_backward_option_error():
    with pytest.raises(Exception) as info:
        torch.compile(make("llama"), backend="swiglu",
                      options={"backward": "maybe"})(families.inputs())
    assert "backward must be one of 'pytorch', 'compiled', got 'maybe'" in str(info.value)


def test_bf16_gradients():
    model = make("llama").to(torch.bfloat16)
    eager = copy.deepcopy(model).float()
    x = families.inputs().bfloat16().requires_grad_()
    x_eager = x.detach().float().requires_grad_()
    torch.compile(model, backend="swiglu", options=dict(COMPILED, fallback="eager"))(x) \
        .float().square().sum().backward()
    eager(x_eager).square().sum().backward()
    assert dict(stb.last_report())["layers.0.mlp"] == "replaced"
    assert x.grad.dtype == torch.bfloat16
    assert_close(x.grad.float(), x_eager.grad, tol=3e-2, what="dx")
    mlp, mlp_eager = model.layers[0].mlp, eager.layers[0].mlp
    for name in ("gate_proj", "up_proj", "down_proj"):
        assert_close(getattr(mlp, name).weight.grad.float(),
                     getattr(mlp_eager, name).weight.grad, tol=3e-2, what=name)

