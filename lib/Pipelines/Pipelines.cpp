//===- Pipelines.cpp - Registered glu pass pipelines ----------------------===//

#include "glu/Pipelines/Pipelines.h"
#include "glu/Pipelines/Target.h"

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"


using namespace mlir;

namespace {

/// `tensor.expand_shape` with two or more dynamic sizes in one reassociation
/// group crashes LLVM 22's expand-strided-metadata (llvm/llvm-project#186830,
/// fixed in 23). Frontends write such reshapes (`tensor<?x?x4096xf32>`
/// inputs), so the reference pipeline rewrites them into `tensor.reshape`
/// with a shape operand before bufferization.
struct ExpandShapeToReshape : OpRewritePattern<tensor::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResultType();
    bool affected = llvm::any_of(
        op.getReassociationIndices(), [&](const ReassociationIndices &group) {
          return llvm::count_if(group, [&](int64_t dim) {
                   return type.isDynamicDim(dim);
                 }) > 1;
        });
    if (!affected)
      return rewriter.notifyMatchFailure(op, "at most one dynamic size a group");
    Location loc = op.getLoc();
    SmallVector<Value> sizes;
    for (OpFoldResult size : op.getMixedOutputShape())
      sizes.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, size));
    Value shape = tensor::FromElementsOp::create(rewriter, loc, sizes);
    rewriter.replaceOpWithNewOp<tensor::ReshapeOp>(op, type, op.getSrc(),
                                                   shape);
    return success();
  }
};

struct ExpandShapeToReshapePass
    : PassWrapper<ExpandShapeToReshapePass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandShapeToReshapePass)

  StringRef getArgument() const final {
    return "glu-expand-shape-to-reshape";
  }
  StringRef getDescription() const final {
    return "Rewrite tensor.expand_shape with several dynamic sizes in a group "
           "into tensor.reshape (works around llvm/llvm-project#186830)";
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeToReshape>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

/// Vectorized exp/tanh/erf (f32 and vectors of it) as upstream's polynomial
/// approximations instead of libm calls, which would scalarize the kernels'
/// epilogues.
struct MathApproximationPass
    : PassWrapper<MathApproximationPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MathApproximationPass)

  StringRef getArgument() const final { return "glu-math-approximation"; }
  StringRef getDescription() const final {
    return "Rewrite f32 exp, tanh and erf (scalars and vectors) into "
           "upstream's polynomial approximations";
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The predicate gets op names.
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.exp" || name == "math.tanh" || name == "math.erf";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

/// Drops the `glu.*` argument attributes (e.g. `glu.packed_by`), which only
/// document the tensor-level IR, so that the translation to LLVM IR does not
/// warn about them.
struct StripArgumentAttributesPass
    : PassWrapper<StripArgumentAttributesPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(StripArgumentAttributesPass)

  StringRef getArgument() const final { return "glu-strip-argument-attrs"; }
  StringRef getDescription() const final {
    return "Remove glu.* function argument attributes";
  }
  void runOnOperation() override {
    getOperation().walk([](FunctionOpInterface func) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
        DictionaryAttr attrs = func.getArgAttrDict(i);
        if (!attrs)
          continue;
        for (NamedAttribute attr : attrs.getValue())
          if (attr.getName().strref().starts_with("glu."))
            func.removeArgAttr(i, attr.getName());
      }
    });
  }
};

/// memref.copy between buffers that are not both contiguous would lower to a
/// call of `memrefCopy` in MLIR's runtime library (libmlir_c_runner_utils),
/// which compiled code must not need: such copies become loops of scalar
/// loads and stores. Contiguous copies stay (llvm.memcpy).
struct StridedCopyToLoops : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::CopyOp op,
                                PatternRewriter &rewriter) const override {
    // Unranked copies (not in glu code) are left to the runtime library.
    auto source = dyn_cast<MemRefType>(op.getSource().getType());
    auto target = dyn_cast<MemRefType>(op.getTarget().getType());
    if (!source || !target)
      return rewriter.notifyMatchFailure(op, "unranked");
    if (source.getLayout().isIdentity() && target.getLayout().isIdentity())
      return rewriter.notifyMatchFailure(op, "contiguous: a memcpy");
    Location loc = op.getLoc();
    SmallVector<Value> lbs, ubs, steps;
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (int64_t d = 0; d < source.getRank(); ++d) {
      lbs.push_back(zero);
      ubs.push_back(memref::DimOp::create(rewriter, loc, op.getSource(), d));
      steps.push_back(one);
    }
    scf::buildLoopNest(rewriter, loc, lbs, ubs, steps,
                       [&](OpBuilder &b, Location l, ValueRange ivs) {
                         Value v = memref::LoadOp::create(b, l, op.getSource(),
                                                          ivs);
                         memref::StoreOp::create(b, l, v, op.getTarget(), ivs);
                       });
    rewriter.eraseOp(op);
    return success();
  }
};

