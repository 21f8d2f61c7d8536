//===- SwigluGpuRuntime.cpp - Run swiglu GPU kernel bundles ---------------===//
//
// See SwigluGpuRuntime.h. Plain C++17 and libc (dlopen); no CUDA headers:
// the driver API entry points used are declared below with the ABI of
// cuda.h (CUDA >= 3.2 "_v2" names where they exist).
//
//===----------------------------------------------------------------------===//

#include "SwigluGpuRuntime.h"

#include <dlfcn.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

thread_local std::string lastError;

int fail(int code, const char *format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  lastError = buffer;
  return code;
}

//===----------------------------------------------------------------------===//
// The CUDA driver API, loaded at run time
//===----------------------------------------------------------------------===//

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

struct Driver {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUdevice device = 0;
  CUcontext context = nullptr;
  int sm = 0;
};

Driver driver;
bool driverReady = false;

/// "cuFoo: CUDA_ERROR_X (description)".
int cudaFail(const char *call, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(r, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(r, &text);
  return fail(SWIGLU_GPU_ERR_CUDA, "%s: %s (%s)", call,
              name ? name : "unknown CUDA error", text ? text : "?");
}

#define CU_CHECK(call)                                                         \
  do {                                                                         \
    CUresult r_ = driver.call;                                                 \
    if (r_ != 0)                                                               \
      return cudaFail(#call, r_);                                              \
  } while (0)

template <typename F>
bool loadSymbol(F &fn, std::initializer_list<const char *> names) {
  for (const char *name : names)
    if (void *p = dlsym(driver.handle, name)) {
      fn = reinterpret_cast<F>(p);
      return true;
    }
  return false;
}

//===----------------------------------------------------------------------===//
// A minimal JSON reader (the manifest is written by swiglu-gpu-compile)
//===----------------------------------------------------------------------===//

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double n = 0;
  std::string s;
  std::vector<Json> a;
  std::vector<std::pair<std::string, Json>> o;

  const Json *get(const std::string &key) const {
    for (auto &kv : o)
      if (kv.first == key)
        return &kv.second;
    return nullptr;
  }
  int64_t integer() const { return int64_t(n); }
};

struct JsonParser {
  const char *p, *end;
  std::string error;

  void ws() {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
      ++p;
  }
  bool parse(Json &v) {
    ws();
    if (p >= end)
      return err("unexpected end");
    if (*p == '{') {
      ++p;
      v.kind = Json::Object;
      ws();
      if (p < end && *p == '}')
        return ++p, true;
      while (true) {
        Json key;
        ws();
        if (p >= end || *p != '"' || !parseString(key.s))
          return err("expected a key");
        ws();
        if (p >= end || *p++ != ':')
          return err("expected ':'");
        Json value;
        if (!parse(value))
          return false;
        v.o.emplace_back(key.s, std::move(value));
        ws();
        if (p < end && *p == ',') {
          ++p;
          continue;
        }
        if (p < end && *p == '}')
          return ++p, true;
        return err("expected ',' or '}'");
      }
    }
    if (*p == '[') {
      ++p;
      v.kind = Json::Array;
      ws();
      if (p < end && *p == ']')
        return ++p, true;
      while (true) {
        Json value;
        if (!parse(value))
          return false;
        v.a.push_back(std::move(value));
        ws();
        if (p < end && *p == ',') {
          ++p;
          continue;
        }
        if (p < end && *p == ']')
          return ++p, true;
        return err("expected ',' or ']'");
      }
    }
    if (*p == '"') {
      v.kind = Json::String;
      return parseString(v.s);
    }
    if (!strncmp(p, "true", 4)) {
      v.kind = Json::Bool;
      v.b = true;
      return p += 4, true;
    }
    if (!strncmp(p, "false", 5)) {
      v.kind = Json::Bool;
      return p += 5, true;
    }
    if (!strncmp(p, "null", 4))
      return p += 4, true;
    char *after;
    v.n = strtod(p, &after);
    if (after == p)
      return err("unexpected character");
    v.kind = Json::Number;
    p = after;
    return true;
  }
  bool parseString(std::string &out) {
    ++p; // "
    while (p < end && *p != '"') {
      if (*p == '\\' && p + 1 < end) {
        ++p;
        char c = *p;
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else {
        out += *p;
      }
      ++p;
    }
    if (p >= end)
      return err("unterminated string");
    ++p;
    return true;
  }
  bool err(const char *what) {
    error = what;
    return false;
  }
};

//===----------------------------------------------------------------------===//
// Bundles
//===----------------------------------------------------------------------===//

struct Tensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
};

struct Launch {
  std::string kernel;
  int64_t minTokens = 0, maxTokens = -1;
  std::string gridSize[3];
  int64_t gridTile[3] = {1, 1, 1};
  int64_t block[3] = {1, 1, 1};
  int64_t sharedBytes = 0;
  std::vector<std::string> args;
  CUfunction function = nullptr;
};

struct SizeRule {
  int64_t arg = 0, div = 1;
  std::vector<int64_t> dims;
};

struct Temporary {
  std::string name, dtype;
  std::vector<std::string> elements;
  CUdeviceptr pointer = 0;
  size_t capacity = 0;
};

} // namespace

