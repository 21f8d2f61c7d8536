"""Sizing of feed-forward blocks: LLaMA's width rule, parameters, FLOPs."""


def llama_ffn_dim(d_model, multiple_of=256, ffn_dim_multiplier=None):
    """d_ff of a LLaMA block (Meta's llama/model.py, FeedForward): 8/3·d_model,
    times `ffn_dim_multiplier` if given, rounded up to a multiple of
    `multiple_of`. 4096 gives 11008 (LLaMA-2); with multiple_of=1024 and
    ffn_dim_multiplier=1.3, 14336 (LLaMA-3 8B)."""
    if d_model < 1 or multiple_of < 1:
        raise ValueError("d_model and multiple_of must be positive")
    hidden = int(2 * (4 * d_model) / 3)
    if ffn_dim_multiplier is not None:
        hidden = int(ffn_dim_multiplier * hidden)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


def parameters(d_model, d_ff, gated=True, bias=False, d_out=None):
    """Parameter count of a block: 2 (gated: 3) projections, plus biases."""
    d_out = d_out or d_model
    weights = (2 if gated else 1) * d_model * d_ff + d_ff * d_out
    biases = ((2 if gated else 1) * d_ff + d_out) if bias else 0
    return weights + biases


def flops_per_token(d_model, d_ff, gated=True, d_out=None):
    """Multiply-adds ×2 of the projections for one token (elementwise work
    not counted)."""
    d_out = d_out or d_model
    return 2 * ((2 if gated else 1) * d_model * d_ff + d_ff * d_out)


def parity_with_classic(d_model, d_ff):
    """Parameters of a gated block relative to a non-gated 4·d_model block:
    1.0 when d_ff = 8/3·d_model (Shazeer 2020)."""
    return parameters(d_model, d_ff, gated=True) / parameters(d_model, 4 * d_model, gated=False)
