//===- GLUToGPU.cpp - glu ops to GPU kernels and their launches -----------===//
//
// Every glu op becomes kernels in one `gpu.module @glu_kernels` and host
// code that launches them:
//
//   glu.ffn / glu.mlp   gate+up (or up) projection kernel: gate and up are
//                       accumulated together and bias, activation and gating
//                       are applied in registers before the one store of the
//                       hidden ([M, F] in acc_type); then the down projection
//                       (bias, one rounding to the result type).
//   glu.gate_up         the gate+up kernel alone, storing the rounded hidden.
//   glu.gate            one elementwise kernel.
//
// Projection kernels (out[M, N] = epilogue(x[M, K] · W^T), W one or two
// logical [N, K] matrices read through the op's layout and packing):
//
//   decode  M <= decode-tokens: the weight is streamed once for all tokens.
//           out_in: a warp per output feature, lanes along K (16-byte vector
//           loads when K allows), shuffle reduction; in_out: a thread per
//           feature, coalesced along N.
//   mma     f16/bf16 x and W, f32 accumulation: nvgpu.mma.sync m16n8k16 on
//           64x64 to 128x128 block tiles, 4 or 8 warps, operands staged
//           by cp.async in 2 to 4 shared-memory stages, fragments by
//           ldmatrix.
//   simt    everything else: tile-m x tile-n block tiles, 4x4 outputs a
//           thread, K staged in shared memory (in acc_type).
//
// Kernels take flat `memref<?xT>` buffers and the sizes (M, K, N) as index,
// so one binary serves any token count; the host picks decode or the tiled
// kernel from M. The scalar math (activations, gating, conversions) is
// glu's ScalarBuilder, the one the reference lowering uses.
//
// This file is the pass and the host side; the kernels are built in
// Projection.cpp, SimtKernels.cpp and MmaKernel.cpp (Kernels.h).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "glu/Conversion/Passes.h"
#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/Dialect/GLU/Utils/Builders.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/JSON.h"

namespace mlir::glu {
#define GEN_PASS_DEF_CONVERTGLUTOGPU
#include "glu/Conversion/Passes.h.inc"
} // namespace mlir::glu

using namespace mlir;
using namespace mlir::glu;
using namespace mlir::glu::gpu_kernels;

namespace {

constexpr StringLiteral kKernelModule = "glu_kernels";
constexpr StringLiteral kEntriesAttr = "glu.gpu.entries";

//===----------------------------------------------------------------------===//
// Host side and launch records
//===----------------------------------------------------------------------===//

/// One step of an op: the kernels that can do it and the buffers and sizes
/// they take.
struct Step {
  SmallVector<std::string> buffers; // kernel buffer args, by name
  std::string m, k, n;              // size names of the kernel's (M, K, N)
  // Decode kernels with the largest token count each serves, ascending
  // (one token, then up to decode-tokens); `tiled` serves the rest.
  SmallVector<std::pair<KernelInfo, int64_t>> decodes;
  KernelInfo tiled;                 // otherwise
};

std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isF64())
    return "f64";
  return "?";
}

int64_t staticDim(Value v, int64_t dim) {
  return cast<RankedTensorType>(v.getType()).getDimSize(dim);
}

/// A size of an op (M, D, F, O, E, one): its value and, when known, its
/// static value (ShapedType::kDynamic otherwise).
struct Size {
  Value value;
  int64_t fixed;
};

/// Lowers one glu op: builds its kernels, replaces it by launches, and (when
/// `entry` is given) describes the launches as JSON.
class OpLowering {
public:
  OpLowering(gpu::GPUModuleOp kernels, const Tiles &tiles, std::string prefix)
      : kb(kernels, tiles), tiles(tiles), prefix(std::move(prefix)) {}

