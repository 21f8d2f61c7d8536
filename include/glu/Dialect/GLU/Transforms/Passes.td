//===- Passes.td - Passes on the glu dialect ---------------*- tablegen -*-===//

#ifndef GLU_DIALECT_GLU_TRANSFORMS_PASSES_TD
#define GLU_DIALECT_GLU_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def GLUReport : Pass<"glu-report"> {
  let summary = "Report the size, cost and memory of every feed-forward block";
  let description = [{
    Emits one remark per `glu.ffn`, `glu.mlp` and `glu.gate_up` with:
    * the shape (`d_model`, `d_ff`, `d_out`, tokens when static), the
      parameter count, the weight bytes and the FLOPs per token;
    * the peak intermediate activation bytes per token at each fusion
      level: unfused (gate and up projections and the hidden materialized
      in `acc_type`), with the activation fused into the gate/up projection
      (only the hidden, in the element type), and with the whole block fused
      (`glu-fuse-ffn`: one `tile-tokens × chunk-ff` accumulator tile, so
      nothing per token);
    * the width rule: `d_ff` against LLaMA's `8/3·d_model` rounded up to
      `multiple-of` after scaling by `ffn-dim-multiplier` (d_model 4096
      gives 11008 with 256 and 1.0, LLaMA-2; 14336 with 1024 and 1.3,
      LLaMA-3), and the parameter ratio to a non-gated `4·d_model` FFN.

    The remarks are the output: use `-verify-diagnostics` in tests, or read
    them on stderr.
  }];
  let options = [
    Option<"multipleOf", "multiple-of", "int64_t", "256",
           "LLaMA's multiple_of: d_ff is rounded up to a multiple of it">,
    Option<"ffnDimMultiplier", "ffn-dim-multiplier", "double", "1.0",
           "LLaMA's ffn_dim_multiplier, applied to 8/3·d_model before rounding">,
    Option<"tileTokens", "tile-tokens", "int64_t", "64",
           "token tile of the whole-block fusion (for the fused peak)">,
    Option<"chunkFF", "chunk-ff", "int64_t", "256",
           "d_ff chunk of the whole-block fusion (for the fused peak)">,
  ];
}

#endif // GLU_DIALECT_GLU_TRANSFORMS_PASSES_TD
