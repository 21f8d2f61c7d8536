"""The PyTorch front end on a small LLaMA-like model with random weights."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import swiglu.torch_frontend as stf  # noqa: E402


class LlamaMLP(nn.Module):
    def __init__(self, d, f, act=None, bias=False):
        super().__init__()
        self.gate_proj = nn.Linear(d, f, bias=bias)
        self.up_proj = nn.Linear(d, f, bias=bias)
        self.down_proj = nn.Linear(f, d, bias=bias)
        self.act_fn = act or nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class MergedMLP(nn.Module):
    """Phi-3 style: one gate_up_proj, chunked."""

    def __init__(self, d, f):
        super().__init__()
        self.gate_up_proj = nn.Linear(d, 2 * f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)
        self.activation_fn = nn.GELU(approximate="tanh")

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(self.activation_fn(gate) * up)


class Impostor(LlamaMLP):
    """The attributes of a gated MLP, but another computation."""

    def forward(self, x):
        return self.down_proj(self.act_fn(self.up_proj(x)) * self.gate_proj(x)) + x


class Block(nn.Module):
    def __init__(self, d, mlp):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, num_heads=4, batch_first=True)
        self.mlp = mlp

    def forward(self, x):
        h = self.norm(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm(x))


class TinyLlama(nn.Module):
    def __init__(self, d=32, f=88):
        super().__init__()
        self.layers = nn.ModuleList([
            Block(d, LlamaMLP(d, f)),
            Block(d, LlamaMLP(d, f, act=nn.GELU(), bias=True)),
            Block(d, MergedMLP(d, f)),
            Block(d, Impostor(d, f)),
        ])
        self.head = nn.Linear(d, 50)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def test_llama_like_model():
    torch.manual_seed(0)
    model = TinyLlama().eval()
    x = torch.randn(2, 7, 32)
    with torch.no_grad():
        expected = model(x)
    report = dict(stf.compile_mlps(model))
    assert report["layers.0.mlp"] == "replaced"
    assert report["layers.1.mlp"] == "replaced"
    assert report["layers.2.mlp"] == "replaced"
    assert report["layers.3.mlp"].startswith("left alone")
    assert isinstance(model.layers[0].mlp, stf.CompiledMLP)
    assert model.layers[1].mlp.spec.activation == "gelu_erf" and model.layers[1].mlp.spec.bias
    assert model.layers[2].mlp.spec.activation == "gelu_tanh"
    assert isinstance(model.layers[3].mlp, Impostor)
    # Everything that is not a gated MLP is untouched.
    assert all(isinstance(l.attn, nn.MultiheadAttention) and isinstance(l.norm, nn.LayerNorm)
               for l in model.layers)
    with torch.no_grad():
        got = model(x)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


def test_bf16_mlp():
    torch.manual_seed(1)
    outer = nn.Sequential(LlamaMLP(48, 128)).to(torch.bfloat16)
    x = torch.randn(3, 48).to(torch.bfloat16)
    with torch.no_grad():
        expected = outer(x).float()
    assert dict(stf.compile_mlps(outer))["0"] == "replaced"
    with torch.no_grad():
        got = outer(x)
    assert got.dtype == torch.bfloat16
    # bf16 output rounding (2^-8) plus PyTorch's own bf16 rounding of its
    # intermediates, which the compiled block keeps in f32.
    scale = expected.abs().max().item()
    assert (got.float() - expected).abs().max().item() <= 3e-2 * scale
