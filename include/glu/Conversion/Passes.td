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

    `round-hidden` gives glu.ffn_grad and glu.mlp_grad of bf16 blocks (bf16
    input) PyTorch's bf16 autograd semantics: the dropped-out hidden and the
    gradients of the pre-activations (dg, du) are rounded to bf16 (round to
    nearest even) as soon as they are computed, and dx, the weight
    gradients and the bias gradients are computed from the rounded values
    (as `convert-glu-to-cpu-kernels` does with the same option). The
    forward ops are not affected here.
  }];
  let options = [
    Option<"roundHidden", "round-hidden", "bool", "false",
           "glu.ffn_grad/glu.mlp_grad of bf16 blocks: round the hidden, dg "
           "and du to bf16 (PyTorch's bf16 autograd; not glu's semantics, "
           "which keep them in acc_type)">,
  ];
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

    `glu.ffn_grad` and `glu.mlp_grad` with f32 accumulation are lowered as
    `convert-glu-to-linalg` lowers them (recompute, derivative, merges,
    bias sums, rounding), except that every GEMM packs its operands
    (`[ceil(N/NR)][K][NR]` panels, `[ceil(M/MR)][K][MR]` strips) and runs
    the `MR x NR` micro-kernel on workers (`grad-kernels=false`: left
    for `convert-glu-to-linalg`).

    A `glu.moe` tagged `glu.grouped_decode` (the decode branch that
    `glu-moe-to-experts` leaves) becomes one grouped kernel for all its
    chosen experts on the stacked panels that the glu.ffn ops of the other
    branch pack at load time: a counting sort of the entries by expert, one
    parallel region for every chosen expert's first projection, one for the
    down projections, the weighted combine. When those panels are not
    packed at load time, the decode branch's condition becomes false and
    the per-expert branch computes every input.

    The result is tensor IR around `bufferization.to_buffer`/`to_tensor`;
    `--glu-cpu-pipeline` runs this pass and the lowering to LLVM.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "512",
           "Vector register width in bits (512: AVX-512, 256: AVX2, 128)">,
    Option<"microRows", "micro-rows", "int64_t", "6",
           "Rows of the micro-kernel (MR)">,
    Option<"microVectors", "micro-vectors", "int64_t", "4",
           "Vectors per micro-kernel row (NR = micro-vectors x lanes; even: "
           "a gate/up panel holds half gate, half up)">,
    Option<"kChunk", "k-chunk", "int64_t", "512",
           "K elements per chunk of a panel (KC)">,
    Option<"tileTokens", "tile-tokens", "int64_t", "0",
           "Tokens of a block whose hidden stays in a worker's cache (MB; "
           "0: 96, or 288 where 16-bit weights are widened to f32)">,
    Option<"threads", "threads", "int64_t", "0",
           "Parallel workers (0: the number of CPUs of the compiling host)">,
    Option<"bf16Dot", "bf16-dot", "bool", "false",
           "Use AVX512-BF16 dot products (x86vector.avx512.dot) for bf16 "
           "inputs and weights (needs a CPU with avx512_bf16)">,
    Option<"widenOnce", "widen-once", "bool", "true",
           "16-bit weights without dot products: widen each K chunk of a "
           "panel to f32 once per token block, into a scratch the row "
           "blocks share (for CPUs whose widening shares the FMA ports); "
           "false: widen in the micro-kernel as the weights stream">,
    Option<"prefetchMinBytes", "prefetch-min-bytes", "int64_t",
           "4194304",
           "Small batches of 2-3 row blocks prefetch the next K chunk of the "
           "weight panels in ops whose weights take at least this many "
           "bytes (or whose size is not static); smaller ops get no "
           "prefetching panel functions (0: every op)">,
    Option<"roundHidden", "round-hidden", "bool", "false",
           "Round the hidden of bf16 blocks to bf16 before the down "
           "projection, as PyTorch's bf16 eager does, so that it also uses "
           "AVX512-BF16 dot products (changes the block's semantics, which "
           "keep the hidden in acc_type; needs bf16-dot). glu.ffn_grad and "
           "glu.mlp_grad of bf16 blocks: the hidden, dg and du rounded to "
           "bf16 (PyTorch's bf16 autograd), so that every GEMM of the "
           "backward runs dot products (with bf16-dot; rounded without)">,
    Option<"packAtLoad", "pack-at-load", "bool", "true",
           "Pack argument weights once in @<func>_pack_weights">,
    Option<"gradKernels", "grad-kernels", "bool", "true",
           "Lower glu.ffn_grad and glu.mlp_grad (f32 accumulation) here too: "
           "the reference lowering's structure with every GEMM on packed "
           "operands and the micro-kernel (false: left to "
           "convert-glu-to-linalg)">,
    Option<"tuningCache", "tuning-cache", "std::string", "\"\"",
           "JSON file of measured kernel configurations (swiglu-tune): an "
           "entry for an op's CPU, types and shape replaces micro-rows, "
           "micro-vectors, k-chunk and tile-tokens for that op">,
    Option<"cpuKey", "cpu", "std::string", "\"\"",
           "CPU name of the tuning cache's keys (empty: this host's)">,
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

