//===- Npy.cpp - Minimal reader and writer for NumPy .npy files -----------===//
//
// See Npy.h. The header of a `.npy` file is
//
//   "\x93NUMPY" <major:u8> <minor:u8> <header_len:u16 (v1) | u32 (v2, v3)>
//   <header_len bytes: a Python dict literal, space padded, '\n' terminated>
//
// e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// followed directly by the raw array data.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <optional>

using namespace swiglu::npy;
using llvm::Error;
using llvm::Expected;

static_assert(llvm::endianness::native == llvm::endianness::little,
              "swiglu-run's .npy handling assumes a little-endian host");

namespace {
constexpr StringRef kMagic = "\x93NUMPY";
/// Magic, two version bytes; the header length field follows.
constexpr size_t kVersionEnd = 8;
/// numpy pads headers so that the data starts at a multiple of this.
constexpr size_t kHeaderAlignment = 64;
} // namespace

/// Returns an error whose message is `name: message`.
static Error makeError(StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "'" + name + "': " + message);
}

/// Returns `text` with non-printable characters escaped, for error messages
/// that quote a (possibly corrupt) header.
static std::string escape(StringRef text) {
  std::string escaped;
  llvm::raw_string_ostream os(escaped);
  os.write_escaped(text);
  return escaped;
}

//===----------------------------------------------------------------------===//
// AlignedBuffer
//===----------------------------------------------------------------------===//

AlignedBuffer::AlignedBuffer(size_t size) : numBytes(size) {
  // std::aligned_alloc wants a size that is a multiple of the alignment, and
  // a nonzero one so that the pointer is never null.
  size_t allocSize = llvm::alignTo(std::max<size_t>(size, 1), kBufferAlignment);
  storage.reset(
      static_cast<char *>(std::aligned_alloc(kBufferAlignment, allocSize)));
  if (!storage)
    llvm::report_bad_alloc_error("swiglu-run: out of memory for an array");
}

void AlignedBuffer::FreeDeleter::operator()(char *ptr) const { std::free(ptr); }

//===----------------------------------------------------------------------===//
// Header dictionary parsing
//===----------------------------------------------------------------------===//

namespace {
/// A recursive-descent parser for the one Python literal a `.npy` header
/// holds: a dict with string keys whose values are strings, booleans, or
/// tuples of integers.
class HeaderDictParser {
public:
  HeaderDictParser(StringRef text, StringRef name) : rest(text), name(name) {}

  /// Parses the whole dictionary into `header` (descr, fortran_order, shape).
  Error parse(Header &header);

private:
  void skipSpace() { rest = rest.ltrim(" \t\r\n"); }
  bool consume(char c) {
    skipSpace();
    return rest.consume_front(StringRef(&c, 1));
  }
  Error expected(StringRef what) {
    return makeError(name, "malformed .npy header: expected " + what + " at '" +
                               escape(rest.take_front(20)) + "'");
  }

  Expected<std::string> parseString();
  Expected<bool> parseBool();
  Expected<llvm::SmallVector<int64_t>> parseShapeTuple();

  StringRef rest;
  StringRef name;
};
} // namespace

Expected<std::string> HeaderDictParser::parseString() {
  skipSpace();
  if (rest.empty() || (rest.front() != '\'' && rest.front() != '"'))
    return expected("a string");
  char quote = rest.front();
  size_t end = rest.find(quote, 1);
  if (end == StringRef::npos)
    return expected("a closing quote");
  std::string value = rest.slice(1, end).str();
  rest = rest.drop_front(end + 1);
  return value;
}

Expected<bool> HeaderDictParser::parseBool() {
  skipSpace();
  if (rest.consume_front("True"))
    return true;
  if (rest.consume_front("False"))
    return false;
  return expected("True or False");
}

Expected<llvm::SmallVector<int64_t>> HeaderDictParser::parseShapeTuple() {
  if (!consume('('))
    return expected("a shape tuple");
  llvm::SmallVector<int64_t> shape;
  while (!consume(')')) {
    skipSpace();
    size_t numDigits = rest.find_first_not_of("0123456789");
    if (numDigits == 0 || numDigits == StringRef::npos)
      return expected("a non-negative dimension size");
    int64_t dim;
    if (rest.take_front(numDigits).getAsInteger(10, dim))
      return makeError(name, "dimension size '" + rest.take_front(numDigits) +
                                 "' is too large");
    rest = rest.drop_front(numDigits);
    rest.consume_front("L"); // Python 2 long literal, as old files write it.
    shape.push_back(dim);
    if (!consume(',')) {
      if (!consume(')'))
        return expected("',' or ')' in the shape tuple");
      break;
    }
  }
  return shape;
}

