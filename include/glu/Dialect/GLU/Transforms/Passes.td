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

def GLURaise : Pass<"glu-raise"> {
  let summary = "Raise feed-forward blocks written by ML frontends into glu ops";
  let description = [{
    Finds FFN blocks in the linalg/tensor (and tosa) IR that frontends such as
    torch-mlir emit and rewrites each into one `glu.ffn` (gated:
    `down(act(gate(x)) * up(x))`) or `glu.mlp` (`down(act(up(x)))`):

    * projections are contractions recognized by their indexing maps and
      body (`linalg.matmul` with any `indexing_maps`, `linalg.batch_matmul`
      or `tosa.matmul` with a broadcast or unit-batch weight, contraction
      `linalg.generic`s), starting from zero or from a bias broadcast along
      rows; the weight is looked through transposes and exact copies, and the
      layout follows (`out_in` or `in_out`, one for all three weights);
    * batch reshapes (collapse/expand of the leading dims) are looked
      through, so the shared input may be reshaped separately for gate and
      up; the op is built on the frontend's un-collapsed input where the
      batch dims provably agree;
    * the elementwise ops between the projections and the down projection
      are composed into one scalar expression and classified by evaluating
      it in double precision at probe points against `act(g + bg) * (u + bu)`
      for every activation (sigmoid, identity, relu, gelu_erf, gelu_tanh,
      silu, swish with its beta, GPT-OSS's clamped_swiglu with its alpha and
      limit), so each spelling is recognized and wrong constants or extra
      inputs are not (one known exporter spelling excepted: torch-mlir's
      sqrt(2/pi) as 0.797724 in the tanh GELU, within 3e-4, is raised as
      gelu_tanh with a remark stating the difference); a truncf of a
      constant is folded (it rounds no computed value);
    * a merged gate/up projection (one contraction to 2F features, possibly
      plus a bias) split by two `tensor.extract_slice`s, `tosa.slice`s or
      TOSA's reshape + `tosa.gather` spelling of a strided slice becomes a
      `gate_up` weight (and `gate_up_bias`): the first and second halves
      with `packing concat`, the even and odd features with
      `packing interleaved`;
    * a bias add along rows, batch reshapes and a final `truncf` after the
      down projection are folded in.

    The gate, up and hidden values must have no users outside the block. By
    default a block is raised only where the glu op states it exactly (the
    frontend computes in f32/f64 and rounds only the result, e.g. bf16
    inputs extended to f32); `allow-rounding-changes` also raises blocks that
    round intermediates to f16/bf16. With `remarks`, every raised block and
    every near miss gets a remark on its down projection saying why.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::glu::GLUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let options = [
    Option<"remarks", "remarks", "bool", "false",
           "emit a remark for each raised block and each near miss">,
    Option<"allowRoundingChanges", "allow-rounding-changes", "bool", "false",
           "also raise blocks whose frontend rounds intermediate values "
           "(f16/bf16 matmul outputs, truncf between ops); the glu op "
           "computes them in f32 and rounds once, so results change">,
  ];
}

def GLUMergeGateUp : Pass<"glu-merge-gate-up", "::mlir::ModuleOp"> {
  let summary = "Merge the gate and up projections of each glu.ffn into one";
  let description = [{
    Rewrites every `glu.ffn` with separate `gate` and `up` weights into one
    that reads a merged `gate_up` weight (and `gate_up_bias`), so that x is
    projected once for both:

    * constant weights (`dense` or `dense_resource`) are merged at compile
      time into a new constant (a `dense_resource` stays one);
    * weights that are arguments of a public function, used only by the
      block, are packed once rather than per call: the pass emits a packing
      function `@<func>_pack_gate_up` (tagged `glu.packing_function`) taking
      the original weights (and biases) and returning the merged ones, and
      the function takes the merged weight in their place, tagged
      `glu.packed_by = @<func>_pack_gate_up`. Callers run the packing
      function once at load time, as inference engines pre-pack weights.

    Any other block is left as it is, with a remark saying why.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let options = [
    Option<"packing", "packing", "std::string", "\"concat\"",
           "order of the merged features: concat ([gate ‖ up]) or interleaved">,
  ];
}

def GLUFuseActivation : Pass<"glu-fuse-activation"> {
  let summary = "Compute gate and up together per tile and gate before storing";
  let description = [{
    Rewrites `glu.gate_up` and the gate/up part of `glu.ffn` into a loop
    nest over `[tile-tokens × tile-ff]` tiles of the hidden: for each tile,
    the gate and up projections of that tile are computed together and
    `act(g) ⊙ u` is applied before the tile is stored. The `[tokens, 2·d_ff]`
    gate/up intermediate never exists; the `[tokens, d_ff]` hidden does
    (`glu-fuse-ffn` removes it too). The down projection of `glu.ffn` stays a
    plain matmul. Produces scf/linalg/tensor; other glu ops are untouched.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let options = [
    Option<"tileTokens", "tile-tokens", "int64_t", "64",
           "tokens per tile">,
    Option<"tileFF", "tile-ff", "int64_t", "256",
           "hidden features (d_ff) per tile">,
  ];
}

def GLUFuseFFN : Pass<"glu-fuse-ffn"> {
  let summary = "Stream the hidden of each FFN block through the down projection";
  let description = [{
    Rewrites `glu.ffn` and `glu.mlp` into a loop over token tiles
    (`scf.forall`, independent tiles) and, inside, a loop over chunks of
    d_ff (`scf.for`): for each chunk, the hidden chunk
    `act(x·Wg[chunk]) ⊙ (x·Wu[chunk])` (`[tile-tokens × chunk-ff]`, in
    `acc_type`) is computed and `hidden_chunk · W_down[chunk]` accumulated into
    the `[tile-tokens × d_out]` output tile, which gets the bias and is
    rounded once at the end. The `[tokens, d_ff]` hidden never exists beyond
    one tile. Arithmetic is the reference lowering's, only reassociated over
    chunks of d_ff.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let options = [
    Option<"tileTokens", "tile-tokens", "int64_t", "64",
           "tokens per tile">,
    Option<"chunkFF", "chunk-ff", "int64_t", "256",
           "hidden features (d_ff) per chunk">,
  ];
}

def GLUMoEToExperts : Pass<"glu-moe-to-experts"> {
  let summary = "Run each expert of a glu.moe as a glu.ffn on the tokens routed to it";
  let description = [{
    Rewrites `glu.moe` into a loop over experts: for expert e, the entries
    `(t, j)` with `expert_ids[t][j] = e` are counted and gathered (a
    counting pass over the routing, in token order), and if there are any,
    the rows `x[t]` (widened to f32) go through a `glu.ffn` with expert e's
    weights (sliced as stored) and f32 biases, and each result row is added,
    times its routing weight, to row t of an f32 accumulator, rounded once
    at the end. The semantics are glu.moe's (the same f32 values, summed
    per token in expert order); the FLOPs are those of the chosen experts
    only, and the `glu.ffn`s get the fast CPU kernels (their weights are
    packed on every call, for the experts that have tokens).

    With `grouped-decode-tokens=N` (N > 0; `--glu-cpu-pipeline` uses its
    `moe-decode-tokens`, 8), inputs of at most N tokens take another
    branch: `scf.if tokens <= N` holds the glu.moe itself, tagged
    `glu.grouped_decode`, which `convert-glu-to-cpu-kernels` lowers to one
    grouped kernel for all the chosen experts (two parallel regions in all,
    on the panels that the per-expert glu.ffn ops of the other branch pack
    at load time); the per-expert loop is the else branch.
  }];
  let options = [
    Option<"groupedDecodeTokens", "grouped-decode-tokens", "int64_t",
           /*default=*/"0",
           "inputs of at most this many tokens keep the glu.moe, tagged "
           "glu.grouped_decode, for convert-glu-to-cpu-kernels' grouped "
           "kernel (0: never)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def GLUShard : Pass<"glu-shard", "::mlir::ModuleOp"> {
  let summary = "Split every FFN block over MPI ranks (tensor- or token-parallel) with the shard dialect";
  let description = [{
    Rewrites each public function with `glu.ffn` / `glu.mlp` ops so that it
    runs SPMD on `ranks` MPI processes (a 1-D `shard.grid @glu_ranks`; every
    rank calls the function with the same arguments):

    * `strategy=tensor` (Megatron): rank r keeps its features of d_ff, the
      rows of `gate`/`up` (and their biases) and the columns of `down`
      (column-parallel, then row-parallel); the op computes a partial
      output on them and one `shard.all_reduce` (sum) adds the partials.
      The down bias is added by rank 0 only. When `ranks` does not divide
      d_ff, the first `d_ff mod ranks` ranks own one feature more, and
      every shard is zero-padded to `ceil(d_ff / ranks)` features so all
      ranks have the same static shapes (padded features contribute 0).
    * `strategy=tokens`: every rank has all weights and computes its share
      of the leading dimension of x (balanced, dynamic sizes allowed); the
      rows are placed in a zero output that one `shard.all_reduce` fills.

    `weights=full` keeps the signature: the function takes the full weights
    and each rank slices its shard on every call. `weights=local` (tensor
    only) makes the function take this rank's padded shards (argument
    attribute `glu.shard_of`) and adds `@<f>_shard_weights(full weights) ->
    shards`, so a caller packs only its shard, once (glu-cpu-pipeline's
    `@<f>_pack_weights` then takes the shards).

    Every sharded function first checks that the MPI world has `ranks`
    processes (`cf.assert`). The module gets the DLTI entry
    `"MPI:Implementation"` (`mpi=OpenMPI` or `MPICH`) that the MPI lowering
    reads. The CPU pipelines lower the result: shard → mpi
    (`glu-shard-to-mpi`), mpi → calls of the MPI library.
  }];
  let options = [
    Option<"ranks", "ranks", "int64_t", "0", "number of MPI ranks (>= 1)">,
    Option<"strategy", "strategy", "std::string", "\"tensor\"",
           "tensor (split d_ff, all-reduce the output) or tokens (split the "
           "leading dimension of x)">,
    Option<"weights", "weights", "std::string", "\"full\"",
           "full (the function takes the full weights and slices them) or "
           "local (it takes this rank's shards; tensor only)">,
    Option<"mpi", "mpi", "std::string", "\"OpenMPI\"",
           "the MPI library's ABI: OpenMPI or MPICH">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::DLTIDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::mpi::MPIDialect",
    "::mlir::shard::ShardDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // GLU_DIALECT_GLU_TRANSFORMS_PASSES_TD
