//===- Pipelines.h - Registered glu pass pipelines --------------*- C++ -*-===//
//
// Pass pipelines that take `glu` IR (tensors, function level) down to the
// LLVM dialect. They are registered with the pass registry so that
// `swiglu-opt --<name>` runs them, and are callable from C++ so that the
// runner and the C API build exactly the same pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_PIPELINES_PIPELINES_H
#define GLU_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir {
class ModuleOp;
class OpPassManager;
class Pass;
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace mlir::glu {

/// The reference CPU pipeline: `glu` → linalg/arith/math/tensor (the reference
/// semantics of `--convert-glu-to-linalg`) → bufferization (function
/// boundaries bufferized with identity layouts, results returned as freshly
/// allocated buffers owned by the caller) → loops → LLVM dialect. Simple and
/// obviously right, not fast: every later pipeline is checked against it.
/// `roundHidden`: convert-glu-to-linalg's round-hidden (the training ops of
/// bf16 blocks with PyTorch's bf16 autograd semantics).
void buildCPUReferencePipeline(OpPassManager &pm, bool roundHidden = false);

/// Options of the reference pipeline (`--glu-cpu-reference-pipeline`).
struct CPUReferencePipelineOptions
    : public PassPipelineOptions<CPUReferencePipelineOptions> {
  Option<bool> roundHidden{
      *this, "round-hidden",
      llvm::cl::desc("glu.ffn_grad/glu.mlp_grad of bf16 blocks: the hidden, "
                     "dg and du rounded to bf16 (PyTorch's bf16 autograd)"),
      llvm::cl::init(false)};
};

/// Options of the fast CPU pipeline (`--glu-cpu-pipeline`); see the pass
/// convert-glu-to-cpu-kernels.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("vector register width: 512 (AVX-512), 256 (AVX2), 128, "
                     "or 0: the widest this host has"),
      llvm::cl::init(0)};
  Option<int64_t> microRows{*this, "micro-rows",
                            llvm::cl::desc("rows of the micro-kernel"),
                            llvm::cl::init(6)};
  Option<int64_t> microVectors{
      *this, "micro-vectors",
      llvm::cl::desc("vectors per micro-kernel row (0: 4 with 512-bit "
                     "vectors, which have 32 registers, else 2)"),
      llvm::cl::init(0)};
  Option<int64_t> kChunk{*this, "k-chunk",
                         llvm::cl::desc("K elements per panel chunk"),
                         llvm::cl::init(512)};
  Option<int64_t> tileTokens{
      *this, "tile-tokens",
      llvm::cl::desc("tokens per block (0: 96, or 288 where 16-bit weights "
                     "are widened to f32)"),
      llvm::cl::init(0)};
  Option<int64_t> threads{*this, "threads",
                          llvm::cl::desc("workers (0: CPUs of this host)"),
                          llvm::cl::init(0)};
  enum class Switch { Auto, On, Off };
  Option<Switch> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("AVX512-BF16 dot products for bf16 blocks"),
      llvm::cl::init(Switch::Auto),
      llvm::cl::values(
          clEnumValN(Switch::Auto, "auto", "if this host has avx512_bf16"),
          clEnumValN(Switch::On, "on", "always (the CPU must have it)"),
          clEnumValN(Switch::Off, "off", "never"))};
  Option<Switch> widenOnce{
      *this, "widen-once",
      llvm::cl::desc("16-bit weights without dot products: widen each K "
                     "chunk once per token block (else in the micro-kernel)"),
      llvm::cl::init(Switch::Auto),
      llvm::cl::values(
          clEnumValN(Switch::Auto, "auto",
                     "except on AMD Zen (znver*), where the widening does "
                     "not take the FMA pipes"),
          clEnumValN(Switch::On, "on", "always"),
          clEnumValN(Switch::Off, "off", "never"))};
  Option<int64_t> prefetchMinBytes{
      *this, "prefetch-min-bytes",
      llvm::cl::desc("small batches prefetch the next K chunk of the weight "
                     "panels in ops whose weights take at least this many "
                     "bytes (0: every op)"),
      llvm::cl::init(4194304)};
  Option<bool> gradKernels{
      *this, "grad-kernels",
      llvm::cl::desc("run the GEMMs of glu.ffn_grad/glu.mlp_grad on the "
                     "packed micro-kernels (false: the reference lowering)"),
      llvm::cl::init(true)};
  Option<bool> roundHidden{
      *this, "round-hidden",
      llvm::cl::desc("round a bf16 block's hidden to bf16 (PyTorch's bf16 "
                     "semantics) so the down projection uses dot products too; "
                     "in glu.ffn_grad/glu.mlp_grad, the hidden, dg and du, so "
                     "that every GEMM of the backward does"),
      llvm::cl::init(false)};
  Option<std::string> targetCPU{
      *this, "target-cpu",
      llvm::cl::desc("CPU to compile for, as LLVM names it (icelake-server, "
                     "znver4, x86-64-v3, ...), or host"),
      llvm::cl::init("host")};
  Option<std::string> targetFeatures{
      *this, "target-features",
      llvm::cl::desc("changes to the CPU's features, LLVM's names: e.g. "
                     "'-avx512bf16' (commas; quote the option)"),
      llvm::cl::init("")};
  Option<std::string> tuningCache{
      *this, "tuning-cache",
      llvm::cl::desc("JSON file of measured kernel configurations "
                     "(python -m swiglu.tune): its entries for this CPU "
                     "replace the tile options of matching ops"),
      llvm::cl::init("")};
  Option<bool> allowRoundingChanges{
      *this, "allow-rounding-changes",
      llvm::cl::desc("glu-raise's option: also raise blocks that round "
                     "intermediates to bf16/f16 (computed in f32 and rounded "
                     "once instead)"),
      llvm::cl::init(false)};
  Option<bool> packAtLoad{*this, "pack-at-load",
                          llvm::cl::desc("pack argument weights once in "
                                         "@<func>_pack_weights"),
                          llvm::cl::init(true)};
  Option<int64_t> moeDecodeTokens{
      *this, "moe-decode-tokens",
      llvm::cl::desc("glu.moe on at most this many tokens: one grouped "
                     "kernel for all the chosen experts (glu-moe-to-experts' "
                     "grouped-decode-tokens; 0: a glu.ffn per expert)"),
      llvm::cl::init(8)};
  Option<int64_t> shardRanks{
      *this, "shard-ranks",
      llvm::cl::desc("split every FFN block over this many MPI ranks "
                     "(glu-shard after glu-raise; 0: no split)"),
      llvm::cl::init(0)};
  Option<std::string> shardStrategy{
      *this, "shard-strategy",
      llvm::cl::desc("glu-shard's strategy: tensor or tokens"),
      llvm::cl::init("tensor")};
  Option<std::string> shardWeights{
      *this, "shard-weights",
      llvm::cl::desc("glu-shard's weights: full or local"),
      llvm::cl::init("full")};
};

