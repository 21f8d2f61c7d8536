//===- Passes.td - Conversions out of the glu dialect ------*- tablegen -*-===//

#ifndef GLU_CONVERSION_PASSES_TD
#define GLU_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertGLUToLinalg : Pass<"convert-glu-to-linalg"> {
  let summary = "Lower glu ops to linalg, arith, math and tensor";
  let description = [{
    Rewrites every `glu` op into upstream tensor-level IR: the projections
    become `linalg.matmul`s (with `indexing_maps` for the `out_in` layout)
    on operands collapsed to 2-D, merged gate/up weights are split with
    `tensor.extract_slice` (strided for `interleaved`), and the activation,
    gating and biases become `linalg.generic`s over arith/math. Arithmetic is
    done in the op's `acc_type` and the result rounded once.

    This lowering is the reference semantics of the dialect: every faster
    pipeline is checked against it. It favours being obviously right over
    being fast.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertGLUToCPUKernels : Pass<"convert-glu-to-cpu-kernels", "ModuleOp"> {
  let summary = "Lower glu.ffn, glu.mlp and glu.gate_up to packed-weight, "
                "register-tiled CPU kernels (scf + vector on buffers)";
  let description = [{
    Replaces each `glu.ffn`, `glu.mlp` and `glu.gate_up` (with f32
    accumulation) by a BLAS-style kernel: the weights packed into panels of
    `[K][NR]` (gate and up features side by side in one panel), an
    `MR x NR` micro-kernel of f32 vector accumulators over K chunks, the bias,
    activation and gating applied to the accumulators, the hidden of a token
    block consumed by the down projection while it is in cache, and workers
    (`scf.forall`) splitting token blocks (prefill) or weight panels
    (decode).

    Weights that are arguments of a public function that nothing in the
    module calls are packed once by an emitted public function
    `@<func>_pack_weights` (attributes `glu.packing_function` and
    `glu.packs`, the positions of the arguments it replaces); the function
    then takes the panels in place of those arguments, tagged
    `glu.packed_by`. Otherwise (or with `pack-at-load=false`) the packing
    runs on every call. Ops accumulating in another type are left for
    `convert-glu-to-linalg`.

    The result is tensor IR around `bufferization.to_buffer`/`to_tensor`;
    `--glu-cpu-pipeline` runs this pass and the lowering to LLVM.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "512",
           "Vector register width in bits (512: AVX-512, 256: AVX2, 128)">,
    Option<"microRows", "micro-rows", "int64_t", "6",
           "Rows of the micro-kernel (MR)">,
    Option<"kChunk", "k-chunk", "int64_t", "512",
           "K elements per chunk of a panel (KC)">,
    Option<"tileTokens", "tile-tokens", "int64_t", "96",
           "Tokens of a block whose hidden stays in a worker's cache (MB)">,
    Option<"threads", "threads", "int64_t", "0",
           "Parallel workers (0: the number of CPUs of the compiling host)">,
    Option<"bf16Dot", "bf16-dot", "bool", "false",
           "Use AVX512-BF16 dot products (x86vector.avx512.dot) for bf16 "
           "inputs and weights (needs a CPU with avx512_bf16)">,
    Option<"roundHidden", "round-hidden", "bool", "false",
           "Round the hidden of bf16 blocks to bf16 before the down "
           "projection, as PyTorch's bf16 eager does, so that it also uses "
           "AVX512-BF16 dot products (changes the block's semantics, which "
           "keep the hidden in acc_type; needs bf16-dot)">,
    Option<"packAtLoad", "pack-at-load", "bool", "true",
           "Pack argument weights once in @<func>_pack_weights">,
    Option<"remarks", "remarks", "bool", "false",
           "Emit a remark for each op left to the reference lowering">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::x86vector::X86VectorDialect",
  ];
}

#endif // GLU_CONVERSION_PASSES_TD