  LogicalResult lower(Operation *op, llvm::json::Object *entry);

private:
  std::string kernelName(StringRef step, KernelKind kind) {
    return (prefix + "_" + step + "_" + kindName(kind)).str();
  }
  void addProjection(StringRef stepName, const ProjSpec &spec,
                     ArrayRef<std::string> buffers, StringRef m, StringRef k,
                     StringRef n) {
    Step step;
    step.buffers.assign(buffers.begin(), buffers.end());
    step.m = m.str();
    step.k = k.str();
    step.n = n.str();
    if (tiles.decodeTokens > 1)
      step.decodes.push_back(
          {kb.decode(kernelName(stepName, KernelKind::Decode) + "1", spec,
                     sizes[k].fixed, 1),
           1});
    if (tiles.decodeTokens > 0)
      step.decodes.push_back(
          {kb.decode(kernelName(stepName, KernelKind::Decode), spec,
                     sizes[k].fixed, tiles.decodeTokens),
           tiles.decodeTokens});
    if (tiles.tensorCores && KernelBuilder::mmaApplies(spec))
      step.tiled = kb.mma(kernelName(stepName, KernelKind::Mma), spec,
                          sizes[k].fixed, sizes[n].fixed);
    else
      step.tiled = kb.simt(kernelName(stepName, KernelKind::Simt), spec);
    steps.push_back(std::move(step));
  }

  KernelBuilder kb;
  Tiles tiles;
  std::string prefix;
  std::vector<Step> steps;
  llvm::StringMap<Size> sizes;
  // How the launcher computes each size from the input shapes: the product
  // of `dims` of operand `tensor`, divided by `div`.
  struct SizeRule {
    std::string tensor;
    SmallVector<int64_t> dims;
    int64_t div = 1;
  };
  llvm::StringMap<SizeRule> rules;
  // Buffers other than the operands: (name, element type, size names).
  struct Temporary {
    std::string name;
    FloatType type;
    std::string rows, cols;
  };
  SmallVector<Temporary> temporaries;
};