struct SwigluGpuBundle {
  std::string dir, chip, ptxFile, cubinFile, op;
  std::vector<Tensor> inputs;
  Tensor output;
  int64_t outputLike = -1, outputBatchOf = -1;
  std::map<std::string, SizeRule> sizes;
  std::vector<Temporary> temporaries;
  std::vector<Launch> launches;
  CUmodule module = nullptr;
};

namespace {

size_t dtypeBytes(const std::string &dtype) {
  return dtype == "f32" ? 4 : dtype == "f64" ? 8 : 2;
}

bool readText(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

Tensor readTensor(const Json &j) {
  Tensor t;
  if (const Json *n = j.get("name"))
    t.name = n->s;
  if (const Json *d = j.get("dtype"))
    t.dtype = d->s;
  if (const Json *s = j.get("shape"))
    for (const Json &d : s->a)
      t.shape.push_back(d.integer());
  return t;
}

/// The sizes of one call, from the input shapes.
int computeSizes(const SwigluGpuBundle *b, const int *ranks,
                 const int64_t *const *dims,
                 std::map<std::string, int64_t> &sizes) {
  for (size_t i = 0; i < b->inputs.size(); ++i) {
    const Tensor &t = b->inputs[i];
    if (ranks[i] != int(t.shape.size()))
      return fail(SWIGLU_GPU_ERR_ARGUMENT,
                  "input %zu ('%s'): rank %d, expected %zu", i, t.name.c_str(),
                  ranks[i], t.shape.size());
    for (int d = 0; d < ranks[i]; ++d)
      if (t.shape[d] >= 0 && t.shape[d] != dims[i][d])
        return fail(SWIGLU_GPU_ERR_ARGUMENT,
                    "input %zu ('%s'): dim %d is %lld, expected %lld", i,
                    t.name.c_str(), d, (long long)dims[i][d],
                    (long long)t.shape[d]);
  }
  for (auto &[name, rule] : b->sizes) {
    int64_t v = 1;
    for (int64_t d : rule.dims)
      v *= dims[rule.arg][d];
    sizes[name] = v / rule.div;
  }
  return 0;
}

} // namespace

extern "C" {

const char *swigluGpuLastError(void) { return lastError.c_str(); }

int swigluGpuInit(int device) {
  if (driverReady)
    return 0;
  driver.handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver.handle) {
    const char *why = dlerror();
    return fail(SWIGLU_GPU_ERR_NO_DRIVER,
                "no CUDA driver found (dlopen libcuda.so.1: %s)",
                why ? why : "?");
  }
  bool ok = loadSymbol(driver.cuInit, {"cuInit"}) &&
            loadSymbol(driver.cuDeviceGet, {"cuDeviceGet"}) &&
            loadSymbol(driver.cuDeviceGetAttribute, {"cuDeviceGetAttribute"}) &&
            loadSymbol(driver.cuDeviceGetName, {"cuDeviceGetName"}) &&
            loadSymbol(driver.cuDevicePrimaryCtxRetain,
                       {"cuDevicePrimaryCtxRetain"}) &&
            loadSymbol(driver.cuCtxSetCurrent, {"cuCtxSetCurrent"}) &&
            loadSymbol(driver.cuCtxSynchronize, {"cuCtxSynchronize"}) &&
            loadSymbol(driver.cuModuleLoadDataEx, {"cuModuleLoadDataEx"}) &&
            loadSymbol(driver.cuModuleGetFunction, {"cuModuleGetFunction"}) &&
            loadSymbol(driver.cuFuncSetAttribute, {"cuFuncSetAttribute"}) &&
            loadSymbol(driver.cuLaunchKernel, {"cuLaunchKernel"}) &&
            loadSymbol(driver.cuMemAlloc, {"cuMemAlloc_v2"}) &&
            loadSymbol(driver.cuMemFree, {"cuMemFree_v2"}) &&
            loadSymbol(driver.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}) &&
            loadSymbol(driver.cuMemcpyDtoH, {"cuMemcpyDtoH_v2"}) &&
            loadSymbol(driver.cuEventCreate, {"cuEventCreate"}) &&
            loadSymbol(driver.cuEventRecord, {"cuEventRecord"}) &&
            loadSymbol(driver.cuEventSynchronize, {"cuEventSynchronize"}) &&
            loadSymbol(driver.cuEventElapsedTime,
                       {"cuEventElapsedTime_v2", "cuEventElapsedTime"}) &&
            loadSymbol(driver.cuEventDestroy,
                       {"cuEventDestroy_v2", "cuEventDestroy"}) &&
            loadSymbol(driver.cuGetErrorName, {"cuGetErrorName"}) &&
            loadSymbol(driver.cuGetErrorString, {"cuGetErrorString"});
  if (!ok)
    return fail(SWIGLU_GPU_ERR_NO_DRIVER,
                "no usable CUDA driver found (libcuda.so.1 lacks a driver API "
                "entry point)");
  CU_CHECK(cuInit(0));
  CU_CHECK(cuDeviceGet(&driver.device, device));
  int major = 0, minor = 0;
  CU_CHECK(cuDeviceGetAttribute(
      &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, driver.device));
  CU_CHECK(cuDeviceGetAttribute(
      &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, driver.device));
  driver.sm = major * 10 + minor;
  CU_CHECK(cuDevicePrimaryCtxRetain(&driver.context, driver.device));
  CU_CHECK(cuCtxSetCurrent(driver.context));
  driverReady = true;
  return 0;
}

