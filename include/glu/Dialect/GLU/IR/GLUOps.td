//===- GLUOps.td - The glu dialect: gated feed-forward blocks -*- tablegen -*-===//
//
// The `glu` dialect states a transformer feed-forward block at three levels:
//
//   glu.ffn      the whole gated block  (act(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd
//   glu.mlp      the classic non-gated block  act(x·W1 + b1)·W2 + b2
//   glu.gate_up  the fused gate/up projection from one merged weight
//   glu.gate     the elementwise gating act(g) ⊙ u
//
// All of them work on ranked tensors of f32, f16 or bf16 with any number of
// leading batch dimensions, static or dynamic. Arithmetic happens in
// `acc_type` (f32 unless stated) and the result is rounded once, at the end.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_DIALECT_GLU_IR_GLUOPS_TD
#define GLU_DIALECT_GLU_IR_GLUOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def GLU_Dialect : Dialect {
  let name = "glu";
  let cppNamespace = "::mlir::glu";
  let summary = "Gated linear unit feed-forward blocks (SwiGLU, GeGLU, ReGLU, ...)";
  let description = [{
    The `glu` dialect describes the feed-forward block of a transformer, gated
    (the GLU family of Shazeer 2020, "GLU Variants Improve Transformer", and
    GPT-OSS's clamped SwiGLU) or not, at the level of whole blocks,
    projections and elementwise gating. It is the input of the rewrite passes
    that merge, fuse and lower these blocks.

    Conventions shared by every op:
    * The input `x` has shape `[B..., d_model]` with any number (possibly
      zero) of leading batch dimensions; the result has shape `[B..., d_out]`.
    * `layout` gives the storage of every weight: `out_in` is PyTorch's
      `nn.Linear` (`[out_features, in_features]`, so `y = x·Wᵀ`), `in_out` is
      `[in_features, out_features]` (`y = x·W`). Default: `out_in`.
    * A merged gate/up weight holds `2·d_ff` output features. `packing`
      says how: `concat` is `[gate ‖ up]` (vLLM, Megatron), `interleaved`
      puts gate feature `i` at `2i` and up feature `i` at `2i+1` (GPT-OSS).
    * Element types are f32, f16 or bf16. The input, the biases and the
      result share one; the weights share one (which may differ, e.g. bf16
      weights with f32 activations). Products are accumulated in `acc_type`
      (default f32); the activation and gating are computed in `acc_type`
      too, and the result is rounded to its element type once at the end.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

class GLU_Op<string mnemonic, list<Trait> traits = []>
    : Op<GLU_Dialect, mnemonic, traits # [Pure]>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def GLU_Activation : I32EnumAttr<"Activation",
    "activation (or gating function) of a feed-forward block", [
      I32EnumAttrCase<"sigmoid", 0>,
      I32EnumAttrCase<"identity", 1>,
      I32EnumAttrCase<"relu", 2>,
      I32EnumAttrCase<"gelu_erf", 3>,
      I32EnumAttrCase<"gelu_tanh", 4>,
      I32EnumAttrCase<"silu", 5>,
      I32EnumAttrCase<"swish", 6>,
      I32EnumAttrCase<"clamped_swiglu", 7>
    ]> {
  let cppNamespace = "::mlir::glu";
  let genSpecializedAttr = 0;
}

def GLU_ActivationAttr : EnumAttr<GLU_Dialect, GLU_Activation, "activation"> {
  let summary = "activation of a feed-forward block";
  let description = [{
    * `sigmoid`: σ(x) = 1/(1+e^-x); gated, this is the original GLU.
    * `identity`: x; gated, this is the Bilinear variant.
    * `relu`: max(x, 0); ReGLU.
    * `gelu_erf`: x·Φ(x) = ½x(1 + erf(x/√2)); GeGLU.
    * `gelu_tanh`: ½x(1 + tanh(√(2/π)(x + 0.044715x³))); GeGLU, tanh form.
    * `silu`: x·σ(x); SwiGLU.
    * `swish`: x·σ(βx) with the `beta` attribute (default 1.0); Swish-β.
    * `clamped_swiglu`: GPT-OSS's gating, defined on the pair (g, u) rather
      than on g alone: g' = min(g, limit), u' = clamp(u, -limit, limit),
      out = g'·σ(alpha·g')·(u' + 1); `alpha` defaults to 1.702 and `limit`
      to 7.0. It is only valid where there is an up value to gate.
  }];
}

def GLU_Layout : I32EnumAttr<"Layout", "storage layout of a weight matrix", [
      I32EnumAttrCase<"out_in", 0>,
      I32EnumAttrCase<"in_out", 1>
    ]> {
  let cppNamespace = "::mlir::glu";
  let genSpecializedAttr = 0;
}

def GLU_LayoutAttr : EnumAttr<GLU_Dialect, GLU_Layout, "layout"> {
  let summary = "weight layout: out_in ([out, in], PyTorch) or in_out ([in, out])";
}

def GLU_Packing : I32EnumAttr<"Packing",
    "how a merged gate/up weight orders its 2·d_ff output features", [
      I32EnumAttrCase<"concat", 0>,
      I32EnumAttrCase<"interleaved", 1>
    ]> {
  let cppNamespace = "::mlir::glu";
  let genSpecializedAttr = 0;
}

def GLU_PackingAttr : EnumAttr<GLU_Dialect, GLU_Packing, "packing"> {
  let summary = "merged gate/up packing: concat ([gate ‖ up]) or interleaved";
}

def GLU_Scoring : I32EnumAttr<"Scoring",
    "how a router turns logits into expert scores", [
      I32EnumAttrCase<"softmax", 0>,
      I32EnumAttrCase<"sigmoid", 1>,
      I32EnumAttrCase<"topk_softmax", 2>
    ]> {
  let cppNamespace = "::mlir::glu";
  let genSpecializedAttr = 0;
}

def GLU_ScoringAttr : EnumAttr<GLU_Dialect, GLU_Scoring, "scoring"> {
  let summary = "router scoring: softmax, sigmoid, or top-k then softmax";
}

def GLU_GroupScore : I32EnumAttr<"GroupScore",
    "how group-limited routing ranks a group of experts", [
      I32EnumAttrCase<"max", 0>,
      I32EnumAttrCase<"top2_sum", 1>
    ]> {
  let cppNamespace = "::mlir::glu";
  let genSpecializedAttr = 0;
}

def GLU_GroupScoreAttr : EnumAttr<GLU_Dialect, GLU_GroupScore, "group_score"> {
  let summary = "group score: the best expert's (max) or the best two's sum";
}

//===----------------------------------------------------------------------===//
// Shared operand and attribute definitions
//===----------------------------------------------------------------------===//

def GLU_FloatTensor : RankedTensorOf<[F16, BF16, F32]>;
def GLU_Matrix : RankedTensorOf<[F16, BF16, F32]>;
def GLU_Vector : RankedTensorOf<[F16, BF16, F32]>;

/// Attributes every op carries: the activation and its parameters, and the
/// accumulation type.
defvar GLU_ActivationArgs = (ins
  GLU_ActivationAttr:$activation,
  OptionalAttr<F32Attr>:$beta,
  OptionalAttr<F32Attr>:$alpha,
  OptionalAttr<F32Attr>:$limit,
  OptionalAttr<TypeAttrOf<AnyFloat>>:$acc_type
);

defvar GLU_LayoutArg = (ins
  DefaultValuedAttr<GLU_LayoutAttr, "::mlir::glu::Layout::out_in">:$layout
);

/// C++ shared by the ops (declared in GLU.h, defined in GLUDialect.cpp).
defvar GLU_ActivationAccessors = [{
    /// The accumulation type: `acc_type` if given, f32 otherwise.
    ::mlir::FloatType getAccumulatorType();
    /// `beta` if given, else 1.0 (only meaningful for `swish`).
    float getBetaOrDefault() { return getBeta() ? getBeta()->convertToFloat() : 1.0f; }
    /// `alpha` if given, else 1.702 (only meaningful for `clamped_swiglu`).
    float getAlphaOrDefault() { return getAlpha() ? getAlpha()->convertToFloat() : 1.702f; }
    /// `limit` if given, else 7.0 (only meaningful for `clamped_swiglu`).
    float getLimitOrDefault() { return getLimit() ? getLimit()->convertToFloat() : 7.0f; }
}];

//===----------------------------------------------------------------------===//
// glu.ffn
//===----------------------------------------------------------------------===//

def GLU_FFNOp : GLU_Op<"ffn", [AttrSizedOperandSegments]> {
  let summary = "a whole gated feed-forward block";
  let description = [{
    Computes `out = (act(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd`, where `act` and
    the gating are given by `activation` (for `clamped_swiglu`, the gating
    function of GPT-OSS). The gate and up projections come either from two
    weights (`gate`, `up`) or from one merged weight (`gate_up`, with
    `packing`); every bias is optional. The hidden activation
    `[B..., d_ff]` is a value of the semantics only: it is kept in
    `acc_type` and never rounded.

    Shapes for `layout out_in` (the default; `in_out` transposes every
    weight): `x: [B..., D]`, `gate, up: [F, D]` or `gate_up: [2F, D]`,
    `down: [D_out, F]`, `gate_bias, up_bias: [F]`, `gate_up_bias: [2F]`,
    `down_bias: [D_out]`, result `[B..., D_out]`.

    Example (LLaMA-2 7B's MLP):

    ```mlir
    %y = glu.ffn silu %x : tensor<?x?x4096xbf16>
           gate %wg : tensor<11008x4096xbf16>
           up %wu : tensor<11008x4096xbf16>
           down %wd : tensor<4096x11008xbf16>
           -> tensor<?x?x4096xbf16>
    ```

    GPT-OSS, interleaved merged weight with biases:

    ```mlir
    %y = glu.ffn clamped_swiglu %x : tensor<?x2880xbf16>
           gate_up %w : tensor<5760x2880xbf16> down %wd : tensor<2880x2880xbf16>
           gate_up_bias %b : tensor<5760xbf16> down_bias %bd : tensor<2880xbf16>
           packing interleaved {alpha = 1.702 : f32, limit = 7.0 : f32}
           -> tensor<?x2880xbf16>
    ```
  }];

  let arguments = !con((ins
    GLU_FloatTensor:$input,
    Optional<GLU_Matrix>:$gate_weight,
    Optional<GLU_Matrix>:$up_weight,
    Optional<GLU_Matrix>:$gate_up_weight,
    GLU_Matrix:$down_weight,
    Optional<GLU_Vector>:$gate_bias,
    Optional<GLU_Vector>:$up_bias,
    Optional<GLU_Vector>:$gate_up_bias,
    Optional<GLU_Vector>:$down_bias,
    OptionalAttr<GLU_PackingAttr>:$packing),
    GLU_LayoutArg, GLU_ActivationArgs);
  let results = (outs GLU_FloatTensor:$result);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $input `:` type($input)
    (`gate` $gate_weight^ `:` type($gate_weight))?
    (`up` $up_weight^ `:` type($up_weight))?
    (`gate_up` $gate_up_weight^ `:` type($gate_up_weight))?
    `down` $down_weight `:` type($down_weight)
    (`gate_bias` $gate_bias^ `:` type($gate_bias))?
    (`up_bias` $up_bias^ `:` type($up_bias))?
    (`gate_up_bias` $gate_up_bias^ `:` type($gate_up_bias))?
    (`down_bias` $down_bias^ `:` type($down_bias))?
    (`packing` custom<EnumKeyword>($packing)^)?
    (`layout` custom<EnumKeyword>($layout)^)?
    attr-dict `->` type($result)
  }];

  let extraClassDeclaration = GLU_ActivationAccessors # [{
    /// True if the gate and up projections share one merged weight.
    bool isMerged() { return static_cast<bool>(getGateUpWeight()); }
    /// The packing of the merged weight (`concat` unless stated).
    ::mlir::glu::Packing getPackingOrDefault() {
      return getPacking().value_or(::mlir::glu::Packing::concat);
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.mlp
//===----------------------------------------------------------------------===//

def GLU_MLPOp : GLU_Op<"mlp", [AttrSizedOperandSegments]> {
  let summary = "a whole non-gated feed-forward block";
  let description = [{
    Computes `out = act(x·W1 + b1)·W2 + b2`: the classic transformer FFN
    (ReLU in Vaswani et al., GELU in BERT and GPT-2) that the GLU variants
    replaced, so both can be stated side by side. `up` is W1 and `down` is
    W2; biases are optional. `clamped_swiglu` is a gating function and is
    not valid here.

    Shapes for `layout out_in`: `x: [B..., D]`, `up: [F, D]`,
    `down: [D_out, F]`, `up_bias: [F]`, `down_bias: [D_out]`.

    ```mlir
    %y = glu.mlp gelu_tanh %x : tensor<?x768xf32>
           up %w1 : tensor<3072x768xf32> down %w2 : tensor<768x3072xf32>
           up_bias %b1 : tensor<3072xf32> down_bias %b2 : tensor<768xf32>
           -> tensor<?x768xf32>
    ```
  }];

  let arguments = !con((ins
    GLU_FloatTensor:$input,
    GLU_Matrix:$up_weight,
    GLU_Matrix:$down_weight,
    Optional<GLU_Vector>:$up_bias,
    Optional<GLU_Vector>:$down_bias),
    GLU_LayoutArg, GLU_ActivationArgs);
  let results = (outs GLU_FloatTensor:$result);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $input `:` type($input)
    `up` $up_weight `:` type($up_weight)
    `down` $down_weight `:` type($down_weight)
    (`up_bias` $up_bias^ `:` type($up_bias))?
    (`down_bias` $down_bias^ `:` type($down_bias))?
    (`layout` custom<EnumKeyword>($layout)^)?
    attr-dict `->` type($result)
  }];

  let extraClassDeclaration = GLU_ActivationAccessors;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.gate_up
//===----------------------------------------------------------------------===//

def GLU_GateUpOp : GLU_Op<"gate_up"> {
  let summary = "fused gate/up projection from one merged weight";
  let description = [{
    Computes the hidden activation of a gated block,
    `h = act(x·Wg + bg) ⊙ (x·Wu + bu)`, where `Wg` and `Wu` are the two
    halves of one merged weight `gate_up` (`[2F, D]` for `layout out_in`,
    `[D, 2F]` for `in_out`), split as `packing` says, and `gate_up_bias`
    (`[2F]`, optional) is split the same way. The result `[B..., F]` has
    the input's element type.

    ```mlir
    %h = glu.gate_up silu %x : tensor<?x4096xf16>
           gate_up %w : tensor<22016x4096xf16> -> tensor<?x11008xf16>
    ```
  }];

  let arguments = !con((ins
    GLU_FloatTensor:$input,
    GLU_Matrix:$gate_up_weight,
    Optional<GLU_Vector>:$gate_up_bias,
    OptionalAttr<GLU_PackingAttr>:$packing),
    GLU_LayoutArg, GLU_ActivationArgs);
  let results = (outs GLU_FloatTensor:$result);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $input `:` type($input)
    `gate_up` $gate_up_weight `:` type($gate_up_weight)
    (`gate_up_bias` $gate_up_bias^ `:` type($gate_up_bias))?
    (`packing` custom<EnumKeyword>($packing)^)?
    (`layout` custom<EnumKeyword>($layout)^)?
    attr-dict `->` type($result)
  }];

  let extraClassDeclaration = GLU_ActivationAccessors # [{
    /// The packing of the merged weight (`concat` unless stated).
    ::mlir::glu::Packing getPackingOrDefault() {
      return getPacking().value_or(::mlir::glu::Packing::concat);
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.gate
//===----------------------------------------------------------------------===//

def GLU_GateOp : GLU_Op<"gate", [AllTypesMatch<["gate", "up", "result"]>]> {
  let summary = "elementwise gating act(g) ⊙ u";
  let description = [{
    Computes `act(gate) ⊙ up` elementwise (for `clamped_swiglu`, GPT-OSS's
    gating function of the pair) in `acc_type`, rounded to the element type
    of the result. The operands and the result have one type, any shape.

    ```mlir
    %h = glu.gate swish %g, %u {beta = 1.5 : f32} : tensor<?x11008xbf16>
    ```
  }];

  let arguments = !con((ins GLU_FloatTensor:$gate, GLU_FloatTensor:$up),
                       GLU_ActivationArgs);
  let results = (outs GLU_FloatTensor:$result);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $gate `,` $up attr-dict `:` type($result)
  }];

  let extraClassDeclaration = GLU_ActivationAccessors;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.route
//===----------------------------------------------------------------------===//

def GLU_RouteOp : GLU_Op<"route"> {
  let summary = "mixture-of-experts routing: top-k experts and their weights";
  let description = [{
    Chooses `top_k` experts for each token from the router's logits
    `[T, E]` and gives their combine weights, as the routers of Mixtral,
    Qwen3-MoE, DeepSeek-V3 and GPT-OSS do. For token t, in f32:

    1. scores `s = softmax(logits[t])` (`scoring softmax`),
       `s = sigmoid(logits[t])` (`sigmoid`), or the logits themselves
       (`topk_softmax`, whose softmax is taken over the chosen ones in 5);
    2. choice keys `c = s + selection_bias` (DeepSeek-V3's score correction
       bias, `[E]`, optional; `c = s` without it);
    3. with `groups = G > 1` (E divisible by G): the experts form G groups
       of E/G consecutive experts, each ranked by `group_score` of its keys
       (`max`, or `top2_sum`: its two largest, DeepSeek-V3); the experts
       outside the `topk_groups` best groups are removed (key -inf);
    4. `expert_ids[t]`: the `top_k` largest keys, largest first, ties
       broken by the lower expert index;
    5. `weights[t][j] = s[expert_ids[t][j]]` (the scores, without the
       bias); for `topk_softmax`, the softmax of the k chosen logits;
       `renormalize` divides them by their sum; `scaling` (default 1)
       multiplies them (DeepSeek-V3's routed scaling factor).

    Mixtral is `softmax` with `renormalize` (or, equivalently up to
    rounding, `topk_softmax`), Qwen3-MoE `softmax` with `renormalize` as its
    `norm_topk_prob` says, GPT-OSS `topk_softmax`, DeepSeek-V3 `sigmoid`
    with a selection bias, `groups 8 topk_groups 4 group_score top2_sum`,
    `renormalize` and `scaling 2.5`.

    ```mlir
    %ids, %w = glu.route softmax %logits : tensor<?x8xf32> top_k 2
                 {renormalize} -> tensor<?x2xi32>, tensor<?x2xf32>
    ```
  }];

  let arguments = (ins
    GLU_Matrix:$logits,
    Optional<GLU_Vector>:$selection_bias,
    GLU_ScoringAttr:$scoring,
    ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
    UnitAttr:$renormalize,
    OptionalAttr<F32Attr>:$scaling,
    OptionalAttr<I64Attr>:$groups,
    OptionalAttr<I64Attr>:$topk_groups,
    OptionalAttr<GLU_GroupScoreAttr>:$group_score);
  let results = (outs
    RankedTensorOf<[I32, I64]>:$expert_ids,
    RankedTensorOf<[F32]>:$weights);

  let assemblyFormat = [{
    custom<EnumKeyword>($scoring) $logits `:` type($logits)
    `top_k` $top_k
    (`selection_bias` $selection_bias^ `:` type($selection_bias))?
    (`groups` $groups^ `topk_groups` $topk_groups)?
    (`group_score` custom<EnumKeyword>($group_score)^)?
    attr-dict `->` type($expert_ids) `,` type($weights)
  }];

  let extraClassDeclaration = [{
    /// `scaling` if given, else 1.0.
    float getScalingOrDefault() {
      return getScaling() ? getScaling()->convertToFloat() : 1.0f;
    }
    /// `groups` if given, else 1 (no group-limited selection).
    int64_t getGroupsOrDefault() { return getGroups().value_or(1); }
    /// `group_score` if given, else `top2_sum`.
    ::mlir::glu::GroupScore getGroupScoreOrDefault() {
      return getGroupScore().value_or(::mlir::glu::GroupScore::top2_sum);
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.moe
//===----------------------------------------------------------------------===//

def GLU_MoEOp : GLU_Op<"moe", [AttrSizedOperandSegments]> {
  let summary = "a routed mixture of gated feed-forward experts";
  let description = [{
    Computes `out[t] = Σ_j weights[t][j] · FFN_e(x[t])` with
    `e = expert_ids[t][j]`, where `FFN_e` is the gated block of glu.ffn with
    expert e's weights: `(act(x·Wg[e] + bg[e]) ⊙ (x·Wu[e] + bu[e]))·Wd[e] +
    bd[e]`. The routing (`expert_ids`, `weights`: `[T, k]`) comes from
    glu.route or from anywhere else; an id outside `[0, E)` selects nothing
    (its term is zero, e.g. an expert of another rank), an id listed twice
    counts twice. Each expert's output and the weighted sum are kept in f32
    (the only `acc_type`) and rounded once to the result's element type.

    The expert weights are stacked along a leading expert dim, in the
    layouts real checkpoints use: separate `gate`, `up` `[E, F, D]` and
    `down` `[E, D_out, F]` (`layout out_in`; `in_out` transposes the last two
    dims of each), or one merged `gate_up` `[E, 2F, D]` with `packing`
    concat or interleaved (GPT-OSS). Biases are optional: `[E, F]`,
    `[E, 2F]` merged, `[E, D_out]`. `activation` and its attributes are
    glu.ffn's. Shared experts are a glu.ffn added to the result.

    ```mlir
    %y = glu.moe silu %x : tensor<?x4096xbf16>
           experts %ids : tensor<?x2xi32> weights %w : tensor<?x2xf32>
           gate %wg : tensor<8x14336x4096xbf16> up %wu : tensor<8x14336x4096xbf16>
           down %wd : tensor<8x4096x14336xbf16> -> tensor<?x4096xbf16>
    ```
  }];

  let arguments = !con((ins
    RankedTensorOf<[F16, BF16, F32]>:$input,
    RankedTensorOf<[I32, I64]>:$expert_ids,
    RankedTensorOf<[F16, BF16, F32]>:$routing_weights,
    Optional<GLU_Matrix>:$gate_weight,
    Optional<GLU_Matrix>:$up_weight,
    Optional<GLU_Matrix>:$gate_up_weight,
    GLU_Matrix:$down_weight,
    Optional<GLU_Vector>:$gate_bias,
    Optional<GLU_Vector>:$up_bias,
    Optional<GLU_Vector>:$gate_up_bias,
    Optional<GLU_Vector>:$down_bias,
    OptionalAttr<GLU_PackingAttr>:$packing),
    GLU_LayoutArg, GLU_ActivationArgs);
  let results = (outs GLU_FloatTensor:$result);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $input `:` type($input)
    `experts` $expert_ids `:` type($expert_ids)
    `weights` $routing_weights `:` type($routing_weights)
    (`gate` $gate_weight^ `:` type($gate_weight))?
    (`up` $up_weight^ `:` type($up_weight))?
    (`gate_up` $gate_up_weight^ `:` type($gate_up_weight))?
    `down` $down_weight `:` type($down_weight)
    (`gate_bias` $gate_bias^ `:` type($gate_bias))?
    (`up_bias` $up_bias^ `:` type($up_bias))?
    (`gate_up_bias` $gate_up_bias^ `:` type($gate_up_bias))?
    (`down_bias` $down_bias^ `:` type($down_bias))?
    (`packing` custom<EnumKeyword>($packing)^)?
    (`layout` custom<EnumKeyword>($layout)^)?
    attr-dict `->` type($result)
  }];

  let extraClassDeclaration = GLU_ActivationAccessors # [{
    /// True if the gate and up projections share one merged weight.
    bool isMerged() { return static_cast<bool>(getGateUpWeight()); }
    /// The packing of the merged weight (`concat` unless stated).
    ::mlir::glu::Packing getPackingOrDefault() {
      return getPacking().value_or(::mlir::glu::Packing::concat);
    }
  }];
  let hasVerifier = 1;
}

include "GLUTrainingOps.td"

#endif // GLU_DIALECT_GLU_IR_GLUOPS_TD
