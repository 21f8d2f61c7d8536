//===- swiglu-fuzz.cpp - libFuzzer target over glu IR and glu passes ------===//
//
// A libFuzzer target (built only with -DSWIGLU_ENABLE_FUZZER=ON, see
// tools/swiglu-fuzz/CMakeLists.txt and scripts/fuzz.sh). One input is
//
//   byte 0      selects a pass pipeline from kPipelines (modulo its size),
//   bytes 1..   MLIR text.
//
// The text is parsed into a fresh context (multithreading off, diagnostics
// captured) that knows the dialects an FFN block is written in: glu and the
// upstream func, arith, math, tensor, linalg, affine and tosa (what glu-raise
// reads). If it parses and verifies, every dialect and extension of
// swiglu-opt (mlir::glu::registerAllDialects) is added to the context and the
// selected pipeline runs on the module with the verifier on after every
// pass. Failures (parse errors, verifier errors, a pass signalling failure)
// are normal outcomes: only a crash, an assertion, a timeout, a leak or an
// ASan/UBSan report is a finding.
//
// Instrumentation: our code (lib/, the glu dialect, passes, pipelines) and
// this file are compiled with -fsanitize=fuzzer-no-link,address,undefined
// and assertions on. libMLIR.so is the distribution's, uninstrumented: the
// fuzzer gets coverage feedback only from our code, and ASan sees the
// accesses our code makes (including through inlined MLIR headers), not
// those inside libMLIR.so. That is the point: the target is the glu
// dialect's parser/verifier and the glu passes, and the upstream IR they
// produce (which the verifier after every pass checks, and which the rest
// of the pipeline then consumes).
//
// Scope, to keep findings about our code rather than about upstream MLIR
// on arbitrary IR:
// * inputs over kMaxInputBytes are rejected;
// * the input may only use the dialects above (others fail to parse as
//   unregistered), so the parsers of the other ~40 upstream dialects, and
//   upstream passes on their ops, are out of scope. SWIGLU_FUZZ_ALL_DIALECTS=1
//   parses with every dialect of swiglu-opt instead;
// * inputs that hit a known crash of the upstream parsers in scope (see
//   hitsKnownUpstreamParserCrash) are rejected before parsing;
// * a verifier failure after parsing ends the run (upstream ops' verifiers
//   are the gate that keeps malformed IR from the passes);
// * no filter for upstream *pass* bugs on valid input: the one known
//   (expand-strided-metadata on an expand_shape with several dynamic sizes
//   in a group, llvm/llvm-project#186830) is worked around inside
//   glu-cpu-reference-pipeline (glu-expand-shape-to-reshape), and the fuzzer
//   is what checks that workaround;
// * before anything that rewrites or lowers IR, an input with a tensor,
//   memref or vector type of more than kMaxElements (kMaxVectorElements)
//   elements is rejected: a constant that big would be merged or folded at
//   compile time, and vectors are unrolled. Analysis-only pipelines (verify,
//   glu-report) still see any shape, so that size arithmetic on huge
//   static dims is exercised;
// * nothing is JIT-compiled or executed: the reference pipeline stops at the
//   LLVM dialect.
//
// Environment:
//   SWIGLU_FUZZ_VERBOSE=1   print the selected pipeline and every diagnostic
//                           (=2: also the IR after the pipeline)
//   SWIGLU_FUZZ_ALL_DIALECTS=1  parse with every dialect (see Scope)
//   SWIGLU_FUZZ_EXCLUDE=a,b  entries whose pipeline, with registered pipelines
//                           expanded into their passes, contains `a` or `b`
//                           run as verify only (to keep fuzzing the rest while
//                           a known crash in one pass is being fixed)
//   SWIGLU_FUZZ_LIST=1      print "<index>\t<name>\t<pipeline>" for each entry
//                           of kPipelines and exit (used to build the corpus)
//
//===----------------------------------------------------------------------===//

#include "glu/Dialect/GLU/IR/GLU.h"
#include "glu/InitAll.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <optional>

using namespace mlir;

