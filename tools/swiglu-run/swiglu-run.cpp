//===- swiglu-run.cpp - JIT-run one function of an MLIR file on .npy data -===//
//
// swiglu-run parses an MLIR file, lowers it for the host CPU with the glu CPU
// reference pipeline (mlir::glu::buildCPUReferencePipeline), JIT-compiles it
// with MLIR's ExecutionEngine, calls one function on arrays read from `.npy`
// files, writes the results as `.npy` files, and can time repeated calls.
//
// Supported entry points
// ----------------------
// A public func.func whose arguments and results are all ranked tensors (any
// rank, static or dynamic dims) of one of the element types below. Dynamic
// dims take their size from the input file; static dims must match it.
//
// Element types at the .npy boundary
// ----------------------------------
//   MLIR   npy dtype (inputs)    npy dtype (outputs)
//   f64    <f8                   <f8
//   f32    <f4                   <f4
//   f16    <f2                   <f2
//   bf16   <u2, <V2, |V2         <u2
//   i64    <i8                   <i8
//   i32    <i4                   <i4
//   i16    <i2                   <i2
//   i8     |i1                   |i1
//   i1     |b1                   |b1
//
// numpy has no bfloat16, so a bf16 tensor crosses the boundary as its raw
// 16-bit patterns: `arr.view(np.uint16)` of an ml_dtypes.bfloat16 array gives
// `<u2`, and `np.save` of the bfloat16 array itself writes `<V2`; both are
// accepted. bf16 results are written as `<u2`; read them back with
// `np.load(path).view(ml_dtypes.bfloat16)`. Arrays must be C-ordered and
// little-endian ('=' native order is accepted as this host is little-endian).
//
// Calling convention (ABI)
// ------------------------
// Before lowering, the runner sets `llvm.emit_c_interface` on the entry point,
// so that func-to-llvm emits `_mlir_ciface_<name>`, the documented C-facing
// wrapper:
//
//   void _mlir_ciface_<name>(Results *results, Desc0 *arg0, Desc1 *arg1, ...)
//
// where every argument is passed as a pointer to its memref descriptor
//
//   struct { T *allocated; T *aligned; int64_t offset;
//            int64_t sizes[rank]; int64_t strides[rank]; }
//
// (the two arrays are absent for rank 0), and the results come back through
// the leading pointer: to one descriptor when there is a single result, to a
// struct of descriptors when there are several, and the pointer is absent
// when there are none. Every field is 8 bytes wide, so a descriptor is an
// array of 3 + 2 * rank int64 words and a struct of descriptors is their
// concatenation; that is how this file stores them (`DescriptorRef`).
//
// The ExecutionEngine generates a "packed" wrapper `_mlir__mlir_ciface_<name>`
// taking `void **` (one pointer per argument of the C wrapper), which lets us
// call a signature known only at run time without libffi. Rather than trust
// the layout above blindly, the runner checks the lowered LLVM-dialect
// signatures of both `<name>` and `_mlir_ciface_<name>` against it before
// JIT-compiling (verifyLoweredSignature), so a pipeline that changes the
// calling convention (bare pointers, out-params, 32-bit indices) gives a clear
// error instead of memory corruption.
//
// Memory
// ------
// Inputs are copied into 64-byte aligned buffers that the runner owns. Their
// function arguments are marked `bufferization.writable = false` (unless the
// input sets that attribute itself), so bufferization never writes into them
// and repeated calls see the same inputs. Per the pipeline's contract, results
// are freshly malloc'ed buffers owned by the caller: the runner frees every
// result's `allocated` pointer after each call with free(), except null, any
// pointer that is one of the input buffers, and pointers already freed.
//
// Runtime
// -------
// The JIT resolves external calls from this process: libm, libgcc_s, and
// libmlir_c_runner_utils, which swiglu-run links for memref.copy and the bf16
// conversions (registerRuntimeSymbols). --shared-libs adds more libraries.
//
//===----------------------------------------------------------------------===//

#include "Mpi.h"
#include "Npy.h"

#include "glu/InitAll.h"
#include "glu/Pipelines/Pipelines.h"
#include "glu/Pipelines/Target.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <numeric>

using namespace mlir;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace cl = llvm::cl;
namespace npy = swiglu::npy;

static_assert(sizeof(void *) == sizeof(int64_t),
              "memref descriptors are handled as arrays of 64-bit words");

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

static cl::OptionCategory runnerCategory("swiglu-run options");

static cl::opt<std::string> inputFilename(cl::Positional, cl::Required,
                                          cl::desc("<input.mlir>"),
                                          cl::cat(runnerCategory));

static cl::opt<std::string>
    entryName("entry",
              cl::desc("Function to run (default: the only public function)"),
              cl::value_desc("name"), cl::cat(runnerCategory));

static cl::list<std::string>
    inputFiles("i",
               cl::desc("Input array, one per function argument, in order"),
               cl::value_desc("file.npy"), cl::cat(runnerCategory));

static cl::list<std::string> outputFiles(
    "o",
    cl::desc("Output file, one per function result, in order (give none to "
             "run without writing results)"),
    cl::value_desc("file.npy"), cl::cat(runnerCategory));

