/*===- capi-test.c - Exercise the swiglu C API from C ---------------------===*\
|*                                                                            *|
|* Run by capi.mlir through FileCheck: registration, parsing, a pass by name, *|
|* compiling to LLVM IR and to an object file, and errors as diagnostics.    *|
\*===----------------------------------------------------------------------===*/

#include "mlir-c/Diagnostics.h"
#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"
#include "swiglu-c/Compile.h"
#include "swiglu-c/Dialects.h"
#include "swiglu-c/Registration.h"

#include <stdio.h>
#include <string.h>

static const char *kBlock =
    "func.func @block(%x: tensor<4x8xf32>, %w: tensor<32x8xf32>,\n"
    "                 %wd: tensor<8x16xf32>) -> tensor<4x8xf32> {\n"
    "  %y = glu.ffn silu %x : tensor<4x8xf32> gate_up %w : tensor<32x8xf32>\n"
    "         down %wd : tensor<8x16xf32> -> tensor<4x8xf32>\n"
    "  return %y : tensor<4x8xf32>\n"
    "}\n";

static void printChunk(MlirStringRef s, void *userData) {
  (void)userData;
  fwrite(s.data, 1, s.length, stdout);
}

static MlirLogicalResult printDiagnostic(MlirDiagnostic diagnostic,
                                         void *userData) {
  (void)userData;
  printf("diagnostic: ");
  mlirDiagnosticPrint(diagnostic, printChunk, NULL);
  printf("\n");
  return mlirLogicalResultSuccess();
}

struct Artifact {
  size_t size;
  int isElf;
  int hasEntryPoint;
};

static void keepArtifact(MlirStringRef bytes, void *userData) {
  struct Artifact *artifact = (struct Artifact *)userData;
  artifact->size = bytes.length;
  artifact->isElf = bytes.length > 4 && memcmp(bytes.data, "\x7f" "ELF", 4) == 0;
  /* The C entry point of @block, in the text of LLVM IR or the symbol table. */
  for (size_t i = 0; i + 18 <= bytes.length; ++i)
    if (memcmp(bytes.data + i, "_mlir_ciface_block", 18) == 0)
      artifact->hasEntryPoint = 1;
}

/* The first bytes of a text artifact, NUL-terminated. */
struct Text {
  char text[1 << 16];
  size_t size;
};

static void keepText(MlirStringRef bytes, void *userData) {
  struct Text *t = (struct Text *)userData;
  t->size = bytes.length < sizeof(t->text) - 1 ? bytes.length : sizeof(t->text) - 1;
  memcpy(t->text, bytes.data, t->size);
  t->text[t->size] = 0;
}

static MlirModule parse(MlirContext context, const char *text) {
  return mlirModuleCreateParse(context, mlirStringRefCreateFromCString(text));
}