/// The fast CPU pipeline: glu-raise, convert-glu-to-cpu-kernels, the
/// reference lowering of what is left, bufferization, OpenMP, polynomial
/// math and the lowering to the LLVM dialect. The code it produces calls the
/// OpenMP runtime (libomp).
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// The convert-glu-to-cpu-kernels pass of buildCPUPipeline(options), with
/// what `options` leaves to the host (vector width, micro-kernel, bf16 dot
/// products) decided. Tools that need the kernels' signatures (the packed
/// weights' types) run it alone.
std::unique_ptr<Pass> createCPUKernelsPass(const CPUPipelineOptions &options);

struct CPUTarget;
/// The kernels' vector width for `options` on `target`: vector-bits, or the
/// widest the target has when it is 0.
int64_t kernelVectorBits(const CPUPipelineOptions &options,
                         const CPUTarget &target);

/// Prepares `func` to be called from C after buildCPUReferencePipeline:
/// asks for its C interface (`_mlir_ciface_<name>`, arguments and results as
/// pointers to memref descriptors) and marks its arguments
/// `bufferization.writable = false`, so the compiled code never writes into
/// the caller's input buffers. Memref arguments are left as they are: they
/// are destinations the function writes into on purpose.
void prepareCEntryPoint(func::FuncOp func);

/// Options of the fusion pipeline (`--glu-fuse`).
struct FusePipelineOptions : public PassPipelineOptions<FusePipelineOptions> {
  Option<std::string> packing{
      *this, "packing",
      llvm::cl::desc("merged gate/up order: concat or interleaved"),
      llvm::cl::init("concat")};
  Option<int64_t> tileTokens{*this, "tile-tokens",
                             llvm::cl::desc("tokens per tile"),
                             llvm::cl::init(64)};
  Option<int64_t> chunkFF{*this, "chunk-ff",
                          llvm::cl::desc("d_ff per chunk (and per tile of "
                                         "a lone gate/up projection)"),
                          llvm::cl::init(256)};
};