namespace {

constexpr size_t kMaxInputBytes = 64 * 1024;
constexpr uint64_t kMaxElements = uint64_t(1) << 24;
constexpr uint64_t kMaxVectorElements = uint64_t(1) << 12;

struct PipelineEntry {
  const char *name;
  /// Textual pipeline nested in builtin.module (empty: verify only).
  const char *pipeline;
  /// True if the pipeline only reads the IR (no size cap applies).
  bool analysisOnly;
};

// The index of an entry is its selector byte in the corpus: append new
// entries at the end, and never reorder or remove one (replace it by a
// comparable one instead), so existing corpora keep their meaning.
const PipelineEntry kPipelines[] = {
    {"verify", "", true},
    {"convert-glu-to-linalg", "func.func(convert-glu-to-linalg)", false},
    {"convert-glu-to-linalg+canonicalize",
     "convert-glu-to-linalg,canonicalize", false},
    {"glu-merge-gate-up", "glu-merge-gate-up", false},
    {"glu-merge-gate-up interleaved",
     "glu-merge-gate-up{packing=interleaved}", false},
    {"glu-fuse-activation", "glu-fuse-activation", false},
    {"glu-fuse-activation 1x1",
     "func.func(glu-fuse-activation{tile-tokens=1 tile-ff=1})", false},
    {"glu-fuse-activation 3x5+canonicalize",
     "glu-fuse-activation{tile-tokens=3 tile-ff=5},canonicalize", false},
    {"glu-fuse-ffn", "glu-fuse-ffn", false},
    {"glu-fuse-ffn 1x1", "func.func(glu-fuse-ffn{tile-tokens=1 chunk-ff=1})",
     false},
    {"glu-fuse-ffn 7x3+canonicalize",
     "glu-fuse-ffn{tile-tokens=7 chunk-ff=3},canonicalize", false},
    {"glu-report", "glu-report", true},
    {"glu-report options",
     "glu-report{multiple-of=1 ffn-dim-multiplier=1.3 tile-tokens=3 "
     "chunk-ff=5}",
     true},
    {"glu-raise", "glu-raise", false},
    {"glu-raise remarks", "glu-raise{remarks=true}", false},
    {"lower then raise", "func.func(convert-glu-to-linalg),glu-raise",
     false},
    {"glu-fuse", "glu-fuse", false},
    {"glu-fuse options",
     "glu-fuse{packing=interleaved tile-tokens=2 chunk-ff=3}", false},
    {"glu-fuse then lower", "glu-fuse,func.func(convert-glu-to-linalg)",
     false},
    {"glu-cpu-reference-pipeline", "glu-cpu-reference-pipeline", false},
    {"glu-fuse then reference",
     "glu-fuse{tile-tokens=4 chunk-ff=8},glu-cpu-reference-pipeline", false},
    {"fuse-activation then reference",
     "glu-merge-gate-up{packing=interleaved},glu-fuse-activation{tile-tokens="
     "2 tile-ff=3},glu-cpu-reference-pipeline",
     false},
    {"raise then reference", "glu-raise,glu-cpu-reference-pipeline", false},
    // glu-fuse's passes after glu-raise, spelled out (so that they are
    // fuzzed together even while glu-raise is excluded).
    {"merge+fuse-ffn+fuse-activation",
     "glu-merge-gate-up{packing=interleaved},glu-fuse-ffn{tile-tokens=2 "
     "chunk-ff=3},glu-fuse-activation{tile-tokens=2 tile-ff=3},canonicalize",
     false},
    {"merge+fuse-ffn+fuse-activation then reference",
     "glu-merge-gate-up,glu-fuse-ffn{tile-tokens=4 chunk-ff=8},"
     "glu-fuse-activation{tile-tokens=4 tile-ff=8},canonicalize,"
     "glu-cpu-reference-pipeline",
     false},
    // The fast CPU kernels and the GPU kernels.
    {"convert-glu-to-cpu-kernels", "convert-glu-to-cpu-kernels{threads=2}",
     false},
    {"convert-glu-to-cpu-kernels small tiles",
     "convert-glu-to-cpu-kernels{threads=3 micro-rows=3 micro-vectors=2 "
     "k-chunk=7 tile-tokens=5 vector-bits=256 pack-at-load=false "
     "round-hidden=true bf16-dot=true}",
     false},
    {"glu-cpu-pipeline", "glu-cpu-pipeline{threads=2}", false},
    {"convert-glu-to-gpu", "convert-glu-to-gpu", false},
    // Mixture of experts: each expert as a glu.ffn, then the fast kernels
    // (stacked weights packed at load) or the reference lowering.
    {"glu-moe-to-experts", "glu-moe-to-experts", false},
    {"glu-moe-to-experts then kernels",
     "glu-moe-to-experts,convert-glu-to-cpu-kernels{threads=2}", false},
    // Split over MPI ranks (glu-shard), then lowered to MPI calls.
    {"glu-shard", "glu-shard{ranks=3}", false},
    {"glu-shard tokens local",
     "glu-shard{ranks=2 strategy=tokens},canonicalize", false},
    {"glu-shard local then reference",
     "glu-shard{ranks=3 weights=local},glu-cpu-reference-pipeline", false},
};
constexpr size_t kNumPipelines = sizeof(kPipelines) / sizeof(kPipelines[0]);

/// Whether each entry's pipeline text parsed at start-up (a pass that does
/// not exist yet, e.g. while glu-raise is being written, makes its entries
/// fall back to verify only).
bool gPipelineValid[kNumPipelines];
/// Every dialect and extension of swiglu-opt (for the passes).
DialectRegistry *gRegistry = nullptr;
/// The dialects the input may be written in (for parsing).
DialectRegistry *gInputRegistry = nullptr;
int gVerbose = 0;

/// Known crashes of upstream MLIR 22.1.8 parsers (libMLIR.so, Debian) on
/// malformed text, outside our code; inputs that would hit them are
/// rejected before parsing.
///
/// 1. linalg.broadcast `dimensions = [...]`, linalg.transpose
///    `permutation = [...]`, linalg.reduce `dimensions = [...]`: the custom
///    parser (parseDenseI64ArrayAttr in LinalgOps.cpp) stores the result of
///    DenseI64ArrayAttr::parse without checking it, so any error inside the
///    list (`[0 x]`, `[0`, an overflowing integer) adds a null attribute and
///    segfaults in NamedAttrList::set. Reproducer (mlir-opt 22.1.8 crashes):
///      %b = linalg.broadcast ins(%x : tensor<4xf32>)
///             outs(%e : tensor<2x4xf32>) dimensions = [0 x]
///    We accept `<name> =` only when followed by `array<` (generic form) or
///    a plainly well-formed list of small integers.
bool hitsKnownUpstreamParserCrash(llvm::StringRef text) {
  static const llvm::Regex keyword(R"((dimensions|permutation)[[:space:]]*=)");
  static const llvm::Regex wellFormed(
      R"(^[[:space:]]*(array<|\[[[:space:]]*(-?[0-9]{1,9}[[:space:]]*)"
      R"((,[[:space:]]*-?[0-9]{1,9}[[:space:]]*)*)?\]))");
  llvm::StringRef rest = text;
  llvm::SmallVector<llvm::StringRef, 2> match;
  while (keyword.match(rest, &match)) {
    size_t end = match[0].data() + match[0].size() - rest.data();
    rest = rest.drop_front(end);
    if (!wellFormed.match(rest))
      return true;
  }
  return false;
}

/// True if `type` or a type nested in it is a shaped type with more static
/// elements than allowed (dynamic dims do not count; zero dims are skipped
/// so that 0xHUGE is still rejected).
bool isTooBig(Type type) {
  bool tooBig = false;
  type.walk([&](Type t) {
    auto shaped = dyn_cast<ShapedType>(t);
    if (!shaped || !shaped.hasRank())
      return;
    uint64_t limit =
        isa<VectorType>(shaped) ? kMaxVectorElements : kMaxElements;
    uint64_t n = 1;
    for (int64_t d : shaped.getShape()) {
      if (ShapedType::isDynamic(d) || d == 0)
        continue;
      if (d < 0 || uint64_t(d) > limit || n > limit / uint64_t(d)) {
        tooBig = true;
        return;
      }
      n *= uint64_t(d);
    }
  });
  return tooBig;
}

bool hasHugeShapes(Operation *root) {
  bool tooBig = false;
  root->walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      tooBig |= isTooBig(t);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          tooBig |= isTooBig(arg.getType());
    op->getAttrDictionary().walk([&](Type t) { tooBig |= isTooBig(t); });
    return tooBig ? WalkResult::interrupt() : WalkResult::advance();
  });
  return tooBig;
}

} // namespace