static cl::opt<unsigned>
    repeatCount("repeat", cl::desc("Number of timed calls (default 1)"),
                cl::value_desc("N"), cl::init(1), cl::cat(runnerCategory));

static cl::opt<unsigned>
    warmupCount("warmup",
                cl::desc("Number of untimed calls before the timed ones"),
                cl::value_desc("N"), cl::init(0), cl::cat(runnerCategory));

static cl::opt<bool> printTime(
    "time",
    cl::desc("Print the timing line even for a single call (it is printed "
             "whenever --repeat is above 1)"),
    cl::cat(runnerCategory));

static cl::opt<unsigned>
    optLevel("O",
             cl::desc("LLVM optimization level of the JIT, 0-3 "
                      "(default 2); -O3 and -O=3 both work"),
             cl::Prefix, cl::init(2), cl::cat(runnerCategory));

static cl::opt<bool> printLoweredIR(
    "print-ir-after-lowering",
    cl::desc("Print the module to stderr after the lowering pipeline, before "
             "JIT compilation"),
    cl::cat(runnerCategory));

static cl::opt<std::string> pipelineText(
    "pipeline",
    cl::desc("Lowering pipeline: glu-cpu-reference-pipeline (default, the "
             "reference semantics) or glu-cpu-pipeline (the fast kernels), "
             "with options in braces, e.g. 'glu-cpu-pipeline{threads=2}'"),
    cl::value_desc("pipeline"), cl::init("glu-cpu-reference-pipeline"),
    cl::cat(runnerCategory));

static cl::opt<std::string> targetCPU(
    "target-cpu",
    cl::desc("CPU the JIT compiles for, as LLVM names it (x86-64-v3, "
             "icelake-server, znver4, ...), or host (default). Give "
             "glu-cpu-pipeline the same target-cpu so that its kernels are "
             "chosen for that CPU too"),
    cl::value_desc("cpu"), cl::init("host"), cl::cat(runnerCategory));

static cl::opt<std::string> targetFeatures(
    "target-features",
    cl::desc("Changes to the CPU's features for the JIT, LLVM's names "
             "('-avx512bf16,-f16c'); as glu-cpu-pipeline's option"),
    cl::value_desc("+a,-b"), cl::init(""), cl::cat(runnerCategory));

static cl::opt<std::string> objectFile(
    "object-file",
    cl::desc("Also write the JIT-compiled code to this object file (to "
             "inspect its code or the symbols it needs)"),
    cl::value_desc("file.o"), cl::init(""), cl::cat(runnerCategory));

static cl::list<std::string> sharedLibs(
    "shared-libs",
    cl::desc("Extra shared libraries for the JIT to load and resolve symbols "
             "from (comma separated). Not needed for glu programs: libm and "
             "the rest of this process are searched already"),
    cl::value_desc("lib.so,..."), cl::CommaSeparated, cl::cat(runnerCategory));

#ifndef SWIGLU_MPI_LIBRARY
#define SWIGLU_MPI_LIBRARY "libmpi.so.40"
#endif
static cl::opt<std::string> mpiLibrary(
    "mpi-library",
    cl::desc("MPI library that code from glu-shard calls, loaded only for "
             "such modules (default: the OpenMPI found at build time); run "
             "under mpirun, rank 0 writes the outputs and the timing line"),
    cl::value_desc("libmpi.so"), cl::init(SWIGLU_MPI_LIBRARY),
    cl::cat(runnerCategory));

static constexpr const char *kOverview =
    R"(JIT-compile one function of an MLIR file for this CPU and run it on .npy arrays

The module is lowered with the glu CPU reference pipeline. The function must be
public; its arguments and results must all be ranked tensors (any rank, static
or dynamic dims) of these element types, which cross the .npy boundary as:

  f64 '<f8'   f32 '<f4'   f16 '<f2'   i64 '<i8'   i32 '<i4'   i16 '<i2'
  i8 '|i1'    i1 '|b1'
  bf16        its raw 16-bit patterns: '<u2', what arr.view(np.uint16) of an
              ml_dtypes.bfloat16 array gives; inputs may also be '<V2'/'|V2',
              what np.save writes for the bfloat16 array itself. bf16 results
              are written as '<u2': np.load(f).view(ml_dtypes.bfloat16).

Arrays must be C-ordered and little-endian. Outputs appear only when the whole
run succeeded. With --repeat above 1 (or --time), one line goes to stdout:

  swiglu-run: @<func> calls=<N> min_ms=<..> median_ms=<..> mean_ms=<..>

Example:
  swiglu-run ffn.mlir --entry=swiglu -i x.npy -i w.npy -o y.npy --warmup=2 --repeat=10

MLIR's pass manager options (--mlir-print-ir-after-all, --mlir-pass-statistics,
...) are accepted for debugging the lowering.
)";

//===----------------------------------------------------------------------===//
// Element types and signatures
//===----------------------------------------------------------------------===//