int swigluGpuDeviceInfo(char *name, int nameLength, int *sm) {
  if (!driverReady)
    return fail(SWIGLU_GPU_ERR_NO_DRIVER, "swigluGpuInit was not called");
  CU_CHECK(cuDeviceGetName(name, nameLength, driver.device));
  *sm = driver.sm;
  return 0;
}

int swigluGpuOpen(const char *dir, const char *entryName,
                  SwigluGpuBundle **out) {
  std::string path = std::string(dir) + "/manifest.json";
  std::string text;
  if (!readText(path, text))
    return fail(SWIGLU_GPU_ERR_BUNDLE, "cannot read %s: %s", path.c_str(),
                strerror(errno));
  Json root;
  JsonParser parser{text.data(), text.data() + text.size(), ""};
  if (!parser.parse(root) || root.kind != Json::Object)
    return fail(SWIGLU_GPU_ERR_BUNDLE, "%s: not JSON (%s)", path.c_str(),
                parser.error.c_str());
  const Json *format = root.get("format");
  const Json *version = root.get("version");
  if (!format || format->s != "swiglu-gpu-bundle" || !version ||
      version->integer() != 1)
    return fail(SWIGLU_GPU_ERR_BUNDLE,
                "%s: not a swiglu-gpu-bundle version 1 manifest", path.c_str());
  const Json *entries = root.get("entries");
  if (!entries || entries->o.empty())
    return fail(SWIGLU_GPU_ERR_BUNDLE, "%s: no entries", path.c_str());
  const Json *entry = nullptr;
  if (entryName && *entryName) {
    entry = entries->get(entryName);
    if (!entry)
      return fail(SWIGLU_GPU_ERR_BUNDLE, "%s: no entry '%s'", path.c_str(),
                  entryName);
  } else {
    if (entries->o.size() != 1)
      return fail(SWIGLU_GPU_ERR_BUNDLE,
                  "%s: %zu entries, name one with --entry", path.c_str(),
                  entries->o.size());
    entry = &entries->o[0].second;
  }

  auto b = std::make_unique<SwigluGpuBundle>();
  b->dir = dir;
  b->chip = root.get("chip") ? root.get("chip")->s : "";
  b->ptxFile = root.get("ptx") ? root.get("ptx")->s : "";
  if (const Json *c = root.get("cubin"); c && c->kind == Json::String)
    b->cubinFile = c->s;
  b->op = entry->get("op") ? entry->get("op")->s : "";
  const Json *ins = entry->get("inputs"), *outs = entry->get("outputs"),
             *sizes = entry->get("sizes"), *launches = entry->get("launches");
  if (!ins || !outs || outs->a.size() != 1 || !sizes || !launches)
    return fail(SWIGLU_GPU_ERR_BUNDLE, "%s: incomplete entry", path.c_str());
  for (const Json &t : ins->a)
    b->inputs.push_back(readTensor(t));
  b->output = readTensor(outs->a[0]);
  if (const Json *l = outs->a[0].get("shape_like"))
    b->outputLike = l->integer();
  if (const Json *l = outs->a[0].get("shape_batch_of"))
    b->outputBatchOf = l->integer();
  for (auto &[name, r] : sizes->o) {
    SizeRule rule;
    rule.arg = r.get("arg")->integer();
    rule.div = r.get("div")->integer();
    for (const Json &d : r.get("dims")->a)
      rule.dims.push_back(d.integer());
    if (rule.arg < 0 || rule.arg >= int64_t(b->inputs.size()) || rule.div < 1)
      return fail(SWIGLU_GPU_ERR_BUNDLE, "%s: bad size rule '%s'",
                  path.c_str(), name.c_str());
    b->sizes[name] = rule;
  }
  if (const Json *temps = entry->get("temporaries"))
    for (const Json &t : temps->a) {
      Temporary tmp;
      tmp.name = t.get("name")->s;
      tmp.dtype = t.get("dtype")->s;
      for (const Json &e : t.get("elements")->a)
        tmp.elements.push_back(e.s);
      b->temporaries.push_back(tmp);
    }
  for (const Json &l : launches->a) {
    Launch launch;
    launch.kernel = l.get("kernel")->s;
    launch.minTokens = l.get("tokens")->a[0].integer();
    launch.maxTokens = l.get("tokens")->a[1].integer();
    for (int d = 0; d < 3; ++d) {
      launch.gridSize[d] = l.get("grid")->a[d].a[0].s;
      launch.gridTile[d] = l.get("grid")->a[d].a[1].integer();
      launch.block[d] = l.get("block")->a[d].integer();
    }
    launch.sharedBytes = l.get("dynamic_shared_bytes")->integer();
    for (const Json &a : l.get("args")->a)
      launch.args.push_back(a.s);
    b->launches.push_back(launch);
  }
  *out = b.release();
  return 0;
}

