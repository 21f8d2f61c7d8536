//===- GLUToCPU.cpp - glu ops to register-tiled CPU kernels ---------------===//
//
// The pass --convert-glu-to-cpu-kernels: which ops are lowered, with which
// tile sizes (options, or the tuning cache), and where their weights are
// packed (at load time, on every call, or now for constants). The kernels
// themselves are built by cpu::KernelBuilder (Kernels.h).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "TuningCache.h"

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/TargetParser/Host.h"

#include <thread>

namespace mlir::glu {
#define GEN_PASS_DEF_CONVERTGLUTOCPUKERNELS
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::cpu;

namespace {

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertGLUToCPUKernels
    : glu::impl::ConvertGLUToCPUKernelsBase<ConvertGLUToCPUKernels> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Tiling t;
    t.vec = vectorBits / 32;
    t.nrv = microVectors;
    t.mr = microRows;
    t.kc = kChunk;
    t.mb = tileTokens == 0 ? kDefaultTokenBlock : tileTokens;
    t.bf16Dot = bf16Dot;
    t.widenOnce = widenOnce;
    t.workers = threads > 0 ? threads
                            : std::max<int64_t>(
                                  1, std::thread::hardware_concurrency());
    if (!valid(t)) {
      module.emitError("convert-glu-to-cpu-kernels: invalid options: "
                       "vector-bits must be 128, 256 or 512, micro-rows "
                       "1..8, micro-vectors 2, 4, 6 or 8, k-chunk >= 1 and "
                       "tile-tokens >= micro-rows (or 0: automatic)");
      return signalPassFailure();
    }
    TuningCache cache;
    if (!tuningCache.empty()) {
      std::string error;
      FailureOr<TuningCache> loaded = TuningCache::load(tuningCache, error);
      if (failed(loaded)) {
        emitError(module.getLoc(), "convert-glu-to-cpu-kernels: ") << error;
        return signalPassFailure();
      }
      cache = std::move(*loaded);
    }
    std::string cpu =
        cpuKey.empty() ? llvm::sys::getHostCPUName().str() : cpuKey.getValue();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<FFNOp, MLPOp, GateUpOp>(op))
        ops.push_back(op);
    });
    unsigned counter = 0;
    llvm::StringMap<func::FuncOp> panels;
    std::vector<Prepared> prepared;
    prepared.reserve(ops.size()); // stable addresses for the groups below
    for (Operation *op : ops) {
      Tiling ti = t;
      bool tuned = false;
      if (std::optional<std::string> key = tuningKey(op, cpu)) {
        if (std::optional<KernelConfig> c = cache.lookup(*key)) {
          tuned = true;
          ti.mr = c->microRows;
          ti.nrv = c->microVectors;
          ti.kc = c->kChunk;
          ti.mb = c->tileTokens;
          if (!valid(ti)) {
            op->emitError("convert-glu-to-cpu-kernels: the tuning cache's "
                          "entry '")
                << *key << "' is not a valid configuration";
            return signalPassFailure();
          }
          if (remarks)
            op->emitRemark("convert-glu-to-cpu-kernels: tuned configuration ")
                << *key << ": micro-rows=" << ti.mr
                << " micro-vectors=" << ti.nrv << " k-chunk=" << ti.kc
                << " tile-tokens=" << ti.mb;
        }
      }
      if (std::optional<Prepared> pr = prepare(op, ti)) {
        // 16-bit weights widened to f32 (no bf16 dot products): each K chunk
        // of a panel is widened once per token block and then serves its
        // rows, so the default block is three times as tall, which makes
        // the widening a third of the traffic. Measured on Zen 4 without
        // bf16 dot products (1024x2816, 128-2048 tokens, 1 and 2 threads):
        // f32's speed times 0.94-0.96 with 96 rows, 0.98-1.07 with 288 (384
        // is no better). tile-tokens > 0 or a tuning entry decides alone.
        if (!tuned && tileTokens == 0 && widenOnce && widensFirst(pr->s))
          pr->t.mb = kWidenedBlockFactor * pr->t.mb;
        // The prefetch of the next K chunk hides the memory's latency from
        // the row blocks of a small batch when the weights stream from
        // memory (measured at 4096x11008: 12-18 tokens 7-13 % faster).
        // Weights of a few MB stay in the caches of a server core, and
        // the prefetching panel functions double the kernels' code (and
        // compile time), so small ops do without them.
        std::optional<int64_t> bytes = weightBytes(pr->mats);
        pr->t.chunkPrefetch =
            prefetchMinBytes <= 0 || !bytes || *bytes >= prefetchMinBytes;
        prepared.push_back(std::move(*pr));
      }
    }
    // Ops packed at load time are lowered together, per function (one
    // packing function each); the others one by one.
    llvm::MapVector<Operation *, SmallVector<Prepared *>> atLoad;
    for (Prepared &pr : prepared) {
      if (pr.atLoad)
        atLoad[pr.op->getParentOfType<func::FuncOp>()].push_back(&pr);
      else
        lowerAlone(pr, counter, panels);
    }
    for (auto &[func, group] : atLoad)
      if (failed(lowerAtLoad(cast<func::FuncOp>(func), group, panels)))
        return signalPassFailure();
    // The grouped decode branches whose panels no at-load packing provides.
    SmallVector<MoEOp> leftover;
    module.walk([&](MoEOp moe) {
      if (isGroupedMoE(moe))
        leftover.push_back(moe);
    });
    for (MoEOp moe : leftover)
      abandonGrouped(moe);
    if (gradKernels && failed(lowerGradients(module, t)))
      return signalPassFailure();
  }

  /// glu.ffn_grad and glu.mlp_grad accumulating in f32: the reference
  /// lowering's patterns with their GEMMs on the micro-kernels
  /// (GradKernels.cpp); the others stay for convert-glu-to-linalg.
  LogicalResult lowerGradients(ModuleOp module, const Tiling &t) {
    SmallVector<Operation *> grads;
    module.walk([&](Operation *op) {
      FloatType acc;
      if (auto g = dyn_cast<FFNGradOp>(op))
        acc = g.getAccumulatorType();
      else if (auto g = dyn_cast<MLPGradOp>(op))
        acc = g.getAccumulatorType();
      if (acc && acc.isF32())
        grads.push_back(op);
      else if (acc && remarks)
        op->emitRemark("convert-glu-to-cpu-kernels: left to the reference "
                       "lowering: acc_type ")
            << acc << " (the kernels accumulate in f32)";
    });
    if (grads.empty())
      return success();
    llvm::StringMap<func::FuncOp> gemmPanels;
    llvm::DenseMap<Operation *, GradWorkspace> workspaces;
    // The patterns build before the op they replace: its GEMMs share one
    // workspace, made at the first.
    auto workspaceAt = [t, &workspaces](OpBuilder &b, Location loc) {
      Block::iterator at = b.getInsertionPoint();
      if (at == b.getInsertionBlock()->end() ||
          !isa<FFNGradOp, MLPGradOp>(*at))
        return GradWorkspace();
      auto [it, inserted] = workspaces.try_emplace(&*at);
      if (inserted)
        it->second = emitGradWorkspace(b, loc, t, &*at);
      return it->second;
    };
    RewritePatternSet patterns(module.getContext());
    populateGradToLinalgPatterns(
        patterns,
        [t, &gemmPanels, workspaceAt](OpBuilder &b, Location loc, Value a,
                                      bool aT, Value bMat, bool bT, FloatType,
                                      Value init, Type store) -> Value {
          return emitGradGemm(b, loc, t, a, aT, bMat, bT, init, store,
                              workspaceAt(b, loc), gemmPanels);
        },
        [t, &gemmPanels, workspaceAt](
            OpBuilder &b, Location loc, const ActivationSpec &spec, Value g,
            Value u, Value gateBias, Value upBias, Value dy, Value down,
            Layout layout, Type rounded) -> GradElementwise {
          return emitFusedGradDown(b, loc, t, spec, g, u, gateBias, upBias, dy,
                                   down, layout, rounded, workspaceAt(b, loc),
                                   gemmPanels);
        },
        roundHidden);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    bool allErased = false;
    (void)applyOpPatternsGreedily(grads, std::move(patterns), config,
                                  /*changed=*/nullptr, &allErased);
    if (!allErased)
      return module.emitError("convert-glu-to-cpu-kernels: a training op "
                              "could not be lowered");
    return success();
  }

  /// The token block of tile-tokens=0 (automatic): 96 rows, 16 row blocks
  /// of 6, whose f32 hidden (96 x d_ff) stays in a worker's L2 for d_ff up
  /// to about 2800; three times that for 16-bit weights widened to f32 (see
  /// runOnOperation).
  static constexpr int64_t kDefaultTokenBlock = 96;
  static constexpr int64_t kWidenedBlockFactor = 3;

  /// Whether the first projection's weights are 16-bit and widened to f32
  /// by the kernels (not packed as pairs for dot products).
  static bool widensFirst(const OpShape &s) {
    Value first = s.gated ? (s.gu.merged ? s.gu.merged : s.gu.gate) : s.up;
    return !s.pairs1 &&
           !cast<ShapedType>(first.getType()).getElementType().isF32();
  }

  bool valid(const Tiling &t) const {
    return t.vec >= 1 && t.mr >= 1 && t.mr <= 8 && t.kc >= 1 &&
           t.mb >= t.mr && t.nrv >= 2 && t.nrv <= 8 && t.nrv % 2 == 0 &&
           (vectorBits == 128 || vectorBits == 256 || vectorBits == 512);
  }

  /// The tuning cache's key of `op` (TuningCache.h), if its d_model and d_ff
  /// are static.
  std::optional<std::string> tuningKey(Operation *op, StringRef cpu) const {
    auto x = cast<RankedTensorType>(op->getOperand(0).getType());
    int64_t d = x.getDimSize(x.getRank() - 1);
    int64_t f = ShapedType::kDynamic;
    Value weight;
    StringRef kind;
    auto hiddenOf = [](Value down, Layout layout) {
      auto type = cast<RankedTensorType>(down.getType());
      return type.getDimSize(layout == Layout::out_in ? 1 : 0);
    };
    if (auto ffn = dyn_cast<FFNOp>(op)) {
      kind = "ffn";
      f = hiddenOf(ffn.getDownWeight(), ffn.getLayout());
      weight = ffn.getDownWeight();
    } else if (auto mlp = dyn_cast<MLPOp>(op)) {
      kind = "mlp";
      f = hiddenOf(mlp.getDownWeight(), mlp.getLayout());
      weight = mlp.getDownWeight();
    } else {
      kind = "gate_up";
      auto result = cast<RankedTensorType>(op->getResult(0).getType());
      f = result.getDimSize(result.getRank() - 1);
      weight = op->getOperand(1);
    }
    if (ShapedType::isDynamic(d) || ShapedType::isDynamic(f))
      return std::nullopt;
    return TuningCache::key(cpu, vectorBits, kind, x.getElementType(),
                            cast<ShapedType>(weight.getType()).getElementType(),
                            d, f);
  }

  /// The bytes of the weight matrices `mats`, if their shapes are static.
  static std::optional<int64_t> weightBytes(ArrayRef<Value> mats) {
    int64_t bytes = 0;
    for (Value m : mats) {
      auto type = cast<ShapedType>(m.getType());
      if (!type.hasStaticShape())
        return std::nullopt;
      bytes += type.getNumElements() *
               llvm::divideCeil(type.getElementTypeBitWidth(), 8);
    }
    return bytes;
  }

  /// An op to lower, with what its lowering needs.
  struct Prepared {
    Operation *op;
    Tiling t;
    OpShape s;
    SmallVector<Value> mats;        // weight matrices, in packing order
    SmallVector<Type> packedTypes;  // their panels
    Value nOut;                     // output columns (before the op)
    bool atLoad;                    // packed by @<func>_pack_weights
    // With atLoad: the function arguments the matrices come from, and, for
    // stacked experts (glu-moe-to-experts), the expert index every matrix
    // is sliced at (null for plain arguments).
    SmallVector<BlockArgument> sources;
    OpFoldResult expert;
  };

  /// `m` as `tensor.extract_slice %arg[%e, 0, 0] [1, N, K] [1, 1, 1]` of a
  /// 3-D function argument of static trailing dims (one expert of stacked
  /// weights): returns %arg and sets `index` to %e.
  static BlockArgument stackedSource(Value m, OpFoldResult &index) {
    auto slice = m.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || slice.getSourceType().getRank() != 3 ||
        slice.getType().getRank() != 2)
      return {};
    auto arg = dyn_cast<BlockArgument>(slice.getSource());
    ArrayRef<int64_t> shape = slice.getSourceType().getShape();
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets(),
                              sizes = slice.getMixedSizes(),
                              strides = slice.getMixedStrides();
    if (!arg || ShapedType::isDynamic(shape[1]) ||
        ShapedType::isDynamic(shape[2]) || !isConstantIntValue(sizes[0], 1) ||
        !isConstantIntValue(sizes[1], shape[1]) ||
        !isConstantIntValue(sizes[2], shape[2]) ||
        !isConstantIntValue(offsets[1], 0) ||
        !isConstantIntValue(offsets[2], 0) ||
        !llvm::all_of(strides,
                      [](OpFoldResult s) { return isConstantIntValue(s, 1); }))
      return {};
    index = offsets[0];
    return arg;
  }

  /// What `op`'s lowering needs; nullopt when the op stays for the
  /// reference lowering.
  std::optional<Prepared> prepare(Operation *op, const Tiling &t) {
    Prepared pr{op, t, OpShape(), {}, {}, Value(), false, {}, {}};
    OpShape &s = pr.s;
    FloatType accType;
    if (auto ffn = dyn_cast<FFNOp>(op)) {
      s.gated = true;
      s.hasDown = true;
      s.spec = ActivationSpec::of(ffn);
      s.layout = ffn.getLayout();
      s.gu = GateUpWeights::of(ffn);
      s.down = ffn.getDownWeight();
      s.downBias = ffn.getDownBias();
      accType = ffn.getAccumulatorType();
    } else if (auto mlp = dyn_cast<MLPOp>(op)) {
      s.gated = false;
      s.hasDown = true;
      s.spec = ActivationSpec::of(mlp);
      s.layout = mlp.getLayout();
      s.up = mlp.getUpWeight();
      s.upBias = mlp.getUpBias();
      s.down = mlp.getDownWeight();
      s.downBias = mlp.getDownBias();
      accType = mlp.getAccumulatorType();
    } else {
      auto gu = cast<GateUpOp>(op);
      s.gated = true;
      s.hasDown = false;
      s.spec = ActivationSpec::of(gu);
      s.layout = gu.getLayout();
      s.gu = GateUpWeights::of(gu);
      accType = gu.getAccumulatorType();
    }
    if (!accType.isF32()) {
      if (remarks)
        op->emitRemark("convert-glu-to-cpu-kernels: left to the reference "
                       "lowering: acc_type ")
            << accType << " (the kernels accumulate in f32)";
      return std::nullopt;
    }

    // AVX512-BF16 dot products for the first projection: bf16 x and
    // weights, a static even d_model, 512-bit vectors.
    {
      auto xType = cast<RankedTensorType>(op->getOperand(0).getType());
      int64_t k = xType.getDimSize(xType.getRank() - 1);
      auto isBF16 = [](Value v) {
        return !v || cast<ShapedType>(v.getType()).getElementType().isBF16();
      };
      Value first = s.gated ? (s.gu.merged ? s.gu.merged : s.gu.gate) : s.up;
      s.pairs1 = t.bf16Dot && t.vec == 16 && xType.getElementType().isBF16() &&
                 isBF16(first) && (!s.gated || isBF16(s.gu.up)) &&
                 !ShapedType::isDynamic(k) && k % 2 == 0 && t.kc % 2 == 0;
      s.pairs2 = roundHidden && s.hasDown && t.bf16Dot && t.vec == 16 &&
                 xType.getElementType().isBF16() && isBF16(s.down) &&
                 t.kc % 2 == 0;
    }

    Location loc = op->getLoc();
    OpBuilder b(op);
    KernelBuilder kb(b, loc, pr.t, s);
    pr.mats = kb.matrixOperands();
    pr.packedTypes = kb.packedTypes(pr.mats);
    auto func = op->getParentOfType<func::FuncOp>();
    auto module = op->getParentOfType<ModuleOp>();
    // Packed once at load time: weights that are arguments of a public
    // function that nothing calls, each used by this op alone.
    // Or one expert's slices of stacked weights that are such arguments
    // (the glu.ffn of glu-moe-to-experts): all experts are packed at load
    // time, and the op takes its expert's panels.
    pr.atLoad = packAtLoad && func && func.isPublic() &&
                SymbolTable::symbolKnownUseEmpty(func, module);
    for (Value m : pr.mats) {
      if (!pr.atLoad)
        break;
      OpFoldResult index;
      BlockArgument arg = dyn_cast<BlockArgument>(m);
      if (!arg) {
        arg = stackedSource(m, index);
        if (!arg || !m.hasOneUse() || (pr.expert && pr.expert != index) ||
            (!pr.expert && !pr.sources.empty()))
          arg = {};
        pr.expert = index;
      } else if (pr.expert) {
        arg = {}; // stacked and plain matrices in one op
      }
      // (Stacked weights may also feed the glu.moe of the grouped decode
      // branch, which takes the same panels.)
      pr.atLoad = arg && arg.getOwner() == &func.getBody().front() &&
                  (arg.hasOneUse() ||
                   (pr.expert && llvm::all_of(arg.getUsers(), [&](Operation *u) {
                      return u == m.getDefiningOp() || isGroupedMoE(u);
                    })));
      pr.sources.push_back(arg);
    }
    // The output columns: static, or read from a weight (which must then
    // stay an argument of the function).
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    int64_t last = resultType.getRank() - 1;
    if (!resultType.isDynamicDim(last)) {
      pr.nOut =
          arith::ConstantIndexOp::create(b, loc, resultType.getDimSize(last));
    } else {
      pr.atLoad = false;
      int64_t outD = s.layout == Layout::out_in ? 0 : 1;
      if (s.hasDown) {
        pr.nOut = tensor::DimOp::create(b, loc, s.down, outD);
      } else {
        pr.nOut = tensor::DimOp::create(b, loc, s.gu.merged, outD);
        pr.nOut = arith::DivUIOp::create(
            b, loc, pr.nOut, arith::ConstantIndexOp::create(b, loc, 2));
      }
    }
    // Two matrices that are one argument (gate == up) cannot be replaced.
    if (pr.atLoad) {
      llvm::SmallDenseSet<Value> unique(pr.sources.begin(), pr.sources.end());
      pr.atLoad = unique.size() == pr.sources.size();
    }
    return pr;
  }

  /// A function `name(weights) -> panels` (private, in `module` after
  /// `after` or at its end) packing the weights of `group`'s ops, each op's
  /// matrices then panels in turn.
  static func::FuncOp createPackingFunction(ModuleOp module, Operation *after,
                                            StringRef name,
                                            ArrayRef<Prepared *> group) {
    SmallVector<Type> matTypes, packedTypes;
    for (Prepared *pr : group) {
      for (Value m : pr->mats)
        matTypes.push_back(m.getType());
      packedTypes.append(pr->packedTypes);
    }
    // Stacked experts: the stacked weights in, every expert's panels out.
    for (Prepared *pr : group)
      if (pr->expert) {
        matTypes.clear();
        packedTypes.clear();
        for (Prepared *q : group) {
          for (BlockArgument a : q->sources)
            matTypes.push_back(a.getType());
          packedTypes.append(stackedPackedTypes(*q));
        }
        break;
      }
    Location loc = group.front()->op->getLoc();
    OpBuilder mb(module.getContext());
    auto pack = func::FuncOp::create(
        mb, loc, name, mb.getFunctionType(matTypes, packedTypes));
    pack.setPrivate();
    // Inserted through the symbol table, which renames it on a clash.
    SymbolTable(module).insert(pack, after ? std::next(Block::iterator(after))
                                           : module.getBody()->end());
    Block *entry = pack.addEntryBlock();
    OpBuilder pb = OpBuilder::atBlockEnd(entry);
    SmallVector<Value> results;
    unsigned next = 0;
    for (Prepared *pr : group) {
      // Inside the packing function the op's weights are its arguments.
      auto args = entry->getArguments().slice(next, pr->mats.size());
      next += pr->mats.size();
      if (!pr->expert) {
        results.append(KernelBuilder(pb, loc, pr->t, pr->s)
                           .emitPacking(SmallVector<Value>(args.begin(),
                                                           args.end())));
        continue;
      }
      // Stacked: a loop over experts packs each one's slices into its slot.
      Value zero = arith::ConstantIndexOp::create(pb, loc, 0);
      Value one = arith::ConstantIndexOp::create(pb, loc, 1);
      OpFoldResult e = tensor::getMixedSize(pb, loc, args[0], 0);
      Value experts = getValueOrCreateConstantIndexOp(pb, loc, e);
      SmallVector<Value> inits;
      for (Type type : stackedPackedTypes(*pr)) {
        auto t = cast<RankedTensorType>(type);
        SmallVector<OpFoldResult> sizes{e};
        for (int64_t d : t.getShape().drop_front())
          sizes.push_back(pb.getIndexAttr(d));
        inits.push_back(
            tensor::EmptyOp::create(pb, loc, sizes, t.getElementType()));
      }
      auto loop = scf::ForOp::create(
          pb, loc, zero, experts, one, inits,
          [&](OpBuilder &lb, Location, Value e, ValueRange acc) {
            SmallVector<Value> slices;
            for (Value a : args)
              slices.push_back(sliceStacked(lb, loc, a, e));
            SmallVector<Value> packed =
                KernelBuilder(lb, loc, pr->t, pr->s).emitPacking(slices);
            SmallVector<Value> next;
            for (auto [p, into] : llvm::zip(packed, acc))
              next.push_back(insertSlice(lb, loc, p, into, e));
            scf::YieldOp::create(lb, loc, next);
          });
      results.append(loop.getResults().begin(), loop.getResults().end());
    }
    func::ReturnOp::create(pb, loc, results);
    return pack;
  }

  /// The packed types of a stacked op: its panels with the experts first.
  static SmallVector<Type> stackedPackedTypes(const Prepared &pr) {
    SmallVector<Type> types;
    int64_t experts = cast<RankedTensorType>(pr.sources[0].getType())
                          .getDimSize(0);
    for (Type type : pr.packedTypes) {
      auto t = cast<RankedTensorType>(type);
      SmallVector<int64_t> shape{experts};
      shape.append(t.getShape().begin(), t.getShape().end());
      types.push_back(RankedTensorType::get(shape, t.getElementType()));
    }
    return types;
  }

  /// `t` with `part` (one slot, the leading dim dropped) at slot `e`.
  static Value insertSlice(OpBuilder &b, Location loc, Value part, Value t,
                           Value e) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        strides(rank, b.getIndexAttr(1)), sizes{b.getIndexAttr(1)};
    offsets[0] = e;
    for (int64_t d = 1; d < rank; ++d)
      sizes.push_back(tensor::getMixedSize(b, loc, t, d));
    return tensor::InsertSliceOp::create(b, loc, part, t, offsets, sizes,
                                         strides);
  }

  /// Replaces `pr.op` with its kernels on the panels `packed`.
  void emitKernels(Prepared &pr, ArrayRef<Value> packed,
                   llvm::StringMap<func::FuncOp> &panels) {
    OpBuilder b(pr.op);
    KernelBuilder kb(b, pr.op->getLoc(), pr.t, pr.s);
    kb.sharePanels(&panels);
    Value result = kb.emitCompute(pr.op->getOperand(0), packed,
                                  pr.op->getResult(0), pr.nOut);
    pr.op->getResult(0).replaceAllUsesWith(result);
    pr.op->erase();
  }

  /// An op whose weights are packed on every call, or now if constant.
  void lowerAlone(Prepared &pr, unsigned &counter,
                  llvm::StringMap<func::FuncOp> &panels) {
    pr.expert = OpFoldResult(); // the slices are packed as they are
    Operation *op = pr.op;
    Location loc = op->getLoc();
    OpBuilder b(op);
    // Constant weights are packed now, into constants.
    SmallVector<Value> folded =
        packConstants(b, loc, pr.t, pr.s, pr.mats, pr.packedTypes);
    if (!folded.empty())
      return emitKernels(pr, folded, panels);
    auto func = op->getParentOfType<func::FuncOp>();
    std::string base = func ? func.getName().str() : std::string("glu");
    Prepared *group[] = {&pr};
    func::FuncOp pack = createPackingFunction(
        op->getParentOfType<ModuleOp>(), func,
        "__glu_cpu_pack_" + base + "_" + std::to_string(counter++), group);
    auto call = func::CallOp::create(b, loc, pack, pr.mats);
    emitKernels(pr, SmallVector<Value>(call.getResults()), panels);
  }

  static bool isGroupedMoE(Operation *op) {
    return isa<MoEOp>(op) && op->hasAttr(kGroupedDecodeAttr);
  }

  /// A glu.moe of glu-moe-to-experts' decode branch that the grouped kernel
  /// does not take: that branch is never taken (its condition becomes
  /// false) and the op is dropped; the per-expert branch computes it. An
  /// op found elsewhere goes to the reference lowering.
  void abandonGrouped(MoEOp moe) {
    if (remarks)
      moe->emitRemark("convert-glu-to-cpu-kernels: glu.moe decode left to "
                      "the per-expert branch (its weights are not packed at "
                      "load time)");
    auto ifOp = dyn_cast<scf::IfOp>(moe->getParentOp());
    if (!ifOp || moe->getParentRegion() != &ifOp.getThenRegion() ||
        ifOp.getElseRegion().empty()) {
      moe->removeAttr(kGroupedDecodeAttr);
      return;
    }
    OpBuilder b(ifOp);
    Location loc = moe.getLoc();
    ifOp.getConditionMutable().assign(
        arith::ConstantOp::create(b, loc, b.getBoolAttr(false)));
    OpBuilder mb(moe);
    auto type = cast<RankedTensorType>(moe.getResult().getType());
    SmallVector<OpFoldResult> sizes{
        tensor::getMixedSize(mb, loc, moe.getInput(), 0),
        mb.getIndexAttr(type.getDimSize(1))};
    Value empty =
        tensor::EmptyOp::create(mb, loc, sizes, type.getElementType());
    if (empty.getType() != type)
      empty = tensor::CastOp::create(mb, loc, type, empty);
    moe.getResult().replaceAllUsesWith(empty);
    moe.erase();
  }

  /// The grouped decode glu.moe ops of `func` whose stacked weights are
  /// those of an op of `stacked` (the per-expert glu.ffn ops of the other
  /// branch, whose panels `packed` are now arguments): one grouped kernel
  /// on those panels; the others are abandoned.
  void lowerGroupedMoEs(func::FuncOp func, ArrayRef<Prepared *> stacked,
                        ArrayRef<SmallVector<Value>> packed,
                        llvm::StringMap<func::FuncOp> &panels) {
    SmallVector<MoEOp> moes;
    func.walk([&](MoEOp moe) {
      if (isGroupedMoE(moe))
        moes.push_back(moe);
    });
    for (MoEOp moe : moes) {
      SmallVector<Value> mats;
      if (moe.getGateUpWeight())
        mats = {moe.getGateUpWeight(), moe.getDownWeight()};
      else
        mats = {moe.getGateWeight(), moe.getUpWeight(), moe.getDownWeight()};
      auto type = cast<RankedTensorType>(moe.getResult().getType());
      std::optional<size_t> found;
      for (auto [i, pr] : llvm::enumerate(stacked))
        if (llvm::equal(pr->sources, mats) && packed[i].size() == 2 &&
            !pr->s.pairs1 && !pr->s.pairs2 && pr->s.hasDown)
          found = i;
      if (!found || type.isDynamicDim(1)) {
        abandonGrouped(moe);
        continue;
      }
      // The kernels read the shape's flags only (the glu.ffn is gone).
      OpShape s = stacked[*found]->s;
      s.gu = GateUpWeights();
      s.up = s.upBias = s.down = s.downBias = Value();
      OpBuilder b(moe);
      KernelBuilder kb(b, moe.getLoc(), stacked[*found]->t, s);
      kb.sharePanels(&panels);
      Value y = kb.emitGroupedMoE(moe, packed[*found][0], packed[*found][1]);
      if (remarks)
        moe->emitRemark("convert-glu-to-cpu-kernels: glu.moe decode: one "
                        "grouped kernel for the chosen experts");
      moe.getResult().replaceAllUsesWith(y);
      moe.erase();
    }
  }

  /// The ops of `func` whose weights are packed at load time: one public
  /// `@<func>_pack_weights` packs all of them (`glu.packs`: the argument
  /// positions it takes, in its order); `func` then takes their panels, in
  /// the same order, where its first replaced argument was.
  LogicalResult lowerAtLoad(func::FuncOp func, ArrayRef<Prepared *> group,
                            llvm::StringMap<func::FuncOp> &panels) {
    auto module = func->getParentOfType<ModuleOp>();
    func::FuncOp pack = createPackingFunction(
        module, func, func.getName().str() + "_pack_weights", group);
    OpBuilder b(func);
    pack.setPublic();
    pack->setAttr("glu.packing_function", b.getUnitAttr());
    SmallVector<int64_t> positions;
    SmallVector<Type> packedTypes;
    for (Prepared *pr : group) {
      for (BlockArgument a : pr->sources)
        positions.push_back(a.getArgNumber());
      packedTypes.append(pr->expert ? stackedPackedTypes(*pr)
                                    : pr->packedTypes);
    }
    pack->setAttr("glu.packs", b.getDenseI64ArrayAttr(positions));
    // Callable from C like the function itself.
    if (Attribute cInterface = func->getAttr("llvm.emit_c_interface"))
      pack->setAttr("llvm.emit_c_interface", cInterface);
    Block &body = func.getBody().front();
    unsigned at = *llvm::min_element(positions);
    DictionaryAttr packedBy = b.getDictionaryAttr(
        b.getNamedAttr("glu.packed_by", FlatSymbolRefAttr::get(pack)));
    for (auto [i, type] : llvm::enumerate(packedTypes))
      if (failed(func.insertArgument(at + i, type, packedBy, func.getLoc())))
        return failure();
    // The ops still use the original arguments until they are replaced.
    SmallVector<BlockArgument> sources;
    SmallVector<Prepared *> stacked;
    SmallVector<SmallVector<Value>> stackedPanels;
    unsigned next = at;
    for (Prepared *pr : group) {
      sources.append(pr->sources);
      SmallVector<Value> packed;
      OpBuilder ob(pr->op);
      if (pr->expert) {
        stacked.push_back(pr);
        stackedPanels.emplace_back();
      }
      for (unsigned i = 0; i < pr->packedTypes.size(); ++i) {
        Value arg = body.getArgument(next++);
        if (pr->expert)
          stackedPanels.back().push_back(arg);
        // A stacked op takes its expert's slot of the panels.
        packed.push_back(
            pr->expert ? sliceStacked(ob, pr->op->getLoc(), arg, pr->expert)
                       : arg);
      }
      SmallVector<Value> mats = pr->mats;
      emitKernels(*pr, packed, panels);
      for (Value m : mats) // the stacked weights' slices, now unused
        if (Operation *def = m.getDefiningOp(); def && def->use_empty())
          def->erase();
    }
    // The grouped decode kernels take the stacked panels too.
    lowerGroupedMoEs(func, stacked, stackedPanels, panels);
    llvm::BitVector erase(body.getNumArguments());
    for (BlockArgument a : sources)
      erase.set(a.getArgNumber());
    return func.eraseArguments(erase);
  }
};


} // namespace