namespace {
/// How one tensor element type is stored in memory and in `.npy` files.
struct ElementKind {
  /// The MLIR spelling of the element type, e.g. "bf16".
  StringRef mlirName;
  size_t byteWidth;
  /// The dtype written for results, and named in error messages.
  StringRef outputDescr;
  /// Normalized dtypes accepted for arguments (see npy::Header).
  llvm::SmallVector<StringRef, 3> inputDescrs;
};

/// One argument or result of the entry point.
struct TensorSpec {
  RankedTensorType type;
  const ElementKind *kind;
};

/// The entry point and its signature, kept once the module is lowered.
struct EntryPoint {
  std::string name;
  llvm::SmallVector<TensorSpec> args;
  llvm::SmallVector<TensorSpec> results;
};
} // namespace

static const ElementKind kElementKinds[] = {
    {"f64", 8, "<f8", {"<f8"}}, {"f32", 4, "<f4", {"<f4"}},
    {"f16", 2, "<f2", {"<f2"}}, {"bf16", 2, "<u2", {"<u2", "<V2", "|V2"}},
    {"i64", 8, "<i8", {"<i8"}}, {"i32", 4, "<i4", {"<i4"}},
    {"i16", 2, "<i2", {"<i2"}}, {"i8", 1, "|i1", {"|i1"}},
    {"i1", 1, "|b1", {"|b1"}},
};

/// Returns `type` as MLIR prints it.
static std::string toString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// Returns how `type` crosses the .npy boundary, or null if it is not one of
/// the supported element types (signless integers and the floats above).
static const ElementKind *lookupElementKind(Type type) {
  if (!isa<FloatType>(type) && !type.isSignlessInteger())
    return nullptr;
  std::string name = toString(type);
  for (const ElementKind &kind : kElementKinds)
    if (kind.mlirName == name)
      return &kind;
  return nullptr;
}

/// Describes `type` as a supported tensor, or fails naming `what` (e.g.
/// "argument 2 of @main").
static Expected<TensorSpec> getTensorSpec(Type type, const llvm::Twine &what) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  const ElementKind *kind =
      tensorType ? lookupElementKind(tensorType.getElementType()) : nullptr;
  if (!tensorType || tensorType.getEncoding() || !kind)
    return llvm::createStringError(
        what + " has type '" + toString(type) +
        "', but swiglu-run only supports ranked tensors (without encoding) "
        "of f64, f32, f16, bf16, i64, i32, i16, i8 or i1");
  return TensorSpec{tensorType, kind};
}

/// Picks the function to run: `--entry` if given, else the only public
/// function with a body.
static Expected<func::FuncOp>
findEntryFunction(ModuleOp module, StringRef requested, StringRef fileName) {
  if (!requested.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(requested);
    if (!func)
      return llvm::createStringError("no func.func @" + requested + " in '" +
                                     fileName + "'");
    if (func.isExternal())
      return llvm::createStringError("@" + requested +
                                     " is a declaration without a body");
    if (!func.isPublic())
      return llvm::createStringError(
          "@" + requested + " is private; only public functions can be run");
    return func;
  }
  llvm::SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      candidates.push_back(func);
  if (candidates.size() == 1)
    return candidates.front();
  if (candidates.empty())
    return llvm::createStringError("'" + fileName +
                                   "' has no public func.func with a body");
  std::string names;
  llvm::raw_string_ostream os(names);
  llvm::interleaveComma(candidates, os,
                        [&](func::FuncOp f) { os << '@' << f.getSymName(); });
  return llvm::createStringError(
      "'" + fileName + "' has " + llvm::Twine(candidates.size()) +
      " public functions (" + names + "); choose one with --entry=<name>");
}

