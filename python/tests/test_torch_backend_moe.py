"""torch.compile(backend="swiglu") on mixture-of-experts blocks: the
routed expert loop of Mixtral's and Qwen-MoE's sparse blocks (written from
their published definitions, test_torch_moe.py) replaced by one
torch.ops.swiglu.moe, the router left in the graph; against the same
model in eager PyTorch, which is the reference (the formula as the
models publish it, computed by PyTorch, not by us)."""

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import swiglu.torch_backend as stb  # noqa: E402
from swiglu._torch import moe_op  # noqa: E402
from test_torch_moe import BLOCKS, D, SharedExpertMoeBlock, model_of  # noqa: E402


def close(got, want, rtol=1e-5):
    return (got - want).abs().max() <= rtol * want.abs().max()


def capture():
    """Dynamo traces torch.where's data-dependent size into the graph
    rather than breaking it: the whole loop is one graph."""
    return torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True)


def moe_calls():
    return sum(b.calls for b in moe_op._blocks.values())


@pytest.mark.parametrize("family", sorted(BLOCKS))
def test_routed_loop_replaced_by_one_op(family):
    """Static and dynamic token counts (1 token: a graph of its own, 5,
    then 9 and 33 on the dynamic graph); the router logits, the block's
    second output, come from the router left in the graph."""
    torch._dynamo.reset()
    model = model_of(BLOCKS[family])
    compiled = torch.compile(model, backend="swiglu")
    before = moe_calls()
    with capture(), torch.no_grad():
        for tokens in (5, 1, 9, 33):
            x = torch.randn(2, tokens, D)
            want, want_logits = model(x)
            got, logits = compiled(x)
            assert close(got, want), (family, tokens)
            assert torch.allclose(logits, want_logits, atol=1e-6)
            report = stb.last_report()
            assert dict(report) == {"block_sparse_moe": "replaced"}, str(report)
            assert "routed experts (glu.moe" in report.details["block_sparse_moe"]
    assert moe_calls() - before == 4  # ours ran on every call
    # The graphs share one packed copy of the experts.
    kernels = {id(b.moe) for b in list(moe_op._blocks.values())[-3:]}
    assert len(kernels) == 1


def test_weight_update_repacks():
    torch._dynamo.reset()
    model = model_of(BLOCKS["mixtral"])
    compiled = torch.compile(model, backend="swiglu")
    x = torch.randn(1, 6, D)
    with capture(), torch.no_grad():
        compiled(x)
        block = list(moe_op._blocks.values())[-1]
        packs = block.moe.packs
        model.block_sparse_moe.experts[5].w3.weight.mul_(-1.5)  # an optimizer step
        got = compiled(x)[0]
        want = model(x)[0]
    assert close(got, want)
    assert block.moe.packs == packs + 1


def test_shared_expert_replaced_beside_the_loop():
    """Qwen2-MoE: the loop as glu.moe, the sigmoid-gated shared expert as
    a dense block of its own (replace "always": at this size the dense
    block alone measures no faster than Inductor's code for it)."""
    torch._dynamo.reset()
    model = model_of(SharedExpertMoeBlock)
    x = torch.randn(2, 7, D)
    with capture(), torch.no_grad():
        want = model(x)[0]
        got = torch.compile(model, backend="swiglu", options={"replace": "always"})(x)[0]
    assert close(got, want)
    report = stb.last_report()
    assert dict(report) == {"block_sparse_moe": "replaced",
                            "block_sparse_moe.shared_expert": "replaced"}, str(report)


def test_without_capture_each_expert_is_a_graph():
    """Without capture_dynamic_output_shape_ops Dynamo breaks the graph at
    torch.where: no graph holds the loop, no glu.moe is made, and the
    result is still the model's."""
    torch._dynamo.reset()
    model = model_of(BLOCKS["qwen3-moe-norm"])
    x = torch.randn(2, 5, D)
    before, reports = len(moe_op._blocks), len(stb.reports())
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=False), torch.no_grad():
        want = model(x)[0]
        got = torch.compile(model, backend="swiglu")(x)[0]
    assert close(got, want)
    assert len(moe_op._blocks) == before
    seen = [entry for report in stb.reports()[reports:] for entry in report]
    assert seen and "block_sparse_moe" not in dict(seen), seen  # dense fragments only


