//===- GLUTrainingOps.td - Training: gradients and dropout -*- tablegen -*-===//
//
// Included by GLUOps.td. The backward of glu.ffn and glu.mlp, which
// recomputes the hidden from the input (nothing d_ff-wide is kept between
// forward and backward), and dropout after the gating from a counter-based
// RNG (Philox4x32-10 keyed by a seed and the element index), so that the
// recompute reproduces the forward's mask exactly. See docs/training.md.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_DIALECT_GLU_IR_GLUTRAININGOPS_TD
#define GLU_DIALECT_GLU_IR_GLUTRAININGOPS_TD

/// The dropout of the training ops: `dropout` (p in [0, 1)) and its seed.
defvar GLU_DropoutAccessors = [{
    /// `dropout` if given, else 0 (no dropout).
    float getDropoutOrZero() {
      return getDropout() ? getDropout()->convertToFloat() : 0.0f;
    }
}];

//===----------------------------------------------------------------------===//
// glu.ffn_grad
//===----------------------------------------------------------------------===//

def GLU_FFNGradOp : GLU_Op<"ffn_grad", [AttrSizedOperandSegments]> {
  let summary = "gradients of a gated feed-forward block (recomputing the hidden)";
  let description = [{
    The backward of `glu.ffn` with the same operands (weights, biases,
    `packing`, `layout`, activation and `acc_type`) plus `grad` (`dy`, the
    gradient of the loss with respect to the block's result, shaped like
    it) and, with `dropout = p`, the `seed` of the forward's dropout
    (`h → dropout(h)` before the down projection). It recomputes
    `g = x·Wg + bg`, `u = x·Wu + bu` and `h = act(g) ⊙ u` from `x`, then

        dh  = dy·Wdᵀ  (times the dropout mask / (1-p))
        dg  = dh ⊙ ∂h/∂g,   du = dh ⊙ ∂h/∂u
        dx  = dg·Wgᵀ + du·Wuᵀ
        dWg = xᵀ·dg,  dWu = xᵀ·du,  dWd = dropout(h)ᵀ·dy
        dbg = Σ dg,  dbu = Σ du,  dbd = Σ dy   (over the tokens)

    in `acc_type` (f32 by default), each result rounded once to the type of
    the operand it is the gradient of. The results are, in order: `dx`,
    one gradient per weight operand in operand order (`gate`, `up` or
    `gate_up`; then `down`), then one per bias operand in operand order; a
    merged weight's gradient has its packing and layout.

    With `gate_pre` and `up_pre` (`[B..., F]` in `acc_type`: `x·Wg + bg`
    and `x·Wu + bu`, biases included, kept by the forward) the two
    projections are not recomputed: 2 of the backward's 8 GEMMs fewer, for
    `2·tokens·d_ff` values kept per layer (docs/training.md states when).

    Clamped SwiGLU's clamps pass the gradient where the value is inside the
    closed interval (`g <= limit`, `-limit <= u <= limit`), as PyTorch's
    `clamp` does; ReLU's derivative at 0 is 0.

    ```mlir
    %dx, %dwg, %dwu, %dwd = glu.ffn_grad silu %x : tensor<?x64xf32>
        grad %dy : tensor<?x64xf32>
        gate %wg : tensor<176x64xf32> up %wu : tensor<176x64xf32>
        down %wd : tensor<64x176xf32>
        -> tensor<?x64xf32>, tensor<176x64xf32>, tensor<176x64xf32>,
           tensor<64x176xf32>
    ```
  }];

  let arguments = !con((ins
    GLU_FloatTensor:$input,
    GLU_FloatTensor:$grad_output,
    Optional<GLU_Matrix>:$gate_weight,
    Optional<GLU_Matrix>:$up_weight,
    Optional<GLU_Matrix>:$gate_up_weight,
    GLU_Matrix:$down_weight,
    Optional<GLU_Vector>:$gate_bias,
    Optional<GLU_Vector>:$up_bias,
    Optional<GLU_Vector>:$gate_up_bias,
    Optional<GLU_Vector>:$down_bias,
    Optional<0DTensorOf<[I64]>>:$seed,
    Optional<GLU_FloatTensor>:$gate_pre,
    Optional<GLU_FloatTensor>:$up_pre,
    OptionalAttr<GLU_PackingAttr>:$packing,
    OptionalAttr<F32Attr>:$dropout),
    GLU_LayoutArg, GLU_ActivationArgs);
  let results = (outs Variadic<GLU_FloatTensor>:$grads);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $input `:` type($input)
    `grad` $grad_output `:` type($grad_output)
    (`gate` $gate_weight^ `:` type($gate_weight))?
    (`up` $up_weight^ `:` type($up_weight))?
    (`gate_up` $gate_up_weight^ `:` type($gate_up_weight))?
    `down` $down_weight `:` type($down_weight)
    (`gate_bias` $gate_bias^ `:` type($gate_bias))?
    (`up_bias` $up_bias^ `:` type($up_bias))?
    (`gate_up_bias` $gate_up_bias^ `:` type($gate_up_bias))?
    (`down_bias` $down_bias^ `:` type($down_bias))?
    (`seed` $seed^ `:` type($seed))?
    (`gate_pre` $gate_pre^ `:` type($gate_pre))?
    (`up_pre` $up_pre^ `:` type($up_pre))?
    (`packing` custom<EnumKeyword>($packing)^)?
    (`layout` custom<EnumKeyword>($layout)^)?
    attr-dict `->` type($grads)
  }];

  let extraClassDeclaration = !strconcat(GLU_ActivationAccessors, GLU_DropoutAccessors, [{
    /// True if the gate and up projections share one merged weight.
    bool isMerged() { return static_cast<bool>(getGateUpWeight()); }
    /// The packing of the merged weight (`concat` unless stated).
    ::mlir::glu::Packing getPackingOrDefault() {
      return getPacking().value_or(::mlir::glu::Packing::concat);
    }
    /// The operands the results are the gradients of, in result order.
    ::llvm::SmallVector<::mlir::Value> getDifferentiated();
  }]);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.mlp_grad
