//===- swiglu-gpu-emulate.cpp - Run glu GPU kernels on the CPU ------------===//
//
// swiglu-gpu-emulate <input.mlir> --entry=<f> -i a.npy ... -o out.npy
//     [--options="decode-tokens=0 tensor-cores=false ..."]
//
// Checks the GPU kernels of convert-glu-to-gpu without a GPU: lowers the
// module with convert-glu-to-gpu (options from --options and the
// environment variable SWIGLU_GPU_EMULATE_OPTIONS), then runs the entry's
// launch record (the JSON that swiglu-gpu-compile puts in manifest.json,
// so the manifest logic is exercised too) by interpreting the kernels' IR:
// every thread of a block in lockstep, op by op, with per-thread masks for
// divergent scf.if / scf.for (barriers are then implicit, shuffles read the
// other lanes, nvgpu.mma.sync computes the warp's m16n8k16 product from the
// PTX fragment layout, nvgpu.ldmatrix gathers the fragments as PTX's
// ldmatrix does and refuses bank conflicts, cp.async copies land only when
// a wait_group needs them).
// Every memory access is bounds-checked. Same command
// line as swiglu-run, so test/Execution/run_cases.py can drive it
// (--swiglu-run=swiglu-gpu-emulate).
//
// Shared memory is checked for races between warps: an element read or
// written by a warp after another warp wrote it (or read it, for a write)
// with no barrier between, and cp.async destinations touched before their
// wait_group.
//
// Arithmetic follows the IR's types: f32 ops are rounded to f32, 16-bit
// conversions round to nearest even. What it cannot show: speed, races
// within a warp, and the NVPTX backend's own code generation.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "glu/Conversion/Passes.h"
#include "glu/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <deque>

using namespace mlir;
using llvm::cl::opt;
namespace cl = llvm::cl;
namespace json = llvm::json;
using llvm::errs;
using llvm::SmallVector;
using llvm::StringMap;
using llvm::StringRef;
using llvm::Twine;
using llvm::Expected;
using llvm::SMLoc;
using llvm::SourceMgr;
using llvm::WithColor;
using llvm::raw_fd_ostream;
using llvm::APFloat;
using llvm::APInt;
using llvm::toString;
using llvm::InitLLVM;
namespace npy = swiglu::npy;

static cl::opt<std::string> inputFilename(cl::Positional, cl::Required,
                                          cl::desc("<input .mlir>"));
static cl::opt<std::string> entryName("entry", cl::Required,
                                      cl::desc("function to run"));
static cl::list<std::string> inputs("i", cl::desc("input .npy, in order"));
static cl::list<std::string> outputs("o", cl::desc("output .npy"));
static cl::opt<std::string> passOptions("options",
                                        cl::desc("convert-glu-to-gpu options"),
                                        cl::init(""));

namespace {

[[noreturn]] void fatal(const Twine &message) {
  WithColor::error(errs(), "swiglu-gpu-emulate") << message << "\n";
  std::exit(1);
}

//===----------------------------------------------------------------------===//
// Numbers
//===----------------------------------------------------------------------===//

float bf16ToFloat(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000)
    return uint16_t((u >> 16) | 0x40); // quiet NaN
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

/// `x` rounded to the float type `t` (and back to double).
double roundTo(Type t, double x) {
  if (t.isF64())
    return x;
  if (t.isF32())
    return double(float(x));
  if (t.isF16())
    return double(_Float16(float(x)) ); // note: via f32 first
  if (t.isBF16())
    return bf16ToFloat(floatToBf16(float(x)));
  fatal("unsupported float type");
}

/// `x` wrapped to the integer type `t` (i1, i32, i64, index), sign-extended.
int64_t wrapTo(Type t, int64_t x) {
  unsigned w = t.isIndex() ? 64 : t.getIntOrFloatBitWidth();
  if (w == 64)
    return x;
  if (w == 1)
    return x & 1;
  return int64_t(int32_t(uint32_t(uint64_t(x)))) * (w == 32) +
         (w == 32 ? 0 : (x & ((int64_t(1) << w) - 1)));
}

//===----------------------------------------------------------------------===//
// Values: one entry per thread of the block (times the vector width)
//===----------------------------------------------------------------------===//

struct Buffer {
  Type elt;
  std::vector<double> data;
  std::string name;
  // Shared memory only (empty otherwise): the accesses to each element
  // since the block's last barrier, to find those that only the lockstep
  // execution orders (races between warps).
  struct Access {
    int64_t writeEpoch = -1, writer = -1; // last write: barrier count, warp
    int64_t readEpoch = -1;               // reads in that epoch:
    uint64_t readers = 0;                 //   a bit per warp
    bool inFlight = false;                // a cp.async not yet landed
  };
  std::vector<Access> access;
};

struct Val {
  bool isFloat = false;
  int64_t width = 1;        // vector lanes
  std::vector<double> f;    // floats
  std::vector<int64_t> i;   // integers / indices / i1
  Buffer *mem = nullptr;    // memrefs (uniform)
};

class Emulator {
public:
  Emulator(gpu::GPUFuncOp func, int64_t threads, std::array<int64_t, 2> grid,
           int64_t dynamicSharedBytes, std::vector<Buffer *> bufferArgs,
           std::vector<int64_t> scalarArgs)
      : func(func), T(threads), grid(grid),
        dynamicSharedBytes(dynamicSharedBytes),
        bufferArgs(std::move(bufferArgs)), scalarArgs(std::move(scalarArgs)) {}

  void run();

private:
  using Mask = std::vector<char>;
  Val &get(Value v) {
    auto it = vals.find(v);
    if (it == vals.end())
      fatal("emulator: value used before definition in " +
            func.getName().str());
    return it->second;
  }
  Val makeInt(int64_t width = 1) {
    Val v;
    v.width = width;
    v.i.assign(T * width, 0);
    return v;
  }
  Val makeFloat(int64_t width = 1) {
    Val v;
    v.isFloat = true;
    v.width = width;
    v.f.assign(T * width, 0.0);
    return v;
  }
  void execBlock(Block &block, const Mask &mask);
  void execOp(Operation &op, const Mask &mask);
  void sharedRead(Buffer *buf, int64_t idx, int64_t warp);
  void sharedWrite(Buffer *buf, int64_t idx, int64_t warp);
  [[noreturn]] void race(const Twine &what, Buffer *buf, int64_t idx);
  /// Binds `v` to a fresh shared-memory buffer of `type` (NaN-filled, so a
  /// read before any write shows), kept for the block's lifetime.
  void bindShared(Value v, MemRefType type, StringRef name);
  int64_t epoch = 0; // barriers the block has passed
  std::vector<Val> yielded;

