"""A PyTorch front end: replace the MLPs of a model by compiled blocks.

    import swiglu.torch_frontend as stf
    with torch.no_grad():                  # or torch.inference_mode()
        report = stf.compile_mlps(model)   # in place; a Report
    print(report)                          # every MLP-like module, and why

Recognizes the gated MLPs (LLaMA / Mistral / Qwen / Gemma / OLMo
`gate_proj`/`up_proj`/`down_proj`, T5's `wi_0`/`wi_1`/`wo`, Meta's
`w1`/`w3`/`w2`, Phi-3's merged `gate_up_proj` chunked into gate and up) and
the plain ones (`fc1`/`fc2`, GPT-2's `c_fc`/`c_proj`, T5's `wi`/`wo`, ...),
with every activation the dialect has (SiLU, GELU erf/tanh, ReLU, sigmoid,
identity for Bilinear, quick_gelu as swish with beta 1.702), biases or not.
The replacement, a `CompiledMLP`, keeps the module's parameters, state_dict
keys, pickling and `.to(dtype)`, and runs PyTorch's original math wherever
the compiled block does not apply: when gradients are required, in training
mode, for inputs off the CPU or of another dtype, and for token counts where
PyTorch measured faster (dispatch). See docs/python.md.

The same blocks inside `torch.compile`: `swiglu.torch_backend`.
"""

from ._torch.activations import QUICK_GELU_BETA
from ._torch.kernel import DISPATCH_MODES
from ._torch.module import PATHS, CompiledMLP, Report, compile_mlps
from ._torch.moe import CompiledMoE

__all__ = ["CompiledMLP", "CompiledMoE", "DISPATCH_MODES", "PATHS", "QUICK_GELU_BETA", "Report",
           "compile_mlps"]