LogicalResult OpLowering::lower(Operation *op, llvm::json::Object *entry) {
  Location loc = op->getLoc();
  OpBuilder b(op);
  IndexMath im{b, loc};

  SmallVector<std::pair<std::string, Value>> operands; // named tensors
  auto addTensor = [&](StringRef name, Value v) {
    if (v)
      operands.push_back({name.str(), v});
  };
  auto dimSize = [&](Value t, int64_t d) {
    return Size{tensor::DimOp::create(b, loc, t, d), staticDim(t, d)};
  };
  auto product = [&](Size a, Size c) {
    bool fixed = a.fixed != ShapedType::kDynamic &&
                 c.fixed != ShapedType::kDynamic;
    return Size{im.mul(a.value, c.value),
                fixed ? a.fixed * c.fixed : ShapedType::kDynamic};
  };
  auto half = [&](Size a) {
    return Size{im.div(a.value, 2), a.fixed == ShapedType::kDynamic
                                        ? ShapedType::kDynamic
                                        : a.fixed / 2};
  };
  sizes["one"] = Size{im.c(1), 1};
  // M = the product of the leading dims of x; D = its last dim.
  auto setTokenSizes = [&](Value x) {
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    Size m = sizes["one"];
    SizeRule rule{"x", {}, 1};
    for (int64_t d = 0; d + 1 < rank; ++d) {
      m = product(m, dimSize(x, d));
      rule.dims.push_back(d);
    }
    sizes["M"] = m;
    rules["M"] = rule;
    sizes["D"] = dimSize(x, rank - 1);
    rules["D"] = SizeRule{"x", {rank - 1}, 1};
  };

  Value result = op->getResult(0);
  FloatType resultType = elementTypeOf(result);
  // f64 transcendentals would need libdevice (a CUDA toolkit).
  auto [actKind, acc] =
      TypeSwitch<Operation *, std::pair<Activation, FloatType>>(op)
          .Case<FFNOp, MLPOp, GateUpOp, GateOp>([](auto o) {
            return std::make_pair(o.getActivation(), o.getAccumulatorType());
          })
          .Default([](Operation *) {
            return std::make_pair(Activation::identity, FloatType());
          });
  if (acc && acc.isF64() && actKind != Activation::identity &&
      actKind != Activation::relu)
    return op->emitError("convert-glu-to-gpu: acc_type f64 with activation '")
           << stringifyActivation(actKind)
           << "' is not supported (f64 transcendentals need libdevice)";
  Value input;            // x (or the gate operand of glu.gate)
  std::string outSize;    // the size of the result's last dim ("" for gate)
  std::string opName = op->getName().getStringRef().str();
  const std::string hidden = "hidden";

  auto baseSpec = [&](auto gop, FloatType outType, Epilogue epi) {
    ProjSpec spec;
    spec.epilogue = epi;
    spec.act = ActivationSpec::of(gop);
    spec.layout = gop.getLayout();
    spec.xType = elementTypeOf(gop.getInput());
    spec.outType = outType;
    spec.accType = gop.getAccumulatorType();
    return spec;
  };
  // The type of a block's hidden: acc_type (glu's semantics) or, with
  // round-hidden, the down weight's 16-bit type (tensor cores downstream).
  auto hiddenTypeOf = [&](auto gop) -> FloatType {
    FloatType w = elementTypeOf(gop.getDownWeight());
    if (tiles.roundHidden && (w.isF16() || w.isBF16()))
      return w;
    return gop.getAccumulatorType();
  };
  // The down projection of a block: hidden -> result.
  auto addDown = [&](auto gop) {
    ProjSpec dn = baseSpec(gop, resultType, Epilogue::Bias);
    dn.xType = hiddenTypeOf(gop);
    dn.wType = elementTypeOf(gop.getDownWeight());
    SmallVector<std::string> bufs{hidden, "down"};
    if (Value bd = gop.getDownBias()) {
      dn.bias0 = true;
      dn.biasType = elementTypeOf(bd);
      bufs.push_back("down_bias");
    }
    bufs.push_back("result");
    addProjection("down", dn, bufs, "M", "F", "O");
  };
  auto setBlockSizes = [&](Value down, Layout layout) {
    int64_t fDim = layout == Layout::out_in ? 1 : 0;
    sizes["F"] = dimSize(down, fDim);
    sizes["O"] = dimSize(down, 1 - fDim);
    rules["F"] = SizeRule{"down", {fDim}, 1};
    rules["O"] = SizeRule{"down", {1 - fDim}, 1};
  };
  // Gate/up weights (separate or merged) and biases into `spec`/`bufs`.
  auto addGateUp = [&](ProjSpec &spec, SmallVector<std::string> &bufs,
                       const GateUpWeights &w) {
    if (w.merged) {
      spec.merged = true;
      spec.packing = w.packing;
      spec.wType = elementTypeOf(w.merged);
      bufs.push_back("gate_up");
      if (w.mergedBias) {
        spec.bias0 = spec.bias1 = true;
        spec.biasType = elementTypeOf(w.mergedBias);
        bufs.push_back("gate_up_bias");
      }
      return;
    }
    spec.wType = elementTypeOf(w.gate);
    bufs.append({"gate", "up"});
    if (w.gateBias) {
      spec.bias0 = true;
      spec.biasType = elementTypeOf(w.gateBias);
      bufs.push_back("gate_bias");
    }
    if (w.upBias) {
      spec.bias1 = true;
      spec.biasType = elementTypeOf(w.upBias);
      bufs.push_back("up_bias");
    }
  };

  if (auto ffn = dyn_cast<FFNOp>(op)) {
    input = ffn.getInput();
    addTensor("x", input);
    addTensor("gate", ffn.getGateWeight());
    addTensor("up", ffn.getUpWeight());
    addTensor("gate_up", ffn.getGateUpWeight());
    addTensor("down", ffn.getDownWeight());
    addTensor("gate_bias", ffn.getGateBias());
    addTensor("up_bias", ffn.getUpBias());
    addTensor("gate_up_bias", ffn.getGateUpBias());
    addTensor("down_bias", ffn.getDownBias());
    setTokenSizes(input);
    setBlockSizes(ffn.getDownWeight(), ffn.getLayout());
    FloatType acc = hiddenTypeOf(ffn);
    ProjSpec gu = baseSpec(ffn, acc, Epilogue::Gated);
    SmallVector<std::string> bufs{"x"};
    addGateUp(gu, bufs, GateUpWeights::of(ffn));
    bufs.push_back(hidden);
    temporaries.push_back({hidden, acc, "M", "F"});
    addProjection("gate_up", gu, bufs, "M", "D", "F");
    addDown(ffn);
    outSize = "O";
  } else if (auto mlp = dyn_cast<MLPOp>(op)) {
    input = mlp.getInput();
    addTensor("x", input);
    addTensor("up", mlp.getUpWeight());
    addTensor("down", mlp.getDownWeight());
    addTensor("up_bias", mlp.getUpBias());
    addTensor("down_bias", mlp.getDownBias());
    setTokenSizes(input);
    setBlockSizes(mlp.getDownWeight(), mlp.getLayout());
    FloatType acc = hiddenTypeOf(mlp);
    ProjSpec up = baseSpec(mlp, acc, Epilogue::Activated);
    up.wType = elementTypeOf(mlp.getUpWeight());
    SmallVector<std::string> bufs{"x", "up"};
    if (Value bu = mlp.getUpBias()) {
      up.bias0 = true;
      up.biasType = elementTypeOf(bu);
      bufs.push_back("up_bias");
    }
    bufs.push_back(hidden);
    temporaries.push_back({hidden, acc, "M", "F"});
    addProjection("up", up, bufs, "M", "D", "F");
    addDown(mlp);
    outSize = "O";
  } else if (auto gop = dyn_cast<GateUpOp>(op)) {
    input = gop.getInput();
    addTensor("x", input);
    addTensor("gate_up", gop.getGateUpWeight());
    addTensor("gate_up_bias", gop.getGateUpBias());
    setTokenSizes(input);
    Value w = gop.getGateUpWeight();
    sizes["F"] = half(dimSize(w, outputDim(gop.getLayout())));
    rules["F"] = SizeRule{"gate_up", {outputDim(gop.getLayout())}, 2};
    ProjSpec gu = baseSpec(gop, resultType, Epilogue::Gated);
    SmallVector<std::string> bufs{"x"};
    addGateUp(gu, bufs, GateUpWeights::of(gop));
    bufs.push_back("result");
    addProjection("gate_up", gu, bufs, "M", "D", "F");
    outSize = "F";
  } else if (auto gop = dyn_cast<GateOp>(op)) {
    input = gop.getGate();
    addTensor("gate", input);
    addTensor("up", gop.getUp());
    int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
    Size e = sizes["one"];
    SizeRule rule{"gate", {}, 1};
    for (int64_t d = 0; d < rank; ++d) {
      e = product(e, dimSize(input, d));
      rule.dims.push_back(d);
    }
    sizes["E"] = e;
    rules["E"] = rule;
    Step step;
    step.buffers = {"gate", "up", "result"};
    step.m = step.k = "one";
    step.n = "E";
    step.tiled = kb.gate(prefix + "_gate", ActivationSpec::of(gop),
                         resultType, gop.getAccumulatorType());
    steps.push_back(std::move(step));
  } else {
    return failure();
  }

  // Buffers: flat 1-D memref views of the operands, the result and the
  // temporaries (memref<?xT>, the kernels' argument type).
  auto dynamicFlat = [](Type elt) {
    return MemRefType::get({ShapedType::kDynamic}, elt);
  };
  llvm::StringMap<Value> buffers;
  for (auto &[name, t] : operands) {
    auto type = cast<RankedTensorType>(t.getType());
    Value flat = t;
    if (type.getRank() != 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < type.getRank(); ++d)
        all.push_back(d);
      flat = tensor::CollapseShapeOp::create(
          b, loc, t, ArrayRef<ReassociationIndices>{all});
    }
    auto flatType = cast<RankedTensorType>(flat.getType());
    Value mem = bufferization::ToBufferOp::create(
        b, loc,
        MemRefType::get(flatType.getShape(), flatType.getElementType()), flat,
        /*read_only=*/true);
    if (!flatType.isDynamicDim(0))
      mem = memref::CastOp::create(b, loc, dynamicFlat(type.getElementType()),
                                   mem);
    buffers[name] = mem;
  }
  auto allocFlat = [&](FloatType elt, Size numel) -> std::pair<Value, Value> {
    Value alloc;
    if (numel.fixed != ShapedType::kDynamic)
      alloc = memref::AllocOp::create(b, loc,
                                      MemRefType::get({numel.fixed}, elt));
    else
      alloc = memref::AllocOp::create(b, loc, dynamicFlat(elt),
                                      ValueRange{numel.value});
    Value view = alloc;
    if (numel.fixed != ShapedType::kDynamic)
      view = memref::CastOp::create(b, loc, dynamicFlat(elt), alloc);
    return {alloc, view};
  };
  Size resultNumel = outSize.empty() ? sizes["E"]
                                     : product(sizes["M"], sizes[outSize]);
  auto [resultAlloc, resultView] = allocFlat(resultType, resultNumel);
  buffers["result"] = resultView;
  SmallVector<Value> toFree;
  for (Temporary &t : temporaries) {
    auto [alloc, view] =
        allocFlat(t.type, product(sizes[t.rows], sizes[t.cols]));
    buffers[t.name] = view;
    toFree.push_back(alloc);
  }

  // Launches.
  auto launch = [&](OpBuilder &b, const Step &step, const KernelInfo &k) {
    IndexMath im{b, loc};
    auto gridDim = [&](std::pair<StringRef, int64_t> g) -> Value {
      if (g.first.empty())
        return im.c(1);
      StringRef size = g.first == "M" ? StringRef(step.m) : StringRef(step.n);
      return arith::CeilDivUIOp::create(b, loc, sizes[size].value,
                                        im.c(g.second));
    };
    SmallVector<Value> args;
    for (const std::string &name : step.buffers)
      args.push_back(buffers[name]);
    args.append({sizes[step.m].value, sizes[step.k].value,
                 sizes[step.n].value});
    Value one = im.c(1);
    Value shared;
    if (k.sharedBytes)
      shared = arith::ConstantOp::create(
          b, loc, b.getI32IntegerAttr(int32_t(k.sharedBytes)));
    gpu::LaunchFuncOp::create(
        b, loc, k.func,
        gpu::KernelDim3{gridDim(k.gridX), gridDim(k.gridY), one},
        gpu::KernelDim3{im.c(k.block), one, one}, shared, args);
  };
  // if M <= t1 {decode1} else if M <= t2 {decode2} ... else {tiled}
  for (const Step &step : steps) {
    OpBuilder cb = b;
    for (auto &[kernel, maxTokens] : step.decodes) {
      Value small = arith::CmpIOp::create(cb, loc, arith::CmpIPredicate::ule,
                                          sizes["M"].value,
                                          IndexMath{cb, loc}.c(maxTokens));
      auto ifOp = scf::IfOp::create(cb, loc, small, /*withElseRegion=*/true);
      OpBuilder tb(ifOp.thenBlock()->getTerminator());
      launch(tb, step, kernel);
      cb.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    }
    launch(cb, step, step.tiled);
  }
  for (Value alloc : toFree)
    memref::DeallocOp::create(b, loc, alloc);

  // The result tensor, reshaped to the op's result type.
  auto resultTensorType = cast<RankedTensorType>(result.getType());
  auto allocType = cast<MemRefType>(resultAlloc.getType());
  Value flatResult = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(allocType.getShape(), resultType),
      resultAlloc, /*restrict=*/true, /*writable=*/true);
  Value shaped = flatResult;
  int64_t rank = resultTensorType.getRank();
  if (rank != 1) {
    SmallVector<OpFoldResult> shape;
    for (int64_t d = 0; d < rank; ++d) {
      if (!resultTensorType.isDynamicDim(d)) {
        shape.push_back(b.getIndexAttr(resultTensorType.getDimSize(d)));
        continue;
      }
      bool last = d == rank - 1 && !outSize.empty();
      shape.push_back(last ? sizes[outSize].value
                           : Value(tensor::DimOp::create(b, loc, input, d)));
    }
    ReassociationIndices all;
    for (int64_t d = 0; d < rank; ++d)
      all.push_back(d);
    shaped = tensor::ExpandShapeOp::create(
        b, loc, resultTensorType, flatResult,
        ArrayRef<ReassociationIndices>{all}, shape);
  } else if (shaped.getType() != resultTensorType) {
    shaped = tensor::CastOp::create(b, loc, resultTensorType, shaped);
  }
  result.replaceAllUsesWith(shaped);

  // The launch record, for a function whose body is this op on its
  // arguments, returned.
  if (entry) {
    llvm::StringMap<int64_t> argIndex;
    for (auto &[name, t] : operands)
      argIndex[name] = cast<BlockArgument>(t).getArgNumber();
    auto shapeOf = [](Type t) {
      llvm::json::Array shape;
      for (int64_t d : cast<RankedTensorType>(t).getShape())
        shape.push_back(ShapedType::isDynamic(d) ? int64_t(-1) : d);
      return shape;
    };
    auto func = op->getParentOfType<func::FuncOp>();
    llvm::json::Array inputs;
    for (BlockArgument arg : func.getArguments()) {
      std::string name;
      for (auto &[n, t] : operands)
        if (t == arg)
          name = n;
      inputs.push_back(llvm::json::Object{
          {"name", name},
          {"dtype", dtypeName(cast<RankedTensorType>(arg.getType()).getElementType())},
          {"shape", shapeOf(arg.getType())}});
    }
    llvm::json::Object out{{"name", "result"},
                           {"dtype", dtypeName(resultType)},
                           {"shape", shapeOf(result.getType())}};
    if (outSize.empty())
      out["shape_like"] = argIndex["gate"];
    else
      out["shape_batch_of"] = argIndex["x"];
    // Sizes: the product of some dims of an input, divided by `div`.
    llvm::json::Object sizeRules;
    sizeRules["one"] = llvm::json::Object{{"arg", 0},
                                          {"dims", llvm::json::Array{}},
                                          {"div", 1}};
    for (auto &it : rules) {
      llvm::json::Array dims;
      for (int64_t d : it.second.dims)
        dims.push_back(d);
      sizeRules[it.first()] =
          llvm::json::Object{{"arg", argIndex[it.second.tensor]},
                             {"dims", std::move(dims)},
                             {"div", it.second.div}};
    }
    llvm::json::Array temps;
    for (Temporary &t : temporaries)
      temps.push_back(llvm::json::Object{
          {"name", t.name},
          {"dtype", dtypeName(t.type)},
          {"elements", llvm::json::Array{t.rows, t.cols}}});
    llvm::json::Array launches;
    auto record = [&](const Step &step, const KernelInfo &k, int64_t lo,
                      int64_t hi) {
      auto gridDim = [&](std::pair<StringRef, int64_t> g) {
        std::string size = g.first.empty() ? "one"
                           : g.first == "M" ? step.m
                                            : step.n;
        return llvm::json::Array{size, g.second};
      };
      llvm::json::Array args;
      for (const std::string &name : step.buffers)
        args.push_back(argIndex.count(name)
                           ? "arg" + std::to_string(argIndex[name])
                           : name);
      for (const std::string &s : {step.m, step.k, step.n})
        args.push_back("size:" + s);
      launches.push_back(llvm::json::Object{
          {"kernel", const_cast<gpu::GPUFuncOp &>(k.func).getName()},
          {"kind", kindName(k.kind)},
          {"tokens", llvm::json::Array{lo, hi}},
          {"grid", llvm::json::Array{gridDim(k.gridX), gridDim(k.gridY),
                                     gridDim({"", 1})}},
          {"block", llvm::json::Array{k.block, 1, 1}},
          {"dynamic_shared_bytes", k.sharedBytes},
          {"args", std::move(args)}});
    };
    for (const Step &step : steps) {
      int64_t lo = 0;
      for (auto &[kernel, maxTokens] : step.decodes) {
        record(step, kernel, lo, maxTokens);
        lo = maxTokens + 1;
      }
      record(step, step.tiled, lo, -1);
    }
    (*entry)["op"] = opName;
    (*entry)["inputs"] = std::move(inputs);
    (*entry)["outputs"] = llvm::json::Array{std::move(out)};
    (*entry)["sizes"] = std::move(sizeRules);
    (*entry)["temporaries"] = std::move(temps);
    (*entry)["launches"] = std::move(launches);
  }
  op->erase();
  return success();
}

