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

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

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
    t.mb = tileTokens;
    t.bf16Dot = bf16Dot;
    t.workers = threads > 0 ? threads
                            : std::max<int64_t>(
                                  1, std::thread::hardware_concurrency());
    if (!valid(t)) {
      module.emitError("convert-glu-to-cpu-kernels: invalid options: "
                       "vector-bits must be 128, 256 or 512, micro-rows "
                       "1..8, micro-vectors 2, 4, 6 or 8, k-chunk >= 1 and "
                       "tile-tokens >= micro-rows");
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
    for (Operation *op : ops) {
      Tiling ti = t;
      if (std::optional<std::string> key = tuningKey(op, cpu)) {
        if (std::optional<KernelConfig> c = cache.lookup(*key)) {
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
      if (failed(lower(op, ti, counter)))
        return signalPassFailure();
    }
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

  LogicalResult lower(Operation *op, const Tiling &t, unsigned &counter) {
    OpShape s;
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
      return success();
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
    KernelBuilder kb(b, loc, t, s);
    SmallVector<Value> mats = kb.matrixOperands();
    SmallVector<Type> packedTypes = kb.packedTypes(mats);
    auto func = op->getParentOfType<func::FuncOp>();
    auto module = op->getParentOfType<ModuleOp>();

    // The packing function: weights in, panels out.
    std::string base = func ? func.getName().str() : std::string("glu");
    bool atLoad = packAtLoad && func && func.isPublic() &&
                  SymbolTable::symbolKnownUseEmpty(func, module) &&
                  llvm::all_of(mats, [&](Value m) {
                    auto arg = dyn_cast<BlockArgument>(m);
                    return arg && arg.getOwner() == &func.getBody().front() &&
                           m.hasOneUse();
                  });
    // The output columns: static, or read from a weight (which must then
    // stay an argument of the function).
    Value nOut;
    {
      auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
      int64_t last = resultType.getRank() - 1;
      if (!resultType.isDynamicDim(last)) {
        nOut = arith::ConstantIndexOp::create(b, loc,
                                              resultType.getDimSize(last));
      } else {
        atLoad = false;
        int64_t outD = s.layout == Layout::out_in ? 0 : 1;
        if (s.hasDown) {
          nOut = tensor::DimOp::create(b, loc, s.down, outD);
        } else {
          nOut = tensor::DimOp::create(b, loc, s.gu.merged, outD);
          nOut = arith::DivUIOp::create(
              b, loc, nOut, arith::ConstantIndexOp::create(b, loc, 2));
        }
      }
    }
    // Two matrices that are one argument (gate == up) cannot be replaced.
    if (atLoad) {
      llvm::SmallDenseSet<Value> unique(mats.begin(), mats.end());
      atLoad = unique.size() == mats.size();
    }
    // Constant weights are packed now, into constants.
    if (!atLoad) {
      SmallVector<Value> folded = packConstants(b, loc, t, s, mats,
                                                packedTypes);
      if (!folded.empty()) {
        Value result =
            kb.emitCompute(op->getOperand(0), folded, op->getResult(0), nOut);
        op->getResult(0).replaceAllUsesWith(result);
        op->erase();
        return success();
      }
    }
    OpBuilder mb(module.getBodyRegion());
    if (func)
      mb.setInsertionPointAfter(func);
    else
      mb.setInsertionPointToEnd(module.getBody());
    SmallVector<Type> matTypes;
    for (Value m : mats)
      matTypes.push_back(m.getType());
    std::string name = atLoad ? base + "_pack_weights"
                              : "__glu_cpu_pack_" + base + "_" +
                                    std::to_string(counter++);
    auto pack = func::FuncOp::create(
        mb, loc, name, mb.getFunctionType(matTypes, packedTypes));
    SymbolTable(module).insert(pack);
    {
      Block *entry = pack.addEntryBlock();
      OpBuilder pb = OpBuilder::atBlockEnd(entry);
      KernelBuilder pk(pb, loc, t, s);
      SmallVector<Value> args(entry->getArguments());
      // Inside the packing function the op's weights are its arguments.
      OpShape local = s;
      SmallVector<Value> results = KernelBuilder(pb, loc, t, local)
                                       .emitPacking(args);
      func::ReturnOp::create(pb, loc, results);
    }

    SmallVector<Value> packed;
    if (atLoad) {
      pack.setPublic();
      pack->setAttr("glu.packing_function", b.getUnitAttr());
      SmallVector<int64_t> positions;
      for (Value m : mats)
        positions.push_back(cast<BlockArgument>(m).getArgNumber());
      pack->setAttr("glu.packs", b.getDenseI64ArrayAttr(positions));
      // Callable from C like the function itself.
      if (Attribute cInterface = func->getAttr("llvm.emit_c_interface"))
        pack->setAttr("llvm.emit_c_interface", cInterface);
      Block &body = func.getBody().front();
      unsigned at = *llvm::min_element(positions);
      DictionaryAttr packedBy = b.getDictionaryAttr(
          b.getNamedAttr("glu.packed_by", FlatSymbolRefAttr::get(pack)));
      for (auto [i, type] : llvm::enumerate(packedTypes))
        if (failed(func.insertArgument(at + i, type, packedBy, loc)))
          return failure();
      for (unsigned i = 0; i < packedTypes.size(); ++i)
        packed.push_back(body.getArgument(at + i));
      // The op still uses the original arguments until it is replaced.
      Value result =
          kb.emitCompute(op->getOperand(0), packed, op->getResult(0), nOut);
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
      llvm::BitVector erase(body.getNumArguments());
      for (Value m : mats)
        erase.set(cast<BlockArgument>(m).getArgNumber());
      return func.eraseArguments(erase);
    }
    pack.setPrivate();
    auto call = func::CallOp::create(b, loc, pack, mats);
    packed.append(call.getResults().begin(), call.getResults().end());
    Value result =
        kb.emitCompute(op->getOperand(0), packed, op->getResult(0), nOut);
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
    return success();
  }
};


} // namespace
