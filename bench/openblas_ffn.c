// The OpenBLAS baseline of the FFN benchmark: a SwiGLU block in PyTorch
// layout ([out, in] weights) as the strongest simple CPU implementation:
//
//   gu = x · Wgu^T        one sgemm, Wgu = [gate ‖ up] merged, [2F, D] -> [T, 2F]
//   h  = silu(gu[:, :F]) ⊙ gu[:, F:]     one vectorized loop (libmvec expf)
//   y  = h · Wd^T         one sgemm, Wd [D, F] -> [T, D]
//
// For one token (decode) the two products are sgemv instead: what a C
// programmer would call, and OpenBLAS 0.3.21's sgemm does not forward M = 1
// to its gemv kernels (numpy's matmul does call gemv for a vector).
//
// A shared library called from bench/ffn_bench.py through ctypes, so it runs
// on exactly the driver's arrays. Build (bench/run.sh):
//   clang -O3 -march=native -fno-math-errno -fveclib=libmvec -shared -fPIC
//         openblas_ffn.c -lopenblas -lmvec -o libopenblas_ffn.so
#include <cblas.h>
#include <math.h>
#include <stddef.h>

// OpenBLAS's own thread control (not in every cblas.h).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);

int ffn_set_threads(int threads) {
  openblas_set_num_threads(threads);
  return openblas_get_num_threads();
}

const char *ffn_blas_config(void) { return openblas_get_config(); }

// x [T, D], w_gate_up [2F, D], w_down [D, F]; scratch gu [T, 2F], h [T, F];
// y [T, D]. All row-major, contiguous.
void ffn_swiglu_f32(int T, int D, int F, const float *x, const float *w_gate_up,
                    const float *w_down, float *gu, float *h, float *y) {
  if (T == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, 2 * F, D, 1.0f, w_gate_up, D, x, 1, 0.0f, gu, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, 2 * F, D, 1.0f, x, D,
                w_gate_up, D, 0.0f, gu, 2 * F);
  for (int t = 0; t < T; ++t) {
    const float *g = gu + (size_t)t * 2 * F, *u = g + F;
    float *ht = h + (size_t)t * F;
    for (int f = 0; f < F; ++f) ht[f] = g[f] / (1.0f + expf(-g[f])) * u[f];
  }
  if (T == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, D, F, 1.0f, w_down, F, h, 1, 0.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, D, F, 1.0f, h, F,
                w_down, F, 0.0f, y, D);
}