/// True if `func`'s body is `op` on the function's arguments, returned.
bool isEntryShaped(func::FuncOp func, Operation *op) {
  Block &body = func.getBody().front();
  if (&body.front() != op || op->getNextNode() != body.getTerminator())
    return false;
  if (llvm::any_of(op->getOperands(), [&](Value v) {
        auto arg = dyn_cast<BlockArgument>(v);
        return !arg || arg.getOwner() != &body;
      }))
    return false;
  Operation *ret = body.getTerminator();
  return ret->getNumOperands() == 1 && ret->getOperand(0) == op->getResult(0);
}

/// The math ops left by the polynomial approximations, in plain arith
/// (f32): convert-gpu-to-nvvm would turn them (and their LLVM intrinsics)
/// into libdevice calls, which only a CUDA toolkit provides.
struct FmaToArith : OpRewritePattern<math::FmaOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FmaOp op,
                                PatternRewriter &rewriter) const override {
    auto contract = arith::FastMathFlagsAttr::get(
        rewriter.getContext(), arith::FastMathFlags::contract);
    Value p = arith::MulFOp::create(rewriter, op.getLoc(), op.getA(),
                                    op.getB(), contract);
    rewriter.replaceOpWithNewOp<arith::AddFOp>(op, p, op.getC(), contract);
    return success();
  }
};

