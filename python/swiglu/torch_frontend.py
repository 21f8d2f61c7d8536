"""A PyTorch front end: replace the gated MLPs of a model by compiled blocks.

    import swiglu.torch_frontend as stf
    report = stf.compile_mlps(model)    # in place; returns what was replaced

Finds LLaMA-style MLP modules -- `gate_proj`, `up_proj`, `down_proj`
(nn.Linear) and an activation `act_fn` (SiLU, GELU erf/tanh, ReLU), as in
Hugging Face's LlamaMLP / MistralMLP / GemmaMLP, or a merged `gate_up_proj`
whose output is chunked into gate and up (Phi-3 style, activation in
`activation_fn` or `act_fn`) -- compiles each with `swiglu.FFNSpec` for the
CPU, packs its weights once, and swaps it for a `CompiledMLP` module. A
candidate is replaced only if the compiled block reproduces the original
module's output on a random probe input, so a module that merely has these
attribute names but computes something else is left alone.

CPU, inference only (no autograd through the compiled block); f32 and bf16
weights.
"""

import numpy as np
import torch
from torch import nn

from .ffn import FFNSpec, numpy_dtype

_TORCH_TO_GLU = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16"}


def _activation_of(module):
    """The glu activation of a torch activation module or function, or None."""
    if isinstance(module, nn.SiLU) or module is torch.nn.functional.silu:
        return "silu"
    if isinstance(module, nn.ReLU) or module is torch.nn.functional.relu:
        return "relu"
    if isinstance(module, nn.Sigmoid) or module is torch.sigmoid:
        return "sigmoid"
    if isinstance(module, nn.GELU):
        return "gelu_tanh" if module.approximate == "tanh" else "gelu_erf"
    if module is torch.nn.functional.gelu:
        return "gelu_erf"
    # Hugging Face's activation classes (ACT2FN) without importing transformers.
    name = type(module).__name__
    return {"SiLUActivation": "silu", "SiLU": "silu", "GELUActivation": "gelu_erf",
            "NewGELUActivation": "gelu_tanh", "GELUTanh": "gelu_tanh",
            "PytorchGELUTanh": "gelu_tanh", "ReLUActivation": "relu"}.get(name)


def _to_numpy(t, dtype):
    t = t.detach().to("cpu").contiguous()
    if dtype == "bf16":
        return t.view(torch.int16).numpy().view(numpy_dtype("bf16"))
    return t.numpy()


def _from_numpy(a, dtype):
    if dtype == "bf16":
        return torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(np.ascontiguousarray(a))


class CompiledMLP(nn.Module):
    """A gated MLP compiled by swiglu: weights packed once (numpy, merged
    [gate ‖ up]), forward on CPU tensors of the original dtype."""

    def __init__(self, spec, arrays, original_name):
        super().__init__()
        self.spec = spec
        # The kernels' panels, packed once here.
        self._ffn = spec.compile().bind(**arrays)
        self.original = original_name

    def forward(self, x):
        if x.device.type != "cpu":
            raise RuntimeError("CompiledMLP runs on the CPU; got a %s tensor" % x.device)
        y = self._ffn(_to_numpy(x, self.spec.dtype))
        return _from_numpy(y, self.spec.dtype)

    def extra_repr(self):
        s = self.spec
        return "d_model=%d, d_ff=%d, activation=%s, dtype=%s, replaces=%s" % (
            s.d_model, s.d_ff, s.activation, s.dtype, self.original)


def _linear(module, name):
    layer = getattr(module, name, None)
    return layer if isinstance(layer, nn.Linear) else None


def _candidate(module):
    """(spec, arrays) for a module that looks like a gated MLP, or None."""
    down = _linear(module, "down_proj")
    if down is None:
        return None
    act = None
    for attr in ("act_fn", "activation_fn", "act"):
        if hasattr(module, attr):
            act = _activation_of(getattr(module, attr))
            break
    if act is None:
        return None
    dtype = _TORCH_TO_GLU.get(down.weight.dtype)
    if dtype is None:
        return None
    gate, up, gate_up = (_linear(module, "gate_proj"), _linear(module, "up_proj"),
                         _linear(module, "gate_up_proj"))
    if gate is not None and up is not None:
        w_gate, w_up = gate.weight, up.weight
        biases = [gate.bias, up.bias, down.bias]
    elif gate_up is not None:
        w_gate, w_up = gate_up.weight.chunk(2, dim=0)
        b = gate_up.bias
        biases = [None, None, down.bias] if b is None else list(b.chunk(2)) + [down.bias]
    else:
        return None
    has_bias = [b is not None for b in biases]
    if any(has_bias) and not all(has_bias):
        return None  # the glu op takes all biases or none here
    d_ff, d_model = w_gate.shape
    if tuple(w_up.shape) != (d_ff, d_model) or down.weight.shape[1] != d_ff:
        return None
    spec = FFNSpec(d_model=d_model, d_ff=d_ff, activation=act, dtype=dtype,
                   packing="concat", bias=all(has_bias), d_out=down.weight.shape[0])
    # Pack once: the merged [gate ‖ up] weight in nn.Linear's [out, in] layout.
    arrays = {"w_gate_up": _to_numpy(torch.cat([w_gate, w_up], 0), dtype),
              "w_down": _to_numpy(down.weight, dtype)}
    if spec.bias:
        arrays["b_gate_up"] = _to_numpy(torch.cat(biases[:2]), dtype)
        arrays["b_down"] = _to_numpy(biases[2], dtype)
    return spec, arrays


def _probe_matches(module, compiled, spec, tokens=5):
    """Whether `compiled` computes what `module` does on a random input."""
    torch_dtype = {v: k for k, v in _TORCH_TO_GLU.items()}[spec.dtype]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, tokens, spec.d_model, generator=generator).to(torch_dtype)
    with torch.no_grad():
        try:
            expected = module(x).float()
        except Exception:  # not callable like an MLP
            return False
        got = compiled(x).float()
    if got.shape != expected.shape:
        return False
    scale = expected.abs().max().item() or 1.0
    tol = {"f32": 1e-4, "f16": 2e-2, "bf16": 5e-2}[spec.dtype]
    return (got - expected).abs().max().item() <= tol * scale


def compile_mlps(model):
    """Replaces, in place, every gated MLP of `model` by a CompiledMLP.
    Returns a list of (qualified name, 'replaced' or the reason it was not)."""
    report = []
    for name, module in list(model.named_modules()):
        if isinstance(module, CompiledMLP):
            continue
        found = _candidate(module)
        if found is None:
            continue
        spec, arrays = found
        compiled = CompiledMLP(spec, arrays, type(module).__name__)
        if not _probe_matches(module, compiled, spec):
            report.append((name, "left alone: its output differs from a %s block"
                           % spec.activation))
            continue
        if not name:  # the model itself is the MLP
            report.append((name, "left alone: the root module cannot be replaced"))
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, compiled)
        report.append((name, "replaced"))
    return report
