"""The dialect's activations in PyTorch, and recognizing an activation (a
module, a function, an FX subgraph) by evaluating it.

An activation is named by the FFNSpec fields it needs: ("silu", None),
("swish", 1.702) for quick_gelu, etc. `clamped_swiglu` (GPT-OSS) gates an
up projection that it also transforms, so it is not a function of the gate
alone and is not recognized here.
"""

import math

import torch
import torch.nn.functional as F

QUICK_GELU_BETA = 1.702  # quick_gelu(x) = x·σ(1.702·x): swish with beta 1.702


def apply(name, beta, t):
    """act(t) in PyTorch, written from the published formulas."""
    if name == "silu":
        return F.silu(t)
    if name == "swish":
        return t * torch.sigmoid(beta * t)
    if name == "sigmoid":
        return torch.sigmoid(t)
    if name == "relu":
        return torch.relu(t)
    if name == "gelu_erf":
        return F.gelu(t)
    if name == "gelu_tanh":
        return F.gelu(t, approximate="tanh")
    if name == "identity":
        return t
    raise ValueError("no PyTorch formula for activation %r" % (name,))


def _reference(name, beta, x):
    """act(x) in float64, from the formulas."""
    if name == "silu":
        return x / (1 + torch.exp(-x))
    if name == "swish":
        return x / (1 + torch.exp(-beta * x))
    if name == "sigmoid":
        return 1 / (1 + torch.exp(-x))
    if name == "relu":
        return x.clamp(min=0)
    if name == "gelu_erf":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name == "gelu_tanh":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return x  # identity


CANDIDATES = (("silu", None), ("gelu_erf", None), ("gelu_tanh", None), ("relu", None),
              ("sigmoid", None), ("identity", None), ("swish", QUICK_GELU_BETA))


def describe(name, beta):
    return "swish(beta=%g)" % beta if name == "swish" else name


def identify(function):
    """(name, beta) of the dialect activation that `function` (tensor ->
    tensor, elementwise) computes, or None. Evaluated in float32 on
    [-8, 8] and compared with each formula in float64; gelu_erf and
    gelu_tanh differ by up to 2e-4 there, 20 times the tolerance."""
    x64 = torch.linspace(-8, 8, 321, dtype=torch.float64)
    try:
        with torch.no_grad():
            got = function(x64.float())
    except Exception:  # not an elementwise function of one tensor
        return None
    if not isinstance(got, torch.Tensor) or got.shape != x64.shape:
        return None
    got = got.double()
    best = None
    for name, beta in CANDIDATES:
        ref = _reference(name, beta, x64)
        err = ((got - ref).abs() / (1 + ref.abs())).max().item()
        if err < 1e-5 and (best is None or err < best[0]):
            best = (err, name, beta)
    return best and best[1:]


def of_module(module):
    """(name, beta) of an activation module or function (torch.nn, Hugging
    Face's ACT2FN classes, functions like F.silu), or None."""
    if module is None or not callable(module):
        return None
    if isinstance(module, (torch.nn.Dropout, torch.nn.LayerNorm, torch.nn.Linear)):
        return None
    return identify(module)