Error HeaderDictParser::parse(Header &header) {
  bool seenDescr = false, seenOrder = false, seenShape = false;
  if (!consume('{'))
    return expected("'{'");
  while (!consume('}')) {
    Expected<std::string> key = parseString();
    if (!key)
      return key.takeError();
    if (!consume(':'))
      return expected("':'");
    if (*key == "descr") {
      skipSpace();
      if (rest.starts_with("["))
        return makeError(name, "structured dtypes are not supported");
      Expected<std::string> descr = parseString();
      if (!descr)
        return descr.takeError();
      header.descr = std::move(*descr);
      seenDescr = true;
    } else if (*key == "fortran_order") {
      Expected<bool> order = parseBool();
      if (!order)
        return order.takeError();
      header.fortranOrder = *order;
      seenOrder = true;
    } else if (*key == "shape") {
      Expected<llvm::SmallVector<int64_t>> shape = parseShapeTuple();
      if (!shape)
        return shape.takeError();
      header.shape = std::move(*shape);
      seenShape = true;
    } else {
      return makeError(name, "malformed .npy header: unexpected key '" +
                                 escape(*key) + "'");
    }
    if (!consume(',')) {
      if (!consume('}'))
        return expected("',' or '}'");
      break;
    }
  }
  if (!seenDescr || !seenOrder || !seenShape)
    return makeError(name, "malformed .npy header: it must have the keys "
                           "'descr', 'fortran_order' and 'shape'");
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Descriptors
//===----------------------------------------------------------------------===//

/// Checks a simple dtype descriptor (`<f4`, `|b1`, `<V2`, `=i8`), and fills
/// in `header.itemSize` and `header.normalizedDescr`.
static Error parseDescr(Header &header, StringRef name) {
  auto unsupported = [&](const llvm::Twine &why) {
    return makeError(name, "unsupported dtype '" + escape(header.descr) +
                               "': " + why);
  };
  StringRef descr = header.descr;
  char byteOrder = '|';
  if (!descr.empty() && StringRef("<>|=").contains(descr.front())) {
    byteOrder = descr.front();
    descr = descr.drop_front();
  }
  // Kinds whose descriptor size is their byte size: bool, signed, unsigned,
  // float, complex, raw bytes (void). Strings, datetimes, objects are out.
  if (descr.empty() || !StringRef("biufcV").contains(descr.front()))
    return unsupported("only numeric and raw (V) dtypes are supported");
  char kind = descr.front();
  unsigned itemSize;
  if (descr.drop_front().getAsInteger(10, itemSize) || itemSize == 0)
    return unsupported("expected a kind letter and a size, like '<f4'");
  if (byteOrder == '>' && itemSize > 1)
    return unsupported("big-endian data is not supported; convert it with "
                       "arr.astype(arr.dtype.newbyteorder('<'))");
  if (byteOrder == '=')
    byteOrder = '<'; // Native order, and this host is little-endian.
  if (itemSize == 1)
    byteOrder = '|'; // Byte order does not apply.
  header.itemSize = itemSize;
  header.normalizedDescr =
      (llvm::Twine(byteOrder) + llvm::Twine(kind) + llvm::Twine(itemSize))
          .str();
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

Expected<Header> swiglu::npy::parseHeader(StringRef contents, StringRef name,
                                          size_t &dataOffset) {
  if (!contents.starts_with(kMagic))
    return makeError(name, "not a .npy file (bad magic string)");
  if (contents.size() < kVersionEnd)
    return makeError(name, "truncated .npy header");
  unsigned major = static_cast<unsigned char>(contents[6]);
  unsigned minor = static_cast<unsigned char>(contents[7]);
  if (minor != 0 || major < 1 || major > 3)
    return makeError(name, llvm::formatv("unsupported .npy format version "
                                         "{0}.{1} (1.0, 2.0 and 3.0 are)",
                                         major, minor));
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t headerStart = kVersionEnd + lengthSize;
  if (contents.size() < headerStart)
    return makeError(name, "truncated .npy header");
  const char *lengthPtr = contents.data() + kVersionEnd;
  size_t headerLength =
      major == 1
          ? llvm::support::endian::read16le(lengthPtr)
          : static_cast<size_t>(llvm::support::endian::read32le(lengthPtr));
  if (contents.size() - headerStart < headerLength)
    return makeError(name, llvm::formatv("truncated .npy header: it declares "
                                         "{0} bytes but the file ends after "
                                         "{1}",
                                         headerLength,
                                         contents.size() - headerStart));
  Header header;
  HeaderDictParser parser(contents.substr(headerStart, headerLength), name);
  if (Error err = parser.parse(header))
    return std::move(err);
  if (Error err = parseDescr(header, name))
    return std::move(err);
  if (header.fortranOrder)
    return makeError(name, "Fortran-ordered arrays are not supported; save a "
                           "C-ordered copy (np.ascontiguousarray(arr))");
  dataOffset = headerStart + headerLength;
  return header;
}

/// Returns the number of bytes of an array of `shape` with `itemSize`-byte
/// elements, or std::nullopt if that does not fit in 63 bits.
static std::optional<int64_t> getByteSize(llvm::ArrayRef<int64_t> shape,
                                          size_t itemSize) {
  int64_t bytes = static_cast<int64_t>(itemSize);
  for (int64_t dim : shape)
    if (llvm::MulOverflow(bytes, dim, bytes))
      return std::nullopt;
  return bytes;
}

Expected<Array> swiglu::npy::readFile(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!file)
    return makeError(path, "cannot read: " + file.getError().message());
  StringRef contents = (*file)->getBuffer();

  size_t dataOffset = 0;
  Expected<Header> header = parseHeader(contents, path, dataOffset);
  if (!header)
    return header.takeError();

  std::optional<int64_t> expectedBytes =
      getByteSize(header->shape, header->itemSize);
  if (!expectedBytes)
    return makeError(path, "array of shape " + formatShape(header->shape) +
                               " is too large");
  size_t actualBytes = contents.size() - dataOffset;
  if (actualBytes != static_cast<size_t>(*expectedBytes))
    return makeError(
        path, llvm::formatv("{0}: shape {1} of '{2}' needs {3} data bytes, but "
                            "the file has {4}",
                            actualBytes < static_cast<size_t>(*expectedBytes)
                                ? "truncated data"
                                : "trailing bytes after the data",
                            formatShape(header->shape), header->descr,
                            *expectedBytes, actualBytes));

  Array array;
  array.header = std::move(*header);
  array.data = AlignedBuffer(actualBytes);
  if (actualBytes)
    std::memcpy(array.data.data(), contents.data() + dataOffset, actualBytes);
  return array;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

std::string swiglu::npy::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "(";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  if (shape.size() == 1)
    os << ',';
  os << ')';
  return text;
}

void swiglu::npy::write(llvm::raw_ostream &os, StringRef descr,
                        llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<char> data) {
  std::string dict =
      ("{'descr': '" + descr +
       "', 'fortran_order': False, 'shape': " + formatShape(shape) + ", }")
          .str();
  // Pad with spaces and end with '\n' so that the data starts at a multiple
  // of kHeaderAlignment, as numpy does; switch to version 2.0 (4-byte length)
  // only if version 1.0's 2-byte length cannot hold the header.
  unsigned major = 1;
  size_t prefixSize = kVersionEnd + 2;
  size_t headerLength =
      llvm::alignTo(prefixSize + dict.size() + 1, kHeaderAlignment) -
      prefixSize;
  if (headerLength > UINT16_MAX) {
    major = 2;
    prefixSize = kVersionEnd + 4;
    headerLength =
        llvm::alignTo(prefixSize + dict.size() + 1, kHeaderAlignment) -
        prefixSize;
  }
  dict.append(headerLength - dict.size() - 1, ' ');
  dict.push_back('\n');

  os << kMagic << static_cast<char>(major) << '\0';
  char length[4];
  if (major == 1) {
    llvm::support::endian::write16le(length, headerLength);
    os.write(length, 2);
  } else {
    llvm::support::endian::write32le(length, headerLength);
    os.write(length, 4);
  }
  os << dict;
  os.write(data.data(), data.size());
}
