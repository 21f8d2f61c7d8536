//===- ShardToMPI.cpp - glu-shard's collectives to MPI library calls ------===//
//
// Two passes that complete upstream's shard → mpi → LLVM path for the code of
// glu-shard (LLVM 22.1):
//
// - glu-shard-to-mpi: shard.all_reduce over a 1-D grid as one in-place
//   mpi.allreduce on MPI_COMM_WORLD (upstream's pattern splits a new
//   communicator on every call and miscomputes dynamic dims), then upstream's
//   convert-shard-to-mpi for the rest, then the unused shard.grids erased.
// - glu-convert-mpi-to-llvm: upstream's MPI-to-LLVM patterns (reachable only
//   through --convert-to-llvm upstream) plus mpi.comm_size, which they lack.
//
//===----------------------------------------------------------------------===//

#include "glu/Conversion/Passes.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MPIToLLVM/MPIToLLVM.h"
#include "mlir/Conversion/ShardToMPI/ShardToMPI.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::glu {
#define GEN_PASS_DEF_GLUSHARDTOMPI
#define GEN_PASS_DEF_GLUCONVERTMPITOLLVM
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;

namespace {

constexpr StringLiteral kImplementationKey = "MPI:Implementation";

/// `shard.all_reduce` (sum, max, min, product) over a 1-D grid on a ranked
/// tensor of f32/f64/integers: a copy of the input in a fresh buffer,
/// reduced in place over MPI_COMM_WORLD.
struct AllReduceToMPI : OpRewritePattern<shard::AllReduceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(shard::AllReduceOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type || type.getRank() < 1 || op.getResult().getType() != type)
      return rewriter.notifyMatchFailure(op, "not a ranked tensor");
    Type element = type.getElementType();
    if (!element.isF32() && !element.isF64() && !element.isInteger())
      return rewriter.notifyMatchFailure(op, "no MPI datatype");
    auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(
        op, op.getGridAttr());
    if (!grid || grid.getRank() != 1 || op.getGridAxes().size() != 1)
      return rewriter.notifyMatchFailure(op, "not a 1-D grid");
    mpi::MPI_ReductionOpEnum reduction;
    switch (op.getReduction()) {
    case shard::ReductionKind::Sum:
      reduction = mpi::MPI_ReductionOpEnum::MPI_SUM;
      break;
    case shard::ReductionKind::Max:
      reduction = mpi::MPI_ReductionOpEnum::MPI_MAX;
      break;
    case shard::ReductionKind::Min:
      reduction = mpi::MPI_ReductionOpEnum::MPI_MIN;
      break;
    case shard::ReductionKind::Product:
      reduction = mpi::MPI_ReductionOpEnum::MPI_PROD;
      break;
    default:
      return rewriter.notifyMatchFailure(op, "reduction kind");
    }
    Location loc = op.getLoc();
    auto memrefType = MemRefType::get(type.getShape(), element);
    Value input = bufferization::ToBufferOp::create(rewriter, loc, memrefType,
                                                    op.getInput(),
                                                    /*read_only=*/true);
    SmallVector<Value> dynamic;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        dynamic.push_back(tensor::DimOp::create(rewriter, loc, op.getInput(), d));
    Value buffer = memref::AllocOp::create(rewriter, loc, memrefType, dynamic);
    memref::CopyOp::create(rewriter, loc, input, buffer);
    Value flat = buffer;
    if (type.getRank() > 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < type.getRank(); ++d)
        all.push_back(d);
      flat = memref::CollapseShapeOp::create(rewriter, loc, buffer,
                                             ArrayRef<ReassociationIndices>{all});
    }
    Value world =
        mpi::CommWorldOp::create(rewriter, loc, mpi::CommType::get(getContext()));
    mpi::AllReduceOp::create(
        rewriter, loc, Type(), flat, flat,
        mpi::MPI_ReductionOpEnumAttr::get(getContext(), reduction), world);
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, type, buffer, /*restrict=*/true, /*writable=*/true);
    return success();
  }
};

