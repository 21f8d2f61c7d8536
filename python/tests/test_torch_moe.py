"""Mixture-of-experts blocks: MoESpec against the numpy reference, and the
PyTorch front end on Mixtral's and Qwen-MoE's sparse blocks written from
their published definitions (Hugging Face transformers' forward: softmax in
f32, top-k, renormalized or not, the per-expert loop with index_add_)."""

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import families  # noqa: E402
import swiglu.torch_frontend as stf  # noqa: E402
from swiglu import SwigluError  # noqa: E402
from swiglu.moe import MoESpec  # noqa: E402
from swiglu.reference_moe import moe as moe_reference, route as route_reference  # noqa: E402

D, FF, E = 64, 96, 8


# -- MoESpec against numpy ------------------------------------------------

@pytest.mark.parametrize("renormalize", [True, False])
def test_moe_spec_matches_numpy(renormalize):
    spec = MoESpec(d_model=D, d_ff=FF, experts=E, top_k=2, renormalize=renormalize)
    rng = np.random.default_rng(3)
    f32 = lambda *s: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)  # noqa: E731
    wg, wu, wd = f32(E, FF, D), f32(E, FF, D), f32(E, D, FF)
    bound = spec.compile().bind(w_gate=wg, w_up=wu, w_down=wd)
    for tokens in (1, 7, 33):
        x = rng.standard_normal((tokens, D)).astype(np.float32)
        logits = rng.standard_normal((tokens, E)).astype(np.float32)
        ids, w = route_reference(logits, 2, "softmax", renormalize=renormalize)
        want = moe_reference(x, ids, w, "silu", w_gate=wg, w_up=wu, w_down=wd)
        got = bound(x, logits)
        assert got.shape == (tokens, D)
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_moe_spec_precomputed_gpt_oss_form_matches_numpy():
    """Precomputed routing (ids listed twice and out of range included),
    merged interleaved gate/up in [in, out] layout, biases, clamped SwiGLU."""
    spec = MoESpec(d_model=D, d_ff=FF, experts=E, top_k=3, routing="precomputed",
                   layout="in_out", packing="interleaved", bias=True,
                   activation="clamped_swiglu", alpha=1.702, limit=7.0)
    rng = np.random.default_rng(5)
    f32 = lambda *s: (rng.standard_normal(s) / np.sqrt(s[-2] if len(s) == 3 else 10)  # noqa
                      ).astype(np.float32)
    arrays = {"w_gate_up": f32(E, D, 2 * FF), "w_down": f32(E, FF, D),
              "b_gate_up": f32(E, 2 * FF), "b_down": f32(E, D)}
    bound = spec.compile().bind(**arrays)
    tokens = 9
    x = rng.standard_normal((tokens, D)).astype(np.float32)
    ids = rng.integers(0, E, (tokens, 3)).astype(np.int64)
    ids[0] = [2, 2, 5]          # an expert listed twice counts twice
    ids[1, 2] = E               # outside [0, E): selects nothing
    w = rng.random((tokens, 3)).astype(np.float32)
    want = moe_reference(x, ids, w, "clamped_swiglu", layout="in_out", packing="interleaved",
                         alpha=1.702, limit=7.0, **arrays)
    got = bound(x, ids, w)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    with pytest.raises(TypeError, match="routing 'precomputed' takes ids, weights after x"):
        bound(x, w)


def test_moe_spec_errors():
    with pytest.raises(SwigluError, match="top_k .3. cannot exceed experts .2."):
        MoESpec(d_model=8, d_ff=8, experts=2, top_k=3)
    with pytest.raises(SwigluError, match="unknown scoring"):
        MoESpec(d_model=8, d_ff=8, experts=2, top_k=1, scoring="argmax")
    compiled = MoESpec(d_model=8, d_ff=16, experts=2, top_k=1).compile()
    w = np.zeros((2, 16, 8), np.float32)
    with pytest.raises(ValueError, match=r"w_down must have shape \(2, 8, 16\)"):
        compiled.bind(w_gate=w, w_up=w, w_down=w)
    with pytest.raises(TypeError, match="missing: w_down"):
        compiled.bind(w_gate=w, w_up=w)