/// Checks that every argument and result of `func` is a supported tensor.
static Expected<EntryPoint> getEntryPoint(func::FuncOp func) {
  EntryPoint entry;
  entry.name = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (auto [index, argType] : llvm::enumerate(type.getInputs())) {
    Expected<TensorSpec> spec = getTensorSpec(
        argType, "argument " + llvm::Twine(index) + " of @" + entry.name);
    if (!spec)
      return spec.takeError();
    entry.args.push_back(*spec);
  }
  for (auto [index, resultType] : llvm::enumerate(type.getResults())) {
    Expected<TensorSpec> spec = getTensorSpec(
        resultType, "result " + llvm::Twine(index) + " of @" + entry.name);
    if (!spec)
      return spec.takeError();
    entry.results.push_back(*spec);
  }
  return entry;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

/// Checks, before anything runs, that every output can be created: its
/// directory exists, it is not a directory itself, and no two results would
/// go to the same file.
static Error checkOutputPaths(llvm::ArrayRef<std::string> paths) {
  llvm::StringSet<> seen;
  for (const std::string &path : paths) {
    StringRef dir = llvm::sys::path::parent_path(path);
    if (dir.empty())
      dir = ".";
    if (!llvm::sys::fs::is_directory(dir))
      return llvm::createStringError("cannot write output '" + path +
                                     "': directory '" + dir +
                                     "' does not exist");
    if (llvm::sys::fs::is_directory(path))
      return llvm::createStringError("cannot write output '" + path +
                                     "': it is a directory");
    if (!seen.insert(path).second)
      return llvm::createStringError("output '" + path +
                                     "' is given more than once");
  }
  return Error::success();
}

/// Checks that `array` (read from `file`) can be argument `index` of `entry`.
static Error checkInputMatches(const npy::Array &array, const TensorSpec &spec,
                               unsigned index, const EntryPoint &entry,
                               StringRef file) {
  std::string what =
      ("argument " + llvm::Twine(index) + " of @" + entry.name).str();
  const ElementKind &kind = *spec.kind;
  if (!llvm::is_contained(kind.inputDescrs, array.header.normalizedDescr))
    return llvm::createStringError(what + " expects " + kind.mlirName +
                                   " (npy dtype '" + kind.outputDescr +
                                   "'), but '" + file + "' holds '" +
                                   array.getDescr() + "'");
  ArrayRef<int64_t> typeShape = spec.type.getShape();
  ArrayRef<int64_t> fileShape = array.getShape();
  if (typeShape.size() != fileShape.size())
    return llvm::createStringError(
        what + " is a rank-" + llvm::Twine(typeShape.size()) + " tensor (" +
        toString(spec.type) + "), but '" + file + "' holds a rank-" +
        llvm::Twine(fileShape.size()) + " array of shape " +
        npy::formatShape(fileShape));
  for (auto [dim, sizes] : llvm::enumerate(llvm::zip(typeShape, fileShape))) {
    auto [typeSize, fileSize] = sizes;
    if (!ShapedType::isDynamic(typeSize) && typeSize != fileSize)
      return llvm::createStringError(
          llvm::formatv("{0}: dim {1} is {2} in the function type but {3} "
                        "in '{4}'",
                        what, dim, typeSize, fileSize, file)
              .str());
  }
  return Error::success();
}

/// Reads one `.npy` file per argument and checks it against the signature.
static Expected<std::vector<npy::Array>>
loadInputs(const EntryPoint &entry, llvm::ArrayRef<std::string> files) {
  if (files.size() != entry.args.size())
    return llvm::createStringError(llvm::formatv(
        "@{0} takes {1} argument(s), but {2} input file(s) were given with -i",
        entry.name, entry.args.size(), files.size()));
  std::vector<npy::Array> arrays;
  for (auto [index, file] : llvm::enumerate(files)) {
    Expected<npy::Array> array = npy::readFile(file);
    if (!array)
      return array.takeError();
    if (Error err =
            checkInputMatches(*array, entry.args[index], index, entry, file))
      return std::move(err);
    arrays.push_back(std::move(*array));
  }
  return arrays;
}

//===----------------------------------------------------------------------===//
// Lowering and JIT compilation
//===----------------------------------------------------------------------===//

/// Returns the LLVM-dialect struct of a memref descriptor of `rank`.
static Type getDescriptorType(MLIRContext *ctx, unsigned rank) {
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);
  llvm::SmallVector<Type> fields = {ptr, ptr, i64};
  if (rank > 0) {
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
  }
  return LLVM::LLVMStructType::getLiteral(ctx, fields);
}

/// Checks that the lowered module exposes `entry` with the C interface that
/// the file header describes, so that calling it through the word arrays of
/// `Invocation` is correct.
static Error verifyLoweredSignature(ModuleOp module, const EntryPoint &entry) {
  MLIRContext *ctx = module.getContext();
  std::string wrapperName = "_mlir_ciface_" + entry.name;
  auto func = module.lookupSymbol<LLVM::LLVMFuncOp>(entry.name);
  auto wrapper = module.lookupSymbol<LLVM::LLVMFuncOp>(wrapperName);
  if (!func || !wrapper)
    return llvm::createStringError(
        "after lowering, the module has no llvm.func @" +
        (func ? wrapperName : entry.name) +
        "; the pipeline did not produce the C interface of the entry point");

  auto mismatch = [&](const std::string &what, Type expected, Type actual) {
    return llvm::createStringError(
        "after lowering, " + what + " is " + toString(actual) +
        " where swiglu-run expects " + toString(expected) +
        "; the pipeline changed the memref calling convention");
  };

  // The results of the original function, packed into one struct if several.
  llvm::SmallVector<Type> resultDescriptors;
  for (const TensorSpec &result : entry.results)
    resultDescriptors.push_back(getDescriptorType(ctx, result.type.getRank()));
  Type expectedResult =
      resultDescriptors.empty() ? LLVM::LLVMVoidType::get(ctx)
      : resultDescriptors.size() == 1
          ? resultDescriptors.front()
          : LLVM::LLVMStructType::getLiteral(ctx, resultDescriptors);
  Type actualResult = func.getFunctionType().getReturnType();
  if (actualResult != expectedResult)
    return mismatch("the result type of @" + entry.name, expectedResult,
                    actualResult);

  // The function itself takes each memref argument expanded into
  // (allocated, aligned, offset, sizes..., strides...): a pipeline that
  // changed an argument's rank (e.g. packed weights) shows here.
  size_t expanded = 0;
  for (const TensorSpec &arg : entry.args)
    expanded += 3 + 2 * arg.type.getRank();
  if (func.getFunctionType().getNumParams() != expanded)
    return llvm::createStringError(
        "after lowering, @" + entry.name +
        " takes other arguments than it declares: the pipeline changed its "
        "signature (glu-cpu-pipeline packs argument weights at load time; "
        "run it with pack-at-load=false, or run the packing function first: "
        "see convert-glu-to-cpu-kernels)");

  // The C wrapper: void(ptr results?, ptr arg0, ptr arg1, ...).
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  size_t numParams = entry.args.size() + (entry.results.empty() ? 0 : 1);
  llvm::SmallVector<Type> params(numParams, ptr);
  auto expectedWrapper =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), params);
  if (wrapper.getFunctionType() != expectedWrapper)
    return mismatch("the type of @" + wrapperName, expectedWrapper,
                    wrapper.getFunctionType());
  return Error::success();
}

