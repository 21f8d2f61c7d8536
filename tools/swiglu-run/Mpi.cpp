//===- Mpi.cpp - MPI for swiglu-run's JIT-compiled code -------------------===//

#include "Mpi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"

#include "llvm/Support/DynamicLibrary.h"

#include <algorithm>
#include <cstdint>

using namespace swiglu::mpi;

std::string swiglu::mpi::calledFunctions(mlir::ModuleOp module) {
  std::string names;
  for (auto func : module.getOps<mlir::LLVM::LLVMFuncOp>())
    if (func.isExternal() && func.getName().starts_with("MPI_"))
      names += (names.empty() ? "" : ", ") + func.getName().str();
  return names;
}

int64_t swiglu::mpi::gridRanks(mlir::ModuleOp module) {
  int64_t ranks = 0;
  for (auto grid : module.getOps<mlir::shard::GridOp>()) {
    int64_t n = 1;
    for (int64_t d : grid.getShape())
      n *= d;
    ranks = std::max(ranks, n);
  }
  return ranks;
}

llvm::Expected<std::unique_ptr<Session>>
Session::start(const std::string &library, llvm::StringRef why) {
  std::string error;
  // Opened with RTLD_GLOBAL and kept: the JIT resolves MPI_* and the
  // library's predefined objects (OpenMPI's ompi_mpi_comm_world, ...) from
  // it, and OpenMPI's plugins need its symbols global.
  llvm::sys::DynamicLibrary lib =
      llvm::sys::DynamicLibrary::getPermanentLibrary(library.c_str(), &error);
  if (!lib.isValid())
    return llvm::createStringError(
        "the module calls MPI (" + why.str() + "), but the MPI library '" +
        library + "' cannot be loaded: " + error +
        " (install OpenMPI: scripts/setup.sh, or give --mpi-library)");
  using InitFn = int (*)(int *, char ***);
  using InitializedFn = int (*)(int *);
  using CommFn = int (*)(void *, int *);
  auto init = reinterpret_cast<InitFn>(lib.getAddressOfSymbol("MPI_Init"));
  auto initialized =
      reinterpret_cast<InitializedFn>(lib.getAddressOfSymbol("MPI_Initialized"));
  auto commRank =
      reinterpret_cast<CommFn>(lib.getAddressOfSymbol("MPI_Comm_rank"));
  auto commSize =
      reinterpret_cast<CommFn>(lib.getAddressOfSymbol("MPI_Comm_size"));
  auto finalize = reinterpret_cast<int (*)()>(lib.getAddressOfSymbol("MPI_Finalize"));
  if (!init || !initialized || !commRank || !commSize || !finalize)
    return llvm::createStringError("'" + library +
                                   "' is not an MPI library (no MPI_Init)");
  int already = 0;
  initialized(&already);
  if (!already && init(nullptr, nullptr) != 0)
    return llvm::createStringError("MPI_Init failed");
  // MPI_COMM_WORLD: the address of OpenMPI's predefined communicator, or
  // MPICH's constant handle.
  void *world = lib.getAddressOfSymbol("ompi_mpi_comm_world");
  if (!world)
    world = reinterpret_cast<void *>(static_cast<intptr_t>(0x44000000));
  std::unique_ptr<Session> session(new Session());
  session->finalize = already ? nullptr : finalize;
  commRank(world, &session->worldRank);
  commSize(world, &session->worldSize);
  return session;
}

Session::~Session() {
  if (finalize)
    finalize();
}
