"""The swiglu Python package.

* `FFNSpec`: describe a feed-forward block (d_model, d_ff, activation,
  dtype, layout, merged gate/up packing, biases), get its glu IR
  (`spec.mlir()`), compile it for the CPU (`spec.compile()`) and call it on
  numpy arrays; built on the C API (libSwigluCAPI.so) through ctypes.
* `MoESpec`: the same for a mixture of experts (glu.route + glu.moe):
  experts, top_k, routing; `bind` packs the stacked expert weights once.
* `sizing`: LLaMA's width rule, parameter and FLOP counts.
* `reference`: an independent numpy reference of the glu dialect's
  semantics, written from the formulas (used by the tests).
"""

from ._capi import SwigluError
from .ffn import CompiledFFN, FFNSpec
from .moe import MoESpec
from .sizing import flops_per_token, llama_ffn_dim, parameters, parity_with_classic

__all__ = ["CompiledFFN", "FFNSpec", "MoESpec", "SwigluError", "flops_per_token",
           "llama_ffn_dim", "parameters", "parity_with_classic"]

import sys as _sys

if "torch" in _sys.modules:
    # torch.compile(model, backend="swiglu"); without torch imported first,
    # torch finds the backend through the entry point in
    # python/swiglu-0.1.dist-info when it looks the name up.
    from . import torch_backend  # noqa: F401