void swigluGpuClose(SwigluGpuBundle *b) {
  if (!b)
    return;
  if (driverReady)
    for (Temporary &t : b->temporaries)
      if (t.pointer)
        driver.cuMemFree(t.pointer);
  delete b;
}

int swigluGpuNumInputs(const SwigluGpuBundle *b) {
  return int(b->inputs.size());
}

static const Tensor &tensorAt(const SwigluGpuBundle *b, int i) {
  return i == int(b->inputs.size()) ? b->output : b->inputs[i];
}
const char *swigluGpuDtype(const SwigluGpuBundle *b, int i) {
  return tensorAt(b, i).dtype.c_str();
}
int swigluGpuDeclaredRank(const SwigluGpuBundle *b, int i) {
  return int(tensorAt(b, i).shape.size());
}
int64_t swigluGpuDeclaredDim(const SwigluGpuBundle *b, int i, int d) {
  return tensorAt(b, i).shape[d];
}

int swigluGpuOutputShape(const SwigluGpuBundle *b, const int *ranks,
                         const int64_t *const *dims, int *outRank,
                         int64_t *outDims) {
  std::map<std::string, int64_t> sizes;
  if (int rc = computeSizes(b, ranks, dims, sizes))
    return rc;
  std::vector<int64_t> shape;
  if (b->outputLike >= 0) {
    shape.assign(dims[b->outputLike], dims[b->outputLike] + ranks[b->outputLike]);
  } else {
    int x = int(b->outputBatchOf);
    shape.assign(dims[x], dims[x] + ranks[x] - 1);
    shape.push_back(b->op == "glu.gate_up" ? sizes["F"] : sizes["O"]);
  }
  if (shape.size() > 8)
    return fail(SWIGLU_GPU_ERR_ARGUMENT, "output rank above 8");
  *outRank = int(shape.size());
  for (size_t d = 0; d < shape.size(); ++d)
    outDims[d] = shape[d];
  return 0;
}

