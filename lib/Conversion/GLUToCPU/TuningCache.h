//===- TuningCache.h - Measured kernel configurations -----------*- C++ -*-===//
//
// The kernel configurations `swiglu-tune` (python -m swiglu.tune) measured
// best on a CPU, read by convert-glu-to-cpu-kernels (`tuning-cache=<file>`).
// A JSON file:
//
//   {"version": 1,
//    "entries": {"<key>": {"micro-rows": 6, "micro-vectors": 4,
//                          "k-chunk": 512, "tile-tokens": 96, ...}}}
//
// with keys `<cpu>/v<vector bits>|<op>|<x type>x<weight type>|<d_model>x<d_ff>`
// (e.g. `znver4/v512|ffn|f32xf32|1024x2816`); other fields of an entry (the
// measured rate, the date) are for people. Without an entry for an op, the
// pass's options apply: the result is a function of the cache's content.
//
//===----------------------------------------------------------------------===//

#ifndef GLU_CONVERSION_GLUTOCPU_TUNINGCACHE_H
#define GLU_CONVERSION_GLUTOCPU_TUNINGCACHE_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"

#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

namespace mlir::glu {

/// The tile sizes a tuning entry sets.
struct KernelConfig {
  int64_t microRows;
  int64_t microVectors;
  int64_t kChunk;
  int64_t tileTokens;
};

class TuningCache {
public:
  /// Reads `path`: an empty cache when the file does not exist (nothing
  /// tuned yet), failure with `error` when it is not a valid cache.
  static FailureOr<TuningCache> load(StringRef path, std::string &error);

  std::optional<KernelConfig> lookup(StringRef key) const;

  /// The key of an op of kind `op` ("ffn", "mlp", "gate_up").
  static std::string key(StringRef cpu, int64_t vectorBits, StringRef op,
                         Type x, Type weight, int64_t dModel, int64_t dFF);

private:
  llvm::StringMap<KernelConfig> entries;
};

} // namespace mlir::glu

#endif // GLU_CONVERSION_GLUTOCPU_TUNINGCACHE_H
