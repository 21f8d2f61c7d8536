#!/usr/bin/env python3
"""Numerical execution tests of the glu dialect.

For every case of the selected suites this driver
  1. writes a one-function `.mlir` file using the glu op syntax,
  2. writes seeded random operands as `.npy` files (swiglu-run's convention:
     bf16 as `<u2` bit patterns),
  3. runs `swiglu-run case.mlir --entry=case -i ... -o out.npy`, which JIT-
     compiles the function through --glu-cpu-reference-pipeline,
  4. compares the result with the independent float64 numpy reference
     (python/swiglu/reference.py) under a per-element error bound (see
     "Tolerances" below and README.md),
and prints one line per case:

  PASS <case> max_abs_err=<e> max_rel=<r> worst=<w> time=<s>
  FAIL <case> <why>

(`max_rel` = max|out - ref| / max|ref|; `worst` = max over elements of
|out - ref| / tol, which must be ≤ 1), then a summary line:
`ALL <n> CASES PASSED` or `<k> OF <n> CASES FAILED`. The exit code is
non-zero if any case failed or the runner failed.

With --mutations the driver also compares each result against deliberately
wrong references (gate and up swapped, the other packing, a bias dropped, a
neighbouring activation, ...) and reports whether the tolerance detects
them: `MUTANT <case> <mutation> detected worst=<w>` or `... SURVIVED ...`.
A survivor makes the run fail, so a lit test can prove the tolerances are
tight enough to catch such bugs.

Usage: run_cases.py --suite ffn-f32 [--suite ...] --workdir DIR
       run_cases.py --list
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from swiglu import reference as ref

# ---------------------------------------------------------------------------
# Tolerances
# ---------------------------------------------------------------------------
#
# The compiler (reference pipeline) computes every product and sum in
# `acc_type` (f32 unless stated), applies bias, activation and gating in
# acc_type, and rounds the result once to the output type. The reference is
# float64 from the very same (already rounded) operands, so the difference
# has two parts, bounded per output element:
#
#  (a) the final rounding: at most u_out·|y| with u_out the unit roundoff of
#      the output type (2^-24 f32, 2^-11 f16, 2^-8 bf16). We compare against
#      the *unrounded* float64 reference, so this is the rtol term (rounding
#      the reference too could double it: two values on either side of a
#      rounding boundary may round one ulp apart).
#  (b) the error of the acc_type computation before that rounding (the atol
#      term, per element), propagated to first order through the op:
#      - a sum of n products (+ bias) accumulated in acc_type is off by at
#        most γ(n)·S, S = Σ|terms| (computed by the reference as |x|·|W| +
#        |b|). Worst case γ(n) = n·u_acc/(1 - n·u_acc) ≈ n·u_acc (Higham,
#        "Accuracy and Stability of Numerical Algorithms", ch. 3: any
#        summation order, with or without FMA); for large n we use the
#        probabilistic bound λ·√n·u_acc with λ = 8 (Higham & Mary, "A New
#        Approach to Probabilistic Rounding Error Analysis", SISC 2019: it
#        fails with probability ≤ 2n·exp(-λ²/2) ≈ n·2.5e-14 under their
#        model of independent rounding errors), i.e.
#        γ(n) = min(n, 8√n)·u_acc;
#      - an error Δg, Δu in the pre-activations moves act(g)·u by at most
#        L·Δg·(|u|+1) + (|g|+1)·Δu (+ L·Δg·Δu), with L = 1.13 ≥ sup|act'|
#        for every activation (GELU 1.129, SiLU/Swish-β 1.0998, sigmoid
#        0.25, ReLU/identity 1; clamped SwiGLU's g'·σ(αg') is Swish-α,
#        and |act(g)| ≤ |g| + 1, |u' + 1| ≤ |u| + 1 for all of them);
#      - evaluating act(g)·u in acc_type (exp, erf, tanh from libm: ≤ 2 ulp;
#        a handful of roundings; the cancellation in 1 + erf and 1 + tanh for
#        negative g costs an absolute, not relative, error ∝ |g|):
#        C_ACT·u_acc·(|g| + 1)·(|u| + 1) with C_ACT = 8;
#      - the down projection adds γ(F+1)·S_down and carries the hidden's
#        errors Δh_k through W_down: |Σ_k W_ik·Δh_k| ≤ Σ_k |W_ik|·Eh_k, or,
#        as the Δh_k come from distinct dot products (independent
#        roundings), λ·sqrt(Σ_k W_ik²·Eh_k²) (Hoeffding: exceeded with
#        probability ≤ 2·exp(-λ²/2) ≈ 2.5e-14); we take the smaller.
#      The total is multiplied by SAFETY = 2 for second-order terms and for
#      the float64 reference's own (negligible, 2^-53) error.
#  (c) underflow of the final rounding: an absolute error of at most half the
#      smallest subnormal of the output type, η_out (2^-25 for f16, 2^-134
#      bf16, 2^-150 f32), e.g. a reference of -9e-9 correctly becomes -0 in
#      f16.
#  Every case must satisfy, elementwise, E being (b):
#      |out - ref| ≤ u_out·|ref| + η_out + SAFETY·E·(1 + u_out).
#  NaN must match NaN; where the reference rounds to ±inf in the output type
#  the result must be that same infinity.
#
# Everything is scaled by the magnitudes of the actual terms, so cancellation
# near 0 does not make a correct result fail, while wrong layouts, packings,
# biases or activations are off by O(|terms|) and fail (see --mutations and
# mutations.mlir, which checks that they do).

LIPSCHITZ = 1.13
C_ACT = 8.0
SAFETY = 2.0
LAMBDA = 8.0


# Half the smallest positive subnormal of each output type.
ETA = {"f32": 2.0 ** -150, "f16": 2.0 ** -25, "bf16": 2.0 ** -134,
       "f64": 2.0 ** -1075}


def gamma(n, u):
    """Bound on the relative (to Σ|terms|) error of an n-term dot product
    accumulated with unit roundoff u: min(n, λ√n)·u (see above)."""
    return min(float(n), LAMBDA * math.sqrt(n)) * u


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

# (activation, attributes given in the attr-dict, name suffix)
ACT_CONFIGS = [
    ("sigmoid", {}, "sigmoid"),
    ("identity", {}, "identity"),
    ("relu", {}, "relu"),
    ("gelu_erf", {}, "gelu_erf"),
    ("gelu_tanh", {}, "gelu_tanh"),
    ("silu", {}, "silu"),
    ("swish", {}, "swish"),  # default beta = 1.0
    ("swish", {"beta": 1.5}, "swish_b1.5"),
    ("swish", {"beta": 0.5}, "swish_b0.5"),
    ("clamped_swiglu", {}, "clamped"),  # defaults alpha 1.702, limit 7
    ("clamped_swiglu", {"alpha": 1.0, "limit": 3.0}, "clamped_a1_l3"),
]
MLP_ACTS = ["relu", "gelu_erf", "gelu_tanh", "silu", "sigmoid", "identity"]
DTYPES = ["f32", "f16", "bf16"]
LAYOUTS = ["out_in", "in_out"]
PACKINGS = ["concat", "interleaved"]


@dataclass
class Case:
    name: str
    op: str  # ffn | mlp | gate_up | gate
    act: str
    attrs: dict = field(default_factory=dict)  # beta / alpha / limit
    dtype: str = "f32"  # input, biases, result
    wdtype: str = None  # weights (None: same as dtype)
    acc_type: str = None  # None: f32 (the default, not printed)
    layout: str = "out_in"
    # ffn: None (separate gate/up weights), concat or interleaved (merged);
    # gate_up: concat or interleaved.
    packing: str = None
    print_defaults: bool = False  # print `layout out_in` / `packing concat`
    biases: tuple = ()  # which biases are present (names, see below)
    batch: tuple = (5,)  # leading batch dims
    d_model: int = 64
    d_ff: int = 96
    d_out: int = None  # None: d_model
    dyn: str = "batch"  # input/result types: none | batch | all | mixed
    # (mixed: the first batch dim static, the others dynamic)
    wdyn: bool = False  # weights and biases as tensor<?x?x..>/tensor<?x..>
    gate_shape: tuple = (2, 3, 37)  # glu.gate
    gate_dyn: tuple = ()  # dims of the gate type that are '?'
    pre_std: float = 3.0  # std of pre-activations (without bias)
    keep: bool = False  # keep the .npy files of a passing case (--keep)

    @property
    def w(self):
        return self.wdtype or self.dtype

    @property
    def acc(self):
        return self.acc_type or "f32"

    @property
    def dout(self):
        return self.d_out or self.d_model


ALL_BIASES = {
    "ffn": ("gate_bias", "up_bias", "down_bias"),
    "ffn_merged": ("gate_up_bias", "down_bias"),
    "mlp": ("up_bias", "down_bias"),
    "gate_up": ("gate_up_bias",),
}


def all_biases(op, packing):
    if op == "ffn":
        return ALL_BIASES["ffn_merged" if packing else "ffn"]
    return ALL_BIASES[op]


def _bias_tag(biases):
    return "bias" if biases else "nobias"


def suite_ffn(dtype, merged):
    """glu.ffn, every activation × layout × biases all/none; separate gate and
    up weights, or a merged one (both packings)."""
    cases = []
    packings = PACKINGS if merged else [None]
    for packing in packings:
        for act, attrs, tag in ACT_CONFIGS:
            for layout in LAYOUTS:
                for with_bias in (False, True):
                    biases = all_biases("ffn", packing) if with_bias else ()
                    name = "ffn.%s.%s.%s.%s.%s" % (
                        packing or "separate", tag, dtype, layout,
                        _bias_tag(biases))
                    cases.append(Case(name, "ffn", act, dict(attrs), dtype=dtype,
                                      layout=layout, packing=packing,
                                      biases=biases))
    return cases


def suite_mlp():
    """glu.mlp: relu, gelu_erf, gelu_tanh, silu (and sigmoid, identity) ×
    dtypes × layouts × biases all/none, plus swish-β."""
    cases = []
    for dtype in DTYPES:
        for act in MLP_ACTS:
            for layout in LAYOUTS:
                for with_bias in (False, True):
                    biases = all_biases("mlp", None) if with_bias else ()
                    cases.append(Case("mlp.%s.%s.%s.%s" % (
                        act, dtype, layout, _bias_tag(biases)), "mlp", act,
                        dtype=dtype, layout=layout, biases=biases))
        cases.append(Case("mlp.swish_b1.5.%s.in_out.bias" % dtype, "mlp", "swish",
                          {"beta": 1.5}, dtype=dtype, layout="in_out",
                          biases=all_biases("mlp", None)))
    return cases


def suite_gate_up():
    """glu.gate_up: packings × layouts × biases × dtypes, the activations
    taking turns (every one appears with every dtype)."""
    cases = []
    i = 0
    for dtype in DTYPES:
        for packing in PACKINGS:
            for layout in LAYOUTS:
                for with_bias in (False, True):
                    for k in range(3):
                        act, attrs, tag = ACT_CONFIGS[i % len(ACT_CONFIGS)]
                        i += 1
                        biases = all_biases("gate_up", packing) if with_bias else ()
                        cases.append(Case("gate_up.%s.%s.%s.%s.%s" % (
                            packing, tag, dtype, layout, _bias_tag(biases)),
                            "gate_up", act, dict(attrs), dtype=dtype,
                            layout=layout, packing=packing, biases=biases))
    return cases


def suite_gate():
    """glu.gate: every activation × dtype on a 3-D tensor (static, and with
    dynamic dims), including extreme values (±1e4, ±limit, ±0, NaN)."""
    cases = []
    for dtype in DTYPES:
        for j, (act, attrs, tag) in enumerate(ACT_CONFIGS):
            gate_dyn = () if j % 2 == 0 else (0, 2)
            cases.append(Case("gate.%s.%s.%s" % (
                tag, dtype, "static" if not gate_dyn else "dynamic"), "gate",
                act, dict(attrs), dtype=dtype, gate_dyn=gate_dyn))
    return cases


def suite_edge():
    """Edge shapes and types, mostly f32 (some bf16/f16)."""
    c = []
    sep = all_biases("ffn", None)
    mrg = all_biases("ffn", "concat")
    # One token; rank-1 input (no batch dims); two batch dims, static and
    # dynamic.
    c.append(Case("edge.ffn.one_token.static", "ffn", "silu", batch=(1,),
                  dyn="none", biases=sep))
    c.append(Case("edge.ffn.one_token.dynamic", "ffn", "gelu_tanh", batch=(1,),
                  layout="in_out", packing="interleaved", biases=mrg))
    c.append(Case("edge.ffn.rank1", "ffn", "silu", batch=(), dyn="none",
                  biases=sep))
    c.append(Case("edge.ffn.rank1.merged.bf16", "ffn", "clamped_swiglu",
                  batch=(), dyn="none", dtype="bf16", packing="interleaved",
                  biases=mrg))
    c.append(Case("edge.mlp.rank1", "mlp", "gelu_erf", batch=(), dyn="none",
                  layout="in_out", biases=("up_bias", "down_bias")))
    c.append(Case("edge.gate_up.rank1", "gate_up", "silu", batch=(), dyn="none",
                  packing="interleaved", biases=("gate_up_bias",)))
    c.append(Case("edge.ffn.rank3.static", "ffn", "silu", batch=(2, 3),
                  dyn="none", biases=sep))
    # Two batch dims, the second dynamic (tensor<2x?x64xf32>). Several
    # dynamic batch dims (tensor<?x?x64xf32>) are in suite dynamic-batch.
    c.append(Case("edge.ffn.rank3.mixed_dynamic", "ffn", "swish",
                  {"beta": 1.5}, batch=(2, 3), dyn="mixed", layout="in_out",
                  packing="interleaved", biases=mrg))
    c.append(Case("edge.ffn.rank3.mixed_dynamic.f16", "ffn", "gelu_erf",
                  batch=(2, 3), dyn="mixed", dtype="f16", biases=sep))
    c.append(Case("edge.mlp.rank3.mixed_dynamic", "mlp", "relu", batch=(2, 3),
                  dyn="mixed", biases=("up_bias", "down_bias")))
    c.append(Case("edge.gate_up.rank3.mixed_dynamic", "gate_up",
                  "clamped_swiglu", batch=(2, 3), dyn="mixed", layout="in_out",
                  packing="concat", biases=("gate_up_bias",)))
    # Sizes that are multiples of nothing.
    for d, f, t in [(7, 37, 7), (37, 129, 129), (129, 37, 7), (7, 129, 129),
                    (129, 129, 1)]:
        c.append(Case("edge.ffn.odd.d%d.f%d.t%d" % (d, f, t), "ffn", "silu",
                      batch=(t,), d_model=d, d_ff=f, biases=sep))
    c.append(Case("edge.ffn.odd.d37.f37.t7.interleaved.in_out.bf16", "ffn",
                  "clamped_swiglu", batch=(7,), d_model=37, d_ff=37,
                  dtype="bf16", layout="in_out", packing="interleaved",
                  biases=mrg))
    c.append(Case("edge.ffn.odd.d129.f37.t129.concat.f16", "ffn", "gelu_tanh",
                  batch=(129,), d_model=129, d_ff=37, dtype="f16",
                  packing="concat", biases=mrg))
    c.append(Case("edge.mlp.odd.d37.f129.t7", "mlp", "gelu_erf", batch=(7,),
                  d_model=37, d_ff=129, layout="in_out",
                  biases=("up_bias", "down_bias")))
    c.append(Case("edge.gate_up.odd.d129.f37.t7", "gate_up", "silu",
                  batch=(7,), d_model=129, d_ff=37, packing="interleaved",
                  biases=("gate_up_bias",)))
    # Small batches (8-13 tokens: a full and a partial row block).
    c.append(Case("edge.ffn.small_batch.t8", "ffn", "silu", batch=(8,),
                  d_model=37, d_ff=129, biases=sep))
    c.append(Case("edge.ffn.small_batch.t12.bf16", "ffn", "gelu_tanh",
                  batch=(12,), d_model=64, d_ff=96, dtype="bf16",
                  packing="interleaved", biases=mrg))
    c.append(Case("edge.ffn.small_batch.t11.f16", "ffn", "clamped_swiglu",
                  batch=(11,), d_model=48, d_ff=80, dtype="f16",
                  layout="in_out", biases=sep))
    c.append(Case("edge.mlp.small_batch.t10", "mlp", "gelu_erf", batch=(10,),
                  d_model=37, d_ff=129, biases=("up_bias", "down_bias")))
    c.append(Case("edge.gate_up.small_batch.t9", "gate_up", "silu",
                  batch=(9,), d_model=129, d_ff=37, packing="concat",
                  biases=("gate_up_bias",)))
    c.append(Case("edge.ffn.small_batch.t13", "ffn", "silu", batch=(13,),
                  d_model=37, d_ff=129, biases=sep))
    c.append(Case("edge.gate.odd.rank1", "gate", "gelu_tanh", gate_shape=(129,),
                  gate_dyn=(0,)))
    c.append(Case("edge.gate.rank4.bf16", "gate", "clamped_swiglu",
                  dtype="bf16", gate_shape=(2, 1, 7, 37), gate_dyn=(1, 2)))
    # Dynamic everything: input tensor<?x?xf32>, weights tensor<?x?xf32>.
    c.append(Case("edge.ffn.dynamic_weights", "ffn", "silu", dyn="all",
                  wdyn=True, biases=sep))
    c.append(Case("edge.ffn.dynamic_weights.merged", "ffn", "clamped_swiglu",
                  dyn="all", wdyn=True, packing="interleaved", layout="in_out",
                  biases=mrg))
    c.append(Case("edge.mlp.dynamic_weights", "mlp", "gelu_tanh", dyn="all",
                  wdyn=True, biases=("up_bias", "down_bias")))
    c.append(Case("edge.gate_up.dynamic_weights", "gate_up", "relu", dyn="all",
                  wdyn=True, packing="interleaved", biases=("gate_up_bias",)))
    # d_out != d_model (down weight [D_out, F]).
    c.append(Case("edge.ffn.dout48", "ffn", "silu", d_out=48, biases=sep))
    c.append(Case("edge.ffn.dout48.in_out.merged", "ffn", "gelu_tanh", d_out=48,
                  layout="in_out", packing="concat", biases=mrg))
    c.append(Case("edge.ffn.dout100.bf16", "ffn", "silu", d_out=100,
                  dtype="bf16", layout="in_out", biases=sep))
    c.append(Case("edge.mlp.dout48", "mlp", "relu", d_out=48,
                  biases=("up_bias", "down_bias")))
    c.append(Case("edge.mlp.dout48.in_out", "mlp", "gelu_erf", d_out=48,
                  layout="in_out"))
    # Only some biases (each one must land where it belongs).
    c.append(Case("edge.ffn.gate_bias_only", "ffn", "silu",
                  biases=("gate_bias",)))
    c.append(Case("edge.ffn.up_bias_only", "ffn", "silu", layout="in_out",
                  biases=("up_bias",)))
    c.append(Case("edge.ffn.down_bias_only.merged", "ffn", "relu",
                  packing="interleaved", biases=("down_bias",)))
    c.append(Case("edge.ffn.gate_up_bias_only", "ffn", "clamped_swiglu",
                  packing="concat", biases=("gate_up_bias",)))
    c.append(Case("edge.mlp.down_bias_only", "mlp", "silu",
                  biases=("down_bias",)))
    # Defaults spelled out (`layout out_in`, `packing concat`).
    c.append(Case("edge.ffn.explicit_defaults", "ffn", "silu",
                  packing="concat", print_defaults=True, biases=mrg))
    c.append(Case("edge.gate_up.explicit_defaults", "gate_up", "gelu_erf",
                  packing="concat", print_defaults=True))
    return c


def suite_dynamic_batch():
    """Inputs with several dynamic batch dims (tensor<?x?x64xf32>): the
    result's batch dims are restored by an expand_shape with more than one
    dynamic size in one group."""
    sep = all_biases("ffn", None)
    mrg = all_biases("ffn", "concat")
    return [
        Case("dynbatch.ffn.rank3", "ffn", "swish", {"beta": 1.5},
             batch=(2, 3), layout="in_out", packing="interleaved", biases=mrg),
        Case("dynbatch.ffn.rank3.f16", "ffn", "gelu_erf", batch=(2, 3),
             dtype="f16", biases=sep),
        Case("dynbatch.mlp.rank3", "mlp", "relu", batch=(2, 3),
             biases=("up_bias", "down_bias")),
        Case("dynbatch.gate_up.rank3", "gate_up", "clamped_swiglu",
             batch=(2, 3), layout="in_out", packing="concat",
             biases=("gate_up_bias",)),
        Case("dynbatch.ffn.rank4.all_dynamic", "ffn", "relu", batch=(2, 1, 3),
             dyn="all", biases=sep),
        Case("dynbatch.ffn.rank3.dynamic_weights", "ffn", "gelu_erf",
             batch=(2, 3), dyn="all", wdyn=True, layout="in_out"),
    ]


def suite_mixed():
    """Weights of another element type than the activations, and acc_type."""
    c = []
    sep = all_biases("ffn", None)
    mrg = all_biases("ffn", "concat")
    c.append(Case("mixed.ffn.f32_x.bf16_w", "ffn", "silu", wdtype="bf16",
                  biases=sep))
    c.append(Case("mixed.ffn.f32_x.bf16_w.merged.in_out", "ffn",
                  "clamped_swiglu", wdtype="bf16", layout="in_out",
                  packing="interleaved", biases=mrg))
    c.append(Case("mixed.ffn.f32_x.f16_w", "ffn", "gelu_erf", wdtype="f16",
                  layout="in_out", biases=sep))
    c.append(Case("mixed.ffn.bf16_x.f32_w", "ffn", "silu", dtype="bf16",
                  wdtype="f32", biases=sep))
    c.append(Case("mixed.ffn.f16_x.bf16_w", "ffn", "swish", {"beta": 0.5},
                  dtype="f16", wdtype="bf16", packing="concat", biases=mrg))
    c.append(Case("mixed.mlp.f32_x.bf16_w", "mlp", "gelu_tanh", wdtype="bf16",
                  biases=("up_bias", "down_bias")))
    c.append(Case("mixed.gate_up.f32_x.bf16_w", "gate_up", "silu",
                  wdtype="bf16", packing="interleaved",
                  biases=("gate_up_bias",)))
    c.append(Case("mixed.gate_up.bf16_x.f32_w", "gate_up", "relu",
                  dtype="bf16", wdtype="f32", layout="in_out"))
    # Accumulation in f64 (f32 operands).
    c.append(Case("acc.ffn.f32.acc_f64", "ffn", "silu", acc_type="f64",
                  biases=sep))
    c.append(Case("acc.mlp.bf16.acc_f64", "mlp", "gelu_erf", dtype="bf16",
                  acc_type="f64", layout="in_out", biases=("up_bias", "down_bias")))
    c.append(Case("acc.gate.f16.acc_f64", "gate", "gelu_tanh", dtype="f16",
                  acc_type="f64"))
    return c


def suite_acc_f16():
    """All-f16 computations accumulated in f16 (acc_type = f16)."""
    sep = all_biases("ffn", None)
    return [
        Case("acc.ffn.f16.acc_f16", "ffn", "silu", dtype="f16", acc_type="f16",
             biases=sep),
        Case("acc.ffn.f16.acc_f16.gelu_erf", "ffn", "gelu_erf", dtype="f16",
             acc_type="f16", layout="in_out", packing="interleaved",
             biases=all_biases("ffn", "interleaved")),
        Case("acc.mlp.f16.acc_f16", "mlp", "gelu_tanh", dtype="f16",
             acc_type="f16", biases=("up_bias", "down_bias")),
        Case("acc.gate.f16.acc_f16", "gate", "clamped_swiglu", dtype="f16",
             acc_type="f16"),
    ]


def suite_mma_tiles():
    """Shapes for the tensor-core (mma) kernels' tiles and cp.async stages:
    token counts, features and reductions that are not multiples of the
    64/128 block tiles or of the 32-wide K step, several K steps (more than
    4, so every stage is refilled), and each staging path: cp.async along
    K (K % 8 == 0) and along N (in_out, N % 8 == 0, separate or concat),
    through registers (K or N odd, interleaved in_out), f32 x split into
    hi + lo (the down projections, mixed types)."""
    sep = all_biases("ffn", None)
    return [
        Case("mma.ffn.bf16.out_in.m137_k200_n136", "ffn", "silu",
             dtype="bf16", batch=(137,), d_model=200, d_ff=136, biases=sep),
        Case("mma.ffn.f16.in_out.concat.m70_k72_n200", "ffn", "gelu_tanh",
             dtype="f16", layout="in_out", packing="concat", batch=(2, 35),
             d_model=72, d_ff=200, biases=all_biases("ffn", "concat")),
        Case("mma.gate_up.bf16.in_out.interleaved.m129_k168_n77", "gate_up",
             "clamped_swiglu", dtype="bf16", layout="in_out",
             packing="interleaved", batch=(129,), d_model=168, d_ff=77,
             biases=("gate_up_bias",)),
        Case("mma.mlp.f16.out_in.m131_k37_n150", "mlp", "gelu_erf",
             dtype="f16", batch=(131,), d_model=37, d_ff=150,
             biases=("up_bias", "down_bias")),
        Case("mma.gate_up.f32_x.bf16_w.m66_k264_n72", "gate_up", "silu",
             wdtype="bf16", packing="concat", batch=(66,), d_model=264,
             d_ff=72),
    ]


def suite_llama():
    """LLaMA-2 7B's MLP: d_model 4096, d_ff 11008, 3 tokens, SwiGLU, bf16,
    out_in (weights ~270 MB as bf16 .npy, deleted after a pass like every
    case's inputs)."""
    return [Case("llama.ffn.silu.bf16.d4096.f11008.t3", "ffn", "silu",
                 dtype="bf16", batch=(3,), d_model=4096, d_ff=11008)]


def suite_mutation_targets():
    """Cases whose results are also compared with deliberately wrong
    references (--mutations): square weights (so a transposed layout is
    expressible), all biases, both packings, every dtype."""
    c = []
    for dtype in DTYPES:
        for act, attrs, tag in ACT_CONFIGS:
            c.append(Case("mut.ffn.separate.%s.%s" % (tag, dtype), "ffn", act,
                          dict(attrs), dtype=dtype, d_ff=64, layout="out_in",
                          biases=all_biases("ffn", None)))
        for packing in PACKINGS:
            c.append(Case("mut.ffn.%s.clamped.%s.in_out" % (packing, dtype),
                          "ffn", "clamped_swiglu", dtype=dtype, d_ff=64,
                          layout="in_out", packing=packing,
                          biases=all_biases("ffn", packing)))
            c.append(Case("mut.gate_up.%s.silu.%s" % (packing, dtype),
                          "gate_up", "silu", dtype=dtype, d_ff=32,
                          packing=packing, biases=("gate_up_bias",)))
        c.append(Case("mut.mlp.gelu_erf.%s" % dtype, "mlp", "gelu_erf",
                      dtype=dtype, d_ff=64, biases=("up_bias", "down_bias")))
        c.append(Case("mut.mlp.relu.%s.in_out" % dtype, "mlp", "relu",
                      dtype=dtype, d_ff=64, layout="in_out",
                      biases=("up_bias", "down_bias")))
        for act, attrs, tag in ACT_CONFIGS:
            c.append(Case("mut.gate.%s.%s" % (tag, dtype), "gate", act,
                          dict(attrs), dtype=dtype))
    return c


SUITES = {
    "ffn-f32": lambda: suite_ffn("f32", False),
    "ffn-f16": lambda: suite_ffn("f16", False),
    "ffn-bf16": lambda: suite_ffn("bf16", False),
    "ffn-merged-f32": lambda: suite_ffn("f32", True),
    "ffn-merged-f16": lambda: suite_ffn("f16", True),
    "ffn-merged-bf16": lambda: suite_ffn("bf16", True),
    "mlp": suite_mlp,
    "gate_up": suite_gate_up,
    "gate": suite_gate,
    "edge": suite_edge,
    "dynamic-batch": suite_dynamic_batch,
    "mixed": suite_mixed,
    "acc-f16": suite_acc_f16,
    "mma-tiles": suite_mma_tiles,
    "llama": suite_llama,
    "mutations": suite_mutation_targets,
}

# ---------------------------------------------------------------------------
# MLIR text
# ---------------------------------------------------------------------------


def ttype(dims, dtype):
    return "tensor<%s>" % "x".join([str(d) for d in dims] + [dtype])


def _weight_shape(case, n_out, n_in):
    return (n_out, n_in) if case.layout == "out_in" else (n_in, n_out)


@dataclass
class Operand:
    name: str  # SSA name without %
    keyword: str  # glu keyword introducing it (None for the input)
    data: np.ndarray  # rounded to its dtype
    dtype: str
    type: str  # MLIR type


def _wtype(case, shape, dtype):
    dims = ["?"] * len(shape) if case.wdyn else list(shape)
    return ttype(dims, dtype)


def _io_type(case, batch, last):
    if case.dyn == "all":
        dims = ["?"] * (len(batch) + 1)
    elif case.dyn == "batch":
        dims = ["?"] * len(batch) + [last]
    elif case.dyn == "mixed":
        dims = list(batch[:1]) + ["?"] * (len(batch) - 1) + [last]
    else:
        dims = list(batch) + [last]
    return ttype(dims, case.dtype)


def _seed(name):
    return zlib.crc32(name.encode())


def _normal(rng, shape, scale, dtype):
    """Seeded N(0, scale²) values rounded to `dtype` (generated as float32 in
    chunks so that LLaMA-sized weights stay cheap)."""
    n = int(np.prod(shape))
    out = np.empty(n, dtype=ref.DTYPES[dtype])
    step = 1 << 22
    for s in range(0, n, step):
        k = min(step, n - s)
        out[s:s + k] = (rng.standard_normal(k, dtype=np.float32)
                        * np.float32(scale)).astype(ref.DTYPES[dtype])
    return out.reshape(shape)


def _specials(rng, shape, dtype, limit, g_side):
    """Values for glu.gate: mostly uniform in [-9, 9] (past the clamp limit
    7), plus extreme and special values (±1e4, ±100, ±limit, ±0, NaN, just
    past 7) in the first 15 elements (row-major) of the gate operand
    (`g_side`) and in the next 15 of the up operand; the other operand
    stays within [-4, 4] there, so that products stay finite in f16."""
    a = rng.uniform(-9.0, 9.0, size=shape)
    flat = a.reshape(-1)
    ext = [1e4, -1e4, 100.0, -100.0, 30.0, -30.0, limit, -limit, 0.0, -0.0,
           np.nan, 7.0001, -7.0001, 3.0, -3.0]
    n = min(len(ext), flat.size // 2)
    if g_side:
        flat[:n] = ext[:n]
        flat[n:2 * n] = np.clip(flat[n:2 * n], -4, 4)
    else:
        flat[:n] = np.clip(flat[:n], -4, 4)
        flat[n:2 * n] = ext[:n]
    return ref.round_to(a, dtype)


def build_operands(case):
    """The function's operands, in order, with seeded random data."""
    rng = np.random.default_rng(_seed(case.name))
    D, F, Do = case.d_model, case.d_ff, case.dout
    ops = []
    if case.op == "gate":
        limit = case.attrs.get("limit", ref.DEFAULT_LIMIT)
        shape = case.gate_shape
        dims = ["?" if i in case.gate_dyn else d for i, d in enumerate(shape)]
        t = ttype(dims, case.dtype)
        g = _specials(rng, shape, case.dtype, limit, True)
        u = _specials(rng, shape, case.dtype, limit, False)
        return [Operand("g", None, g, case.dtype, t),
                Operand("u", None, u, case.dtype, t)]

    x = _normal(rng, case.batch + (D,), 1.0, case.dtype)
    ops.append(Operand("x", None, x, case.dtype,
                       _io_type(case, case.batch, D)))
    w_in = case.pre_std / math.sqrt(D)  # pre-activations ~ N(0, pre_std²)

    def weight(name, kw, n_out, n_in, scale):
        shape = _weight_shape(case, n_out, n_in)
        ops.append(Operand(name, kw, _normal(rng, shape, scale, case.w), case.w,
                           _wtype(case, shape, case.w)))

    def bias(name, kw, n):
        if kw in case.biases:
            ops.append(Operand(name, kw, _normal(rng, (n,), 1.0, case.dtype),
                               case.dtype, _wtype(case, (n,), case.dtype)))

    if case.op == "ffn":
        if case.packing:
            weight("wgu", "gate_up", 2 * F, D, w_in)
        else:
            weight("wg", "gate", F, D, w_in)
            weight("wu", "up", F, D, w_in)
        weight("wd", "down", Do, F, 1.0 / math.sqrt(F))
        if case.packing:
            bias("bgu", "gate_up_bias", 2 * F)
        else:
            bias("bg", "gate_bias", F)
            bias("bu", "up_bias", F)
        bias("bd", "down_bias", Do)
    elif case.op == "mlp":
        weight("w1", "up", F, D, w_in)
        weight("w2", "down", Do, F, 1.0 / math.sqrt(F))
        bias("b1", "up_bias", F)
        bias("b2", "down_bias", Do)
    elif case.op == "gate_up":
        weight("wgu", "gate_up", 2 * F, D, w_in)
        bias("bgu", "gate_up_bias", 2 * F)
    else:
        raise ValueError(case.op)
    return ops


def _attr_dict(case):
    parts = []
    for key in ("beta", "alpha", "limit"):
        if key in case.attrs:
            parts.append("%s = %r : f32" % (key, float(case.attrs[key])))
    if case.acc_type:
        parts.append("acc_type = %s" % case.acc_type)
    return (" {%s}" % ", ".join(parts)) if parts else ""


def result_type(case):
    if case.op == "gate":
        dims = ["?" if i in case.gate_dyn else d
                for i, d in enumerate(case.gate_shape)]
        return ttype(dims, case.dtype)
    last = case.d_ff if case.op == "gate_up" else case.dout
    return _io_type(case, case.batch, last)


def result_shape(case):
    if case.op == "gate":
        return case.gate_shape
    return case.batch + ((case.d_ff if case.op == "gate_up" else case.dout),)


def build_mlir(case, ops):
    rtype = result_type(case)
    args = ", ".join("%%%s: %s" % (o.name, o.type) for o in ops)
    if case.op == "gate":
        body = "glu.gate %s %%g, %%u%s : %s" % (case.act, _attr_dict(case), rtype)
    else:
        pieces = ["glu.%s %s %%%s : %s" % (case.op, case.act, ops[0].name,
                                          ops[0].type)]
        for o in ops[1:]:
            pieces.append("%s %%%s : %s" % (o.keyword, o.name, o.type))
        if case.packing and (case.packing != "concat" or case.print_defaults):
            pieces.append("packing %s" % case.packing)
        if case.layout != "out_in" or case.print_defaults:
            pieces.append("layout %s" % case.layout)
        body = "\n      ".join(pieces) + _attr_dict(case) + " -> " + rtype
    return ("// %s (generated by run_cases.py)\n"
            "func.func @case(%s) -> %s {\n"
            "  %%r = %s\n"
            "  return %%r : %s\n"
            "}\n" % (case.name, args, rtype, body, rtype))


# ---------------------------------------------------------------------------
# Reference and error bound
# ---------------------------------------------------------------------------


def _params(case):
    """Activation parameters as the op sees them: f32 attributes, so the
    values are rounded to f32 (e.g. the default alpha is f32(1.702))."""
    f32 = lambda v: float(np.float32(v))
    return dict(beta=f32(case.attrs.get("beta", ref.DEFAULT_BETA)),
                alpha=f32(case.attrs.get("alpha", ref.DEFAULT_ALPHA)),
                limit=f32(case.attrs.get("limit", ref.DEFAULT_LIMIT)))


def _named(ops):
    return {o.keyword or o.name: o.data for o in ops}


@dataclass
class Mutation:
    """A deliberate change of the reference (a model of a compiler bug)."""
    name: str
    act: str = None
    params: dict = None
    swap_gate_up: bool = False
    packing: str = None
    drop_bias: str = None
    swap_gate_up_bias: bool = False
    transpose: bool = False  # read the weights in the other layout
    round_hidden: bool = False  # round ffn's hidden to the element type
    # Not expected to be detected (reported, never a failure): the reason.
    informative: str = None


def _merge(wg, wu, layout):
    """A concat-packed merged weight (or bias, 1-D) from its two halves."""
    axis = 0 if (wg.ndim == 1 or layout == "out_in") else 1
    return np.concatenate([wg, wu], axis=axis)


def reference_value(case, ops, mut=None):
    """The float64 reference of the case, computed with the functions of
    swiglu.reference; with `mut`, the reference of a deliberately wrong op
    (see Mutation)."""
    v = _named(ops)
    p = _params(case)
    act = case.act
    packing = case.packing or "concat"
    layout = case.layout
    mut = mut or Mutation("none")
    act = mut.act or act
    p = dict(p, **(mut.params or {}))
    packing = mut.packing or packing
    if mut.drop_bias:
        v = {k: a for k, a in v.items() if k != mut.drop_bias}
    if mut.transpose:
        v = {k: (a.T if a.ndim == 2 and k != "x" else a) for k, a in v.items()}

    if case.op == "gate":
        g, u = v["g"], v["u"]
        if mut.swap_gate_up:
            g, u = u, g
        return ref.gate(act, g, u, **p)
    if case.op == "mlp":
        return ref.mlp(v["x"], act, w_up=v["up"], w_down=v["down"],
                       b_up=v.get("up_bias"), b_down=v.get("down_bias"),
                       layout=layout, beta=p["beta"])

    # ffn and gate_up: the gate and up weights (and biases), swapped or
    # merged as the mutation asks; the unmutated case hands the op's own
    # operands to the reference.
    merged = "gate_up" in v
    if merged and (mut.swap_gate_up or mut.swap_gate_up_bias):
        wg, wu = ref.split_merged(v["gate_up"], layout, packing)
        b = v.get("gate_up_bias")
        bg, bu = ref.split_merged_bias(b, packing) if b is not None else (None, None)
        merged = False
    elif not merged:
        wg, wu = v["gate"], v["up"]
        bg, bu = v.get("gate_bias"), v.get("up_bias")
    if not merged:
        if mut.swap_gate_up:
            wg, wu = wu, wg
        if mut.swap_gate_up_bias:
            bg, bu = bu, bg
    if case.op == "ffn" and not mut.round_hidden:
        if merged:
            return ref.ffn(v["x"], act, w_gate_up=v["gate_up"], w_down=v["down"],
                           b_gate_up=v.get("gate_up_bias"),
                           b_down=v.get("down_bias"), layout=layout,
                           packing=packing, **p)
        return ref.ffn(v["x"], act, w_gate=wg, w_up=wu, w_down=v["down"],
                       b_gate=bg, b_up=bu, b_down=v.get("down_bias"),
                       layout=layout, **p)
    if merged:
        w, b = v["gate_up"], v.get("gate_up_bias")
    else:  # as one concat-packed merged weight
        w = _merge(wg, wu, layout)
        b = _merge(bg, bu, layout) if bg is not None else None
        if (bg is None) != (bu is None):
            raise ValueError("a mutation needs both gate and up biases")
        packing = "concat"
    h = ref.gate_up(v["x"], act, w, b, layout=layout, packing=packing, **p)
    if case.op == "gate_up":
        return h
    # ffn with its hidden rounded to the element type (mutation).
    y = ref.project(ref.round_to(h, case.dtype), v["down"], layout)
    bd = v.get("down_bias")
    return y if bd is None else y + bd.astype(np.float64)


def error_bound(case, ops):
    """(y, tol): the per-element tolerance |out - ref| ≤ tol of the case (see
    "Tolerances"), with the value y its decomposition gives (which must agree
    with reference_value)."""
    v = _named(ops)
    p = _params(case)
    act = case.act
    packing = case.packing or "concat"
    layout = case.layout
    u_acc = ref.unit_roundoff(case.acc)
    u_out = ref.unit_roundoff(case.dtype)
    eta = ETA[case.dtype]

    if case.op == "gate":
        g = v["g"].astype(np.float64)
        u = v["u"].astype(np.float64)
        r = ref.gating(act, g, u, **p)
        e = C_ACT * u_acc * (np.abs(g) + 1) * (np.abs(u) + 1)
        return r, u_out * np.abs(r) + eta + SAFETY * e * (1 + u_out)

    x = v["x"]
    D, F = case.d_model, case.d_ff

    def pre(w, b):
        """(value, error bound) of x·W + b."""
        val = ref.project(x, w, layout)
        mag = ref.project(x, w, layout, absolute=True)
        if b is not None:
            val = val + b.astype(np.float64)
            mag = mag + np.abs(b.astype(np.float64))
        return val, gamma(D + 1, u_acc) * mag

    def gated_hidden():
        if "gate_up" in v:
            wg, wu = ref.split_merged(v["gate_up"], layout, packing)
            bgu = v.get("gate_up_bias")
            bg, bu = (ref.split_merged_bias(bgu, packing) if bgu is not None
                      else (None, None))
        else:
            wg, wu = v["gate"], v["up"]
            bg, bu = v.get("gate_bias"), v.get("up_bias")
        g, eg = pre(wg, bg)
        u, eu = pre(wu, bu)
        h = ref.gating(act, g, u, **p)
        ag, au = np.abs(g) + 1, np.abs(u) + 1
        eh = (LIPSCHITZ * eg * au + ag * eu + LIPSCHITZ * eg * eu
              + C_ACT * u_acc * ag * au)
        return h, eh

    if case.op == "gate_up":
        h, eh = gated_hidden()
        return h, u_out * np.abs(h) + eta + SAFETY * eh * (1 + u_out)

    if case.op == "ffn":
        h, eh = gated_hidden()
    else:  # mlp
        p1, e1 = pre(v["up"], v.get("up_bias"))
        h = ref.activation(act, p1, p["beta"])
        eh = LIPSCHITZ * e1 + C_ACT * u_acc * (np.abs(p1) + 1)
    wd = v["down"]
    y = ref.project(h, wd, layout)
    mag = ref.project(h, wd, layout, absolute=True)
    carried = np.minimum(
        ref.project(eh, wd, layout, absolute=True),
        LAMBDA * np.sqrt(ref.project(eh, wd, layout, squared=True)))
    if v.get("down_bias") is not None:
        bd = v["down_bias"].astype(np.float64)
        y = y + bd
        mag = mag + np.abs(bd)
    e = gamma(F + 1, u_acc) * mag + carried
    return y, u_out * np.abs(y) + eta + SAFETY * e * (1 + u_out)


NEIGHBOUR_ACT = {
    "sigmoid": ("silu", None),
    "identity": ("relu", None),
    "relu": ("identity", None),
    "gelu_erf": ("gelu_tanh", None),
    "gelu_tanh": ("gelu_erf", None),
    "silu": ("gelu_erf", None),
}


def mutations_for(case):
    """The wrong references a correct result must be told apart from (each a
    model of a plausible compiler bug)."""
    m = []
    if case.op in ("ffn", "gate_up", "gate") and not (
            case.op == "gate" and case.act == "identity"):  # g·u = u·g
        m.append(Mutation("swap-gate-up", swap_gate_up=True))
    if case.packing:
        other = "concat" if case.packing == "interleaved" else "interleaved"
        m.append(Mutation("packing-" + other, packing=other))
    if case.op in ("ffn", "gate_up") and any(
            b in case.biases for b in ("gate_bias", "up_bias", "gate_up_bias")):
        m.append(Mutation("swap-gate-up-bias", swap_gate_up_bias=True))
    square = case.d_model == case.d_ff == case.dout
    if square and not case.packing and case.op in ("ffn", "mlp"):
        m.append(Mutation("transposed-weights", transpose=True))
    for b in case.biases:
        m.append(Mutation("drop-" + b, drop_bias=b))
    if case.act in NEIGHBOUR_ACT:
        other, params = NEIGHBOUR_ACT[case.act]
        why = None
        if {case.act, other} == {"gelu_erf", "gelu_tanh"} and case.op != "gate":
            # The two GELUs differ by ≤ 4.7e-4; after a projection this is
            # below the worst-case accumulation bound (glu.gate resolves it).
            why = "GELU forms differ by <= 4.7e-4, below the projection bound"
        m.append(Mutation("act-" + other, act=other, params=params,
                          informative=why))
    if case.act == "swish":
        beta = case.attrs.get("beta", 1.0)
        m.append(Mutation("beta-1.0" if beta != 1.0 else "beta-1.5",
                          params={"beta": 1.0 if beta != 1.0 else 1.5}))
    if case.act == "clamped_swiglu":
        m.append(Mutation("no-clamp", params={"limit": math.inf}))
        alpha = case.attrs.get("alpha", ref.DEFAULT_ALPHA)
        m.append(Mutation("alpha-1.0" if alpha != 1.0 else "alpha-1.702",
                          params={"alpha": 1.0 if alpha != 1.0 else 1.702}))
        m.append(Mutation("silu-gating", act="silu"))
    if case.op == "ffn" and case.dtype != "f32":
        m.append(Mutation("rounded-hidden", round_hidden=True,
                          informative="rounding the hidden to %s moves the "
                          "result by about one output rounding" % case.dtype))
    return m


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def compare(case, out, r, tol):
    """(ok, message, worst) for a result `out` (in its dtype) against the
    reference `r` with tolerance `tol` (both float64)."""
    o = out.astype(np.float64)
    if o.shape != r.shape:
        return False, "shape %s, expected %s" % (o.shape, r.shape), math.inf
    rounded = ref.round_to(r, case.dtype).astype(np.float64)
    nan_ref = np.isnan(r)
    inf_ref = np.isinf(rounded) & ~nan_ref
    bad_nan = nan_ref != np.isnan(o)
    bad_inf = inf_ref & (o != rounded)
    finite = ~nan_ref & ~inf_ref
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(o - r), 0.0)
        ratio = np.where(finite, err / np.where(tol > 0, tol, 1e-300), 0.0)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    worst = float(np.max(ratio)) if ratio.size else 0.0
    max_err = float(np.max(err)) if err.size else 0.0
    scale = float(np.max(np.abs(np.where(finite, r, 0.0)))) if r.size else 0.0
    max_rel = max_err / scale if scale > 0 else max_err
    msg = "max_abs_err=%.3g max_rel=%.3g worst=%.3g" % (max_err, max_rel, worst)
    problems = []
    if bad_nan.any():
        i = np.unravel_index(np.argmax(bad_nan), bad_nan.shape)
        problems.append("%d NaN mismatches (first at %s: out=%r ref=%r)" % (
            int(bad_nan.sum()), tuple(int(k) for k in i), o[i], r[i]))
    if bad_inf.any():
        problems.append("%d infinity mismatches" % int(bad_inf.sum()))
    if worst > 1.0:
        i = np.unravel_index(np.argmax(ratio), ratio.shape)
        problems.append(
            "%d/%d elements out of tolerance; worst at %s: out=%.9g ref=%.9g "
            "tol=%.3g" % (int((ratio > 1).sum()), ratio.size,
                          tuple(int(k) for k in i), o[i], r[i], tol[i]))
    if problems:
        return False, msg + " " + "; ".join(problems), worst
    return True, msg, worst


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def find_runner(explicit):
    if explicit:
        return explicit
    found = shutil.which("swiglu-run")
    if not found:
        sys.exit("error: swiglu-run not found on PATH (use --swiglu-run)")
    return found


# Operands that glu-merge-gate-up packs, in the packing function's order.
PACKED_KEYWORDS = ("gate", "up", "gate_bias", "up_bias")

# Extra swiglu-run arguments for every call (--pipeline and --runner-arg of
# this driver).
RUNNER_ARGS = []


def run_packing(runner, mlir, entry, ins, outs, timeout):
    """Runs the packing function `entry` of `mlir` on the files `ins`,
    writing `outs`; raises RuntimeError with the runner's message."""
    cmd = [runner, mlir, "--entry=" + entry, *RUNNER_ARGS]
    for i in ins:
        cmd += ["-i", i]
    for o in outs:
        cmd += ["-o", o]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("the packing function failed: %s" % " | ".join(
            proc.stderr.strip().splitlines()[:6]))


def apply_weight_packing(text, out, runner, cdir, inputs, timeout):
    """Runs the load-time packing function of convert-glu-to-cpu-kernels
    (`@case_pack_weights`, whose `glu.packs` lists the argument positions it
    replaces) and returns the entry point's inputs."""
    m = re.search(r"func\.func @case_pack_weights\((.*?)\) -> \(?(.*?)\)? attributes"
                  r" \{[^}]*glu\.packs = array<i64: ([0-9, ]+)>", text)
    if not m:
        raise RuntimeError("@case_pack_weights has no glu.packs attribute")
    positions = [int(p) for p in m.group(3).split(",")]
    results = m.group(2).count("tensor<")
    outs = [os.path.join(cdir, "packed_%d.npy" % i) for i in range(results)]
    run_packing(runner, out, "case_pack_weights", [inputs[p] for p in positions],
                outs, timeout)
    rest = [i for n, i in enumerate(inputs) if n not in positions]
    at = min(positions)
    return out, rest[:at] + outs + rest[at:]


def apply_passes(mlir, passes, runner, cdir, ops, inputs, timeout):
    """Runs `swiglu-opt <passes>` on the case and, if the passes emitted a
    load-time packing function (glu-merge-gate-up), runs it once on the
    original weights. Returns (mlir, inputs) for the entry point, or raises
    RuntimeError with the tool's message."""
    opt = os.path.join(os.path.dirname(runner), "swiglu-opt")
    if not os.path.exists(opt):
        opt = shutil.which("swiglu-opt") or "swiglu-opt"
    out = os.path.join(cdir, "case.opt.mlir")
    proc = subprocess.run([opt, mlir, *passes, "-o", out],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("swiglu-opt %s failed: %s" % (
            " ".join(passes), " | ".join(proc.stderr.strip().splitlines()[:6])))
    text = open(out).read()
    if "@case_pack_weights(" in text:
        return apply_weight_packing(text, out, runner, cdir, inputs, timeout)
    if "@case_pack_gate_up(" not in text:
        return out, inputs
    packed = [i for o, i in zip(ops, inputs) if o.keyword in PACKED_KEYWORDS]
    outs = [os.path.join(cdir, "packed_weight.npy")]
    if len(packed) > 2:
        outs.append(os.path.join(cdir, "packed_bias.npy"))
    run_packing(runner, out, "case_pack_gate_up", packed, outs, timeout)
    # The entry point now takes the packed weight (and bias) where the gate
    # weight was, and no longer the operands that were packed.
    rest = [i for o, i in zip(ops, inputs) if o.keyword not in PACKED_KEYWORDS]
    return out, rest[:1] + outs + rest[1:]


def run_case(case, runner, workdir, mutations, timeout, keep, passes=None):
    """Runs one case; returns (ok, lines)."""
    t0 = time.time()
    cdir = os.path.join(workdir, case.name)
    os.makedirs(cdir, exist_ok=True)
    ops = build_operands(case)
    mlir = os.path.join(cdir, "case.mlir")
    with open(mlir, "w") as f:
        f.write(build_mlir(case, ops))
    inputs = []
    for o in ops:
        path = os.path.join(cdir, o.name + ".npy")
        np.save(path, ref.to_npy_array(o.data, o.dtype), allow_pickle=False)
        inputs.append(path)
    all_inputs = list(inputs)
    if passes:
        try:
            mlir, inputs = apply_passes(mlir, passes, runner, cdir, ops,
                                        inputs, timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            return False, ["FAIL %s %s" % (case.name, e)]
        all_inputs = sorted(set(all_inputs) | set(inputs))
    cmd = [runner, mlir, "--entry=case", *RUNNER_ARGS]
    for path in inputs:
        cmd += ["-i", path]
    out_path = os.path.join(cdir, "out.npy")
    if os.path.exists(out_path):
        os.remove(out_path)
    cmd += ["-o", out_path]
    with open(os.path.join(cdir, "command.sh"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    t1 = time.time()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, ["FAIL %s swiglu-run timed out after %ds" % (
            case.name, timeout)]
    t_run = time.time() - t1
    if proc.returncode != 0:
        err = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        if proc.returncode < 0:
            # A crash: the signal and the innermost MLIR frames of the trace.
            frames = [re.sub(r"^\s*#\d+ 0x[0-9a-f]+ ", "", l).split(" (/")[0]
                      for l in err if re.match(r"^\s*#\d+ ", l)]
            frames = [re.sub(r"\(.*", "", f) for f in frames
                      if "mlir::" in f][:4]
            why = "crashed (signal %d) in %s" % (-proc.returncode,
                                                 " <- ".join(frames) or "?")
        else:
            why = "exited with %d: %s" % (proc.returncode, " | ".join(err[:6]))
        return False, ["FAIL %s swiglu-run %s" % (case.name, why)]
    try:
        raw = np.load(out_path, allow_pickle=False)
        want = "<u2" if case.dtype == "bf16" else ref.DTYPES[case.dtype].newbyteorder("<")
        if raw.dtype != np.dtype(want):
            return False, ["FAIL %s output dtype %s, expected %s" % (
                case.name, raw.dtype, np.dtype(want))]
        out = ref.from_npy_array(raw, case.dtype)
    except (OSError, ValueError) as e:
        return False, ["FAIL %s cannot read the output: %s" % (case.name, e)]
    if out.shape != tuple(result_shape(case)):
        return False, ["FAIL %s output shape %s, expected %s" % (
            case.name, out.shape, tuple(result_shape(case)))]
    r = reference_value(case, ops)
    y, tol = error_bound(case, ops)
    # The bound's own decomposition must reproduce the reference.
    if not np.allclose(y, r, rtol=1e-12, atol=1e-12 * float(
            np.nanmax(np.abs(r), initial=1.0)), equal_nan=True):
        return False, ["FAIL %s internal: the error bound's value disagrees "
                       "with the reference" % case.name]
    ok, msg, _ = compare(case, out, r, tol)
    lines = ["%s %s %s time=%.2fs (swiglu-run %.2fs)" % (
        "PASS" if ok else "FAIL", case.name, msg, time.time() - t0, t_run)]
    if mutations:
        for m in mutations_for(case):
            rm = reference_value(case, ops, m)
            mok, mmsg, worst = compare(case, out, rm, tol)
            if mok and m.informative:
                lines.append("MUTANT %s %s undetected (informative: %s) "
                             "worst=%.3g" % (case.name, m.name, m.informative,
                                             worst))
            elif mok:
                ok = False
                lines.append("MUTANT %s %s SURVIVED worst=%.3g" % (
                    case.name, m.name, worst))
            else:
                lines.append("MUTANT %s %s detected worst=%.3g" % (
                    case.name, m.name, worst))
    if ok and not (keep or case.keep):
        for path in all_inputs + [out_path]:
            os.remove(path)
    return ok, lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", action="append", default=[],
                    help="suite to run (repeatable): " + ", ".join(SUITES))
    ap.add_argument("--case", default=None,
                    help="only cases whose name matches this regex")
    ap.add_argument("--workdir", help="directory for the generated files")
    ap.add_argument("--swiglu-run", default=None,
                    help="path of swiglu-run (default: from PATH)")
    ap.add_argument("--mutations", action="store_true",
                    help="also check that wrong references are detected")
    ap.add_argument("--keep", action="store_true",
                    help="keep the .npy files of passing cases too (those of "
                    "failing cases are always kept, with command.sh)")
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds per swiglu-run call")
    ap.add_argument("--list", action="store_true",
                    help="list the cases of the selected suites (or all)")
    ap.add_argument("--passes", action="append", default=[],
                    help="a swiglu-opt argument applied to each case before "
                         "it runs (repeatable; e.g. "
                         "'--glu-fuse-ffn=tile-tokens=2 chunk-ff=32' as one "
                         "argument); a packing function it emits runs first")
    ap.add_argument("--pipeline", default=None,
                    help="swiglu-run's lowering pipeline (default: the "
                         "reference), e.g. 'glu-cpu-pipeline{threads=2}'")
    ap.add_argument("--runner-arg", action="append", default=[],
                    help="an extra swiglu-run argument for every call, e.g. "
                         "--runner-arg=--target-cpu=x86-64 (repeatable)")
    ap.add_argument("--print-mlir", action="store_true",
                    help="print the generated MLIR of the selected cases")
    args = ap.parse_args(argv)

    names = args.suite or (list(SUITES) if (args.list or args.print_mlir) else [])
    if not names:
        ap.error("give --suite (or --list)")
    cases = []
    for s in names:
        if s not in SUITES:
            ap.error("unknown suite %r (have: %s)" % (s, ", ".join(SUITES)))
        cases += SUITES[s]()
    if args.case:
        cases = [c for c in cases if re.search(args.case, c.name)]
    if len({c.name for c in cases}) != len(cases):
        sys.exit("error: duplicate case names")
    if args.list:
        for c in cases:
            print(c.name)
        print("%d cases" % len(cases))
        return 0
    if args.print_mlir:
        for c in cases:
            print(build_mlir(c, build_operands(c)))
        return 0
    if not args.workdir:
        ap.error("give --workdir")
    if not cases:
        sys.exit("error: no case selected")
    runner = find_runner(args.swiglu_run)
    if args.pipeline:
        RUNNER_ARGS.append("--pipeline=" + args.pipeline)
    RUNNER_ARGS.extend(args.runner_arg)
    os.makedirs(args.workdir, exist_ok=True)

    print("# swiglu-run: %s; %d cases" % (runner, len(cases)), flush=True)
    t0 = time.time()
    failed = 0
    for c in cases:
        ok, lines = run_case(c, runner, args.workdir, args.mutations,
                             args.timeout, args.keep, args.passes)
        for line in lines:
            print(line, flush=True)
        failed += not ok
    dt = time.time() - t0
    if failed:
        print("%d OF %d CASES FAILED (%.1fs)" % (failed, len(cases), dt))
        return 1
    print("ALL %d CASES PASSED (%.1fs)" % (len(cases), dt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