int swigluGpuLoadKernels(SwigluGpuBundle *b) {
  if (b->module)
    return 0;
  if (!driverReady)
    return fail(SWIGLU_GPU_ERR_NO_DRIVER, "swigluGpuInit was not called");
  std::string image;
  std::string chipOfDevice = "sm_" + std::to_string(driver.sm);
  bool useCubin = !b->cubinFile.empty() && b->chip == chipOfDevice;
  char log[8192] = {0};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log))};
  std::string file;
  CUresult r = 1;
  if (useCubin) {
    // A cubin from a newer ptxas than the driver knows may be refused: the
    // PTX (JIT-compiled by the driver) is the fallback.
    file = b->dir + "/" + b->cubinFile;
    if (readText(file, image))
      r = driver.cuModuleLoadDataEx(&b->module, image.data(), 2, options,
                                    values);
  }
  if (r != 0) {
    file = b->dir + "/" + b->ptxFile;
    if (!readText(file, image))
      return fail(SWIGLU_GPU_ERR_BUNDLE, "cannot read %s: %s", file.c_str(),
                  strerror(errno));
    image.push_back('\0'); // PTX is loaded as a C string
    log[0] = 0;
    r = driver.cuModuleLoadDataEx(&b->module, image.data(), 2, options,
                                  values);
  }
  if (r != 0) {
    cudaFail("cuModuleLoadDataEx", r);
    lastError += " loading " + file + " (bundle for " + b->chip +
                 ", device " + chipOfDevice + ")";
    if (log[0])
      lastError += ": " + std::string(log);
    return SWIGLU_GPU_ERR_CUDA;
  }
  for (Launch &l : b->launches) {
    CUresult r2 = driver.cuModuleGetFunction(&l.function, b->module,
                                             l.kernel.c_str());
    if (r2 != 0) {
      cudaFail("cuModuleGetFunction", r2);
      lastError += " for kernel " + l.kernel;
      return SWIGLU_GPU_ERR_CUDA;
    }
    // Beyond 48 KiB, dynamic shared memory is opt-in per kernel
    // (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES).
    constexpr int kMaxDynamicSharedSizeBytes = 8;
    if (l.sharedBytes > 48 * 1024) {
      r2 = driver.cuFuncSetAttribute(l.function, kMaxDynamicSharedSizeBytes,
                                     int(l.sharedBytes));
      if (r2 != 0) {
        cudaFail("cuFuncSetAttribute", r2);
        lastError += " (" + std::to_string(l.sharedBytes) +
                     " bytes of dynamic shared memory for kernel " + l.kernel +
                     ")";
        return SWIGLU_GPU_ERR_CUDA;
      }
    }
  }
  return 0;
}