/// Lowers `module` to the LLVM dialect with the glu CPU reference pipeline,
/// after asking for the C interface of `func` and protecting its arguments
/// from being written (see the file header).
static Error lowerToLLVM(ModuleOp module, func::FuncOp func,
                         const EntryPoint &entry) {
  MLIRContext *ctx = module.getContext();
  glu::prepareCEntryPoint(func);

  PassManager pm(ctx, module.getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return llvm::createStringError("invalid pass manager options");
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline(pipelineText, pm, errorStream)))
    return llvm::createStringError("invalid --pipeline '" + pipelineText +
                                   "': " + errors);
  if (failed(pm.run(module)))
    return llvm::createStringError("lowering @" + entry.name + " with " +
                                   pipelineText +
                                   " failed (see the diagnostics above)");
  if (printLoweredIR) {
    module.print(llvm::errs());
    llvm::errs() << '\n';
  }
  return verifyLoweredSignature(module, entry);
}

/// Prepares the JIT compilation of the lowered module for --target-cpu (the
/// host by default) at LLVM optimization `level` (compilation itself happens
/// at the first lookup).
static Expected<std::unique_ptr<ExecutionEngine>>
createExecutionEngine(ModuleOp module, unsigned level,
                      llvm::ArrayRef<std::string> libs) {
  std::string error;
  FailureOr<glu::CPUTarget> target =
      glu::resolveCPUTarget(targetCPU, targetFeatures, error);
  if (failed(target))
    return llvm::createStringError(error);
  std::unique_ptr<llvm::TargetMachine> tm = target->createMachine();
  if (!tm)
    return llvm::createStringError("no LLVM target machine for " +
                                   target->triple);
  auto codeGenLevel = static_cast<llvm::CodeGenOptLevel>(level);
  tm->setOptLevel(codeGenLevel);

  llvm::SmallVector<StringRef> libPaths(libs.begin(), libs.end());
  std::function<Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(level, /*sizeLevel=*/0, tm.get());
  ExecutionEngineOptions options;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = codeGenLevel;
  options.sharedLibPaths = libPaths;
  options.enableObjectDump = !objectFile.empty();
  return ExecutionEngine::create(module, options, std::move(tm));
}

//===----------------------------------------------------------------------===//
// Runtime support
//===----------------------------------------------------------------------===//

/// Makes the runtime functions that lowered code may call visible to the JIT.
///
/// The JIT resolves external symbols from this process: libm (expf, erff,
/// tanhf, ...) and MLIR's libmlir_c_runner_utils, which swiglu-run links for
/// `memrefCopy` (what a memref.copy between non-contiguous memrefs becomes).
/// Registering memrefCopy by address also keeps that library linked. The
/// pipelines emit no call of compiler-rt's conversion helpers
/// (glu-expand-float-conversions), so what the JIT runs needs no more than
/// what a shared library of swiglu-compile needs (check it with
/// --object-file).
static void registerRuntimeSymbols(ExecutionEngine &engine) {
  engine.registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("memrefCopy")] = {
        llvm::orc::ExecutorAddr::fromPtr(&memrefCopy),
        llvm::JITSymbolFlags::Exported};
    return symbols;
  });
}

//===----------------------------------------------------------------------===//
// Calling
//===----------------------------------------------------------------------===//

namespace {
/// A view of one memref descriptor stored as 3 + 2 * rank int64 words:
/// allocated, aligned, offset, sizes[rank], strides[rank].
class DescriptorRef {
public:
  DescriptorRef(int64_t *words, unsigned rank) : words(words), rank(rank) {}

  static size_t getNumWords(unsigned rank) { return 3 + 2 * size_t(rank); }

  void *getAllocated() const { return getPointer(0); }
  const char *getAligned() const {
    return static_cast<const char *>(getPointer(1));
  }
  int64_t getOffset() const { return words[2]; }
  ArrayRef<int64_t> getSizes() const { return {words + 3, rank}; }
  ArrayRef<int64_t> getStrides() const { return {words + 3 + rank, rank}; }

