//===- Shard.cpp - FFN blocks split over MPI ranks (glu-shard) ------------===//
//
// Rewrites the functions that hold glu.ffn / glu.mlp ops into SPMD code for
// `ranks` MPI processes, on MLIR's shard dialect: a 1-D `shard.grid`, the
// process index from `shard.process_linear_index`, and one `shard.all_reduce`
// per block. Tensor-parallel (Megatron): each rank computes the block on its
// features of d_ff (gate/up rows, down columns) and the partial outputs are
// summed. Token-parallel: each rank computes its rows of x with all weights.
//
// Why not upstream's --sharding-propagation / --shard-partition: they work on
// ops that implement ShardingInterface, which glu ops do not, and the
// interface's partitioning of a fused gated block (two contractions, an
// activation, a third contraction reduced over the split dim) is exactly the
// Megatron rule written here; the rule is short and explicit, and the
// partitioned IR is the same shard dialect the upstream lowering takes
// (docs/distributed.md).
//
//===----------------------------------------------------------------------===//

#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::glu {
#define GEN_PASS_DEF_GLUSHARD
#include "glu/Dialect/GLU/Transforms/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;

namespace {

constexpr StringLiteral kGridName = "glu_ranks";

/// Rank r's share of `n` items over `ranks`: the first `n mod ranks` ranks
/// get one item more. Offset and size are index values.
struct Share {
  Value offset, size;
};

Share shareOf(OpBuilder &b, Location loc, Value rank, Value n, int64_t ranks) {
  Value count = arith::ConstantIndexOp::create(b, loc, ranks);
  Value q = arith::DivUIOp::create(b, loc, n, count);
  Value rem = arith::RemUIOp::create(b, loc, n, count);
  Value extra = arith::MinUIOp::create(b, loc, rank, rem);
  Value offset = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, rank, q), extra);
  Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, rank,
                                     rem);
  Value one = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), more);
  return {offset, arith::AddIOp::create(b, loc, q, one)};
}

/// The slice of `v` along `dim` that `share` names, zero-padded to `padded`
/// items when the split is uneven (every rank then has the same static
/// shape); with an even split the slice is `padded` items, static.
Value sliceShard(OpBuilder &b, Location loc, Value v, int64_t dim,
                 const Share &share, int64_t padded, bool even) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(tensor::getMixedSize(b, loc, v, d));
  offsets[dim] = share.offset;
  sizes[dim] = even ? OpFoldResult(b.getIndexAttr(padded))
                    : OpFoldResult(share.size);
  Value slice =
      tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides);
  if (even)
    return slice;
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = padded;
  auto padType = RankedTensorType::get(shape, type.getElementType());
  Value zero = arith::ConstantOp::create(
      b, loc, b.getZeroAttr(type.getElementType()));
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < rank; ++d)
    if (padType.isDynamicDim(d))
      dynamic.push_back(tensor::DimOp::create(b, loc, v, d));
  return tensor::createPadHighOp(padType, slice, zero, /*nofold=*/false, loc,
                                 b, dynamic);
}

/// A weight operand split along d_ff.
struct Split {
  OpOperand *operand;
  int64_t dim; // the d_ff dim of the operand
};

/// What one block needs: the operands split along d_ff and d_ff itself.
struct BlockPlan {
  Operation *op;
  int64_t dff;
  SmallVector<Split> splits;
  OpOperand *downBias = nullptr;
};

/// The rank's values at the top of a sharded function.
struct Prologue {
  Value rank;   // index
  Value isRoot; // i1: rank == 0
};

struct GLUShardPass : public glu::impl::GLUShardBase<GLUShardPass> {
  using GLUShardBase::GLUShardBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (ranks < 1) {
      module.emitError("glu-shard: ranks must be at least 1 (ranks=")
          << static_cast<int64_t>(ranks) << ")";
      return signalPassFailure();
    }
    if (strategy != "tensor" && strategy != "tokens") {
      module.emitError("glu-shard: strategy must be tensor or tokens, not '")
          << strategy << "'";
      return signalPassFailure();
    }
    if (weights != "full" && weights != "local") {
      module.emitError("glu-shard: weights must be full or local, not '")
          << weights << "'";
      return signalPassFailure();
    }
    if (weights == "local" && strategy != "tensor") {
      module.emitError("glu-shard: weights=local needs strategy=tensor (with "
                       "strategy=tokens every rank has all weights)");
      return signalPassFailure();
    }
    if (mpi != "OpenMPI" && mpi != "MPICH") {
      module.emitError("glu-shard: mpi must be OpenMPI or MPICH, not '")
          << mpi << "'";
      return signalPassFailure();
    }