struct StridedCopiesToLoopsPass
    : PassWrapper<StridedCopiesToLoopsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(StridedCopiesToLoopsPass)

  StringRef getArgument() const final { return "glu-strided-copies-to-loops"; }
  StringRef getDescription() const final {
    return "Rewrite memref.copy of non-contiguous buffers into loops (not a "
           "call of MLIR's runtime library)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, scf::SCFDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<StridedCopyToLoops>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

/// TOSA as frontends write it (torch-mlir's tosa output: tosa.const with
/// dense_resource weights, matmuls, elementwise ops) to linalg, arith and
/// tensor, so both CPU pipelines take it as it comes.
void addTosaLowering(OpPassManager &pm) {
  OpPassManager &func = pm.nest<func::FuncOp>();
  func.addPass(tosa::createTosaToLinalgNamed());
  func.addPass(tosa::createTosaToLinalg());
  func.addPass(createTosaToArithPass());
  func.addPass(createTosaToTensorPass());
}

/// Bufferization as in the reference pipeline: function boundaries with
/// identity layouts, results returned as fresh buffers the caller owns.
void addOneShotBufferize(OpPassManager &pm) {
  pm.addPass(std::make_unique<ExpandShapeToReshapePass>());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
}

/// addOneShotBufferize, then deallocation of the buffers the code allocates.
void addBufferization(OpPassManager &pm) {
  addOneShotBufferize(pm);
  bufferization::buildBufferDeallocationPipeline(pm);
  // Returning a value the function does not own (an argument, a constant)
  // leaves a bufferization.clone behind: make it a memref alloc + copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(std::make_unique<StridedCopiesToLoopsPass>());
}

/// The end of both CPU pipelines: buffers, arith, functions and control
/// flow to the LLVM dialect.
void addFinalLLVMLowering(OpPassManager &pm) {
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // glu-shard's MPI calls (nothing without mpi ops).
  pm.addPass(glu::createGLUConvertMPIToLLVM());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(std::make_unique<StripArgumentAttributesPass>());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // bf16/f16 values that are only moved travel as i16 (no f32 promotion and
  // compiler-rt truncation in LLVM's backend).
  pm.addPass(glu::createFloat16StorageAsI16());
}

/// A pass that fails with `message`: what the pipeline builders, which
/// cannot fail, add where an option is wrong.
struct FailPass : PassWrapper<FailPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FailPass)
  explicit FailPass(std::string message) : message(std::move(message)) {}
  StringRef getArgument() const final { return "glu-fail"; }
  void runOnOperation() override {
    mlir::emitError(getOperation()->getLoc(), message);
    signalPassFailure();
  }
  std::string message;
};

/// The CPU `options` name; on failure, `error` says why (the caller adds a
/// FailPass with it).
FailureOr<glu::CPUTarget> targetOf(const glu::CPUPipelineOptions &options,
                                   std::string &error) {
  FailureOr<glu::CPUTarget> target =
      glu::resolveCPUTarget(options.targetCPU, options.targetFeatures, error);
  if (failed(target))
    error = "glu-cpu-pipeline: " + error;
  return target;
}

/// Arithmetic and conversions of 16-bit floats that LLVM would lower to
/// compiler-rt calls (`__truncsfbf2`, one a vector lane, on every CPU
/// without AVX512_BF16; f16 ones without F16C) become f32 arithmetic and
/// integer bit manipulation: math and arith ops on bf16 (and on f16 when
/// `f16`) are computed in f32, then every conversion is expanded inline.
void addFloatLegalization(OpPassManager &pm, bool f16) {
  pm.addPass(math::createMathExtendToSupportedTypes());
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"bf16"};
  if (f16)
    emulate.sourceTypeStrs.push_back("f16");
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  glu::ExpandFloatConversionsOptions expand;
  expand.f16 = f16;
  pm.addPass(glu::createExpandFloatConversions(expand));
  pm.addPass(arith::createArithExpandOpsPass());
}

} // namespace

int64_t mlir::glu::kernelVectorBits(const CPUPipelineOptions &options,
                                    const CPUTarget &target) {
  return options.vectorBits ? options.vectorBits : target.vectorBits();
}

