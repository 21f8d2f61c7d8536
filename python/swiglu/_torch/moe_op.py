"""`torch.ops.swiglu.moe`: the compiled glu.moe (precomputed routing) as a
custom op, which the torch.compile backend puts in place of a routed
expert loop (fx_moe.py).

    y = torch.ops.swiglu.moe(x, ids, weights, experts, block)

x [T, D]; ids [T, k] (any integer dtype) and weights [T, k] (any float
dtype): each token's experts and routing weights; experts: gate, up and
down ([out, in], as nn.Linear keeps them) of expert 0, then of expert 1,
and so on; or, for a spec with merged gate/up (GPT-OSS), the stacked
gate_up [E, D, 2F], down [E, F, D] and their biases [E, 2F], [E, D]. The experts are stacked and packed at the first call and
again whenever one of them changed (its storage or version counter).
"""

import torch

from . import kernel

_blocks = {}  # id -> MoEBlock


class MoEBlock:
    """What one replaced loop's op runs."""

    def __init__(self, spec, options=None):
        self.spec, self.options = spec, options
        self.moe = None   # the MoEKernel, shared by the blocks of the same experts
        self.calls = 0

    def _arrays(self, experts):
        """The spec's stacked numpy arrays from the op's expert tensors."""
        with torch.no_grad():
            if self.spec.packing:  # stacked already (GPT-OSS): gate_up, down, biases
                names = ("w_gate_up", "w_down", "b_gate_up", "b_down")
                return {n: kernel.to_numpy(t) for n, t in zip(names, experts)}
            return {name: kernel.to_numpy(torch.stack(experts[i::3]))  # gate, up, down each
                    for i, name in enumerate(("w_gate", "w_up", "w_down"))}

    def run(self, x, ids, w, experts):
        from .moe import MoEKernel
        spec = self.spec
        # Shared with every other graph (a recompilation, the one-token
        # graph) that calls the same experts: packed once.
        self.moe = kernel.shared_kernel(spec, self.options, experts, MoEKernel)
        self.moe.bind_tensors(experts, lambda: self._arrays(experts))
        self.calls += 1
        tokens = x.shape[0]
        if tokens == 0:
            return x.new_zeros((0, spec.d_model))
        routing = (ids.to(torch.int64).contiguous(), w.to(torch.float32).contiguous())
        return self.moe(x.contiguous(), routing)


def register(spec, options=None):
    """A new block id for `spec` (an MoESpec with precomputed routing)."""
    from .moe import MoEKernel
    MoEKernel(spec, options)  # compiled now (once per process): errors surface here
    block_id = len(_blocks)
    _blocks[block_id] = MoEBlock(spec, options)
    return block_id


@torch.library.custom_op("swiglu::moe", mutates_args=())
def moe(x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor,
        experts: list[torch.Tensor], block: int) -> torch.Tensor:
    """The compiled routed experts of block `block` (see the module doc)."""
    return _blocks[block].run(x, ids, weights, experts)


@moe.register_fake
def _(x, ids, weights, experts, block):
    return x.new_empty((x.shape[0], _blocks[block].spec.d_model))