    // Check every block before changing anything.
    SmallVector<func::FuncOp> funcs;
    llvm::DenseMap<Operation *, BlockPlan> blocks;
    bool failed = false;
    module.walk([&](func::FuncOp func) {
      bool any = false;
      func.walk([&](Operation *op) {
        if (isa<GateUpOp, MoEOp>(op)) {
          op->emitError("glu-shard: '")
              << op->getName()
              << "' is not supported: only glu.ffn and glu.mlp, whose "
                 "outputs are summed over the ranks, are split";
          failed = true;
        }
        if (!isa<FFNOp, MLPOp>(op))
          return;
        any = true;
        FailureOr<BlockPlan> block = analyze(op);
        if (mlir::failed(block))
          failed = true;
        else
          blocks[op] = *block;
      });
      if (any)
        funcs.push_back(func);
    });
    if (failed)
      return signalPassFailure();
    if (funcs.empty())
      return;
    if (mlir::failed(addGridAndDLTI(module)))
      return signalPassFailure();
    for (func::FuncOp func : funcs)
      if (mlir::failed(shardFunction(func, blocks)))
        return signalPassFailure();
  }

  /// The operands of `op` to split along d_ff; fails with a diagnostic on
  /// what the pass cannot split.
  FailureOr<BlockPlan> analyze(Operation *op) {
    BlockPlan block;
    block.op = op;
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    if (!resultType.getElementType().isF32() &&
        !resultType.getElementType().isF64())
      return op->emitError("glu-shard: the all-reduce of the outputs needs "
                           "f32 or f64 results (upstream's MPI lowering has no "
                           "16-bit float type), not ")
             << resultType.getElementType();
    if (resultType.getRank() < 1)
      return op->emitError("glu-shard: a result of rank 0 cannot be split");
    Layout layout;
    Value down;
    if (auto ffn = dyn_cast<FFNOp>(op)) {
      if (ffn.getGateUpWeight())
        return op->emitError(
            "glu-shard: a merged gate_up weight is not supported; give "
            "separate gate and up weights (run glu-shard before "
            "glu-merge-gate-up)");
      layout = ffn.getLayout();
      int64_t wdim = layout == Layout::out_in ? 0 : 1;
      block.splits.push_back({&ffn.getGateWeightMutable()[0], wdim});
      block.splits.push_back({&ffn.getUpWeightMutable()[0], wdim});
      if (ffn.getGateBias())
        block.splits.push_back({&ffn.getGateBiasMutable()[0], 0});
      if (ffn.getUpBias())
        block.splits.push_back({&ffn.getUpBiasMutable()[0], 0});
      down = ffn.getDownWeight();
      block.splits.push_back({&ffn.getDownWeightMutable(), 1 - wdim});
      if (ffn.getDownBias())
        block.downBias = &ffn.getDownBiasMutable()[0];
    } else {
      auto mlp = cast<MLPOp>(op);
      layout = mlp.getLayout();
      int64_t wdim = layout == Layout::out_in ? 0 : 1;
      block.splits.push_back({&mlp.getUpWeightMutable(), wdim});
      if (mlp.getUpBias())
        block.splits.push_back({&mlp.getUpBiasMutable()[0], 0});
      down = mlp.getDownWeight();
      block.splits.push_back({&mlp.getDownWeightMutable(), 1 - wdim});
      if (mlp.getDownBias())
        block.downBias = &mlp.getDownBiasMutable()[0];
    }
    auto downType = cast<RankedTensorType>(down.getType());
    block.dff = downType.getDimSize(layout == Layout::out_in ? 1 : 0);
    if (strategy == "tensor") {
      if (ShapedType::isDynamic(block.dff))
        return op->emitError("glu-shard: strategy=tensor needs a static d_ff "
                             "(the hidden width)");
      if (block.dff < ranks)
        return op->emitError("glu-shard: ranks=")
               << static_cast<int64_t>(ranks) << " is more than d_ff=" << block.dff
               << ": some ranks would own no feature";
    }
    return block;
  }

  LogicalResult addGridAndDLTI(ModuleOp module) {
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    if (Operation *existing = SymbolTable::lookupSymbolIn(module, kGridName)) {
      auto grid = dyn_cast<shard::GridOp>(existing);
      if (!grid || grid.getShape() != ArrayRef<int64_t>{ranks})
        return existing->emitError("glu-shard: the symbol @")
               << kGridName << " exists and is not a shard.grid of shape "
               << static_cast<int64_t>(ranks);
    } else {
      shard::GridOp::create(b, module.getLoc(), kGridName,
                            ArrayRef<int64_t>{ranks});
    }
    // The MPI lowering reads the library's ABI from DLTI (and silently
    // assumes MPICH's without it).
    constexpr StringLiteral key = "MPI:Implementation";
    Attribute mapAttr = module->getAttr("dlti.map");
    if (!mapAttr) {
      auto entry = DataLayoutEntryAttr::get(StringAttr::get(&getContext(), key),
                                            b.getStringAttr(mpi));
      module->setAttr("dlti.map",
                      MapAttr::get(&getContext(),
                                   ArrayRef<DataLayoutEntryInterface>{entry}));
      return success();
    }
    auto map = dyn_cast<MapAttr>(mapAttr);
    if (!map || failed(map.query(StringAttr::get(&getContext(), key))))
      return module.emitError("glu-shard: the module has a dlti.map without "
                              "\"")
             << key << "\": add \"" << key << "\" = \"" << mpi << "\" to it";
    return success();
  }

  /// The prologue at the top of `func`: the world size check, the rank.
  Prologue emitPrologue(func::FuncOp func) {
    Location loc = func.getLoc();
    OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
    Value world = mpi::CommWorldOp::create(b, loc, mpi::CommType::get(&getContext()));
    auto size = mpi::CommSizeOp::create(b, loc, Type(), b.getI32Type(), world);
    Value expected = arith::ConstantIntOp::create(b, loc, ranks, 32);
    Value ok = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                     size.getSize(), expected);
    cf::AssertOp::create(
        b, loc, ok,
        ("glu-shard: @" + func.getName() + " was compiled for " +
         Twine(ranks) + " MPI ranks (ranks=" + Twine(ranks) +
         "), but MPI_COMM_WORLD has another size: run it with mpirun -np " +
         Twine(ranks))
            .str());
    Value rank = shard::ProcessLinearIndexOp::create(
        b, loc, b.getIndexType(), FlatSymbolRefAttr::get(&getContext(), kGridName));
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value isRoot =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rank, zero);
    return {rank, isRoot};
  }

  /// `v` summed over the ranks.
  Value allReduce(OpBuilder &b, Location loc, Value v) {
    return shard::AllReduceOp::create(b, loc, v.getType(), kGridName,
                                      ArrayRef<int16_t>{0}, v,
                                      shard::ReductionKind::Sum);
  }

  LogicalResult shardFunction(func::FuncOp func,
                              llvm::DenseMap<Operation *, BlockPlan> &blocks) {
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (blocks.count(op))
        ops.push_back(op);
    });
    bool local = weights == "local";
    if (local && (!func.isPublic() || func.isDeclaration()))
      return func.emitError("glu-shard: weights=local needs a public "
                            "function with a body");
    Prologue pro = emitPrologue(func);
    // weights=local: the function arguments replaced by their shards, and
    // how @<f>_shard_weights makes them.
    struct LocalArg {
      unsigned arg;
      int64_t dim, dff;
      RankedTensorType full;
    };
    SmallVector<LocalArg> localArgs;
    for (Operation *op : ops) {
      BlockPlan &block = blocks[op];
      Location loc = op->getLoc();
      OpBuilder b(op);
      if (strategy == "tokens") {
        shardTokens(b, op, pro);
        continue;
      }
      Value dffValue = arith::ConstantIndexOp::create(b, loc, block.dff);
      Share share = shareOf(b, loc, pro.rank, dffValue, ranks);
      int64_t padded = (block.dff + ranks - 1) / ranks;
      bool even = block.dff % ranks == 0;
      for (Split &s : block.splits) {
        Value v = s.operand->get();
        auto arg = dyn_cast<BlockArgument>(v);
        bool matrix = cast<RankedTensorType>(v.getType()).getRank() == 2;
        if (local && matrix) {
          if (!arg || arg.getOwner() != &func.getBody().front() ||
              !arg.hasOneUse())
            return op->emitError("glu-shard: weights=local needs every "
                                 "weight matrix to be an argument of @")
                   << func.getName() << " used by this op alone";
          auto type = cast<RankedTensorType>(v.getType());
          localArgs.push_back({arg.getArgNumber(), s.dim, block.dff, type});
          SmallVector<int64_t> shape(type.getShape());
          shape[s.dim] = padded;
          arg.setType(RankedTensorType::get(shape, type.getElementType()));
          continue;
        }
        s.operand->set(sliceShard(b, loc, v, s.dim, share, padded, even));
      }
      if (block.downBias) {
        Value bias = block.downBias->get();
        Value zeros = arith::ConstantOp::create(
            b, loc, b.getZeroAttr(bias.getType()));
        block.downBias->set(
            arith::SelectOp::create(b, loc, pro.isRoot, bias, zeros));
      }
      b.setInsertionPointAfter(op);
      Value sum = allReduce(b, loc, op->getResult(0));
      op->getResult(0).replaceAllUsesExcept(sum, sum.getDefiningOp());
    }
    if (!local)
      return success();

    // The signature takes the shards; @<f>_shard_weights makes them.
    SmallVector<Type> argTypes(func.getBody().front().getArgumentTypes());
    func.setType(FunctionType::get(&getContext(), argTypes,
                                   func.getResultTypes()));
    OpBuilder mb(func);
    mb.setInsertionPointAfter(func);
    Location loc = func.getLoc();
    SmallVector<Type> fullTypes, shardTypes;
    for (LocalArg &a : localArgs) {
      fullTypes.push_back(a.full);
      shardTypes.push_back(argTypes[a.arg]);
      func.setArgAttr(a.arg, "glu.shard_of", mb.getI64IntegerAttr(a.arg));
    }
    auto shardFn = func::FuncOp::create(
        mb, loc, (func.getName() + "_shard_weights").str(),
        mb.getFunctionType(fullTypes, shardTypes));
    SymbolTable(func->getParentOfType<ModuleOp>()).insert(shardFn);
    shardFn->setAttr("glu.shard_function", mb.getUnitAttr());
    shardFn->setAttr("glu.shards",
                     mb.getDenseI64ArrayAttr(llvm::to_vector(llvm::map_range(
                         localArgs, [](const LocalArg &a) {
                           return static_cast<int64_t>(a.arg);
                         }))));
    if (Attribute c = func->getAttr("llvm.emit_c_interface"))
      shardFn->setAttr("llvm.emit_c_interface", c);
    mlir::Block *entry = shardFn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockEnd(entry);
    func::ReturnOp ret = func::ReturnOp::create(b, loc);
    Prologue spro = emitPrologue(shardFn);
    b.setInsertionPoint(ret);
    SmallVector<Value> shards;
    for (auto [i, a] : llvm::enumerate(localArgs)) {
      Value dffValue = arith::ConstantIndexOp::create(b, loc, a.dff);
      Share share = shareOf(b, loc, spro.rank, dffValue, ranks);
      shards.push_back(sliceShard(b, loc, entry->getArgument(i), a.dim, share,
                                  (a.dff + ranks - 1) / ranks,
                                  a.dff % ranks == 0));
    }
    ret->setOperands(shards);
    return success();
  }

  /// Token-parallel: this rank's share of the leading dim of x, placed in a
  /// zero output, summed over the ranks.
  void shardTokens(OpBuilder &b, Operation *op, const Prologue &pro) {
    Location loc = op->getLoc();
    Value x = op->getOperand(0);
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : op->getResult(0).getUses())
      uses.push_back(&use);
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value rows = tensor::DimOp::create(b, loc, x, 0);
    Share share = shareOf(b, loc, pro.rank, rows, ranks);
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t rank = xType.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        strides(rank, b.getIndexAttr(1)), sizes;
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(tensor::getMixedSize(b, loc, x, d));
    offsets[0] = share.offset;
    sizes[0] = share.size;
    Value part =
        tensor::ExtractSliceOp::create(b, loc, x, offsets, sizes, strides);
    op->setOperand(0, part);
    SmallVector<int64_t> shape(cast<RankedTensorType>(part.getType()).getShape());
    shape.back() = resultType.getShape().back();
    op->getResult(0).setType(
        RankedTensorType::get(shape, resultType.getElementType()));

    b.setInsertionPointAfter(op);
    SmallVector<OpFoldResult> outSizes;
    for (int64_t d = 0; d + 1 < rank; ++d)
      outSizes.push_back(tensor::getMixedSize(b, loc, x, d));
    outSizes.push_back(tensor::getMixedSize(b, loc, op->getResult(0), rank - 1));
    Value empty = tensor::EmptyOp::create(b, loc, outSizes,
                                          resultType.getElementType());
    Value zero = arith::ConstantOp::create(
        b, loc, b.getZeroAttr(resultType.getElementType()));
    Value zeros =
        linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    if (zeros.getType() != resultType)
      zeros = tensor::CastOp::create(b, loc, resultType, zeros);
    SmallVector<OpFoldResult> partSizes;
    for (int64_t d = 0; d < rank; ++d)
      partSizes.push_back(tensor::getMixedSize(b, loc, op->getResult(0), d));
    Value placed = tensor::InsertSliceOp::create(
        b, loc, op->getResult(0), zeros, offsets, partSizes, strides);
    Value sum = allReduce(b, loc, placed);
    for (OpOperand *use : uses)
      use->set(sum);
  }
};

} // namespace