# -- Hugging Face's blocks --------------------------------------------------

class MixtralBlockSparseTop2MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Linear(D, FF, bias=False)
        self.w2 = nn.Linear(FF, D, bias=False)
        self.w3 = nn.Linear(D, FF, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, hidden_states):
        return self.w2(self.act_fn(self.w1(hidden_states)) * self.w3(hidden_states))


def Qwen3MoeMLP(d_ff=None):
    """Qwen3-MoE's expert: LLaMA's SwiGLU MLP (families.LlamaMLP)."""
    return families.LlamaMLP(D, d_ff or FF)


class SparseMoeBlock(nn.Module):
    """Mixtral's MixtralSparseMoeBlock.forward (Qwen3-MoE's with
    norm_topk_prob), as published."""

    def __init__(self, expert, top_k=2, norm_topk_prob=None):
        super().__init__()
        self.num_experts, self.top_k = E, top_k
        if norm_topk_prob is not None:
            self.norm_topk_prob = norm_topk_prob
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList([expert() for _ in range(E)])

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        if getattr(self, "norm_topk_prob", True):
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final = torch.zeros((batch_size * sequence_length, hidden_dim),
                            dtype=hidden_states.dtype, device=hidden_states.device)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current = self.experts[expert_idx](current_state) * routing_weights[top_x, idx, None]
            final.index_add_(0, top_x, current.to(hidden_states.dtype))
        return final.reshape(batch_size, sequence_length, hidden_dim), router_logits


class SharedExpertMoeBlock(SparseMoeBlock):
    """Qwen2-MoE: a shared expert beside the routed ones."""

    def __init__(self):
        super().__init__(Qwen3MoeMLP, norm_topk_prob=False)
        self.shared_expert = Qwen3MoeMLP(2 * FF)
        self.shared_expert_gate = nn.Linear(D, 1, bias=False)

    def forward(self, hidden_states):
        out, logits = super().forward(hidden_states)
        shared = torch.sigmoid(self.shared_expert_gate(hidden_states)) * \
            self.shared_expert(hidden_states)
        return out + shared, logits


class Layer(nn.Module):
    """Norm, MoE block, residual: the block among other torch ops."""

    def __init__(self, block):
        super().__init__()
        self.norm = nn.LayerNorm(D)
        self.block_sparse_moe = block

    def forward(self, x):
        y, logits = self.block_sparse_moe(self.norm(x))
        return x + y, logits


def model_of(make_block, seed=0):
    torch.manual_seed(seed)
    return Layer(make_block()).eval()


BLOCKS = {
    "mixtral": lambda: SparseMoeBlock(MixtralBlockSparseTop2MLP),
    "qwen3-moe-norm": lambda: SparseMoeBlock(Qwen3MoeMLP, top_k=4, norm_topk_prob=True),
    "qwen3-moe-raw": lambda: SparseMoeBlock(Qwen3MoeMLP, top_k=4, norm_topk_prob=False),
}


@pytest.mark.parametrize("family", sorted(BLOCKS))
def test_block_replaced_and_matches(family):
    model = model_of(BLOCKS[family])
    x = torch.randn(3, 11, D)
    with torch.inference_mode():
        want, want_logits = model(x)
    keys = list(model.state_dict())
    with torch.no_grad():
        report = stf.compile_mlps(model, dispatch="always")
    assert ("block_sparse_moe", "replaced") in list(report), str(report)
    assert isinstance(model.block_sparse_moe, stf.CompiledMoE)
    assert list(model.state_dict()) == keys
    with torch.inference_mode():
        got, logits = model(x)
    assert model.block_sparse_moe.last_path == "ours"
    assert torch.allclose(logits, want_logits)
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()