//===----------------------------------------------------------------------===//

def GLU_MLPGradOp : GLU_Op<"mlp_grad", [AttrSizedOperandSegments]> {
  let summary = "gradients of a non-gated feed-forward block (recomputing the hidden)";
  let description = [{
    The backward of `glu.mlp`: with `p = x·W1 + b1`, `h = act(p)` recomputed
    from `x` (and dropped out with `dropout`/`seed` as in glu.ffn_grad),
    `dh = dy·W2ᵀ`, `dp = dh ⊙ act'(p)`, `dx = dp·W1ᵀ`, `dW1 = xᵀ·dp`,
    `dW2 = hᵀ·dy`, `db1 = Σ dp`, `db2 = Σ dy`. Results: `dx`, `dW1`, `dW2`,
    then `db1`, `db2` for the biases present. With `up_pre` (`x·W1 + b1`,
    `[B..., F]` in `acc_type`, kept by the forward) it is not recomputed.

    ```mlir
    %dx, %dw1, %dw2 = glu.mlp_grad gelu_erf %x : tensor<?x64xf32>
        grad %dy : tensor<?x64xf32>
        up %w1 : tensor<256x64xf32> down %w2 : tensor<64x256xf32>
        -> tensor<?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>
    ```
  }];

  let arguments = !con((ins
    GLU_FloatTensor:$input,
    GLU_FloatTensor:$grad_output,
    GLU_Matrix:$up_weight,
    GLU_Matrix:$down_weight,
    Optional<GLU_Vector>:$up_bias,
    Optional<GLU_Vector>:$down_bias,
    Optional<0DTensorOf<[I64]>>:$seed,
    Optional<GLU_FloatTensor>:$up_pre,
    OptionalAttr<F32Attr>:$dropout),
    GLU_LayoutArg, GLU_ActivationArgs);
  let results = (outs Variadic<GLU_FloatTensor>:$grads);

  let assemblyFormat = [{
    custom<EnumKeyword>($activation) $input `:` type($input)
    `grad` $grad_output `:` type($grad_output)
    `up` $up_weight `:` type($up_weight)
    `down` $down_weight `:` type($down_weight)
    (`up_bias` $up_bias^ `:` type($up_bias))?
    (`down_bias` $down_bias^ `:` type($down_bias))?
    (`seed` $seed^ `:` type($seed))?
    (`up_pre` $up_pre^ `:` type($up_pre))?
    (`layout` custom<EnumKeyword>($layout)^)?
    attr-dict `->` type($grads)
  }];

  let extraClassDeclaration = !strconcat(GLU_ActivationAccessors, GLU_DropoutAccessors, [{
    /// The operands the results are the gradients of, in result order.
    ::llvm::SmallVector<::mlir::Value> getDifferentiated();
  }]);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// glu.dropout
//===----------------------------------------------------------------------===//

def GLU_DropoutOp : GLU_Op<"dropout", [AllTypesMatch<["input", "result"]>]> {
  let summary = "dropout from a counter-based RNG (Philox4x32-10)";
  let description = [{
    Inverted dropout: element `i` (its row-major linear index in the
    tensor) is kept iff `r_i >= floor(p·2^32)`, where `r_i` is the first
    32-bit word of Philox4x32-10 with counter `(lo32(i), hi32(i), 0, 0)`
    and key `(lo32(seed), hi32(seed))`; kept elements are scaled by
    `1/(1-p)` (computed in f32), dropped ones are 0. The mask depends only
    on the seed and the index, so glu.ffn_grad with the same seed and `p`
    recomputes it exactly: `glu.dropout` of `glu.gate_up`'s hidden
    `[B..., F]` drops the same elements as glu.ffn_grad's recompute.

    ```mlir
    %hd = glu.dropout %h, %seed {p = 0.1 : f32} : tensor<?x176xf32>, tensor<i64>
    ```
  }];

  let arguments = (ins GLU_FloatTensor:$input, 0DTensorOf<[I64]>:$seed,
                       F32Attr:$p);
  let results = (outs GLU_FloatTensor:$result);

  let assemblyFormat = [{
    $input `,` $seed attr-dict `:` type($input) `,` type($seed)
  }];
  let hasVerifier = 1;
}

#endif // GLU_DIALECT_GLU_IR_GLUTRAININGOPS_TD