/// floor(x) = t - (t > x) with t = trunc(x) through i32: exact for |x| <
/// 2^31, which holds where the approximations use it (exp's range reduction
/// of an argument clamped to [-88, 89]).
struct FloorToArith : OpRewritePattern<math::FloorOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FloorOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isF32())
      return failure();
    Location loc = op.getLoc();
    Value x = op.getOperand();
    Value i = arith::FPToSIOp::create(rewriter, loc, rewriter.getI32Type(), x);
    Value t = arith::SIToFPOp::create(rewriter, loc, x.getType(), i);
    Value above =
        arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OGT, t, x);
    Value one = arith::ConstantOp::create(rewriter, loc, x.getType(),
                                          rewriter.getF32FloatAttr(1.0f));
    Value down = arith::SubFOp::create(rewriter, loc, t, one);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, above, down, t);
    return success();
  }
};

/// |x| by clearing the sign bit.
struct AbsToArith : OpRewritePattern<math::AbsFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::AbsFOp op,
                                PatternRewriter &rewriter) const override {
    // |x|: clear the sign bit of the f32 bits; 16-bit floats go through f32
    // (exactly).
    auto type = dyn_cast<FloatType>(op.getType());
    if (!type)
      return failure();
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    if (type.getWidth() == 16) {
      Value wide = arith::ExtFOp::create(rewriter, loc, f32, op.getOperand());
      Value abs = math::AbsFOp::create(rewriter, loc, wide);
      rewriter.replaceOpWithNewOp<arith::TruncFOp>(op, type, abs);
      return success();
    }
    if (!type.isF32())
      return failure();
    Type i32 = rewriter.getI32Type();
    Value bits = arith::BitcastOp::create(rewriter, loc, i32, op.getOperand());
    Value mask = arith::ConstantOp::create(rewriter, loc, i32,
                                           rewriter.getI32IntegerAttr(0x7fffffff));
    Value cleared = arith::AndIOp::create(rewriter, loc, bits, mask);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(op, op.getType(), cleared);
    return success();
  }
};