  gpu::GPUFuncOp func;
  int64_t T;
  std::array<int64_t, 2> grid;
  std::array<int64_t, 2> blockId{0, 0};
  int64_t dynamicSharedBytes;
  // Byte ranges of the typed views of the dynamic shared memory (each its
  // own buffer here, so they must not overlap).
  std::vector<std::pair<int64_t, int64_t>> sharedViews;
  std::vector<Buffer *> bufferArgs;
  std::vector<int64_t> scalarArgs;
  DenseMap<Value, Val> vals;
  std::vector<std::unique_ptr<Buffer>> shared;
  // cp.async copies of each thread: not yet in a group, and committed
  // groups, oldest first.
  struct AsyncCopy {
    Buffer *dst;
    int64_t dstIdx;
    Buffer *src;
    int64_t srcIdx, n, valid;
  };
  struct AsyncCopies {
    std::vector<AsyncCopy> uncommitted;
    std::deque<std::vector<AsyncCopy>> groups;
  };
  std::vector<AsyncCopies> asyncCopies;
};

void Emulator::run() {
  Block &entry = func.front();
  for (int64_t by = 0; by < grid[1]; ++by) {
    for (int64_t bx = 0; bx < grid[0]; ++bx) {
      blockId = {bx, by};
      vals.clear();
      shared.clear();
      sharedViews.clear();
      asyncCopies.assign(T, AsyncCopies());
      epoch = 0;
      size_t nb = 0, ns = 0;
      for (unsigned a = 0; a < func.getNumArguments(); ++a) {
        Value arg = func.getArgument(a);
        Val v;
        if (isa<MemRefType>(arg.getType())) {
          v.mem = bufferArgs[nb++];
        } else {
          v = makeInt();
          std::fill(v.i.begin(), v.i.end(), scalarArgs[ns++]);
        }
        vals[arg] = std::move(v);
      }
      for (BlockArgument wg : func.getWorkgroupAttributions()) {
        bindShared(wg, cast<MemRefType>(wg.getType()), "workgroup memory");
      }
      execBlock(entry, Mask(T, 1));
    }
  }
}

// A read (write) of shared memory by another warp than the last writer
// (a reader or writer) of the element since the last barrier: on a GPU,
// nothing orders the two. A cp.async destination is written when its group
// lands (and may land as soon as it is issued): reading it before, or
// writing it while, it is in flight is a race too.
void Emulator::bindShared(Value v, MemRefType type, StringRef name) {
  auto buf = std::make_unique<Buffer>();
  buf->elt = type.getElementType();
  buf->data.assign(type.getNumElements(),
                   std::numeric_limits<double>::quiet_NaN());
  buf->name = name.str();
  buf->access.resize(buf->data.size());
  Val val;
  val.mem = buf.get();
  vals[v] = std::move(val);
  shared.push_back(std::move(buf));
}

void Emulator::race(const Twine &what, Buffer *buf, int64_t idx) {
  fatal("emulator: race on " + buf->name + " in " + func.getName().str() +
        ": " + what + " (element " + Twine(idx) + ", after " + Twine(epoch) +
        " barriers)");
}

void Emulator::sharedRead(Buffer *buf, int64_t idx, int64_t warp) {
  if (buf->access.empty())
    return;
  Buffer::Access &a = buf->access[idx];
  if (a.inFlight)
    race("read of a cp.async destination before its wait", buf, idx);
  if (a.writeEpoch == epoch && a.writer != warp)
    race("warp " + Twine(warp) + " reads what warp " + Twine(a.writer) +
             " wrote, with no barrier between",
         buf, idx);
  if (a.readEpoch != epoch) {
    a.readEpoch = epoch;
    a.readers = 0;
  }
  a.readers |= uint64_t(1) << warp;
}

void Emulator::sharedWrite(Buffer *buf, int64_t idx, int64_t warp) {
  if (buf->access.empty())
    return;
  Buffer::Access &a = buf->access[idx];
  if (a.inFlight)
    race("write while a cp.async to it is in flight", buf, idx);
  if (a.readEpoch == epoch && (a.readers & ~(uint64_t(1) << warp)))
    race("warp " + Twine(warp) +
             " overwrites what another warp read, with no barrier between",
         buf, idx);
  if (a.writeEpoch == epoch && a.writer != warp)
    race("warps " + Twine(a.writer) + " and " + Twine(warp) +
             " write it with no barrier between",
         buf, idx);
  a.writeEpoch = epoch;
  a.writer = warp;
}

void Emulator::execBlock(Block &block, const Mask &mask) {
  for (Operation &op : block)
    execOp(op, mask);
}

template <typename F>
Val mapInt2(Emulator *, Val &a, Val &b, Type t, F fn, int64_t T) {
  Val r;
  r.width = a.width;
  r.i.resize(a.i.size());
  for (size_t k = 0; k < a.i.size(); ++k)
    r.i[k] = wrapTo(t, fn(a.i[k], b.i[k]));
  (void)T;
  return r;
}

bool cmpI(arith::CmpIPredicate p, int64_t a, int64_t b, unsigned w) {
  uint64_t ua = w == 32 ? uint32_t(a) : uint64_t(a);
  uint64_t ub = w == 32 ? uint32_t(b) : uint64_t(b);
  if (w == 1) {
    ua &= 1;
    ub &= 1;
  }
  switch (p) {
  case arith::CmpIPredicate::eq: return a == b;
  case arith::CmpIPredicate::ne: return a != b;
  case arith::CmpIPredicate::slt: return a < b;
  case arith::CmpIPredicate::sle: return a <= b;
  case arith::CmpIPredicate::sgt: return a > b;
  case arith::CmpIPredicate::sge: return a >= b;
  case arith::CmpIPredicate::ult: return ua < ub;
  case arith::CmpIPredicate::ule: return ua <= ub;
  case arith::CmpIPredicate::ugt: return ua > ub;
  case arith::CmpIPredicate::uge: return ua >= ub;
  }
  return false;
}

bool cmpF(arith::CmpFPredicate p, double a, double b) {
  bool unord = std::isnan(a) || std::isnan(b);
  switch (p) {
  case arith::CmpFPredicate::AlwaysFalse: return false;
  case arith::CmpFPredicate::AlwaysTrue: return true;
  case arith::CmpFPredicate::OEQ: return !unord && a == b;
  case arith::CmpFPredicate::OGT: return !unord && a > b;
  case arith::CmpFPredicate::OGE: return !unord && a >= b;
  case arith::CmpFPredicate::OLT: return !unord && a < b;
  case arith::CmpFPredicate::OLE: return !unord && a <= b;
  case arith::CmpFPredicate::ONE: return !unord && a != b;
  case arith::CmpFPredicate::ORD: return !unord;
  case arith::CmpFPredicate::UEQ: return unord || a == b;
  case arith::CmpFPredicate::UGT: return unord || a > b;
  case arith::CmpFPredicate::UGE: return unord || a >= b;
  case arith::CmpFPredicate::ULT: return unord || a < b;
  case arith::CmpFPredicate::ULE: return unord || a <= b;
  case arith::CmpFPredicate::UNE: return unord || a != b;
  case arith::CmpFPredicate::UNO: return unord;
  }
  return false;
}

void Emulator::execOp(Operation &op, const Mask &mask) {
  Location loc = op.getLoc();
  (void)loc;
  auto unary = [&](auto fn) {
    Val &a = get(op.getOperand(0));
    Type t = getElementTypeOrSelf(op.getResult(0).getType());
    Val r = makeFloat(a.width);
    for (size_t k = 0; k < r.f.size(); ++k)
      r.f[k] = roundTo(t, fn(a.f[k]));
    vals[op.getResult(0)] = std::move(r);
  };
  auto binaryF = [&](auto fn) {
    Val &a = get(op.getOperand(0));
    Val &b = get(op.getOperand(1));
    Type t = getElementTypeOrSelf(op.getResult(0).getType());
    Val r = makeFloat(a.width);
    for (size_t k = 0; k < r.f.size(); ++k)
      r.f[k] = roundTo(t, fn(a.f[k], b.f[k]));
    vals[op.getResult(0)] = std::move(r);
  };
  auto binaryI = [&](auto fn) {
    Val &a = get(op.getOperand(0));
    Val &b = get(op.getOperand(1));
    Type t = getElementTypeOrSelf(op.getResult(0).getType());
    Val r = makeInt(a.width);
    for (size_t k = 0; k < r.i.size(); ++k)
      r.i[k] = wrapTo(t, fn(a.i[k], b.i[k]));
    vals[op.getResult(0)] = std::move(r);
  };
  auto bits = [](Type t) {
    return t.isIndex() ? 64u : t.getIntOrFloatBitWidth();
  };
  auto asUnsigned = [&](Type t, int64_t x) -> uint64_t {
    unsigned w = bits(t);
    return w == 64 ? uint64_t(x) : uint64_t(x) & ((uint64_t(1) << w) - 1);
  };

  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    Attribute value = c.getValue();
    if (auto fa = dyn_cast<FloatAttr>(value)) {
      Val r = makeFloat();
      std::fill(r.f.begin(), r.f.end(), fa.getValueAsDouble());
      vals[c] = std::move(r);
    } else if (auto ia = dyn_cast<IntegerAttr>(value)) {
      Val r = makeInt();
      std::fill(r.i.begin(), r.i.end(),
                wrapTo(ia.getType(), ia.getValue().getSExtValue()));
      vals[c] = std::move(r);
    } else if (auto dense = dyn_cast<SplatElementsAttr>(value)) {
      auto vt = cast<VectorType>(dense.getType());
      int64_t w = vt.getNumElements();
      if (isa<FloatType>(vt.getElementType())) {
        Val r = makeFloat(w);
        std::fill(r.f.begin(), r.f.end(),
                  dense.getSplatValue<APFloat>().convertToDouble());
        vals[c] = std::move(r);
      } else {
        Val r = makeInt(w);
        std::fill(r.i.begin(), r.i.end(),
                  dense.getSplatValue<APInt>().getSExtValue());
        vals[c] = std::move(r);
      }
    } else {
      fatal("emulator: unsupported constant");
    }
    return;
  }
  if (isa<arith::AddFOp>(op)) return binaryF([](double a, double b) { return a + b; });
  if (isa<arith::SubFOp>(op)) return binaryF([](double a, double b) { return a - b; });
  if (isa<arith::MulFOp>(op)) return binaryF([](double a, double b) { return a * b; });
  if (isa<arith::DivFOp>(op)) return binaryF([](double a, double b) { return a / b; });
  if (isa<arith::MaximumFOp>(op))
    return binaryF([](double a, double b) {
      return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
    });
  if (isa<arith::MinimumFOp>(op))
    return binaryF([](double a, double b) {
      return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
    });
  if (isa<arith::MaxNumFOp>(op))
    return binaryF([](double a, double b) { return std::fmax(a, b); });
  if (isa<arith::MinNumFOp>(op))
    return binaryF([](double a, double b) { return std::fmin(a, b); });
  if (isa<arith::NegFOp>(op)) return unary([](double a) { return -a; });
  if (isa<arith::ExtFOp, arith::TruncFOp>(op))
    return unary([](double a) { return a; });
  if (isa<arith::AddIOp>(op)) return binaryI([](int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); });
  if (isa<arith::SubIOp>(op)) return binaryI([](int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); });
  if (isa<arith::MulIOp>(op)) return binaryI([](int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); });
  if (isa<arith::AndIOp>(op)) return binaryI([](int64_t a, int64_t b) { return a & b; });
  if (isa<arith::OrIOp>(op)) return binaryI([](int64_t a, int64_t b) { return a | b; });
  if (isa<arith::XOrIOp>(op)) return binaryI([](int64_t a, int64_t b) { return a ^ b; });
  if (isa<arith::DivUIOp, arith::RemUIOp, arith::MinUIOp, arith::MaxUIOp,
          arith::ShRUIOp, arith::ShLIOp, arith::ShRSIOp, arith::DivSIOp,
          arith::RemSIOp, arith::MinSIOp, arith::MaxSIOp, arith::CeilDivUIOp>(op)) {
    Type t = getElementTypeOrSelf(op.getResult(0).getType());
    StringRef name = op.getName().getStringRef();
    return binaryI([&](int64_t a, int64_t b) -> int64_t {
      uint64_t ua = asUnsigned(t, a), ub = asUnsigned(t, b);
      if (name == "arith.divui") return ub ? int64_t(ua / ub) : 0;
      if (name == "arith.remui") return ub ? int64_t(ua % ub) : 0;
      if (name == "arith.ceildivui") return ub ? int64_t((ua + ub - 1) / ub) : 0;
      if (name == "arith.minui") return int64_t(std::min(ua, ub));
      if (name == "arith.maxui") return int64_t(std::max(ua, ub));
      if (name == "arith.shrui") return ub >= bits(t) ? 0 : int64_t(ua >> ub);
      if (name == "arith.shli") return ub >= bits(t) ? 0 : int64_t(ua << ub);
      if (name == "arith.shrsi") return b >= int64_t(bits(t)) ? (a < 0 ? -1 : 0) : (a >> b);
      if (name == "arith.divsi") return b ? a / b : 0;
      if (name == "arith.remsi") return b ? a % b : 0;
      if (name == "arith.minsi") return std::min(a, b);
      return std::max(a, b);
    });
  }
  if (auto c = dyn_cast<arith::CmpIOp>(op)) {
    unsigned w = bits(getElementTypeOrSelf(c.getLhs().getType()));
    return binaryI([&](int64_t a, int64_t b) -> int64_t {
      return cmpI(c.getPredicate(), a, b, w);
    });
  }
  if (auto c = dyn_cast<arith::CmpFOp>(op)) {
    Val &a = get(c.getLhs());
    Val &b = get(c.getRhs());
    Val r = makeInt(a.width);
    for (size_t k = 0; k < r.i.size(); ++k)
      r.i[k] = cmpF(c.getPredicate(), a.f[k], b.f[k]);
    vals[c] = std::move(r);
    return;
  }
  if (auto s = dyn_cast<arith::SelectOp>(op)) {
    Val &c = get(s.getCondition());
    Val &a = get(s.getTrueValue());
    Val &b = get(s.getFalseValue());
    Val r = a;
    for (size_t k = 0; k < (a.isFloat ? a.f.size() : a.i.size()); ++k) {
      bool take = c.i[c.width == 1 ? k / a.width : k];
      if (a.isFloat)
        r.f[k] = take ? a.f[k] : b.f[k];
      else
        r.i[k] = take ? a.i[k] : b.i[k];
    }
    vals[s] = std::move(r);
    return;
  }
  if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
          arith::ExtUIOp, arith::TruncIOp>(op)) {
    Val &a = get(op.getOperand(0));
    Type from = getElementTypeOrSelf(op.getOperand(0).getType());
    Type to = getElementTypeOrSelf(op.getResult(0).getType());
    bool unsignedExt = isa<arith::IndexCastUIOp, arith::ExtUIOp>(op);
    Val r = makeInt(a.width);
    for (size_t k = 0; k < r.i.size(); ++k)
      r.i[k] = wrapTo(to, unsignedExt ? int64_t(asUnsigned(from, a.i[k]))
                                      : a.i[k]);
    vals[op.getResult(0)] = std::move(r);
    return;
  }
  if (isa<arith::FPToSIOp>(op)) {
    Val &a = get(op.getOperand(0));
    Type to = getElementTypeOrSelf(op.getResult(0).getType());
    Val r = makeInt(a.width);
    for (size_t k = 0; k < r.i.size(); ++k)
      r.i[k] = std::isnan(a.f[k]) ? 0 : wrapTo(to, int64_t(std::trunc(a.f[k])));
    vals[op.getResult(0)] = std::move(r);
    return;
  }
  if (isa<arith::SIToFPOp>(op)) {
    Val &a = get(op.getOperand(0));
    Type to = getElementTypeOrSelf(op.getResult(0).getType());
    Val r = makeFloat(a.width);
    for (size_t k = 0; k < r.f.size(); ++k)
      r.f[k] = roundTo(to, double(a.i[k]));
    vals[op.getResult(0)] = std::move(r);
    return;
  }
  if (auto bc = dyn_cast<arith::BitcastOp>(op)) {
    Val &a = get(bc.getIn());
    Type to = getElementTypeOrSelf(bc.getType());
    if (!to.isF32() && !to.isInteger(32))
      fatal("emulator: bitcast other than f32 <-> i32");
    if (to.isF32()) {
      Val r = makeFloat(a.width);
      for (size_t k = 0; k < r.f.size(); ++k) {
        uint32_t u = uint32_t(a.i[k]);
        float f;
        std::memcpy(&f, &u, 4);
        r.f[k] = f;
      }
      vals[bc] = std::move(r);
    } else {
      Val r = makeInt(a.width);
      for (size_t k = 0; k < r.i.size(); ++k) {
        float f = float(a.f[k]);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        r.i[k] = int32_t(u);
      }
      vals[bc] = std::move(r);
    }
    return;
  }

  // GPU.
  if (auto t = dyn_cast<gpu::ThreadIdOp>(op)) {
    Val r = makeInt();
    for (int64_t k = 0; k < T; ++k)
      r.i[k] = t.getDimension() == gpu::Dimension::x ? k : 0;
    vals[t] = std::move(r);
    return;
  }
  if (auto b = dyn_cast<gpu::BlockIdOp>(op)) {
    Val r = makeInt();
    int64_t id = b.getDimension() == gpu::Dimension::x ? blockId[0]
                 : b.getDimension() == gpu::Dimension::y ? blockId[1]
                                                          : 0;
    std::fill(r.i.begin(), r.i.end(), id);
    vals[b] = std::move(r);
    return;
  }
  if (auto d = dyn_cast<gpu::DynamicSharedMemoryOp>(op)) {
    vals[d] = Val(); // only a base for memref.view
    return;
  }
  if (auto view = dyn_cast<memref::ViewOp>(op)) {
    // A static typed view of the dynamic shared memory at a uniform byte
    // offset, within the launch's dynamic_shared_bytes.
    if (!view.getSource().getDefiningOp<gpu::DynamicSharedMemoryOp>() ||
        !view.getType().hasStaticShape())
      fatal("emulator: memref.view other than a static view of "
            "gpu.dynamic_shared_memory");
    int64_t offset = get(view.getByteShift()).i[0];
    MemRefType type = view.getType();
    int64_t end =
        offset + type.getNumElements() * type.getElementTypeBitWidth() / 8;
    if (offset < 0 || end > dynamicSharedBytes)
      fatal("emulator: memref.view of bytes [" + Twine(offset) + ", " +
            Twine(end) + ") beyond the " + Twine(dynamicSharedBytes) +
            " bytes of dynamic shared memory of " + func.getName().str());
    for (auto [lo, hi] : sharedViews)
      if (offset < hi && lo < end)
        fatal("emulator: overlapping views of dynamic shared memory in " +
              func.getName().str());
    sharedViews.push_back({offset, end});
    bindShared(view, type, "dynamic shared memory");
    return;
  }
  if (isa<gpu::BarrierOp>(op)) {
    if (llvm::is_contained(mask, 0))
      fatal("emulator: gpu.barrier under a divergent mask in " +
            func.getName().str());
    ++epoch; // lockstep: every thread is here
    return;
  }
  if (isa<gpu::ReturnOp>(op))
    return;
  if (auto s = dyn_cast<gpu::ShuffleOp>(op)) {
    if (s.getMode() != gpu::ShuffleMode::XOR)
      fatal("emulator: only xor shuffles");
    Val &v = get(s.getValue());
    int64_t off = get(s.getOffset()).i[0];
    Val r = v;
    for (int64_t k = 0; k < T; ++k) {
      int64_t src = k ^ off;
      if (src < T && src / 32 == k / 32 && mask[src])
        r.f[k] = v.f[src];
    }
    vals[s.getShuffleResult()] = std::move(r);
    Val valid = makeInt();
    std::fill(valid.i.begin(), valid.i.end(), 1);
    vals[s.getValid()] = std::move(valid);
    return;
  }

  // Memory.
  auto checkIndex = [&](Buffer *buf, int64_t idx, int64_t width) {
    if (idx < 0 || idx + width > int64_t(buf->data.size()))
      fatal("emulator: out-of-bounds access to " + buf->name + " in " +
            func.getName().str() + ": index " + Twine(idx) + " of " +
            Twine(buf->data.size()));
  };
  if (auto l = dyn_cast<memref::LoadOp>(op)) {
    Buffer *buf = get(l.getMemRef()).mem;
    Val &idx = get(l.getIndices()[0]);
    Val r = makeFloat();
    for (int64_t k = 0; k < T; ++k) {
      if (!mask[k])
        continue;
      checkIndex(buf, idx.i[k], 1);
      sharedRead(buf, idx.i[k], k / 32);
      r.f[k] = buf->data[idx.i[k]];
    }
    vals[l] = std::move(r);
    return;
  }
  if (auto l = dyn_cast<vector::LoadOp>(op)) {
    Buffer *buf = get(l.getBase()).mem;
    Val &idx = get(l.getIndices()[0]);
    int64_t w = l.getVectorType().getNumElements();
    if (auto align = l.getAlignment())
      for (int64_t k = 0; k < T; ++k)
        if (mask[k] && (idx.i[k] * (int64_t(buf->elt.getIntOrFloatBitWidth()) / 8)) %
                               int64_t(*align))
          fatal("emulator: misaligned vector.load in " + func.getName().str());
    Val r = makeFloat(w);
    for (int64_t k = 0; k < T; ++k) {
      if (!mask[k])
        continue;
      checkIndex(buf, idx.i[k], w);
      for (int64_t e = 0; e < w; ++e) {
        sharedRead(buf, idx.i[k] + e, k / 32);
        r.f[k * w + e] = buf->data[idx.i[k] + e];
      }
    }
    vals[l] = std::move(r);
    return;
  }
  // A static position in a vector: its first element's flat offset and the
  // number of elements (one, or a trailing sub-vector) it designates.
  auto position = [&](VectorType vt, ArrayRef<int64_t> pos) {
    if (llvm::any_of(pos, ShapedType::isDynamic))
      fatal("emulator: dynamic vector position");
    int64_t flat = 0, size = 1;
    for (int64_t d = 0; d < vt.getRank(); ++d) {
      flat = flat * vt.getDimSize(d) + (d < int64_t(pos.size()) ? pos[d] : 0);
      if (d >= int64_t(pos.size()))
        size *= vt.getDimSize(d);
    }
    return std::make_pair(flat, size);
  };
  if (auto e = dyn_cast<vector::ExtractOp>(op)) {
    Val &v = get(e.getSource());
    auto [flat, size] = position(cast<VectorType>(e.getSource().getType()),
                                 e.getStaticPosition());
    Val r = v.isFloat ? makeFloat(size) : makeInt(size);
    for (int64_t k = 0; k < T; ++k)
      for (int64_t x = 0; x < size; ++x) {
        if (v.isFloat)
          r.f[k * size + x] = v.f[k * v.width + flat + x];
        else
          r.i[k * size + x] = v.i[k * v.width + flat + x];
      }
    vals[e] = std::move(r);
    return;
  }
  if (auto ins = dyn_cast<vector::InsertOp>(op)) {
    Val &v = get(ins.getValueToStore());
    Val r = get(ins.getDest());
    auto [flat, size] =
        position(ins.getDestVectorType(), ins.getStaticPosition());
    for (int64_t k = 0; k < T; ++k)
      for (int64_t x = 0; x < size; ++x) {
        if (r.isFloat)
          r.f[k * r.width + flat + x] = v.f[k * size + x];
        else
          r.i[k * r.width + flat + x] = v.i[k * size + x];
      }
    vals[ins] = std::move(r);
    return;
  }
  if (auto s = dyn_cast<memref::StoreOp>(op)) {
    Buffer *buf = get(s.getMemRef()).mem;
    Val &idx = get(s.getIndices()[0]);
    Val &v = get(s.getValue());
    for (int64_t k = 0; k < T; ++k) {
      if (!mask[k])
        continue;
      checkIndex(buf, idx.i[k], 1);
      sharedWrite(buf, idx.i[k], k / 32);
      buf->data[idx.i[k]] = roundTo(buf->elt, v.f[k]);
    }
    return;
  }

  // Control flow.
  if (auto y = dyn_cast<scf::YieldOp>(op)) {
    yielded.clear();
    for (Value v : y.getOperands())
      yielded.push_back(get(v));
    return;
  }
  if (auto i = dyn_cast<scf::IfOp>(op)) {
    Val &c = get(i.getCondition());
    Mask thenMask(T), elseMask(T);
    bool anyThen = false, anyElse = false;
    for (int64_t k = 0; k < T; ++k) {
      thenMask[k] = mask[k] && c.i[k];
      elseMask[k] = mask[k] && !c.i[k];
      anyThen |= thenMask[k];
      anyElse |= elseMask[k];
    }
    std::vector<Val> results;
    std::vector<Val> thenVals, elseVals;
    if (anyThen) {
      execBlock(*i.thenBlock(), thenMask);
      thenVals = yielded;
    }
    if (anyElse && i.elseBlock()) {
      execBlock(*i.elseBlock(), elseMask);
      elseVals = yielded;
    }
    for (unsigned r = 0; r < i.getNumResults(); ++r) {
      Val out = anyThen ? thenVals[r] : elseVals[r];
      if (anyThen && anyElse)
        for (int64_t k = 0; k < T; ++k)
          for (int64_t e = 0; e < out.width; ++e) {
            if (!elseMask[k])
              continue;
            if (out.isFloat)
              out.f[k * out.width + e] = elseVals[r].f[k * out.width + e];
            else
              out.i[k * out.width + e] = elseVals[r].i[k * out.width + e];
          }
      vals[i.getResult(r)] = std::move(out);
    }
    return;
  }
  if (auto f = dyn_cast<scf::ForOp>(op)) {
    Val iv = get(f.getLowerBound());
    Val ub = get(f.getUpperBound()); // copies: the body grows `vals`
    Val step = get(f.getStep());
    std::vector<Val> iter;
    for (Value v : f.getInitArgs())
      iter.push_back(get(v));
    Block *body = f.getBody();
    while (true) {
      Mask active(T);
      bool any = false;
      for (int64_t k = 0; k < T; ++k) {
        active[k] = mask[k] && iv.i[k] < ub.i[k];
        any |= active[k];
      }
      if (!any)
        break;
      vals[body->getArgument(0)] = iv;
      for (unsigned a = 0; a < iter.size(); ++a)
        vals[body->getArgument(a + 1)] = iter[a];
      execBlock(*body, active);
      for (unsigned a = 0; a < iter.size(); ++a)
        for (int64_t k = 0; k < T; ++k) {
          if (!active[k])
            continue;
          for (int64_t e = 0; e < iter[a].width; ++e) {
            int64_t at = k * iter[a].width + e;
            if (iter[a].isFloat)
              iter[a].f[at] = yielded[a].f[at];
            else
              iter[a].i[at] = yielded[a].i[at];
          }
        }
      for (int64_t k = 0; k < T; ++k)
        if (active[k])
          iv.i[k] += step.i[k];
    }
    for (unsigned a = 0; a < iter.size(); ++a)
      vals[f.getResult(a)] = std::move(iter[a]);
    return;
  }
  // m16n8k16 with 16-bit A/B and f32 C/D, PTX fragment layouts: lane =
  // 4·group + tig; A (a0..a7): a[2r + c] at row group + 8·(r%2), col
  // 2·tig + c + 8·(r/2); B (b0..b3): b[2r + c] at k = 2·tig + c + 8·r,
  // n = group; C/D (c0..c3): c[2r + c] at row group + 8·r, col 2·tig + c.
  // `fa(th, e)`, `fb`, `fc` read thread th's fragment element e.
  auto warpMma = [&](auto fa, auto fb, auto fc) {
    Val d = makeFloat(4);
    for (int64_t w0 = 0; w0 < T; w0 += 32) {
      for (int64_t lane = 0; lane < 32; ++lane)
        if (!mask[w0 + lane])
          fatal("emulator: mma.sync under a divergent mask in " +
                func.getName().str());
      double A[16][16], B[16][8], C[16][8];
      for (int64_t lane = 0; lane < 32; ++lane) {
        int64_t g = lane / 4, t = lane % 4, th = w0 + lane;
        for (int r = 0; r < 4; ++r)
          for (int cc = 0; cc < 2; ++cc)
            A[g + 8 * (r % 2)][2 * t + cc + 8 * (r / 2)] = fa(th, r * 2 + cc);
        for (int r = 0; r < 2; ++r)
          for (int cc = 0; cc < 2; ++cc) {
            B[2 * t + cc + 8 * r][g] = fb(th, r * 2 + cc);
            C[g + 8 * r][2 * t + cc] = fc(th, r * 2 + cc);
          }
      }
      for (int64_t lane = 0; lane < 32; ++lane) {
        int64_t g = lane / 4, t = lane % 4, th = w0 + lane;
        for (int r = 0; r < 2; ++r)
          for (int cc = 0; cc < 2; ++cc) {
            int row = g + 8 * r, col = 2 * t + cc;
            double acc = C[row][col];
            for (int k = 0; k < 16; ++k)
              acc += A[row][k] * B[k][col];
            d.f[th * 4 + r * 2 + cc] = double(float(acc));
          }
      }
    }
    return d;
  };
  if (auto mma = dyn_cast<nvgpu::MmaSyncOp>(op)) {
    Val &a = get(mma.getMatrixA());
    Val &b = get(mma.getMatrixB());
    Val &c = get(mma.getMatrixC());
    Val d = warpMma([&](int64_t th, int e) { return a.f[th * 8 + e]; },
                    [&](int64_t th, int e) { return b.f[th * 4 + e]; },
                    [&](int64_t th, int e) { return c.f[th * 4 + e]; });
    vals[mma.getRes()] = std::move(d);
    return;
  }
  if (auto mma = dyn_cast<NVVM::MmaOp>(op)) {
    // bf16 operands packed two to an i32 register (low half first).
    auto unpack = [&](ValueRange regs, int64_t th, int e) {
      uint32_t word = uint32_t(get(regs[e / 2]).i[th]);
      return double(bf16ToFloat(uint16_t(e % 2 ? word >> 16 : word)));
    };
    if (mma.getMultiplicandAPtxType() != NVVM::MMATypes::bf16)
      fatal("emulator: nvvm.mma.sync other than bf16");
    Val d = warpMma(
        [&](int64_t th, int e) { return unpack(mma.getOperandA(), th, e); },
        [&](int64_t th, int e) { return unpack(mma.getOperandB(), th, e); },
        [&](int64_t th, int e) { return get(mma.getOperandC()[e]).f[th]; });
    vals[mma.getRes()] = std::move(d);
    return;
  }
  if (auto ev = dyn_cast<LLVM::ExtractValueOp>(op)) {
    Val &s = get(ev.getContainer());
    int64_t k = ev.getPosition()[0];
    Val r = makeFloat();
    for (int64_t th = 0; th < T; ++th)
      r.f[th] = s.f[th * s.width + k];
    vals[ev.getResult()] = std::move(r);
    return;
  }
  if (auto bc = dyn_cast<vector::BitCastOp>(op)) {
    // vector<2xbf16> -> vector<1xi32>: the two bit patterns, low first.
    Val &v = get(bc.getSource());
    if (!bc.getSourceVectorType().getElementType().isBF16() ||
        bc.getSourceVectorType().getNumElements() != 2)
      fatal("emulator: vector.bitcast other than vector<2xbf16> -> i32");
    Val r = makeInt(1);
    for (int64_t th = 0; th < T; ++th) {
      uint32_t lo = floatToBf16(float(v.f[th * 2]));
      uint32_t hi = floatToBf16(float(v.f[th * 2 + 1]));
      r.i[th] = int32_t(lo | (hi << 16));
    }
    vals[bc.getResult()] = std::move(r);
    return;
  }
  if (auto ld = dyn_cast<nvgpu::LdMatrixOp>(op)) {
    // ldmatrix.sync.aligned.m8n8.xN{.trans}.b16 (PTX ISA, "Warp-level
    // matrix load instruction: ldmatrix"): lane 8i + r gives the address of
    // row r of matrix i (8 contiguous 16-bit elements, 16-byte aligned);
    // lane l receives in register i row l / 4, elements 2(l % 4) and
    // 2(l % 4) + 1 of matrix i, or with .trans of its transpose (column
    // l / 4, rows 2(l % 4) and 2(l % 4) + 1).
    Buffer *buf = get(ld.getSrcMemref()).mem;
    Val &idx = get(ld.getIndices()[0]);
    int64_t num = ld.getNumTiles();
    bool trans = ld.getTranspose();
    int64_t bytes = buf->elt.getIntOrFloatBitWidth() / 8;
    Val r = makeFloat(2 * num);
    for (int64_t w0 = 0; w0 < T; w0 += 32) {
      for (int64_t lane = 0; lane < 32; ++lane)
        if (!mask[w0 + lane])
          fatal("emulator: ldmatrix under a divergent mask in " +
                func.getName().str());
      for (int64_t lane = 0; lane < 8 * num; ++lane) {
        int64_t at = idx.i[w0 + lane];
        if ((at * bytes) % 16)
          fatal("emulator: misaligned ldmatrix row address in " +
                func.getName().str());
        checkIndex(buf, at, 8);
        for (int64_t e = 0; e < 8; ++e)
          sharedRead(buf, at + e, w0 / 32);
      }
      // Each matrix is one shared-memory wavefront when its 8 rows (16
      // bytes, 4 banks each) fall in 8 different bank groups, i.e. have
      // different byte addresses modulo 128 (or the same address).
      for (int64_t i = 0; i < num; ++i)
        for (int64_t r = 0; r < 8; ++r)
          for (int64_t q = 0; q < r; ++q) {
            int64_t a = idx.i[w0 + 8 * i + r], b = idx.i[w0 + 8 * i + q];
            if (a != b && (a * bytes) % 128 == (b * bytes) % 128)
              fatal("emulator: shared-memory bank conflict in an ldmatrix "
                    "of " +
                    func.getName().str() + " (rows at elements " + Twine(b) +
                    " and " + Twine(a) + ")");
          }
      for (int64_t lane = 0; lane < 32; ++lane)
        for (int64_t i = 0; i < num; ++i)
          for (int64_t c = 0; c < 2; ++c) {
            int64_t row = lane / 4, col = 2 * (lane % 4) + c;
            int64_t at = trans ? idx.i[w0 + 8 * i + col] + row
                               : idx.i[w0 + 8 * i + row] + col;
            r.f[(w0 + lane) * 2 * num + 2 * i + c] = buf->data[at];
          }
    }
    vals[ld.getRes()] = std::move(r);
    return;
  }
  if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
    // Checked now, done as late as the program allows: when a wait needs
    // its group (so a stage read before its wait holds stale data).
    Buffer *dst = get(copy.getDst()).mem;
    Buffer *src = get(copy.getSrc()).mem;
    Val &di = get(copy.getDstIndices()[0]);
    Val &si = get(copy.getSrcIndices()[0]);
    int64_t n = copy.getDstElements().getZExtValue();
    Val *count = copy.getSrcElements() ? &get(copy.getSrcElements()) : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      if (!mask[k])
        continue;
      int64_t valid = count ? count->i[k] : n;
      checkIndex(dst, di.i[k], n);
      if (valid > 0)
        checkIndex(src, si.i[k], valid);
      for (int64_t e = 0; e < n; ++e) {
        sharedWrite(dst, di.i[k] + e, k / 32);
        if (!dst->access.empty())
          dst->access[di.i[k] + e].inFlight = true;
      }
      asyncCopies[k].uncommitted.push_back(
          {dst, di.i[k], src, si.i[k], n, valid});
    }
    vals[copy.getAsyncToken()] = makeInt();
    return;
  }
  if (auto group = dyn_cast<nvgpu::DeviceAsyncCreateGroupOp>(op)) {
    for (int64_t k = 0; k < T; ++k)
      if (mask[k]) {
        AsyncCopies &a = asyncCopies[k];
        a.groups.push_back(std::move(a.uncommitted));
        a.uncommitted.clear();
      }
    vals[group.getAsyncToken()] = makeInt();
    return;
  }
  if (auto wait = dyn_cast<nvgpu::DeviceAsyncWaitOp>(op)) {
    // cp.async.wait_group n: all but the n most recent groups complete.
    size_t pending = wait.getNumGroups().value_or(0);
    for (int64_t k = 0; k < T; ++k) {
      if (!mask[k])
        continue;
      AsyncCopies &a = asyncCopies[k];
      while (a.groups.size() > pending) {
        for (const AsyncCopy &c : a.groups.front())
          for (int64_t e = 0; e < c.n; ++e) {
            c.dst->data[c.dstIdx + e] =
                e < c.valid ? c.src->data[c.srcIdx + e] : 0.0;
            if (!c.dst->access.empty()) {
              Buffer::Access &acc = c.dst->access[c.dstIdx + e];
              acc.inFlight = false;
              acc.writeEpoch = epoch;
              acc.writer = k / 32;
            }
          }
        a.groups.pop_front();
      }
    }
    return;
  }
  if (auto fe = dyn_cast<vector::FromElementsOp>(op)) {
    int64_t w = fe.getType().getNumElements();
    Val r = makeFloat(w);
    for (int64_t e = 0; e < w; ++e) {
      Val &v = get(fe.getElements()[e]);
      for (int64_t k = 0; k < T; ++k)
        r.f[k * w + e] = v.f[k];
    }
    vals[fe] = std::move(r);
    return;
  }
  fatal("emulator: unsupported op '" + op.getName().getStringRef() + "' in " +
        func.getName().str());
}

