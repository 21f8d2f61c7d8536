//===- swiglu-gpu-run.cpp - Run a swiglu GPU kernel bundle on .npy files --===//
//
// swiglu-gpu-run <bundle-dir> [--entry=<name>] -i a.npy ... -o out.npy
//     [--repeat=N] [--device=K]
//
// Reads the bundle's manifest and the inputs (dtypes and shapes checked
// against it: f32 `<f4`, f16 `<f2`, bf16 as raw `<u2` bits), then loads the
// CUDA driver (dlopen libcuda.so.1; without one it stops with "no CUDA
// driver found" and exit code 3), runs the entry and writes the output.
// --repeat=N also times N more runs (CUDA events) and prints the mean.
// Exit codes: 0 ok, 1 usage or file errors, 2 bad inputs, 3 no driver,
// 4 CUDA error (named, e.g. CUDA_ERROR_ILLEGAL_ADDRESS).
//
// Depends on nothing but libc and SwigluGpuRuntime (no CUDA, LLVM or MLIR at
// build time), so a machine with a GPU needs only this binary and a bundle.
//
//===----------------------------------------------------------------------===//

#include "SwigluGpuRuntime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: swiglu-gpu-run <bundle-dir> [--entry=<name>] -i "
               "in.npy ... -o out.npy [--repeat=N] [--device=K]\n");
  return 1;
}

int error(int code, const std::string &message) {
  std::fprintf(stderr, "swiglu-gpu-run: error: %s\n", message.c_str());
  return code;
}

struct Npy {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<char> data;
};

/// Reads a C-ordered little-endian .npy (versions 1-3).
bool readNpy(const std::string &path, Npy &out, std::string &why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() < 10 || s.compare(0, 6, "\x93NUMPY") != 0) {
    why = path + ": not a .npy file";
    return false;
  }
  int major = (unsigned char)s[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = (unsigned char)s[8] | ((unsigned char)s[9] << 8);
    offset = 10;
  } else {
    if (s.size() < 12) {
      why = path + ": truncated";
      return false;
    }
    headerLen = (unsigned char)s[8] | ((unsigned char)s[9] << 8) |
                ((unsigned char)s[10] << 16) | (size_t((unsigned char)s[11]) << 24);
    offset = 12;
  }
  if (offset + headerLen > s.size()) {
    why = path + ": truncated header";
    return false;
  }
  std::string header = s.substr(offset, headerLen);
  auto field = [&](const char *key) -> std::string {
    size_t k = header.find(key);
    if (k == std::string::npos)
      return "";
    size_t colon = header.find(':', k);
    return colon == std::string::npos ? "" : header.substr(colon + 1);
  };
  std::string d = field("'descr'");
  size_t q1 = d.find('\''), q2 = d.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) {
    why = path + ": no descr";
    return false;
  }
  out.descr = d.substr(q1 + 1, q2 - q1 - 1);
  if (field("'fortran_order'").find("True") < 8) {
    why = path + ": Fortran order is not supported";
    return false;
  }
  std::string sh = field("'shape'");
  size_t open = sh.find('('), close = sh.find(')');
  if (open == std::string::npos || close == std::string::npos) {
    why = path + ": no shape";
    return false;
  }
  std::string dims = sh.substr(open + 1, close - open - 1);
  const char *p = dims.c_str();
  while (*p) {
    while (*p == ' ' || *p == ',')
      ++p;
    if (!*p)
      break;
    char *end;
    long long v = std::strtoll(p, &end, 10);
    if (end == p) {
      why = path + ": bad shape";
      return false;
    }
    out.shape.push_back(v);
    p = end;
  }
  size_t item = out.descr.size() >= 3 ? size_t(std::atoi(out.descr.c_str() + 2)) : 0;
  size_t n = 1;
  for (int64_t v : out.shape)
    n *= size_t(v);
  size_t start = offset + headerLen;
  if (s.size() - start != n * item) {
    why = path + ": data size does not match shape and dtype";
    return false;
  }
  out.data.assign(s.begin() + start, s.end());
  return true;
}

bool writeNpy(const std::string &path, const std::string &descr,
              const std::vector<int64_t> &shape, const std::vector<char> &data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  dict += "), }";
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary);
  if (!out)
    return false;
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {char(dict.size() & 0xff), char(dict.size() >> 8)};
  out.write(len, 2);
  out.write(dict.data(), std::streamsize(dict.size()));
  out.write(data.data(), std::streamsize(data.size()));
  out.close();
  return out && std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string expectedDescr(const std::string &dtype) {
  return dtype == "f32" ? "<f4" : dtype == "f16" ? "<f2" : dtype == "bf16" ? "<u2" : "<f8";
}

bool descrMatches(const std::string &dtype, const std::string &descr) {
  if (dtype == "bf16")
    return descr == "<u2" || descr == "|V2" || descr == "<V2";
  return descr == expectedDescr(dtype);
}