def test_compiled_moe_inside_torch_compile():
    model = model_of(BLOCKS["mixtral"])
    x = torch.randn(2, 5, D)
    with torch.inference_mode():
        want = model(x)[0]
    with torch.no_grad():
        stf.compile_mlps(model, dispatch="always")
    with torch.inference_mode():
        got = torch.compile(model, backend="eager")(x)[0]
    assert model.block_sparse_moe.last_path == "ours"
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()


def test_weight_update_repacks_and_state_dict_round_trip():
    model = model_of(BLOCKS["mixtral"])
    with torch.no_grad():
        stf.compile_mlps(model, dispatch="always")
    block = model.block_sparse_moe
    x = torch.randn(2, 5, D)
    with torch.no_grad():
        block.experts[3].w2.weight.mul_(2.0)  # an optimizer step, in place
        reference = model_of(BLOCKS["mixtral"])
        reference.block_sparse_moe.experts[3].w2.weight.mul_(2.0)
        got, want = model(x)[0], reference(x)[0]
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()
    assert block._runtime[0].packs == 2
    # state_dict into a fresh uncompiled model, and torch.save / torch.load.
    fresh = model_of(BLOCKS["mixtral"], seed=1)
    fresh.load_state_dict(model.state_dict())
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.no_grad():
        want = fresh(x)[0]
        assert (model(x)[0] - want).abs().max() <= 1e-5 * want.abs().max()
        assert (loaded(x)[0] - want).abs().max() <= 1e-5 * want.abs().max()
    assert loaded.block_sparse_moe.last_path == "ours"


def test_auto_dispatch_measures_and_reports():
    model = model_of(BLOCKS["qwen3-moe-norm"])
    with torch.no_grad():
        report = stf.compile_mlps(model)  # dispatch="auto": timed at bind
    assert "dispatch auto (1 tokens: ours" in report.details["block_sparse_moe"]
    assert "moe silu E=8 top_k=4 renormalized" in report.details["block_sparse_moe"]
    x = torch.randn(1, 16, D)
    with torch.inference_mode():
        model(x)
    assert model.block_sparse_moe.last_path in ("ours", "dispatch")


def test_dtype_round_trip():
    """model.to(bfloat16) compiles the bf16 block; back to float32 the f32
    one again (each compiled once per process)."""
    model = model_of(BLOCKS["mixtral"])
    with torch.no_grad():
        stf.compile_mlps(model, dispatch="always")
    block = model.block_sparse_moe
    x = torch.randn(2, 6, D)
    for dtype, glu, tol in ((torch.bfloat16, "bf16", 3e-2), (torch.float32, "f32", 1e-5)):
        model.to(dtype)
        with torch.inference_mode():
            h = model.norm(x.to(dtype))
            want = block._original(h)[0].float()
            got = block(h)[0]
        assert block.last_path == "ours" and block.found.spec.dtype == glu
        assert got.dtype == dtype
        assert (got.float() - want).abs().max() <= tol * want.abs().max()


def test_gradients_take_pytorch_path():
    model = model_of(BLOCKS["mixtral"])
    with torch.no_grad():
        stf.compile_mlps(model, dispatch="always")
    x = torch.randn(2, 5, D, requires_grad=True)
    model(x)[0].sum().backward()
    assert model.block_sparse_moe.last_path == "grad"
    assert x.grad is not None and model.block_sparse_moe.experts[0].w1.weight.grad is not None


def test_qwen2_moe_shared_expert_block():
    """The routed experts and the gated shared expert, both compiled."""
    model = model_of(SharedExpertMoeBlock)
    x = torch.randn(2, 7, D)
    with torch.inference_mode():
        want, want_logits = model(x)
    with torch.no_grad():
        report = stf.compile_mlps(model, dispatch="always")
    assert dict(report)["block_sparse_moe"] == "replaced", str(report)
    assert "shared expert replaced" in report.details["block_sparse_moe"]
    with torch.inference_mode():
        got, logits = model(x)
    assert model.block_sparse_moe.last_path == "ours"
    assert model.block_sparse_moe.shared_expert.last_path == "ours"
    assert torch.allclose(logits, want_logits)
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()


