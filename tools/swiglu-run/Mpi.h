//===- Mpi.h - MPI for swiglu-run's JIT-compiled code -----------*- C++ -*-===//
//
// Code lowered from glu-shard calls an MPI library (MPI_Allreduce,
// MPI_Comm_rank, ...). swiglu-run loads that library at run time, only for
// such modules, so that it needs no MPI itself: the library is opened
// globally (the JIT resolves the MPI symbols from it) and initialized before
// the call, finalized after it.
//
//===----------------------------------------------------------------------===//

#ifndef SWIGLU_RUN_MPI_H
#define SWIGLU_RUN_MPI_H

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace swiglu::mpi {

/// The MPI functions the lowered `module` calls (declared `MPI_*`), comma
/// separated; empty when it calls none.
std::string calledFunctions(mlir::ModuleOp module);

/// The number of ranks the module was split for (the product of its
/// shard.grid's shape; glu-shard makes one 1-D grid), or 0 without grid.
int64_t gridRanks(mlir::ModuleOp module);

/// An initialized MPI library; finalized when destroyed.
class Session {
public:
  /// Loads `library` and calls MPI_Init.
  static llvm::Expected<std::unique_ptr<Session>>
  start(const std::string &library, llvm::StringRef why);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// This process's rank in MPI_COMM_WORLD and the world's size.
  int rank() const { return worldRank; }
  int size() const { return worldSize; }

private:
  Session() = default;
  int (*finalize)() = nullptr;
  int worldRank = 0, worldSize = 1;
};

} // namespace swiglu::mpi

#endif // SWIGLU_RUN_MPI_H
