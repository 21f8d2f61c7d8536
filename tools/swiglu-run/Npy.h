//===- Npy.h - Minimal reader and writer for NumPy .npy files ---*- C++ -*-===//
//
// Just enough of the NumPy `.npy` format for swiglu-run to exchange dense,
// C-ordered arrays of plain numbers with Python:
//
//   * reads format versions 1.0, 2.0 and 3.0 (3.0 only differs in allowing
//     UTF-8 in the header, which the header parser below does not care about);
//   * accepts simple dtype descriptors (`<f4`, `|b1`, `<V2`, ...) only, never
//     structured dtypes, and only little-endian data;
//   * rejects Fortran-ordered arrays;
//   * writes format 1.0 (2.0 when the header would not fit in 64 KiB).
//
// This layer knows nothing about MLIR: it deals in descriptor strings, shapes
// and bytes. Which descriptor a tensor element type accepts is the runner's
// business.
//
// Format reference: numpy/lib/format.py (NEP 1).
//
//===----------------------------------------------------------------------===//

#ifndef SWIGLU_RUN_NPY_H
#define SWIGLU_RUN_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace swiglu::npy {

using llvm::StringRef;

/// Alignment of every buffer handed to compiled code (a cache line, and enough
/// for any vector load the JIT may emit).
constexpr size_t kBufferAlignment = 64;

/// An owned, uninitialized byte buffer aligned to `kBufferAlignment`. Never
/// null once constructed, even when empty, so that a memref descriptor built
/// on it always has a valid base pointer.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size);

  char *data() { return storage.get(); }
  const char *data() const { return storage.get(); }
  size_t size() const { return numBytes; }

private:
  struct FreeDeleter {
    void operator()(char *ptr) const;
  };
  std::unique_ptr<char, FreeDeleter> storage;
  size_t numBytes = 0;
};

/// The parsed contents of a `.npy` header.
struct Header {
  /// The dtype descriptor exactly as written in the file, e.g. `<f4`.
  std::string descr;
  /// The descriptor normalized for comparison: `=` (native) becomes `<` on
  /// this little-endian host, and one-byte types always use `|`.
  std::string normalizedDescr;
  /// Size in bytes of one element, from the descriptor.
  size_t itemSize = 0;
  bool fortranOrder = false;
  llvm::SmallVector<int64_t> shape;
};

/// An array read from a `.npy` file, its data copied into an aligned buffer.
struct Array {
  Header header;
  AlignedBuffer data;

  llvm::ArrayRef<int64_t> getShape() const { return header.shape; }
  StringRef getDescr() const { return header.descr; }
};

/// Reads the `.npy` file at `path`. Fails with a message naming the file when
/// it cannot be read, is not a `.npy` file, has a header this reader does not
/// support (structured or big-endian dtype, Fortran order), or holds fewer or
/// more data bytes than its shape and dtype imply.
llvm::Expected<Array> readFile(StringRef path);

/// Parses the `.npy` header (magic, version, header dictionary) at the start
/// of `contents`. On success, `dataOffset` is the offset of the array data.
/// `name` is only used in error messages.
llvm::Expected<Header> parseHeader(StringRef contents, StringRef name,
                                   size_t &dataOffset);

/// Writes a complete `.npy` file to `os`: a version 1.0 header (2.0 if
/// needed) for a C-ordered array of `shape` with dtype `descr`, then `data`,
/// which must hold exactly the array's bytes in C order.
void write(llvm::raw_ostream &os, StringRef descr,
           llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<char> data);

/// Formats a shape the way Python prints a tuple: `()`, `(3,)`, `(2, 3)`.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace swiglu::npy

#endif // SWIGLU_RUN_NPY_H