# DeepSeek-V3 (Hugging Face's DeepseekV3MoE, as published): a sigmoid router
# module with a score-correction bias, group-limited top-k, renormalized and
# scaled; a ModuleList of experts; a shared expert added.

class DeepseekV3TopkRouter(nn.Module):
    def __init__(self, n_experts=E, top_k=2, n_group=4, topk_group=2, scaling=2.5):
        super().__init__()
        self.top_k, self.n_routed_experts = top_k, n_experts
        self.routed_scaling_factor, self.n_group, self.topk_group = scaling, n_group, topk_group
        self.norm_topk_prob = True
        self.weight = nn.Parameter(torch.randn(n_experts, D) / D ** 0.5)
        self.register_buffer("e_score_correction_bias", 0.1 * torch.randn(n_experts))

    @torch.no_grad()
    def get_topk_indices(self, scores):
        scores_for_choice = scores.view(-1, self.n_routed_experts) + \
            self.e_score_correction_bias.unsqueeze(0)
        group_scores = (scores_for_choice.view(-1, self.n_group,
                                               self.n_routed_experts // self.n_group)
                        .topk(2, dim=-1)[0].sum(dim=-1))
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = (group_mask.unsqueeze(-1)
                      .expand(-1, self.n_group, self.n_routed_experts // self.n_group)
                      .reshape(-1, self.n_routed_experts))
        scores_for_choice = scores_for_choice.masked_fill(~score_mask.bool(), 0.0)
        return torch.topk(scores_for_choice, k=self.top_k, dim=-1, sorted=False)[1]

    def forward(self, hidden_states):
        hidden_states = hidden_states.view(-1, D)
        router_logits = F.linear(hidden_states.type(torch.float32), self.weight.type(torch.float32))
        scores = router_logits.sigmoid()
        topk_indices = self.get_topk_indices(scores)
        topk_weights = scores.gather(1, topk_indices)
        if self.norm_topk_prob:
            topk_weights /= topk_weights.sum(dim=-1, keepdim=True) + 1e-20
        return topk_indices, topk_weights * self.routed_scaling_factor


class DeepseekV3MoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.experts = nn.ModuleList([Qwen3MoeMLP() for _ in range(E)])
        self.gate = DeepseekV3TopkRouter()
        self.shared_experts = Qwen3MoeMLP(2 * FF)

    def moe(self, hidden_states, topk_indices, topk_weights):
        final = torch.zeros_like(hidden_states, dtype=topk_weights.dtype)
        expert_mask = F.one_hot(topk_indices, num_classes=len(self.experts)).permute(2, 0, 1)
        for expert_idx in range(len(self.experts)):
            token_indices, weight_indices = torch.where(expert_mask[expert_idx])
            if token_indices.numel() > 0:
                out = self.experts[expert_idx](hidden_states[token_indices])
                final.index_add_(0, token_indices,
                                 out * topk_weights[token_indices, weight_indices].unsqueeze(-1))
        return final.type(hidden_states.dtype)

    def forward(self, hidden_states):
        residuals, orig_shape = hidden_states, hidden_states.shape
        topk_indices, topk_weights = self.gate(hidden_states)
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])
        hidden_states = self.moe(hidden_states, topk_indices, topk_weights).view(*orig_shape)
        return hidden_states + self.shared_experts(residuals)


# GPT-OSS (Hugging Face's GptOssMLP, as published): a top-k-then-softmax
# router with a bias returning dense scores, and the experts stacked in one
# module (interleaved gate/up [E, D, 2F] with biases, clamped SwiGLU).