  /// Describes a C-ordered array of `shape` at `data`.
  void setContiguous(void *data, ArrayRef<int64_t> shape) {
    std::memcpy(&words[0], &data, sizeof(data));
    std::memcpy(&words[1], &data, sizeof(data));
    words[2] = 0;
    int64_t stride = 1;
    for (int dim = static_cast<int>(rank) - 1; dim >= 0; --dim) {
      words[3 + dim] = shape[dim];
      words[3 + rank + dim] = stride;
      stride *= shape[dim];
    }
  }

private:
  void *getPointer(unsigned index) const {
    void *ptr;
    std::memcpy(&ptr, &words[index], sizeof(ptr));
    return ptr;
  }

  int64_t *words;
  unsigned rank;
};

/// The argument and result storage of calls to the packed C wrapper of an
/// entry point, and the ownership rules of its results.
class Invocation {
public:
  Invocation(const EntryPoint &entry, std::vector<npy::Array> &inputs);
  ~Invocation() { freeResults(); }
  Invocation(const Invocation &) = delete;
  Invocation &operator=(const Invocation &) = delete;

  /// Calls `packedFn`; the results of any previous call must have been freed.
  void call(void (*packedFn)(void **));

  /// Returns the descriptor of result `index` of the last call.
  DescriptorRef getResult(unsigned index);

  /// Frees the buffers of the last call's results (see the file header).
  void freeResults();

private:
  const EntryPoint &entry;
  /// The descriptors of all arguments, then of all results, back to back.
  std::vector<int64_t> argWords, resultWords;
  /// Word offset of each argument's/result's descriptor in its vector.
  llvm::SmallVector<size_t> argOffsets, resultOffsets;
  /// The arguments of the C wrapper (pointers to descriptors), and the
  /// `void **` array of the packed wrapper, pointing at those.
  llvm::SmallVector<void *> wrapperArgs, packedArgs;
  llvm::SmallPtrSet<const void *, 8> inputBuffers;
  bool hasLiveResults = false;
};
} // namespace

Invocation::Invocation(const EntryPoint &entry, std::vector<npy::Array> &inputs)
    : entry(entry) {
  for (const TensorSpec &arg : entry.args) {
    argOffsets.push_back(argWords.size());
    argWords.resize(argWords.size() +
                    DescriptorRef::getNumWords(arg.type.getRank()));
  }
  for (const TensorSpec &result : entry.results) {
    resultOffsets.push_back(resultWords.size());
    resultWords.resize(resultWords.size() +
                       DescriptorRef::getNumWords(result.type.getRank()));
  }

  // The C wrapper takes a results pointer only if there are results.
  if (!entry.results.empty())
    wrapperArgs.push_back(resultWords.data());
  for (auto [index, input] : llvm::enumerate(inputs)) {
    DescriptorRef desc(argWords.data() + argOffsets[index],
                       entry.args[index].type.getRank());
    desc.setContiguous(input.data.data(), input.getShape());
    wrapperArgs.push_back(argWords.data() + argOffsets[index]);
    inputBuffers.insert(input.data.data());
  }
  for (void *&arg : wrapperArgs)
    packedArgs.push_back(&arg);
}

void Invocation::call(void (*packedFn)(void **)) {
  assert(!hasLiveResults && "free the previous results first");
  std::fill(resultWords.begin(), resultWords.end(), 0);
  packedFn(packedArgs.data());
  hasLiveResults = true;
}

DescriptorRef Invocation::getResult(unsigned index) {
  return DescriptorRef(resultWords.data() + resultOffsets[index],
                       entry.results[index].type.getRank());
}

void Invocation::freeResults() {
  if (!hasLiveResults)
    return;
  llvm::SmallPtrSet<void *, 8> freed;
  for (unsigned i = 0, e = entry.results.size(); i < e; ++i) {
    void *allocated = getResult(i).getAllocated();
    if (!allocated || inputBuffers.contains(allocated) ||
        !freed.insert(allocated).second)
      continue;
    std::free(allocated);
  }
  hasLiveResults = false;
}

/// Per-call wall times in milliseconds.
using Timings = std::vector<double>;

/// Makes `warmup` untimed then `repeat` timed calls. The results of the last
/// call are left alive in `invocation`.
static Timings callRepeatedly(Invocation &invocation, void (*packedFn)(void **),
                              unsigned warmup, unsigned repeat) {
  using Clock = std::chrono::steady_clock;
  Timings timings;
  for (unsigned i = 0, e = warmup + repeat; i < e; ++i) {
    if (i > 0)
      invocation.freeResults();
    Clock::time_point start = Clock::now();
    invocation.call(packedFn);
    Clock::time_point end = Clock::now();
    if (i >= warmup)
      timings.push_back(
          std::chrono::duration<double, std::milli>(end - start).count());
  }
  return timings;
}

static void printTimings(StringRef name, Timings timings) {
  llvm::sort(timings);
  size_t n = timings.size();
  double median =
      n % 2 ? timings[n / 2] : (timings[n / 2 - 1] + timings[n / 2]) / 2;
  double mean = std::accumulate(timings.begin(), timings.end(), 0.0) / n;
  llvm::outs() << llvm::formatv(
      "swiglu-run: @{0} calls={1} min_ms={2:f4} median_ms={3:f4} "
      "mean_ms={4:f4}\n",
      name, n, timings.front(), median, mean);
  llvm::outs().flush();
}