//===----------------------------------------------------------------------===//
// Launch records
//===----------------------------------------------------------------------===//

Type dtypeType(MLIRContext *ctx, StringRef name) {
  Builder b(ctx);
  if (name == "f32") return b.getF32Type();
  if (name == "f16") return b.getF16Type();
  if (name == "bf16") return b.getBF16Type();
  if (name == "f64") return b.getF64Type();
  fatal("unknown dtype " + name);
}

std::string npyDescr(StringRef dtype) {
  if (dtype == "f32") return "<f4";
  if (dtype == "f16") return "<f2";
  if (dtype == "bf16") return "<u2";
  return "<f8";
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "swiglu-gpu-emulate: run the GPU kernels of a "
                              "glu function on the CPU\n");
  DialectRegistry registry;
  glu::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  std::string errorMessage;
  auto file = openInputFile(inputFilename, &errorMessage);
  if (!file)
    fatal(errorMessage);
  sourceMgr.AddNewSourceBuffer(std::move(file), SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  std::string options = passOptions;
  if (const char *env = std::getenv("SWIGLU_GPU_EMULATE_OPTIONS"))
    options += std::string(" ") + env;
  PassManager pm(&context);
  std::unique_ptr<Pass> pass = glu::createConvertGLUToGPU();
  if (failed(pass->initializeOptions(options, [](const Twine &msg) {
        errs() << msg << "\n";
        return failure();
      })))
    fatal("bad options: " + options);
  pm.addPass(std::move(pass));
  if (failed(pm.run(*module)))
    return 1;

  auto entries = (*module)->getAttrOfType<DictionaryAttr>("glu.gpu.entries");
  auto text = entries ? entries.getAs<StringAttr>(entryName) : StringAttr();
  if (!text)
    fatal("no launch record for '" + entryName +
          "' (its body must be one glu op on its arguments)");
  Expected<json::Value> parsed = json::parse(text.getValue());
  if (!parsed)
    fatal(toString(parsed.takeError()));
  json::Object &entry = *parsed->getAsObject();
  auto kernels = SymbolTable::lookupNearestSymbolFrom<gpu::GPUModuleOp>(
      *module, StringAttr::get(&context, "glu_kernels"));

  // Inputs.
  json::Array &ins = *entry.getArray("inputs");
  if (inputs.size() != ins.size())
    fatal("expected " + Twine(ins.size()) + " inputs, got " +
          Twine(inputs.size()));
  std::vector<Buffer> buffers(ins.size());
  std::vector<SmallVector<int64_t>> shapes(ins.size());
  for (size_t a = 0; a < ins.size(); ++a) {
    StringRef dtype = *ins[a].getAsObject()->getString("dtype");
    Expected<npy::Array> array = npy::readFile(inputs[a]);
    if (!array)
      fatal(toString(array.takeError()));
    buffers[a].elt = dtypeType(&context, dtype);
    buffers[a].name = "input " + std::to_string(a);
    shapes[a].assign(array->getShape().begin(), array->getShape().end());
    int64_t n = 1;
    for (int64_t d : shapes[a])
      n *= d;
    StringRef descr = array->header.normalizedDescr;
    buffers[a].data.resize(n);
    const char *p = array->data.data();
    for (int64_t k = 0; k < n; ++k) {
      if (descr == "<f4") {
        float f;
        std::memcpy(&f, p + 4 * k, 4);
        buffers[a].data[k] = f;
      } else if (descr == "<f8") {
        std::memcpy(&buffers[a].data[k], p + 8 * k, 8);
      } else if (descr == "<f2") {
        _Float16 h;
        std::memcpy(&h, p + 2 * k, 2);
        buffers[a].data[k] = double(h);
      } else if (descr == "<u2" || descr == "|V2" || descr == "<V2") {
        uint16_t u;
        std::memcpy(&u, p + 2 * k, 2);
        buffers[a].data[k] = bf16ToFloat(u);
      } else {
        fatal("unsupported .npy dtype " + descr);
      }
    }
  }

  // Sizes.
  StringMap<int64_t> sizes;
  for (auto &[name, rule] : *entry.getObject("sizes")) {
    const json::Object &r = *rule.getAsObject();
    int64_t arg = *r.getInteger("arg");
    int64_t v = 1;
    for (const json::Value &d : *r.getArray("dims"))
      v *= shapes[arg][*d.getAsInteger()];
    sizes[name.str()] = v / *r.getInteger("div");
  }

  // Output and temporaries.
  json::Object &out = *(*entry.getArray("outputs"))[0].getAsObject();
  StringRef outDtype = *out.getString("dtype");
  SmallVector<int64_t> outShape;
  if (auto like = out.getInteger("shape_like")) {
    outShape = shapes[*like];
  } else {
    int64_t x = *out.getInteger("shape_batch_of");
    outShape.assign(shapes[x].begin(), shapes[x].end() - 1);
    json::Array &declared = *out.getArray("shape");
    outShape.push_back(shapes.size() ? 0 : 0);
    // The last dim: the size the launches write (O, or F for gate_up).
    int64_t last = *declared.back().getAsInteger();
    outShape.back() = last >= 0 ? last : -1;
  }
  StringMap<Buffer> temps;
  for (const json::Value &t : *entry.getArray("temporaries")) {
    const json::Object &o = *t.getAsObject();
    Buffer &b = temps[*o.getString("name")];
    b.elt = dtypeType(&context, *o.getString("dtype"));
    b.name = o.getString("name")->str();
    int64_t n = 1;
    for (const json::Value &s : *o.getArray("elements"))
      n *= sizes[*s.getAsString()];
    b.data.assign(n, std::numeric_limits<double>::quiet_NaN());
  }
  std::string op = entry.getString("op")->str();
  int64_t lastDim = op == "glu.gate_up" ? sizes["F"] : sizes.lookup("O");
  if (op != "glu.gate")
    outShape.back() = lastDim;
  int64_t outNumel = 1;
  for (int64_t d : outShape)
    outNumel *= d;
  Buffer result;
  result.elt = dtypeType(&context, outDtype);
  result.name = "result";
  result.data.assign(outNumel, std::numeric_limits<double>::quiet_NaN());

  // Launches.
  int64_t tokens = sizes.count("M") ? sizes["M"] : 0;
  for (const json::Value &l : *entry.getArray("launches")) {
    const json::Object &launch = *l.getAsObject();
    const json::Array &range = *launch.getArray("tokens");
    int64_t lo = *range[0].getAsInteger(), hi = *range[1].getAsInteger();
    if (tokens < lo || (hi >= 0 && tokens > hi))
      continue;
    StringRef name = *launch.getString("kernel");
    auto func = kernels.lookupSymbol<gpu::GPUFuncOp>(name);
    if (!func)
      fatal("no kernel " + name);
    std::array<int64_t, 2> grid;
    const json::Array &g = *launch.getArray("grid");
    for (int d = 0; d < 2; ++d) {
      const json::Array &dim = *g[d].getAsArray();
      int64_t size = sizes[*dim[0].getAsString()];
      int64_t tile = *dim[1].getAsInteger();
      grid[d] = (size + tile - 1) / tile;
    }
    int64_t block = *(*launch.getArray("block"))[0].getAsInteger();
    int64_t sharedBytes = *launch.getInteger("dynamic_shared_bytes");
    std::vector<Buffer *> bufs;
    std::vector<int64_t> scalars;
    for (const json::Value &arg : *launch.getArray("args")) {
      StringRef s = *arg.getAsString();
      if (s.consume_front("size:"))
        scalars.push_back(sizes[s]);
      else if (s.consume_front("arg"))
        bufs.push_back(&buffers[std::stoi(s.str())]);
      else if (s == "result")
        bufs.push_back(&result);
      else
        bufs.push_back(&temps[s]);
    }
    Emulator(func, block, grid, sharedBytes, bufs, scalars).run();
  }

  // Output.
  if (outputs.size() != 1)
    fatal("expected one -o");
  std::vector<char> bytes;
  int64_t itemSize = outDtype == "f32" ? 4 : outDtype == "f64" ? 8 : 2;
  bytes.resize(outNumel * itemSize);
  for (int64_t k = 0; k < outNumel; ++k) {
    double v = result.data[k];
    char *p = bytes.data() + k * itemSize;
    if (outDtype == "f32") {
      float f = float(v);
      std::memcpy(p, &f, 4);
    } else if (outDtype == "f16") {
      _Float16 h = _Float16(float(v));
      std::memcpy(p, &h, 2);
    } else if (outDtype == "bf16") {
      uint16_t u = floatToBf16(float(v));
      std::memcpy(p, &u, 2);
    } else {
      std::memcpy(p, &v, 8);
    }
  }
  std::error_code ec;
  raw_fd_ostream os(outputs[0], ec);
  if (ec)
    fatal("cannot write " + outputs[0] + ": " + ec.message());
  npy::write(os, npyDescr(outDtype), outShape, bytes);
  return 0;
}