class GptOssExperts(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_experts, self.hidden_size, self.expert_dim = E, D, FF
        self.gate_up_proj = nn.Parameter(torch.randn(E, D, 2 * FF) / D ** 0.5)
        self.gate_up_proj_bias = nn.Parameter(0.1 * torch.randn(E, 2 * FF))
        self.down_proj = nn.Parameter(torch.randn(E, FF, D) / FF ** 0.5)
        self.down_proj_bias = nn.Parameter(0.1 * torch.randn(E, D))
        self.alpha, self.limit = 1.702, 7.0

    def forward(self, hidden_states, router_indices=None, routing_weights=None):
        batch_size = hidden_states.shape[0]
        hidden_states = hidden_states.reshape(-1, self.hidden_size)
        num_experts = routing_weights.shape[1]
        hidden_states = hidden_states.repeat(num_experts, 1).view(num_experts, -1, self.hidden_size)
        gate_up = torch.bmm(hidden_states, self.gate_up_proj) + self.gate_up_proj_bias[..., None, :]
        gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        gate = gate.clamp(min=None, max=self.limit)
        up = up.clamp(min=-self.limit, max=self.limit)
        glu = gate * torch.sigmoid(gate * self.alpha)
        next_states = torch.bmm(((up + 1) * glu), self.down_proj)
        next_states = next_states + self.down_proj_bias[..., None, :]
        next_states = next_states.view(num_experts, batch_size, -1, self.hidden_size)
        next_states = next_states * routing_weights.transpose(0, 1).view(
            num_experts, batch_size, -1)[..., None]
        return next_states.sum(dim=0)


class GptOssTopKRouter(nn.Module):
    def __init__(self, top_k=4):
        super().__init__()
        self.top_k, self.num_experts, self.hidden_dim = top_k, E, D
        self.weight = nn.Parameter(torch.randn(E, D) / D ** 0.5)
        self.bias = nn.Parameter(0.1 * torch.randn(E))

    def forward(self, hidden_states):
        hidden_states = hidden_states.reshape(-1, self.hidden_dim)
        router_logits = F.linear(hidden_states, self.weight, self.bias)
        router_top_value, router_indices = torch.topk(router_logits, self.top_k, dim=-1)
        router_top_value = F.softmax(router_top_value, dim=1, dtype=router_top_value.dtype)
        router_scores = torch.zeros_like(router_logits).scatter_(1, router_indices,
                                                                 router_top_value)
        return router_scores, router_indices


class GptOssMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.router = GptOssTopKRouter()
        self.experts = GptOssExperts()

    def forward(self, hidden_states):
        router_scores, router_indices = self.router(hidden_states)
        routed_out = self.experts(hidden_states, router_indices=router_indices,
                                  routing_weights=router_scores)
        return routed_out, router_scores


class MLPLayer(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.norm = nn.LayerNorm(D)
        self.mlp = block

    def forward(self, x):
        out = self.mlp(self.norm(x))
        return (x + out[0], out[1]) if isinstance(out, tuple) else x + out


@pytest.mark.parametrize("block,shared", [(DeepseekV3MoE, True), (GptOssMLP, False)])
def test_router_module_blocks(block, shared):
    torch.manual_seed(0)
    model = MLPLayer(block()).eval()
    x = torch.randn(2, 9, D)
    with torch.inference_mode():
        want = model(x)
    keys = list(model.state_dict())
    with torch.no_grad():
        report = stf.compile_mlps(model, dispatch="always")
    assert dict(report)["mlp"] == "replaced", str(report)
    assert "its router module's routing" in report.details["mlp"]
    assert ("shared expert replaced" in report.details["mlp"]) == shared
    assert list(model.state_dict()) == keys
    with torch.inference_mode():
        got = model(x)
    assert model.mlp.last_path == "ours"
    if isinstance(want, tuple):  # GPT-OSS returns the router's scores too
        assert torch.equal(got[1], want[1])
        got, want = got[0], want[0]
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()


class BiasedRouterBlock(SparseMoeBlock):
    def __init__(self):
        super().__init__(MixtralBlockSparseTop2MLP)
        self.gate = nn.Linear(D, E, bias=True)


def test_unsupported_block_left_alone_with_reason():
    model = model_of(BiasedRouterBlock)
    with torch.no_grad():
        report = stf.compile_mlps(model)
    status = dict(report)
    assert status["block_sparse_moe"] == \
        "left alone: MoE block whose router has a bias: not supported yet"
    # Its experts are still compiled one by one.
    assert status["block_sparse_moe.experts.0"] == "replaced"