def ConvertGLUToGPU : Pass<"convert-glu-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower glu ops to GPU kernels (gpu.func) and their launches";
  let description = [{
    Builds, for every `glu` op, CUDA-style kernels in one `gpu.module
    @glu_kernels` and replaces the op by host code that launches them
    (`gpu.launch_func` on flat `memref<?xT>` views of the operands):

    * `glu.ffn` and `glu.mlp`: a gate/up (or up) projection kernel that
      accumulates gate and up together and applies bias, activation and
      gating in registers before the one store of the hidden (in
      `acc_type`), then a down-projection kernel (bias, one rounding);
    * `glu.gate_up`: the gate/up kernel alone, storing the rounded hidden;
    * `glu.gate`: one elementwise kernel.

    Projection kernels come in three kinds, chosen at run time by the
    number of tokens `M`:
    * `decode` (`M <= decode-tokens`, with a variant for one token): one
      warp (out_in) or one thread (in_out) per output feature streams the
      weight once for all tokens, 16-byte weight loads where the layout
      allows;
    * `mma` (f16/bf16 weights, x of the same type or f32 split into two
      16-bit terms hi + lo, f32 acc_type, `tensor-cores`):
      `mma-tile-m` x `mma-tile-n` block tiles (64x64 on 4 warps, larger
      ones on 8) of m16n8k16 tensor-core products with f32 accumulators
      (`nvgpu.mma.sync` for f16; `nvvm.mma.sync` on packed registers for
      bf16, which nvgpu.mma.sync cannot lower in LLVM 22), fragments loaded
      by `nvgpu.ldmatrix` from padded (bank-conflict-free) tiles in
      `mma-stages` dynamic shared-memory stages filled by
      `nvgpu.device_async_copy` (cp.async) when rows are contiguous along K
      and K % 8 == 0;
    * `simt` (everything else): a `tile-m` x `tile-n` block tile, 4x4
      outputs a thread, K staged through shared memory in `tile-k` steps.

    Every kernel takes flat buffers and the sizes `(M, K, N)` as `index`,
    so one kernel serves any number of tokens. Transcendentals become f32
    polynomials (no libdevice, so no CUDA toolkit is needed); acc_type f64
    with exp/erf/tanh is refused. The launch metadata of each
    function whose body is one glu op on its arguments is recorded in the
    module attribute `glu.gpu.entries` (JSON, read by swiglu-gpu-compile).
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", "64", "tokens per block (simt)">,
    Option<"tileN", "tile-n", "int64_t", "64", "output features per block (simt)">,
    Option<"tileK", "tile-k", "int64_t", "16", "reduction step staged in shared memory (simt)">,
    Option<"mmaTileM", "mma-tile-m", "int64_t", "64",
           "tokens per block of the mma kernel (64 or 128)">,
    Option<"mmaTileN", "mma-tile-n", "int64_t", "64",
           "output features per block of the mma kernel (64 or 128)">,
    Option<"mmaStages", "mma-stages", "int64_t", "3",
           "shared-memory stages of the mma kernel's cp.async pipeline "
           "(2 to 4)">,
    Option<"decodeTokens", "decode-tokens", "int64_t", "8",
           "largest token count served by the decode kernels (0: none)">,
    Option<"tensorCores", "tensor-cores", "bool", "true",
           "use nvgpu.mma.sync kernels for f16/bf16 projections">,
    Option<"roundHidden", "round-hidden", "bool", "false",
           "store the hidden of glu.ffn/glu.mlp in the down weight's f16/bf16 "
           "type (as PyTorch's eager FFN does) so that the down projection "
           "runs on tensor cores; departs from glu's semantics (hidden in "
           "acc_type)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}


def ExpandFloatConversions : Pass<"glu-expand-float-conversions"> {
  let summary = "Expand f32/f64 <-> bf16/f16 conversions into integer arithmetic";
  let description = [{
    Rewrites the `arith.truncf` and `arith.extf` that LLVM would lower to
    calls of compiler-rt helpers (`__truncsfbf2`, `__truncdfbf2`,
    `__truncdfhf2`, and without F16C `__truncsfhf2`, `__extendhfsf2`) into
    inline integer and f32 arithmetic, scalar or vector, so that generated
    code never needs a runtime library the user's machine may lack:

    * f32 -> bf16: round to nearest even on the bit pattern; NaN stays a
      (quiet) NaN with its sign.
    * f64 -> bf16 and f64 -> f16: f64 -> f32 rounded to odd (exact where
      the f64 is an f32; otherwise the f32 truncation with its last bit
      set), then f32 -> bf16/f16 to nearest even: rounding twice this way is
      the same as rounding once to nearest even, since f32 has more than
      two bits beyond the target's precision.
    * bf16 -> f32/f64: the bit pattern shifted into the high half.
    * with `f16`: f32 -> f16 (nearest even, subnormals, overflow to Inf, NaN
      kept) and f16 -> f32 (subnormals, Inf, NaN), for targets without F16C;
      otherwise these stay `arith` ops, which LLVM lowers to
      vcvtps2ph/vcvtph2ps.

    Also rewrites `arith.select` of bf16 values (and of f16 values with
    `f16`) into a select of their 16-bit patterns: LLVM would promote such a
    select through f32 and truncate the result with `__truncsfbf2`.
    Arithmetic in bf16 must be promoted to f32 first
    (`arith-emulate-unsupported-floats`, `math-extend-to-supported-types`),
    as --glu-cpu-pipeline and --glu-cpu-reference-pipeline do.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"f16", "f16", "bool", "false",
           "also expand f32 <-> f16 (targets without F16C)">,
  ];
}


def Float16StorageAsI16 : Pass<"glu-float16-storage-as-i16", "::mlir::ModuleOp"> {
  let summary = "Carry bf16/f16 values that are only moved as i16 in the LLVM dialect";
  let description = [{
    On the LLVM dialect, after glu-expand-float-conversions: every bf16 and
    f16 value (scalar, vector, in aggregates) that is only loaded, stored,
    selected, shuffled, inserted, extracted or passed between blocks becomes
    the i16 value of the same bits, and the bitcasts between the two fold
    away. The operations that need the floating-point type (conversions that
    the target does inline, AVX512-BF16 dot products) get a bitcast at their
    operands and results.

    The reason: LLVM's x86 backend has no bf16 registers without
    AVX512_BF16 (nor f16 ones without F16C), so it legalizes such values by
    promoting them to f32, and writing them back then calls compiler-rt's
    `__truncsfbf2` (`__truncsfhf2`): a masked store of `<16 x bfloat>`
    becomes 16 scalar stores, each behind a call. As i16 the same store is
    one `vmovdqu16` with a mask.
  }];
}


def GLUShardToMPI : Pass<"glu-shard-to-mpi", "::mlir::ModuleOp"> {
  let summary = "Lower the shard dialect's ops of glu-shard to the mpi dialect";
  let description = [{
    `shard.all_reduce` over a 1-D grid (the grid of glu-shard, which checks
    at run time that it spans MPI_COMM_WORLD) becomes an in-place
    `mpi.allreduce` on MPI_COMM_WORLD, for any shape, static or dynamic; the
    rest (`shard.process_linear_index`, ...) goes through upstream's
    `convert-shard-to-mpi`; the `shard.grid`s left without users are
    erased. Upstream's own all_reduce lowering (LLVM 22.1) is not used: it
    creates a communicator with MPI_Comm_split on every call and never
    frees it, and it reads a dynamic dim of the tensor at the index
    ShapedType::kDynamic instead of the dim's position.
    A module without shard ops is left as it is.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::mpi::MPIDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def GLUConvertMPIToLLVM : Pass<"glu-convert-mpi-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower the mpi dialect to calls of an MPI library";
  let description = [{
    Upstream's MPI-to-LLVM patterns (the ABI from the module's DLTI entry
    "MPI:Implementation": OpenMPI or MPICH), which LLVM 22 offers only
    through --convert-to-llvm, plus `mpi.comm_size`, which they lack
    (`MPI_Comm_size`). Run it after the memrefs are lowered
    (finalize-memref-to-llvm); the DLTI entry is removed afterwards.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // GLU_CONVERSION_PASSES_TD