/// The kernel pass for `options` on the resolved `target`.
static std::unique_ptr<Pass>
kernelsPassFor(const glu::CPUPipelineOptions &options,
               const glu::CPUTarget &target) {
  using namespace glu;
  ConvertGLUToCPUKernelsOptions kernels;
  kernels.vectorBits = kernelVectorBits(options, target);
  kernels.microRows = options.microRows;
  // 6 x 4 accumulators, 4 weight vectors and a broadcast fill AVX-512's 32
  // registers; AVX2 and SSE have 16, which 6 x 2 (+ 3) fits.
  kernels.microVectors = options.microVectors ? options.microVectors
                         : kernels.vectorBits == 512 ? 4
                                                     : 2;
  kernels.kChunk = options.kChunk;
  kernels.tileTokens = options.tileTokens;
  kernels.threads = options.threads;
  kernels.packAtLoad = options.packAtLoad;
  kernels.roundHidden = options.roundHidden;
  kernels.gradKernels = options.gradKernels;
  kernels.prefetchMinBytes = options.prefetchMinBytes;
  kernels.tuningCache = options.tuningCache;
  kernels.cpuKey = target.cpu;
  using Switch = CPUPipelineOptions::Switch;
  // Widening 16-bit weights in the micro-kernel costs a shuffle and a shift
  // a vector. Zen 4 runs them on FP pipes beside its two FMA pipes and
  // overlaps the stream with the FMAs: measured (4096x11008 and
  // 1024x2816 bf16, 2 threads) 1.05-1.08x the widen-once path in prefill
  // and 1.2-2x in small batches, where widening a chunk before its row
  // blocks leaves the memory idle. Intel's server cores run 512-bit
  // shuffles and shifts on the FMA ports (0 and 5), so there each chunk is
  // widened once per token block (not measured on Intel yet).
  kernels.widenOnce =
      options.widenOnce == Switch::On ||
      (options.widenOnce == Switch::Auto &&
       !StringRef(target.cpu).starts_with("znver"));
  kernels.bf16Dot = options.bf16Dot == Switch::On ||
                    (options.bf16Dot == Switch::Auto &&
                     kernels.vectorBits == 512 && target.has("avx512bf16"));
  return createConvertGLUToCPUKernels(kernels);
}

std::unique_ptr<Pass>
mlir::glu::createCPUKernelsPass(const CPUPipelineOptions &options) {
  std::string error;
  FailureOr<CPUTarget> target = targetOf(options, error);
  if (failed(target))
    return std::make_unique<FailPass>(error);
  return kernelsPassFor(options, *target);
}

void mlir::glu::buildCPUPipeline(OpPassManager &pm,
                                 const CPUPipelineOptions &options) {
  // Frontend IR → glu ops; glu ops → packed-weight kernels; what is left
  // (glu.gate, other accumulation types) → the reference lowering.
  // The target CPU, resolved once for the kernels' choices and the float
  // legalization; an unknown CPU or feature fails the pipeline when it runs.
  std::string error;
  FailureOr<CPUTarget> target = targetOf(options, error);
  if (failed(target)) {
    pm.addPass(std::make_unique<FailPass>(error));
    return;
  }
  GLURaiseOptions raise;
  raise.allowRoundingChanges = options.allowRoundingChanges;
  pm.addPass(createGLURaise(raise));
  if (options.shardRanks) {
    GLUShardOptions shard;
    shard.ranks = options.shardRanks;
    shard.strategy = options.shardStrategy;
    shard.weights = options.shardWeights;
    pm.addPass(createGLUShard(shard));
  }
  addTosaLowering(pm);
  // Each expert of a glu.moe as a glu.ffn on its tokens (fast kernels).
  // On decode-sized inputs, one grouped kernel for all the chosen experts.
  GLUMoEToExpertsOptions moe;
  moe.groupedDecodeTokens = options.moeDecodeTokens;
  pm.addPass(createGLUMoEToExperts(moe));
  pm.addPass(kernelsPassFor(options, *target));
  ConvertGLUToLinalgOptions linalg;
  linalg.roundHidden = options.roundHidden;
  pm.addNestedPass<func::FuncOp>(glu::createConvertGLUToLinalg(linalg));
  pm.addPass(createCanonicalizerPass());
  // glu-shard's collectives to MPI (nothing without shard ops).
  pm.addPass(glu::createGLUShardToMPI());
  addBufferization(pm);

  // Loops: the workers' scf.forall → scf.parallel → OpenMP.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createCanonicalizerPass());
  // math.fpowi (x**3 of an unraised tanh GELU) as multiplications: no
  // llvm.powi, whose non-constant form is a compiler-rt call.
  math::MathExpandOpsPassOptions expandPowI;
  expandPowI.opMnemonics = {"fpowi"};
  pm.addPass(math::createMathExpandOpsPass(expandPowI));
  addFloatLegalization(pm, /*f16=*/!target->has("f16c"));
  pm.addPass(std::make_unique<MathApproximationPass>());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  // Math with an LLVM intrinsic (fma, floor, ... of the polynomial
  // approximations, scalars and vectors) becomes that intrinsic: a vector
  // fma stays one vfmadd. Only what is left (erf, tanh in f64) becomes libm
  // calls, which scalarize vectors.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.x86Vector = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  addFinalLLVMLowering(pm);
}