int main(void) {
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  swigluRegisterAllDialects(registry);
  MlirContext context = mlirContextCreateWithRegistry(registry, false);
  mlirDialectRegistryDestroy(registry);
  mlirContextAttachDiagnosticHandler(context, printDiagnostic, NULL, NULL);

  MlirDialectHandle glu = mlirGetDialectHandle__glu__();
  MlirStringRef ns = mlirDialectHandleGetNamespace(glu);
  printf("dialect: %.*s\n", (int)ns.length, ns.data);
  // CHECK: dialect: glu

  MlirModule module = parse(context, kBlock);
  printf("parsed: %d\n", !mlirModuleIsNull(module));
  // CHECK: parsed: 1

  /* A glu pass by name, through MLIR's own C API. */
  swigluRegisterAllPasses();
  MlirPassManager pm = mlirPassManagerCreate(context);
  MlirOpPassManager opm = mlirPassManagerGetAsOpPassManager(pm);
  MlirLogicalResult parsed = mlirParsePassPipeline(
      opm, mlirStringRefCreateFromCString("builtin.module(glu-report)"),
      printChunk, NULL);
  printf("pipeline parsed: %d\n", mlirLogicalResultIsSuccess(parsed));
  // CHECK: pipeline parsed: 1
  MlirLogicalResult ran =
      mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module));
  printf("pipeline ran: %d\n", mlirLogicalResultIsSuccess(ran));
  // CHECK: diagnostic: glu.ffn silu: d_model=8 d_ff=16 d_out=8 tokens=4
  // CHECK: pipeline ran: 1
  mlirPassManagerDestroy(pm);

  struct Artifact ir = {0, 0, 0};
  MlirLogicalResult compiled = swigluCompileModule(
      module, mlirStringRefCreateFromCString("cpu-llvm-ir"), keepArtifact, &ir);
  printf("llvm ir: ok=%d nonempty=%d entry=%d\n",
         mlirLogicalResultIsSuccess(compiled), ir.size > 0, ir.hasEntryPoint);
  // CHECK: llvm ir: ok=1 nonempty=1 entry=1
  mlirModuleDestroy(module);

  struct Artifact object = {0, 0, 0};
  module = parse(context, kBlock);
  compiled = swigluCompileModule(
      module, mlirStringRefCreateFromCString("cpu"), keepArtifact, &object);
  printf("object: ok=%d elf=%d entry=%d\n", mlirLogicalResultIsSuccess(compiled),
         object.isElf, object.hasEntryPoint);
  // CHECK: object: ok=1 elf=1 entry=1
  mlirModuleDestroy(module);

  /* GPU: PTX and the launch records, no CUDA needed. */
  module = parse(context, kBlock);
  struct Text ptx = {{0}, 0};
  compiled = swigluCompileModule(
      module, mlirStringRefCreateFromCString("gpu-ptx:sm_80"), keepText, &ptx);
  printf("ptx: ok=%d target=%d entry=%d\n", mlirLogicalResultIsSuccess(compiled),
         strstr(ptx.text, ".target sm_80") != NULL,
         strstr(ptx.text, ".entry block_gate_up_decode1(") != NULL);
  // CHECK: ptx: ok=1 target=1 entry=1
  mlirModuleDestroy(module);
  module = parse(context, kBlock);
  struct Text manifest = {{0}, 0};
  compiled = swigluCompileModule(
      module, mlirStringRefCreateFromCString("gpu-manifest"), keepText,
      &manifest);
  printf("manifest: ok=%d %.40s\n", mlirLogicalResultIsSuccess(compiled),
         manifest.text);
  // CHECK: manifest: ok=1 {"block":{"inputs":[{"dtype":"f32","name
  mlirModuleDestroy(module);

  /* Errors come back as diagnostics and a failure, nothing is called. */
  struct Artifact none = {0, 0, 0};
  module = parse(context, kBlock);
  compiled = swigluCompileModule(
      module, mlirStringRefCreateFromCString("sm_90"), keepArtifact, &none);
  printf("unknown target: ok=%d called=%d\n",
         mlirLogicalResultIsSuccess(compiled), none.size > 0);
  // CHECK: diagnostic: swiglu: unknown target 'sm_90' (available: cpu, cpu-llvm-ir, cpu-reference, cpu-reference-llvm-ir, gpu-ptx[:sm_XY], gpu-manifest[:sm_XY])
  // CHECK: unknown target: ok=0 called=0
  mlirModuleDestroy(module);

  module = parse(context, "func.func @f(%x: tensor<4xf32>, %u: tensor<5xf32>) {\n"
                          "  %h = glu.gate silu %x, %u : tensor<4xf32>\n"
                          "  return\n}\n");
  printf("invalid IR parsed: %d\n", !mlirModuleIsNull(module));
  // CHECK: diagnostic: use of value '%u' expects different type than prior uses: 'tensor<4xf32>' vs 'tensor<5xf32>'
  // CHECK: invalid IR parsed: 0

  /* The CPU a set of pipeline options compiles for, as JSON; an unknown
   * CPU is a failure with the message. */
  struct Text target;
  MlirLogicalResult described = swigluDescribeCPUTarget(
      mlirStringRefCreateFromCString("target-cpu=x86-64-v3"), keepText, &target);
  printf("target: ok=%d %s\n", mlirLogicalResultIsSuccess(described), target.text);
  // CHECK: target: ok=1 {"cpu":"x86-64-v3",{{.*}}"tuning_key":"x86-64-v3/v256","vector_bits":256}
  described = swigluDescribeCPUTarget(
      mlirStringRefCreateFromCString("target-cpu=pentium9"), keepText, &target);
  printf("bad target: ok=%d %s\n", mlirLogicalResultIsSuccess(described), target.text);
  // CHECK: bad target: ok=0 unknown target CPU 'pentium9'

  mlirContextDestroy(context);
  printf("done\n");
  // CHECK: done
  return 0;
}
