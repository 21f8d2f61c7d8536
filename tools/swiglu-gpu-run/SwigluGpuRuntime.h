/*===- SwigluGpuRuntime.h - Run swiglu GPU kernel bundles ---------*- C -*-===//
 *
 * A small C library that runs the kernel bundles of swiglu-gpu-compile
 * (manifest.json + kernels.ptx [+ kernels.cubin]) through the CUDA driver
 * API. It has no build-time dependency on CUDA, LLVM or MLIR: libcuda.so.1
 * is opened with dlopen at run time, and the few driver entry points it uses
 * are declared here. It uses the device's primary context, so buffers of
 * PyTorch or CuPy (same process) can be passed directly.
 *
 * Every function returns 0 on success; on failure a non-zero code
 * (SWIGLU_GPU_ERR_*) and swigluGpuLastError() describes it (CUDA errors by
 * name, e.g. "cuLaunchKernel: CUDA_ERROR_INVALID_VALUE (invalid argument)").
 *
 *===----------------------------------------------------------------------===*/

#ifndef SWIGLU_GPU_RUNTIME_H
#define SWIGLU_GPU_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  SWIGLU_GPU_OK = 0,
  SWIGLU_GPU_ERR_BUNDLE = 1,    /* bad or missing bundle / manifest */
  SWIGLU_GPU_ERR_ARGUMENT = 2,  /* wrong number, shape or dtype of buffers */
  SWIGLU_GPU_ERR_NO_DRIVER = 3, /* libcuda.so.1 missing or unusable */
  SWIGLU_GPU_ERR_CUDA = 4       /* a CUDA driver call failed */
};

typedef struct SwigluGpuBundle SwigluGpuBundle;

/* The message of the last failure in this thread ("" if none). */
const char *swigluGpuLastError(void);

/* Loads the driver (dlopen libcuda.so.1), cuInit, and makes the primary
 * context of `device` current. Idempotent. */
int swigluGpuInit(int device);

/* Reads `<dir>/manifest.json` and selects `entry` (NULL: the only entry).
 * Needs no driver. */
int swigluGpuOpen(const char *dir, const char *entry, SwigluGpuBundle **out);
void swigluGpuClose(SwigluGpuBundle *bundle);

/* The entry's inputs (in argument order) and output. */
int swigluGpuNumInputs(const SwigluGpuBundle *bundle);
/* dtype ("f32", "f16", "bf16") and declared rank and dims (-1: dynamic) of
 * input `i`, or of the output for i == numInputs. */
const char *swigluGpuDtype(const SwigluGpuBundle *bundle, int i);
int swigluGpuDeclaredRank(const SwigluGpuBundle *bundle, int i);
int64_t swigluGpuDeclaredDim(const SwigluGpuBundle *bundle, int i, int d);

/* Checks the input shapes (ranks[i], dims[i][...]) against the manifest and
 * computes the output shape: `outRank`, `outDims` (room for 8). */
int swigluGpuOutputShape(const SwigluGpuBundle *bundle, const int *ranks,
                         const int64_t *const *dims, int *outRank,
                         int64_t *outDims);

/* Loads the kernels (the cubin when it was built for this device's SM,
 * otherwise the PTX, JIT-compiled by the driver). Needs swigluGpuInit. */
int swigluGpuLoadKernels(SwigluGpuBundle *bundle);

/* Runs the entry on device buffers: `pointers` holds the inputs in argument
 * order, then the output (CUdeviceptr values); shapes as for
 * swigluGpuOutputShape. Temporaries are allocated on first use and kept.
 * `stream` is a CUstream (NULL: the legacy default stream). Asynchronous. */
int swigluGpuRun(SwigluGpuBundle *bundle, const uint64_t *pointers,
                 const int *ranks, const int64_t *const *dims, void *stream);

/* swigluGpuRun `iterations` times between two events on `stream`, after
 * `warmup` runs; *msPerRun is the mean time of one run in milliseconds. */
int swigluGpuTime(SwigluGpuBundle *bundle, const uint64_t *pointers,
                  const int *ranks, const int64_t *const *dims, void *stream,
                  int warmup, int iterations, float *msPerRun);

/* Device memory helpers (for the CLI and tests). */
int swigluGpuAlloc(uint64_t bytes, uint64_t *pointer);
int swigluGpuFree(uint64_t pointer);
int swigluGpuCopyToDevice(uint64_t dst, const void *src, uint64_t bytes);
int swigluGpuCopyToHost(void *dst, uint64_t src, uint64_t bytes);
int swigluGpuSynchronize(void);
/* The device name and compute capability (e.g. 90) after swigluGpuInit. */
int swigluGpuDeviceInfo(char *name, int nameLength, int *sm);

#ifdef __cplusplus
}
#endif

#endif /* SWIGLU_GPU_RUNTIME_H */