/// ASan defaults baked into the binary (ASAN_OPTIONS adds to/overrides them).
/// libMLIR.so is not instrumented, but the MLIR/LLVM headers our code
/// includes are, and llvm::BumpPtrAllocator poisons its free slab space only
/// in instrumented code: a slab started from our code and then filled from
/// libMLIR.so (which never unpoisons) gives false use-after-poison reports;
/// allow_user_poisoning=0 turns that manual poisoning off. The same mix
/// makes std::vector's container-overflow annotations unreliable.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0:detect_container_overflow=0";
}

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (const char *v = std::getenv("SWIGLU_FUZZ_VERBOSE"))
    gVerbose = std::atoi(v);
  mlir::glu::registerAllPasses();
  gRegistry = new DialectRegistry();
  mlir::glu::registerAllDialects(*gRegistry);
  if (std::getenv("SWIGLU_FUZZ_ALL_DIALECTS")) {
    gInputRegistry = gRegistry;
  } else {
    gInputRegistry = new DialectRegistry();
    gInputRegistry->insert<glu::GLUDialect, func::FuncDialect,
                           arith::ArithDialect, math::MathDialect,
                           tensor::TensorDialect, linalg::LinalgDialect,
                           affine::AffineDialect, tosa::TosaDialect>();
  }

  llvm::SmallVector<llvm::StringRef> excluded;
  if (const char *e = std::getenv("SWIGLU_FUZZ_EXCLUDE"))
    llvm::StringRef(e).split(excluded, ',', -1, /*KeepEmpty=*/false);
  bool list = std::getenv("SWIGLU_FUZZ_LIST") != nullptr;
  MLIRContext context(*gRegistry, MLIRContext::Threading::DISABLED);
  for (size_t i = 0; i < kNumPipelines; ++i) {
    PassManager pm(&context);
    std::string error;
    llvm::raw_string_ostream os(error);
    gPipelineValid[i] =
        succeeded(parsePassPipeline(kPipelines[i].pipeline, pm, os));
    // The pipeline as passes (glu-fuse and the reference pipeline expanded).
    std::string expanded;
    llvm::raw_string_ostream es(expanded);
    pm.printAsTextualPipeline(es);
    for (llvm::StringRef e : excluded)
      if (gPipelineValid[i] && llvm::StringRef(expanded).contains(e)) {
        gPipelineValid[i] = false;
        error = "excluded by SWIGLU_FUZZ_EXCLUDE";
      }
    if (!gPipelineValid[i])
      llvm::errs() << "swiglu-fuzz: pipeline " << i << " ('"
                   << kPipelines[i].name << "') runs as verify only: "
                   << (error.empty() ? "it does not parse" : error) << "\n";
    if (list)
      llvm::outs() << i << "\t" << kPipelines[i].name << "\t"
                   << kPipelines[i].pipeline << "\n";
  }
  if (list) {
    llvm::outs().flush();
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > kMaxInputBytes)
    return -1; // never added to the corpus
  size_t index = data[0] % kNumPipelines;
  const PipelineEntry &entry = kPipelines[index];
  llvm::StringRef text(reinterpret_cast<const char *>(data + 1), size - 1);
  if (gVerbose)
    llvm::errs() << "swiglu-fuzz: pipeline " << index << " '" << entry.name
                 << "': " << entry.pipeline
                 << (gPipelineValid[index] ? "" : " (invalid: verify only)")
                 << "\n";

  if (hitsKnownUpstreamParserCrash(text)) {
    if (gVerbose)
      llvm::errs() << "swiglu-fuzz: rejected: known upstream parser crash\n";
    return -1;
  }

  MLIRContext context(*gInputRegistry, MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(gVerbose >= 2);
  context.printStackTraceOnDiagnostic(false);
  // Diagnostics are expected outcomes: swallow them (print with VERBOSE).
  ScopedDiagnosticHandler handler(&context, [](Diagnostic &diag) {
    if (gVerbose) {
      llvm::errs() << diag.getLocation() << ": ";
      switch (diag.getSeverity()) {
      case DiagnosticSeverity::Error:
        llvm::errs() << "error: ";
        break;
      case DiagnosticSeverity::Warning:
        llvm::errs() << "warning: ";
        break;
      case DiagnosticSeverity::Remark:
        llvm::errs() << "remark: ";
        break;
      case DiagnosticSeverity::Note:
        llvm::errs() << "note: ";
        break;
      }
      llvm::errs() << diag << "\n";
    }
    return success();
  });

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz-input"), llvm::SMLoc());
  // Parsing verifies; a verifier failure ends the run here (upstream ops'
  // verifiers are the gate that keeps arbitrary IR away from the passes).
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return 0;
  if (!gPipelineValid[index] || entry.pipeline[0] == '\0')
    return 0;
  if (!entry.analysisOnly && hasHugeShapes(*module)) {
    if (gVerbose)
      llvm::errs() << "swiglu-fuzz: rejected: a shape has too many elements\n";
    return -1;
  }

  // Everything the passes may create or need (dialects, interface models).
  context.appendDialectRegistry(*gRegistry);
  PassManager pm(&context);
  pm.enableVerifier(true);
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(entry.pipeline, pm, os))) {
    llvm::errs() << "swiglu-fuzz: pipeline '" << entry.pipeline
                 << "' stopped parsing: " << error << "\n";
    std::abort(); // it parsed at start-up: something is badly wrong
  }
  bool ok = succeeded(pm.run(*module));
  if (gVerbose) {
    llvm::errs() << "swiglu-fuzz: pipeline " << (ok ? "succeeded" : "failed")
                 << "\n";
    if (gVerbose >= 2 && ok)
      module->print(llvm::errs());
  }
  return 0;
}