struct ConvertGLUToGPUPass
    : glu::impl::ConvertGLUToGPUBase<ConvertGLUToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (tileM % 4 || tileN % 4 || tileM < 4 || tileN < 4 || tileK < 1 ||
        (tileM * tileK) % (tileM * tileN / 16) ||
        (tileN * tileK) % (tileM * tileN / 16) || tileM * tileN / 16 > 1024 ||
        decodeTokens < 0 || decodeTokens > 64) {
      module.emitError("convert-glu-to-gpu: tile-m and tile-n must be "
                       "multiples of 4 with (tile-m/4)·(tile-n/4) <= 1024 "
                       "threads dividing tile-m·tile-k and tile-n·tile-k; "
                       "decode-tokens in [0, 64]");
      return signalPassFailure();
    }
    // Mixture-of-experts ops have CPU lowerings only, so far.
    WalkResult moe = module.walk([&](Operation *op) {
      if (!isa<MoEOp, RouteOp>(op))
        return WalkResult::advance();
      op->emitError("convert-glu-to-gpu: '")
          << op->getName()
          << "' has no GPU lowering yet (the CPU pipelines run it)";
      return WalkResult::interrupt();
    });
    if (moe.wasInterrupted())
      return signalPassFailure();
    auto mmaTileOk = [](int64_t t) { return t == 64 || t == 128; };
    if (!mmaTileOk(mmaTileM) || !mmaTileOk(mmaTileN) || mmaStages < 2 ||
        mmaStages > 4) {
      module.emitError("convert-glu-to-gpu: mma-tile-m and mma-tile-n must "
                       "be 64 or 128, mma-stages in [2, 4]");
      return signalPassFailure();
    }
    Tiles tiles{tileM,     tileN,        tileK,       mmaTileM,   mmaTileN,
                mmaStages, decodeTokens, tensorCores, roundHidden};

    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<FFNOp, MLPOp, GateUpOp, GateOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;

    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
    SymbolTable symbols(module);
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto kernels = gpu::GPUModuleOp::create(b, module.getLoc(), kKernelModule);
    symbols.insert(kernels);

    llvm::StringMap<int> perFunc;
    SmallVector<NamedAttribute> entries;
    for (Operation *op : ops) {
      auto func = op->getParentOfType<func::FuncOp>();
      std::string name = func ? func.getName().str() : "glu";
      int index = perFunc[name]++;
      std::string prefix = index ? name + "_" + std::to_string(index) : name;
      OpLowering lowering(kernels, tiles, prefix);
      bool entryShaped = func && isEntryShaped(func, op);
      llvm::json::Object entry;
      if (failed(lowering.lower(op, entryShaped ? &entry : nullptr)))
        return signalPassFailure();
      if (entryShaped) {
        std::string text;
        llvm::raw_string_ostream os(text);
        os << llvm::json::Value(std::move(entry));
        entries.push_back(
            NamedAttribute(StringAttr::get(ctx, name), StringAttr::get(ctx, text)));
      }
    }
    if (!entries.empty())
      module->setAttr(kEntriesAttr, DictionaryAttr::get(ctx, entries));

    // Transcendentals as f32 polynomials (16-bit ones through f32): left as
    // math ops, convert-gpu-to-nvvm would call libdevice (__nv_expf, ...),
    // which only a CUDA toolkit provides.
    RewritePatternSet patterns(ctx);
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    math::populateExpansionPatterns(patterns);
    patterns.add<FmaToArith, FloorToArith, AbsToArith>(ctx);
    if (failed(applyPatternsGreedily(kernels, std::move(patterns))))
      return signalPassFailure();
    WalkResult leftover = kernels.walk([](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (leftover.wasInterrupted()) {
      module.emitError("convert-glu-to-gpu: a math function has no "
                       "libdevice-free expansion (acc_type f64?)");
      return signalPassFailure();
    }
  }
};

} // namespace
