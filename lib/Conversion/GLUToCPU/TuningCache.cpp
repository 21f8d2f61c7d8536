//===- TuningCache.cpp - Measured kernel configurations -------------------===//

#include "TuningCache.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::glu;

FailureOr<TuningCache> TuningCache::load(StringRef path, std::string &error) {
  TuningCache cache;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    if (buffer.getError() == std::errc::no_such_file_or_directory)
      return cache;
    error = "cannot read tuning cache '" + path.str() +
            "': " + buffer.getError().message();
    return failure();
  }
  auto fail = [&](const Twine &why) {
    error = ("tuning cache '" + path + "': " + why).str();
    return failure();
  };
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return fail("not JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root || root->getInteger("version") != 1)
    return fail("expected an object with \"version\": 1");
  const llvm::json::Object *entries = root->getObject("entries");
  if (!entries)
    return fail("expected an object \"entries\"");
  for (const auto &[key, value] : *entries) {
    const llvm::json::Object *entry = value.getAsObject();
    if (!entry)
      return fail("entry '" + key.str() + "' is not an object");
    KernelConfig config;
    std::pair<const char *, int64_t *> fields[] = {
        {"micro-rows", &config.microRows},
        {"micro-vectors", &config.microVectors},
        {"k-chunk", &config.kChunk},
        {"tile-tokens", &config.tileTokens}};
    for (auto [name, field] : fields) {
      std::optional<int64_t> v = entry->getInteger(name);
      if (!v)
        return fail("entry '" + key.str() + "' has no integer \"" + name +
                    "\"");
      *field = *v;
    }
    cache.entries[key.str()] = config;
  }
  return cache;
}

std::optional<KernelConfig> TuningCache::lookup(StringRef key) const {
  auto it = entries.find(key);
  if (it == entries.end())
    return std::nullopt;
  return it->second;
}

std::string TuningCache::key(StringRef cpu, int64_t vectorBits, StringRef op,
                             Type x, Type weight, int64_t dModel,
                             int64_t dFF) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << cpu << "/v" << vectorBits << "|" << op << "|" << x << "x" << weight
     << "|" << dModel << "x" << dFF;
  return s;
}