void mlir::glu::buildCPUReferencePipeline(OpPassManager &pm,
                                          bool roundHidden) {
  addTosaLowering(pm);
  // glu → linalg/arith/math/tensor: the reference semantics.
  ConvertGLUToLinalgOptions linalg;
  linalg.roundHidden = roundHidden;
  pm.addNestedPass<func::FuncOp>(glu::createConvertGLUToLinalg(linalg));
  pm.addPass(createCanonicalizerPass());
  // glu-shard's collectives to MPI (nothing without shard ops).
  pm.addPass(glu::createGLUShardToMPI());
  // Tensors → buffers. Function arguments and results become plain
  // (identity-layout) memrefs; results are fresh allocations the caller owns.
  addBufferization(pm);

  // Buffers → loops → LLVM. Transcendentals without an LLVM intrinsic (erf,
  // tanh) become libm calls; 16-bit float arithmetic is done in f32 and
  // every bf16/f16 conversion is expanded into integer arithmetic (round to
  // nearest even), whatever the CPU, so no compiler runtime is needed.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createForallToForLoopPass());
  addFloatLegalization(pm, /*f16=*/true);
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  addFinalLLVMLowering(pm);
}

void mlir::glu::prepareCEntryPoint(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(ctx));
  StringRef writable = bufferization::BufferizationDialect::kWritableAttrName;
  // (Tensor arguments only: a memref argument is a destination the function
  // writes into, and the attribute is for tensors.)
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    if (isa<TensorType>(func.getArgument(i).getType()) &&
        !func.getArgAttr(i, writable))
      func.setArgAttr(i, writable, BoolAttr::get(ctx, false));
}

void mlir::glu::buildFusePipeline(OpPassManager &pm,
                                   const FusePipelineOptions &options) {
  pm.addPass(createGLURaise());
  GLUMergeGateUpOptions merge;
  merge.packing = options.packing;
  pm.addPass(createGLUMergeGateUp(merge));
  GLUFuseFFNOptions ffn;
  ffn.tileTokens = options.tileTokens;
  ffn.chunkFF = options.chunkFF;
  pm.addPass(createGLUFuseFFN(ffn));
  GLUFuseActivationOptions activation;
  activation.tileTokens = options.tileTokens;
  activation.tileFF = options.chunkFF;
  pm.addPass(createGLUFuseActivation(activation));
  pm.addPass(createCanonicalizerPass());
}

void mlir::glu::buildGPUPipeline(OpPassManager &pm,
                                  const GPUPipelineOptions &options) {
  glu::ConvertGLUToGPUOptions convert;
  convert.tileM = options.tileM;
  convert.tileN = options.tileN;
  convert.tileK = options.tileK;
  convert.mmaTileM = options.mmaTileM;
  convert.mmaTileN = options.mmaTileN;
  convert.mmaStages = options.mmaStages;
  convert.decodeTokens = options.decodeTokens;
  convert.tensorCores = options.tensorCores;
  convert.roundHidden = options.roundHidden;
  pm.addPass(glu::createConvertGLUToGPU(convert));
  pm.addPass(createCanonicalizerPass());

  // Host code: tensors → buffers, as in the CPU pipeline (the kernels are
  // already on memrefs).
  addOneShotBufferize(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  // Upstream: kernels to NVVM and PTX, host launches to LLVM.
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = options.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void mlir::glu::registerGLUPipelines() {
  PassRegistration<ExpandShapeToReshapePass>();
  PassPipelineRegistration<FusePipelineOptions>(
      "glu-fuse",
      "Raise FFN blocks, merge their gate/up projections and fuse them "
      "(glu-raise, glu-merge-gate-up, glu-fuse-ffn, glu-fuse-activation)",
      buildFusePipeline);
  PassRegistration<MathApproximationPass>();
  PassRegistration<StridedCopiesToLoopsPass>();
  PassPipelineRegistration<CPUPipelineOptions>(
      "glu-cpu-pipeline",
      "Lower glu IR (or frontend IR that glu-raise recognizes) to the LLVM "
      "dialect through packed-weight, register-tiled, vectorized, "
      "multi-threaded (OpenMP) kernels",
      buildCPUPipeline);
  PassPipelineRegistration<CPUReferencePipelineOptions>(
      "glu-cpu-reference-pipeline",
      "Lower glu IR on tensors to the LLVM dialect through the reference "
      "linalg lowering, bufferization and loops (simple, not fast)",
      [](OpPassManager &pm, const CPUReferencePipelineOptions &options) {
        buildCPUReferencePipeline(pm, options.roundHidden);
      });
  PassPipelineRegistration<GPUPipelineOptions>(
      "glu-gpu-pipeline",
      "Lower glu ops to CUDA kernels (convert-glu-to-gpu) and through "
      "upstream gpu/nvgpu/nvvm to PTX in a gpu.binary, with their launches",
      buildGPUPipeline);
}