//===----------------------------------------------------------------------===//
// Outputs
//===----------------------------------------------------------------------===//

/// Copies the elements of a strided array into `out` in C order.
static void gatherInCOrder(const char *base, ArrayRef<int64_t> sizes,
                           ArrayRef<int64_t> strides, size_t elemSize,
                           char *&out) {
  if (sizes.empty()) {
    std::memcpy(out, base, elemSize);
    out += elemSize;
    return;
  }
  for (int64_t i = 0; i < sizes.front(); ++i)
    gatherInCOrder(base + i * strides.front() * static_cast<int64_t>(elemSize),
                   sizes.drop_front(), strides.drop_front(), elemSize, out);
}

/// Returns the bytes of `result` in C order: a view of the result's memory
/// when it is already contiguous, else a copy made in `scratch`.
static Expected<ArrayRef<char>> getResultBytes(DescriptorRef result,
                                               const TensorSpec &spec,
                                               unsigned index,
                                               npy::AlignedBuffer &scratch) {
  ArrayRef<int64_t> sizes = result.getSizes();
  int64_t numElements = 1;
  for (int64_t size : sizes) {
    if (size < 0)
      return llvm::createStringError(llvm::formatv(
          "result {0} has a negative size in its descriptor", index));
    numElements *= size;
  }
  size_t elemSize = spec.kind->byteWidth;
  size_t numBytes = static_cast<size_t>(numElements) * elemSize;
  if (numElements == 0)
    return ArrayRef<char>();
  if (!result.getAligned())
    return llvm::createStringError(llvm::formatv(
        "result {0} has a null data pointer in its descriptor", index));
  const char *base = result.getAligned() + result.getOffset() * elemSize;

  bool contiguous = true;
  int64_t expectedStride = 1;
  for (int dim = static_cast<int>(sizes.size()) - 1; dim >= 0; --dim) {
    if (sizes[dim] != 1 && result.getStrides()[dim] != expectedStride)
      contiguous = false;
    expectedStride *= sizes[dim];
  }
  if (contiguous)
    return ArrayRef<char>(base, numBytes);

  scratch = npy::AlignedBuffer(numBytes);
  char *out = scratch.data();
  gatherInCOrder(base, sizes, result.getStrides(), elemSize, out);
  return ArrayRef<char>(scratch.data(), numBytes);
}

/// Writes every result of the last call to its file. Each file is written to
/// a temporary next to it first and renamed only once all of them were
/// written, so a failure leaves no partial outputs behind.
static Error writeOutputs(Invocation &invocation, const EntryPoint &entry,
                          llvm::ArrayRef<std::string> paths) {
  std::vector<llvm::sys::fs::TempFile> tempFiles;
  auto discardAll = [&](Error err) {
    for (llvm::sys::fs::TempFile &file : tempFiles)
      err = llvm::joinErrors(std::move(err), file.discard());
    return err;
  };

  for (auto [index, path] : llvm::enumerate(paths)) {
    Expected<llvm::sys::fs::TempFile> file =
        llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%");
    if (!file)
      return discardAll(llvm::createStringError(
          "cannot create a temporary file for '" + path +
          "': " + llvm::toString(file.takeError())));
    tempFiles.push_back(std::move(*file));

    const TensorSpec &spec = entry.results[index];
    DescriptorRef result = invocation.getResult(index);
    npy::AlignedBuffer scratch;
    Expected<ArrayRef<char>> bytes =
        getResultBytes(result, spec, index, scratch);
    if (!bytes)
      return discardAll(bytes.takeError());

    llvm::raw_fd_ostream os(tempFiles.back().FD, /*shouldClose=*/false);
    npy::write(os, spec.kind->outputDescr, result.getSizes(), *bytes);
    os.flush();
    if (std::error_code ec = os.error()) {
      os.clear_error();
      return discardAll(llvm::createStringError("cannot write '" + path +
                                                "': " + ec.message()));
    }
  }

  Error err = Error::success();
  for (auto [file, path] : llvm::zip(tempFiles, paths))
    if (Error keepErr = file.keep(path))
      err = llvm::joinErrors(
          std::move(err),
          llvm::createStringError("cannot write '" + path +
                                  "': " + llvm::toString(std::move(keepErr))));
  return err;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// Checks the options that need no input file, before anything runs.
static Error checkOptions() {
  if (repeatCount == 0)
    return llvm::createStringError("--repeat must be at least 1");
  if (optLevel > 3)
    return llvm::createStringError("-O must be 0, 1, 2 or 3");
  for (const std::string &lib : sharedLibs)
    if (!llvm::sys::fs::exists(lib))
      return llvm::createStringError("cannot find shared library '" + lib +
                                     "' (--shared-libs)");
  return checkOutputPaths(outputFiles);
}

static Error runMain() {
  if (Error err = checkOptions())
    return err;

  DialectRegistry registry;
  glu::registerAllDialects(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);

  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFileOrSTDIN(inputFilename, /*IsText=*/true);
  if (!file)
    return llvm::createStringError("cannot read '" + inputFilename +
                                   "': " + file.getError().message());
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return llvm::createStringError("cannot parse '" + inputFilename + "'");

  StringRef requested = StringRef(entryName).ltrim('@');
  Expected<func::FuncOp> func =
      findEntryFunction(*module, requested, inputFilename);
  if (!func)
    return func.takeError();
  Expected<EntryPoint> entry = getEntryPoint(*func);
  if (!entry)
    return entry.takeError();
  if (!outputFiles.empty() && outputFiles.size() != entry->results.size())
    return llvm::createStringError(llvm::formatv(
        "@{0} returns {1} result(s), but {2} output file(s) were given with "
        "-o; give none, or one per result",
        entry->name, entry->results.size(), outputFiles.size()));

  Expected<std::vector<npy::Array>> inputs = loadInputs(*entry, inputFiles);
  if (!inputs)
    return inputs.takeError();

  int64_t gridRanks = swiglu::mpi::gridRanks(*module);
  if (Error err = lowerToLLVM(*module, *func, *entry))
    return err;
  // Code from glu-cpu-pipeline calls the OpenMP runtime.
  std::vector<std::string> libs(sharedLibs.begin(), sharedLibs.end());
#ifdef SWIGLU_LIBOMP_PATH
  bool usesOpenMP = false;
  module->walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "omp")
      usesOpenMP = true;
  });
  if (usesOpenMP)
    libs.push_back(SWIGLU_LIBOMP_PATH);
