//===- swiglu-gpu-compile.cpp - Compile glu functions to a GPU bundle -----===//
//
// swiglu-gpu-compile <input.mlir> -o <bundle-dir> [--chip=sm_90]
//     [--features=+ptx80] [--pipeline-options="tile-m=64 ..."]
//     [--ptxas=<path> | --no-cubin]
//
// Runs --glu-gpu-pipeline on the module and writes a kernel bundle: a
// directory with
//
//   manifest.json   format "swiglu-gpu-bundle" version 1: the chip, the
//                   kernel files, the kernel ABI and, per entry function
//                   (a function whose body is one glu op on its arguments),
//                   its inputs and output (dtype, shape), its sizes, its
//                   temporary buffers and its launches in order (kernel
//                   name, token range, grid, block, dynamic shared memory,
//                   arguments);
//   kernels.ptx     the PTX of every kernel (LLVM's NVPTX backend);
//   kernels.cubin   the same assembled by ptxas for the chip, when a ptxas
//                   is found (--ptxas, $SWIGLU_PTXAS, or
//                   /usr/local/cuda/bin/ptxas); never needed: the driver
//                   JIT-compiles the PTX.
//
// swiglu-gpu-run (tools/swiglu-gpu-run) runs a bundle.
//
//===----------------------------------------------------------------------===//

#include "glu/InitAll.h"
#include "glu/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace llvm;

static cl::opt<std::string> inputFilename(cl::Positional, cl::Required,
                                          cl::desc("<input .mlir>"));
static cl::opt<std::string> outputDir("o", cl::Required,
                                      cl::desc("bundle directory to write"),
                                      cl::value_desc("dir"));
static cl::opt<std::string> chip("chip", cl::desc("target SM"),
                                 cl::init("sm_90"));
static cl::opt<std::string> features("features", cl::desc("PTX features"),
                                     cl::init("+ptx80"));
static cl::opt<std::string>
    pipelineOptions("pipeline-options",
                    cl::desc("more --glu-gpu-pipeline options "
                             "(\"tile-m=64 decode-tokens=8 ...\")"),
                    cl::init(""));
static cl::opt<std::string> ptxasPath("ptxas",
                                      cl::desc("ptxas to make a cubin with"),
                                      cl::init(""));
static cl::opt<bool> noCubin("no-cubin", cl::desc("write the PTX only"),
                             cl::init(false));
static cl::opt<std::string>
    mlirOutput("emit-mlir", cl::desc("also write the lowered module here"),
               cl::init(""));

static int fail(const Twine &message) {
  WithColor::error(errs(), "swiglu-gpu-compile") << message << "\n";
  return 1;
}

static std::string findPtxas() {
  if (noCubin)
    return "";
  if (!ptxasPath.empty())
    return ptxasPath;
  if (const char *env = std::getenv("SWIGLU_PTXAS"))
    return env;
  if (sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  return "";
}

static bool writeFile(StringRef path, StringRef contents) {
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return false;
  os << contents;
  return !os.has_error();
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "swiglu-gpu-compile: glu functions to a GPU "
                              "kernel bundle (PTX, cubin, manifest.json)\n");

  DialectRegistry registry;
  glu::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);

  std::string errorMessage;
  auto file = openInputFile(inputFilename, &errorMessage);
  if (!file)
    return fail(errorMessage);
  sourceMgr.AddNewSourceBuffer(std::move(file), SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  std::string optionText = "chip=" + chip + " features=" + features + " " +
                           pipelineOptions;
  auto options = glu::GPUPipelineOptions::createFromString(optionText);
  if (!options)
    return fail("bad pipeline options: " + optionText);
  PassManager pm(&context);
  glu::buildGPUPipeline(pm, *options);
  if (failed(pm.run(*module)))
    return 1;
  if (!mlirOutput.empty()) {
    std::error_code ec;
    raw_fd_ostream os(mlirOutput, ec);
    if (ec)
      return fail("cannot write " + mlirOutput + ": " + ec.message());
    module->print(os);
  }

  auto entries = (*module)->getAttrOfType<DictionaryAttr>("glu.gpu.entries");
  if (!entries || entries.empty())
    return fail("no entry function: a bundle needs a function whose body is "
                "one glu op on its arguments, returned");
  std::string ptx;
  module->walk([&](gpu::BinaryOp binary) {
    for (mlir::Attribute a : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(a))
        if (object.getFormat() == gpu::CompilationTarget::Assembly)
          ptx = object.getObject().str();
  });
  if (ptx.empty())
    return fail("the pipeline produced no PTX");

  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return fail("cannot create " + outputDir + ": " + ec.message());
  SmallString<256> ptxFile(outputDir);
  sys::path::append(ptxFile, "kernels.ptx");
  if (!writeFile(ptxFile, ptx))
    return fail("cannot write " + ptxFile);

  std::string cubin;
  std::string ptxas = findPtxas();
  if (!ptxas.empty()) {
    SmallString<256> cubinFile(outputDir);
    sys::path::append(cubinFile, "kernels.cubin");
    std::string arch = "-arch=" + chip;
    SmallVector<StringRef> args{ptxas, arch, "-O3", ptxFile, "-o", cubinFile};
    std::string execError;
    int rc = sys::ExecuteAndWait(ptxas, args, std::nullopt, {}, 0, 0,
                                 &execError);
    if (rc != 0)
      return fail("ptxas (" + ptxas + ") failed on " + ptxFile +
                  (execError.empty() ? "" : ": " + execError));
    cubin = "kernels.cubin";
  }

  json::Object manifest{
      {"format", "swiglu-gpu-bundle"},
      {"version", 1},
      {"chip", chip},
      {"features", features},
      {"pipeline_options", optionText},
      {"ptx", "kernels.ptx"},
      {"cubin", cubin.empty() ? json::Value(nullptr) : json::Value(cubin)},
      {"abi",
       "kernel parameters in order: a buffer argument is 5 parameters "
       "(ptr allocated, ptr aligned, i64 offset = 0, i64 elements, "
       "i64 stride = 1), a size:<name> argument one i64"}};
  json::Object entryObjects;
  for (NamedAttribute entry : entries) {
    auto text = dyn_cast<StringAttr>(entry.getValue());
    Expected<json::Value> parsed = json::parse(text.getValue());
    if (!parsed)
      return fail("bad launch record: " + toString(parsed.takeError()));
    entryObjects[entry.getName().getValue()] = std::move(*parsed);
  }
  manifest["entries"] = std::move(entryObjects);
  SmallString<256> manifestFile(outputDir);
  sys::path::append(manifestFile, "manifest.json");
  std::string manifestText;
  raw_string_ostream os(manifestText);
  os << formatv("{0:2}", json::Value(std::move(manifest))) << "\n";
  if (!writeFile(manifestFile, manifestText))
    return fail("cannot write " + manifestFile);
  outs() << "wrote " << outputDir << " (" << entries.size() << " entr"
         << (entries.size() == 1 ? "y" : "ies") << ", PTX"
         << (cubin.empty() ? "" : " + cubin for " + chip) << ")\n";
  return 0;
}