#define CHECK_RT(expr)                                                         \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != 0)                                                              \
      return error(rc_ == SWIGLU_GPU_ERR_NO_DRIVER ? 3                         \
                   : rc_ == SWIGLU_GPU_ERR_CUDA    ? 4                         \
                   : rc_ == SWIGLU_GPU_ERR_ARGUMENT ? 2                        \
                                                    : 1,                       \
                   swigluGpuLastError());                                      \
  } while (0)

} // namespace

int main(int argc, char **argv) {
  std::string bundleDir, entry;
  std::vector<std::string> inputs, outputs;
  int repeat = 0, device = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-i" || a == "-o") && i + 1 < argc)
      (a == "-i" ? inputs : outputs).push_back(argv[++i]);
    else if (a.rfind("--entry=", 0) == 0)
      entry = a.substr(8);
    else if (a.rfind("--repeat=", 0) == 0)
      repeat = std::atoi(a.c_str() + 9);
    else if (a.rfind("--device=", 0) == 0)
      device = std::atoi(a.c_str() + 9);
    else if (a == "-h" || a == "--help")
      return usage(), 0;
    else if (!a.empty() && a[0] != '-' && bundleDir.empty())
      bundleDir = a;
    else
      return usage();
  }
  if (bundleDir.empty() || outputs.size() != 1)
    return usage();

  SwigluGpuBundle *opened = nullptr;
  CHECK_RT(swigluGpuOpen(bundleDir.c_str(), entry.c_str(), &opened));
  // Closed on every way out, the error returns included.
  std::unique_ptr<SwigluGpuBundle, void (*)(SwigluGpuBundle *)> owner(
      opened, swigluGpuClose);
  SwigluGpuBundle *bundle = owner.get();
  int n = swigluGpuNumInputs(bundle);
  if (int(inputs.size()) != n)
    return error(2, "the entry takes " + std::to_string(n) + " inputs, got " +
                        std::to_string(inputs.size()));
  std::vector<Npy> arrays(n);
  std::vector<int> ranks(n);
  std::vector<const int64_t *> dims(n);
  for (int i = 0; i < n; ++i) {
    std::string why;
    if (!readNpy(inputs[i], arrays[i], why))
      return error(1, why);
    std::string dtype = swigluGpuDtype(bundle, i);
    if (!descrMatches(dtype, arrays[i].descr))
      return error(2, inputs[i] + ": dtype " + arrays[i].descr + ", input " +
                          std::to_string(i) + " is " + dtype + " (" +
                          expectedDescr(dtype) + ")");
    ranks[i] = int(arrays[i].shape.size());
    dims[i] = arrays[i].shape.data();
  }
  int outRank = 0;
  int64_t outDims[8];
  CHECK_RT(swigluGpuOutputShape(bundle, ranks.data(), dims.data(), &outRank,
                                outDims));
  std::string outDtype = swigluGpuDtype(bundle, n);
  size_t outItem = outDtype == "f32" ? 4 : outDtype == "f64" ? 8 : 2;
  std::vector<int64_t> outShape(outDims, outDims + outRank);
  size_t outNumel = 1;
  for (int64_t d : outShape)
    outNumel *= size_t(d);

  CHECK_RT(swigluGpuInit(device));
  char name[256] = {0};
  int sm = 0;
  CHECK_RT(swigluGpuDeviceInfo(name, sizeof(name), &sm));
  std::vector<uint64_t> pointers(n + 1);
  for (int i = 0; i < n; ++i) {
    CHECK_RT(swigluGpuAlloc(arrays[i].data.size(), &pointers[i]));
    CHECK_RT(swigluGpuCopyToDevice(pointers[i], arrays[i].data.data(),
                                   arrays[i].data.size()));
  }
  CHECK_RT(swigluGpuAlloc(outNumel * outItem, &pointers[n]));
  CHECK_RT(swigluGpuRun(bundle, pointers.data(), ranks.data(), dims.data(),
                        nullptr));
  CHECK_RT(swigluGpuSynchronize());
  std::vector<char> result(outNumel * outItem);
  CHECK_RT(swigluGpuCopyToHost(result.data(), pointers[n], result.size()));
  if (repeat > 0) {
    float ms = 0;
    CHECK_RT(swigluGpuTime(bundle, pointers.data(), ranks.data(), dims.data(),
                           nullptr, 1, repeat, &ms));
    std::printf("%s (sm_%d): %.4f ms a call, mean of %d\n", name, sm, ms,
                repeat);
  }
  for (uint64_t p : pointers)
    swigluGpuFree(p);
  if (!writeNpy(outputs[0], expectedDescr(outDtype), outShape, result))
    return error(1, "cannot write " + outputs[0]);
  return 0;
}