def test_gradients_leave_the_loop_to_pytorch():
    """The MoE op has no backward: with gradients required, the loop stays
    PyTorch's and the gradients are autograd's."""
    torch._dynamo.reset()
    model = model_of(BLOCKS["mixtral"])
    reference = model_of(BLOCKS["mixtral"])
    x = torch.randn(1, 5, D)
    before = len(moe_op._blocks)
    with capture():
        got = torch.compile(model, backend="swiglu")(x)[0]
    want = reference(x)[0]
    got.sum().backward()
    want.sum().backward()
    assert len(moe_op._blocks) == before
    assert close(got.detach(), want.detach())
    g = model.block_sparse_moe.experts[0].w1.weight.grad
    assert g is not None and close(g, reference.block_sparse_moe.experts[0].w1.weight.grad,
                                   1e-4)


def test_bf16_block():
    """bf16 weights and activations: glu.moe in bf16 (f32 accumulation)
    against the f32 model on the same bf16-rounded weights and input,
    within bf16's rounding (eager bf16 PyTorch is about 2.5e-3 off)."""
    torch._dynamo.reset()
    model = model_of(BLOCKS["mixtral"]).to(torch.bfloat16)
    reference = model_of(BLOCKS["mixtral"]).to(torch.bfloat16).float()
    x = torch.randn(1, 9, D).to(torch.bfloat16)
    before = moe_calls()
    with capture(), torch.no_grad():
        got = torch.compile(model, backend="swiglu")(x)[0]
        want = reference(x.float())[0]
    assert got.dtype == torch.bfloat16
    assert close(got.float(), want, 1e-2)
    assert moe_calls() == before + 1
    assert "bf16; routed experts" in stb.last_report().details["block_sparse_moe"]


def test_unlike_experts_leave_the_loop_alone():
    """Experts of different widths (not one stacked glu.moe): the loop
    stays, each expert is a dense block of its own, and the result is
    still the model's."""
    from test_torch_moe import Qwen3MoeMLP, SparseMoeBlock
    torch._dynamo.reset()
    model = model_of(lambda: SparseMoeBlock(Qwen3MoeMLP, top_k=2))
    model.block_sparse_moe.experts[3] = Qwen3MoeMLP(48)
    x = torch.randn(2, 5, D)
    before = len(moe_op._blocks)
    with capture(), torch.no_grad():
        want = model(x)[0]
        got = torch.compile(model, backend="swiglu", options={"replace": "always"})(x)[0]
    assert close(got, want)
    assert len(moe_op._blocks) == before
    report = dict(stb.last_report())
    assert "block_sparse_moe" not in report
    assert report["block_sparse_moe.experts.3"] == "replaced", report


def test_gpt_oss_stacked_experts_run_on_the_top_k():
    """GPT-OSS's experts as published for the CPU (every expert on every
    token, weighted by the router's scattered top-k scores): replaced by
    glu.moe over the top k with clamped SwiGLU (alpha and limit found in
    the graph), interleaved gate/up and biases; static and dynamic token
    counts, no capture flag needed (nothing data-dependent)."""
    from test_torch_moe import GptOssMLP, MLPLayer
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = MLPLayer(GptOssMLP()).eval()
    compiled = torch.compile(model, backend="swiglu")
    before = moe_calls()
    with torch.no_grad():
        for tokens in (5, 1, 9, 30):
            x = torch.randn(2, tokens, D)
            want, want_scores = model(x)
            got, scores = compiled(x)
            assert close(got, want), tokens
            assert torch.allclose(scores, want_scores, atol=1e-6)
            report = stb.last_report()
            assert dict(report) == {"mlp.experts": "replaced"}, str(report)
            assert "moe clamped_swiglu E=8 top_k=4" in report.details["mlp.experts"]
    assert moe_calls() - before == 4


def test_dense_scores_leave_stacked_experts_alone():
    """Scores that are not the top k scattered into zeros (here the softmax
    over every expert): the dense sum is not glu.moe's, so the block stays
    as it is, and its result is the model's."""
    from test_torch_moe import GptOssMLP, GptOssTopKRouter, MLPLayer

    class DenseRouter(GptOssTopKRouter):
        def forward(self, hidden_states):
            logits = F.linear(hidden_states.reshape(-1, self.hidden_dim), self.weight, self.bias)
            return torch.softmax(logits, dim=1), torch.topk(logits, self.top_k, dim=-1)[1]

    torch._dynamo.reset()
    torch.manual_seed(0)
    model = MLPLayer(GptOssMLP()).eval()
    model.mlp.router = DenseRouter()
    x = torch.randn(2, 5, D)
    before = len(moe_op._blocks)
    with torch.no_grad():
        want = model(x)[0]
        got = torch.compile(model, backend="swiglu")(x)[0]
    assert close(got, want)
    assert len(moe_op._blocks) == before