/// The fusion pipeline: raise FFN blocks of frontend IR into glu ops
/// (`glu-raise`), merge each block's gate and up projections
/// (`glu-merge-gate-up`), stream whole blocks
/// (`glu-fuse-ffn`), fuse the gating into any remaining gate/up projection
/// (`glu-fuse-activation`), and clean up. What is left of glu (elementwise
/// `glu.gate`) is lowered by `convert-glu-to-linalg` later.
void buildFusePipeline(OpPassManager &pm, const FusePipelineOptions &options);

/// Compiles `module` (glu and upstream ops on tensors) for the CPU that
/// `options` name (target-cpu, target-features; this host by default): marks
/// its public functions as C entry points (prepareCEntryPoint), lowers it with
/// the reference pipeline or buildCPUPipeline (`options`, defaults if null),
/// translates it to LLVM IR, optimizes it at -O3 for that CPU and appends
/// an ELF object file (or, with `llvmIR`, the IR as text) to `out`. Errors
/// are emitted as diagnostics on the module.
LogicalResult compileForCPU(ModuleOp module, bool reference, bool llvmIR,
                             llvm::SmallVectorImpl<char> &out,
                             const CPUPipelineOptions *options = nullptr);

/// Options of the GPU pipeline (`--glu-gpu-pipeline`).
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("target SM: sm_80 or sm_90 (any "
                                          "sm_XY the NVPTX backend knows)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features (ISA version)"),
                               llvm::cl::init("+ptx80")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("gpu.binary object format: isa "
                                            "(PTX text, no CUDA needed), bin, "
                                            "fatbin or offload"),
                             llvm::cl::init("isa")};
  Option<int> optLevel{*this, "opt-level",
                       llvm::cl::desc("LLVM optimization level of kernels"),
                       llvm::cl::init(3)};
  Option<int64_t> tileM{*this, "tile-m", llvm::cl::desc("simt: tokens per block"),
                        llvm::cl::init(64)};
  Option<int64_t> tileN{*this, "tile-n",
                        llvm::cl::desc("simt: output features per block"),
                        llvm::cl::init(64)};
  Option<int64_t> tileK{*this, "tile-k",
                        llvm::cl::desc("simt: reduction step in shared memory"),
                        llvm::cl::init(16)};
  Option<int64_t> mmaTileM{*this, "mma-tile-m",
                           llvm::cl::desc("mma: tokens per block (64, 128)"),
                           llvm::cl::init(64)};
  Option<int64_t> mmaTileN{
      *this, "mma-tile-n",
      llvm::cl::desc("mma: output features per block (64, 128)"),
      llvm::cl::init(64)};
  Option<int64_t> mmaStages{
      *this, "mma-stages",
      llvm::cl::desc("mma: cp.async shared-memory stages (2 to 4)"),
      llvm::cl::init(3)};
  Option<int64_t> decodeTokens{
      *this, "decode-tokens",
      llvm::cl::desc("largest token count run by decode kernels (0: none)"),
      llvm::cl::init(8)};
  Option<bool> tensorCores{*this, "tensor-cores",
                           llvm::cl::desc("nvgpu.mma.sync kernels for f16/bf16"),
                           llvm::cl::init(true)};
  Option<bool> roundHidden{
      *this, "round-hidden",
      llvm::cl::desc("hidden of ffn/mlp in the down weight's 16-bit type "
                     "(tensor-core down projection; not glu's semantics)"),
      llvm::cl::init(false)};
};

/// The GPU pipeline: glu ops → kernels and launches (`convert-glu-to-gpu`),
/// host bufferization, then upstream `gpu-lower-to-nvvm-pipeline` (NVVM,
/// LLVM's NVPTX backend): the kernels end up as PTX (or, with a CUDA
/// toolkit, cubin) in a `gpu.binary @glu_kernels`; the launch records stay in
/// the module attribute `glu.gpu.entries`.
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Registers the pipelines above as `--glu-cpu-reference-pipeline`,
/// `--glu-cpu-pipeline`, `--glu-fuse` and `--glu-gpu-pipeline`.
void registerGLUPipelines();

} // namespace mlir::glu

#endif // GLU_PIPELINES_PIPELINES_H
