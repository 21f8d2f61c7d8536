"""The feed-forward blocks of the model families the PyTorch front end and
backend support, each written from its published definition (Hugging Face
transformers' modeling files; Shazeer 2020 for Bilinear), inside a small
decoder-like model with other torch ops around it (RMSNorm, attention,
residuals). Module level so that pickling finds the classes."""

import math

import torch
import torch.nn.functional as F
from torch import nn


class NewGELUActivation(nn.Module):
    """GPT-2's / T5 v1.1's gelu_new, the tanh approximation written out."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                           (x + 0.044715 * torch.pow(x, 3.0))))


class QuickGELUActivation(nn.Module):
    """CLIP's quick_gelu: x·σ(1.702·x)."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class LinearActivation(nn.Module):
    """Hugging Face's ACT2FN['linear']: the identity (Bilinear's gate)."""

    def forward(self, x):
        return x


class LlamaMLP(nn.Module):
    """LLaMA / Mistral / Qwen2: SwiGLU."""

    def __init__(self, d, f):
        super().__init__()
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class GemmaMLP(LlamaMLP):
    """Gemma: GeGLU with the tanh GELU (gelu_pytorch_tanh)."""

    def __init__(self, d, f):
        super().__init__(d, f)
        self.act_fn = nn.GELU(approximate="tanh")


class Phi3MLP(nn.Module):
    """Phi-3: one merged gate_up_proj, chunked into gate and up."""

    def __init__(self, d, f):
        super().__init__()
        self.gate_up_proj = nn.Linear(d, 2 * f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)
        self.activation_fn = nn.SiLU()

    def forward(self, hidden_states):
        up_states = self.gate_up_proj(hidden_states)
        gate, up_states = up_states.chunk(2, dim=-1)
        up_states = up_states * self.activation_fn(gate)
        return self.down_proj(up_states)


class T5DenseGatedActDense(nn.Module):
    """T5 v1.1 / Flan-T5: gated-gelu with wi_0, wi_1, wo and dropout."""

    def __init__(self, d, f, act=None):
        super().__init__()
        self.wi_0 = nn.Linear(d, f, bias=False)
        self.wi_1 = nn.Linear(d, f, bias=False)
        self.wo = nn.Linear(f, d, bias=False)
        self.dropout = nn.Dropout(0.1)
        self.act = act if act is not None else NewGELUActivation()

    def forward(self, hidden_states):
        hidden_gelu = self.act(self.wi_0(hidden_states))
        hidden_linear = self.wi_1(hidden_states)
        hidden_states = hidden_gelu * hidden_linear
        hidden_states = self.dropout(hidden_states)
        return self.wo(hidden_states)


class BilinearMLP(T5DenseGatedActDense):
    """Bilinear (Shazeer 2020): (xW ⊙ xV)W2, as T5 with ACT2FN['linear']."""

    def __init__(self, d, f):
        super().__init__(d, f, act=LinearActivation())


class Conv1D(nn.Module):
    """Hugging Face's GPT-2 Conv1D: a linear layer with an [in, out] weight."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)
        nn.init.normal_(self.bias, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2MLP(nn.Module):
    """GPT-2: the plain MLP, c_fc / c_proj (Conv1D), gelu_new, dropout."""

    def __init__(self, d, f):
        super().__init__()
        self.c_fc = Conv1D(f, d)
        self.c_proj = Conv1D(d, f)
        self.act = NewGELUActivation()
        self.dropout = nn.Dropout(0.1)

    def forward(self, hidden_states):
        hidden_states = self.act(self.c_fc(hidden_states))
        hidden_states = self.c_proj(hidden_states)
        return self.dropout(hidden_states)


class GPTNeoMLP(nn.Module):
    """A plain MLP with nn.Linear (OPT / ViT naming fc1, fc2) and the erf GELU."""

    def __init__(self, d, f):
        super().__init__()
        self.fc1 = nn.Linear(d, f)
        self.fc2 = nn.Linear(f, d)
        self.activation_fn = nn.GELU()

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class CLIPMLP(nn.Module):
    """CLIP: fc1, fc2 with biases and quick_gelu."""

    def __init__(self, d, f):
        super().__init__()
        self.activation_fn = QuickGELUActivation()
        self.fc1 = nn.Linear(d, f)
        self.fc2 = nn.Linear(f, d)

    def forward(self, hidden_states):
        return self.fc2(self.activation_fn(self.fc1(hidden_states)))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


class Attention(nn.Module):
    def __init__(self, d, heads=4):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (p(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, d))


class DecoderLayer(nn.Module):
    def __init__(self, d, mlp):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = Attention(d)
        self.post_attention_layernorm = RMSNorm(d)
        self.mlp = mlp

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class TinyModel(nn.Module):
    """Embedding, one decoder layer around `mlp`, a final norm and a head."""

    def __init__(self, mlp, d=32, vocab=50):
        super().__init__()
        self.embed = nn.Linear(8, d)
        self.layers = nn.ModuleList([DecoderLayer(d, mlp)])
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        x = torch.tanh(self.embed(x))
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x))


D, FF = 32, 88
# name: (MLP class, the dialect activation, its beta, gated)
FAMILIES = {
    "llama": (LlamaMLP, "silu", None, True),
    "gemma": (GemmaMLP, "gelu_tanh", None, True),
    "phi3": (Phi3MLP, "silu", None, True),
    "t5_gated_gelu": (T5DenseGatedActDense, "gelu_tanh", None, True),
    "bilinear": (BilinearMLP, "identity", None, True),
    "gpt2": (GPT2MLP, "gelu_tanh", None, False),
    "fc_gelu": (GPTNeoMLP, "gelu_erf", None, False),
    "clip_quick_gelu": (CLIPMLP, "swish", 1.702, False),
}


def make(family, seed=0):
    """A TinyModel around the family's MLP, in eval mode, random weights."""
    torch.manual_seed(seed)
    mlp = FAMILIES[family][0](D, FF)
    return TinyModel(mlp).eval()


def inputs(tokens=7, batch=2, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, tokens, 8, generator=generator)