#endif
  // Code from glu-shard calls MPI: load and initialize the library first.
  std::unique_ptr<swiglu::mpi::Session> mpiSession;
  if (std::string calls = swiglu::mpi::calledFunctions(*module);
      !calls.empty()) {
    auto session = swiglu::mpi::Session::start(mpiLibrary, calls);
    if (!session)
      return session.takeError();
    mpiSession = std::move(*session);
    libs.push_back(mpiLibrary);
    if (gridRanks && mpiSession->size() != gridRanks)
      return llvm::createStringError(llvm::formatv(
          "the module was split for {0} MPI ranks (shard.grid), but this run "
          "has {1}: run it with mpirun -np {0}",
          gridRanks, mpiSession->size()));
  }
  bool writer = !mpiSession || mpiSession->rank() == 0;
  Expected<std::unique_ptr<ExecutionEngine>> engine =
      createExecutionEngine(*module, optLevel, libs);
  if (!engine)
    return llvm::createStringError("JIT compilation failed: " +
                                   llvm::toString(engine.takeError()));
  registerRuntimeSymbols(**engine);
  // The first lookup compiles the module; any unresolved symbol shows here.
  Expected<void (*)(void **)> packedFn =
      (*engine)->lookupPacked("_mlir_ciface_" + entry->name);
  if (!packedFn)
    return llvm::createStringError(
        "JIT compilation of @" + entry->name +
        " failed: " + llvm::toString(packedFn.takeError()));
  if (!objectFile.empty())
    (*engine)->dumpToObjectFile(objectFile);
  // Runs global constructors, if any. Only safe once the lookup succeeded:
  // it aborts on unresolved symbols instead of returning an error.
  (*engine)->initialize();

  Invocation invocation(*entry, *inputs);
  Timings timings =
      callRepeatedly(invocation, *packedFn, warmupCount, repeatCount);
  if (!writer) // another rank of an MPI run: rank 0 has the same results
    return Error::success();
  if (Error err = writeOutputs(invocation, *entry, outputFiles))
    return err;
  if (repeatCount > 1 || printTime)
    printTimings(entry->name, std::move(timings));
  return Error::success();
}

/// Prints `swiglu-run: error: <message>` to stderr.
static void reportError(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "swiglu-run") << message << '\n';
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser();

  registerPassManagerCLOptions();
  glu::registerAllPasses();
  cl::HideUnrelatedOptions(runnerCategory);
  std::string parseErrors;
  llvm::raw_string_ostream parseErrorStream(parseErrors);
  if (!cl::ParseCommandLineOptions(argc, argv, kOverview, &parseErrorStream)) {
    // llvm::cl words its errors "<program>: <message>" (and prints those
    // about option values itself); restate them the way every other error of
    // this tool is.
    std::string programPrefix =
        (llvm::sys::path::filename(argv[0]) + ": ").str();
    llvm::SmallVector<StringRef> lines;
    StringRef(parseErrors).trim().split(lines, '\n');
    for (auto [index, line] : llvm::enumerate(lines)) {
      line.consume_front(programPrefix);
      if (index == 0 && !line.empty())
        reportError(line);
      else if (!line.empty())
        llvm::errs() << line << '\n';
    }
    return 1;
  }

  if (Error err = runMain()) {
    llvm::handleAllErrors(std::move(err), [](const llvm::ErrorInfoBase &info) {
      reportError(info.message());
    });
    return 1;
  }
  return 0;
}