int swigluGpuRun(SwigluGpuBundle *b, const uint64_t *pointers, const int *ranks,
                 const int64_t *const *dims, void *stream) {
  if (int rc = swigluGpuLoadKernels(b))
    return rc;
  std::map<std::string, int64_t> sizes;
  if (int rc = computeSizes(b, ranks, dims, sizes))
    return rc;
  std::map<std::string, std::pair<CUdeviceptr, int64_t>> buffers;
  int outRank = 0;
  int64_t outDims[8];
  if (int rc = swigluGpuOutputShape(b, ranks, dims, &outRank, outDims))
    return rc;
  for (size_t i = 0; i < b->inputs.size(); ++i) {
    int64_t n = 1;
    for (int d = 0; d < ranks[i]; ++d)
      n *= dims[i][d];
    buffers["arg" + std::to_string(i)] = {pointers[i], n};
  }
  int64_t outNumel = 1;
  for (int d = 0; d < outRank; ++d)
    outNumel *= outDims[d];
  buffers["result"] = {pointers[b->inputs.size()], outNumel};
  for (Temporary &t : b->temporaries) {
    int64_t n = 1;
    for (const std::string &s : t.elements)
      n *= sizes[s];
    size_t bytes = size_t(n) * dtypeBytes(t.dtype);
    if (bytes > t.capacity) {
      if (t.pointer)
        CU_CHECK(cuMemFree(t.pointer));
      t.pointer = 0;
      CU_CHECK(cuMemAlloc(&t.pointer, bytes ? bytes : 1));
      t.capacity = bytes;
    }
    buffers[t.name] = {t.pointer, n};
  }
  int64_t tokens = sizes.count("M") ? sizes["M"] : 0;
  for (Launch &l : b->launches) {
    if (tokens < l.minTokens || (l.maxTokens >= 0 && tokens > l.maxTokens))
      continue;
    if (tokens == 0 && b->sizes.count("M"))
      continue; // nothing to compute
    // Kernel parameters: 5 per buffer (memref descriptor), 1 per size.
    std::vector<uint64_t> storage;
    storage.reserve(l.args.size() * 5);
    for (const std::string &a : l.args) {
      if (a.rfind("size:", 0) == 0) {
        storage.push_back(uint64_t(sizes[a.substr(5)]));
        continue;
      }
      auto it = buffers.find(a);
      if (it == buffers.end())
        return fail(SWIGLU_GPU_ERR_BUNDLE, "launch of %s: unknown argument %s",
                    l.kernel.c_str(), a.c_str());
      storage.insert(storage.end(), {it->second.first, it->second.first, 0,
                                     uint64_t(it->second.second), 1});
    }
    std::vector<void *> params;
    for (uint64_t &v : storage)
      params.push_back(&v);
    unsigned grid[3];
    for (int d = 0; d < 3; ++d) {
      int64_t size = sizes.count(l.gridSize[d]) ? sizes[l.gridSize[d]] : 1;
      grid[d] = unsigned((size + l.gridTile[d] - 1) / l.gridTile[d]);
      if (grid[d] == 0)
        grid[d] = 1;
    }
    CUresult r = driver.cuLaunchKernel(
        l.function, grid[0], grid[1], grid[2], unsigned(l.block[0]),
        unsigned(l.block[1]), unsigned(l.block[2]), unsigned(l.sharedBytes),
        static_cast<CUstream>(stream), params.data(), nullptr);
    if (r != 0) {
      cudaFail("cuLaunchKernel", r);
      lastError += " (kernel " + l.kernel + ")";
      return SWIGLU_GPU_ERR_CUDA;
    }
  }
  return 0;
}

int swigluGpuTime(SwigluGpuBundle *b, const uint64_t *pointers,
                  const int *ranks, const int64_t *const *dims, void *stream,
                  int warmup, int iterations, float *msPerRun) {
  for (int i = 0; i < warmup; ++i)
    if (int rc = swigluGpuRun(b, pointers, ranks, dims, stream))
      return rc;
  CUevent start, stop;
  CU_CHECK(cuEventCreate(&start, 0));
  CU_CHECK(cuEventCreate(&stop, 0));
  CU_CHECK(cuEventRecord(start, static_cast<CUstream>(stream)));
  for (int i = 0; i < iterations; ++i)
    if (int rc = swigluGpuRun(b, pointers, ranks, dims, stream))
      return rc;
  CU_CHECK(cuEventRecord(stop, static_cast<CUstream>(stream)));
  CU_CHECK(cuEventSynchronize(stop));
  float ms = 0;
  CU_CHECK(cuEventElapsedTime(&ms, start, stop));
  driver.cuEventDestroy(start);
  driver.cuEventDestroy(stop);
  *msPerRun = iterations > 0 ? ms / float(iterations) : 0.0f;
  return 0;
}

int swigluGpuAlloc(uint64_t bytes, uint64_t *pointer) {
  CUdeviceptr p = 0;
  CU_CHECK(cuMemAlloc(&p, bytes ? bytes : 1));
  *pointer = p;
  return 0;
}
int swigluGpuFree(uint64_t pointer) {
  CU_CHECK(cuMemFree(pointer));
  return 0;
}
int swigluGpuCopyToDevice(uint64_t dst, const void *src, uint64_t bytes) {
  if (bytes)
    CU_CHECK(cuMemcpyHtoD(dst, src, bytes));
  return 0;
}
int swigluGpuCopyToHost(void *dst, uint64_t src, uint64_t bytes) {
  if (bytes)
    CU_CHECK(cuMemcpyDtoH(dst, src, bytes));
  return 0;
}
int swigluGpuSynchronize(void) {
  CU_CHECK(cuCtxSynchronize());
  return 0;
}

} // extern "C"