/// mpi.allreduce declares no memory effects in LLVM 22, and the buffer
/// deallocation pipeline refuses ops with memref operands and unknown
/// effects: it reads the send buffer, writes the receive buffer, and talks
/// to the other ranks (a write of the default resource, so it is never
/// removed or reordered across other side effects).
struct AllReduceEffects
    : MemoryEffectOpInterface::ExternalModel<AllReduceEffects,
                                             mpi::AllReduceOp> {
  void getEffects(
      Operation *op,
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
          &effects) const {
    auto reduce = cast<mpi::AllReduceOp>(op);
    effects.emplace_back(MemoryEffects::Read::get(),
                         &reduce.getSendbufMutable());
    effects.emplace_back(MemoryEffects::Read::get(),
                         &reduce.getRecvbufMutable());
    effects.emplace_back(MemoryEffects::Write::get(),
                         &reduce.getRecvbufMutable());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};

struct GLUShardToMPIPass
    : public glu::impl::GLUShardToMPIBase<GLUShardToMPIPass> {
  void getDependentDialects(DialectRegistry &registry) const override {
    GLUShardToMPIBase::getDependentDialects(registry);
    registry.addExtension(+[](MLIRContext *ctx, mpi::MPIDialect *) {
      mpi::AllReduceOp::attachInterface<AllReduceEffects>(*ctx);
    });
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool any = false;
    module.walk([&](Operation *op) {
      if (isa<shard::ShardDialect>(op->getDialect()))
        any = true;
    });
    if (!any)
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<AllReduceToMPI>(&getContext());
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();
    OpPassManager pm(ModuleOp::getOperationName());
    pm.addPass(createConvertShardToMPIPass());
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
    for (auto grid : llvm::make_early_inc_range(module.getOps<shard::GridOp>()))
      if (SymbolTable::symbolKnownUseEmpty(grid, module))
        grid.erase();
  }
};

/// The MPI ABI named by the module's DLTI entry (MPICH's without it, as
/// upstream's lowering assumes).
bool isOpenMPI(ModuleOp module) {
  FailureOr<Attribute> attr = dlti::query(module, {kImplementationKey}, true);
  auto name = succeeded(attr) ? dyn_cast<StringAttr>(*attr) : StringAttr();
  return name && name.getValue() == "OpenMPI";
}

/// `mpi.comm_size` → `MPI_Comm_size(comm, &size)`.
struct CommSizeToLLVM : ConvertOpToLLVMPattern<mpi::CommSizeOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;

  LogicalResult
  matchAndRewrite(mpi::CommSizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto module = op->getParentOfType<ModuleOp>();
    Type i32 = rewriter.getI32Type();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    // The communicator is an i64 (upstream's portable type): a pointer in
    // OpenMPI, an int in MPICH.
    Value comm = adaptor.getComm();
    comm = isOpenMPI(module)
               ? LLVM::IntToPtrOp::create(rewriter, loc, ptr, comm).getResult()
               : LLVM::TruncOp::create(rewriter, loc, i32, comm).getResult();
    auto funcType = LLVM::LLVMFunctionType::get(i32, {comm.getType(), ptr});
    auto decl = module.lookupSymbol<LLVM::LLVMFuncOp>("MPI_Comm_size");
    if (!decl) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      decl = LLVM::LLVMFuncOp::create(rewriter, loc, "MPI_Comm_size", funcType,
                                      LLVM::Linkage::External);
    }
    Value one = LLVM::ConstantOp::create(rewriter, loc, rewriter.getI64Type(),
                                         rewriter.getI64IntegerAttr(1));
    Value slot = LLVM::AllocaOp::create(rewriter, loc, ptr, i32, one);
    auto call = LLVM::CallOp::create(rewriter, loc, decl, ValueRange{comm, slot});
    Value size = LLVM::LoadOp::create(rewriter, loc, i32, slot);
    if (op.getRetval())
      rewriter.replaceOp(op, ValueRange{call.getResult(), size});
    else
      rewriter.replaceOp(op, size);
    return success();
  }
};

/// Upstream (LLVM 22.1) names OpenMPI's predefined reductions
/// `ompi_mpi_sum`, ...; the library's symbols are `ompi_mpi_op_sum`, ...
/// (mpi.h: `#define MPI_SUM OMPI_PREDEFINED_GLOBAL(MPI_Op, ompi_mpi_op_sum)`),
/// so the code would not link. Renames the globals that lowering declared.
void renameOpenMPIOps(ModuleOp module) {
  SymbolTable symbols(module);
  for (auto global :
       llvm::make_early_inc_range(module.getOps<LLVM::GlobalOp>())) {
    auto type = dyn_cast<LLVM::LLVMStructType>(global.getGlobalType());
    StringRef name = global.getSymName();
    if (!type || !type.isIdentified() ||
        type.getName() != "ompi_predefined_op_t" ||
        !name.starts_with("ompi_mpi_") || name.starts_with("ompi_mpi_op_"))
      continue;
    std::string fixed = ("ompi_mpi_op_" + name.drop_front(9)).str();
    if (failed(symbols.rename(global, fixed)))
      continue;
  }
}

struct GLUConvertMPIToLLVMPass
    : public glu::impl::GLUConvertMPIToLLVMBase<GLUConvertMPIToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool any = false;
    module.walk([&](Operation *op) {
      if (isa<mpi::MPIDialect>(op->getDialect()))
        any = true;
    });
    if (any) {
      MLIRContext *ctx = &getContext();
      LLVMTypeConverter converter(ctx);
      RewritePatternSet patterns(ctx);
      mpi::populateMPIToLLVMConversionPatterns(converter, patterns);
      patterns.add<CommSizeToLLVM>(converter);
      ConversionTarget target(*ctx);
      target.addIllegalDialect<mpi::MPIDialect>();
      target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
      if (failed(applyPartialConversion(module, target, std::move(patterns))))
        return signalPassFailure();
      renameOpenMPIOps(module);
    }
    // The DLTI entry was for this lowering only; LLVM IR has no use for it.
    if (auto map = module->getAttrOfType<MapAttr>("dlti.map")) {
      if (map.getEntries().size() == 1 &&
          succeeded(map.query(
              StringAttr::get(&getContext(), kImplementationKey))))
        module->removeAttr("dlti.map");
    }
  }
};

} // namespace
