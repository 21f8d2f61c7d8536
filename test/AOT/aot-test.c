/* Calls a library made by swiglu-compile (see aot.test) from plain C: packs
 * the weights once with ffn_pack_weights, runs ffn for several token counts,
 * and compares with a double-precision reference computed here from the
 * formula y = (silu(x·Wgᵀ + bg) ⊙ (x·Wuᵀ + bu))·Wdᵀ + bd. */
#include "ffn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { D = 96, F = 100, O = 80 };

static unsigned long long state = 12345;
static float rnd(void) { /* uniform in [-1, 1) */
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((state >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}

static swiglu_memref_2d matrix(float *data, int64_t rows, int64_t cols) {
  swiglu_memref_2d m = {data, data, 0, {rows, cols}, {cols, 1}};
  return m;
}
static swiglu_memref_1d vector(float *data, int64_t n) {
  swiglu_memref_1d v = {data, data, 0, {n}, {1}};
  return v;
}

int main(void) {
  static float wg[F * D], wu[F * D], wd[O * F], bg[F], bu[F], bd[O];
  for (int i = 0; i < F * D; ++i) wg[i] = rnd() * 0.1f, wu[i] = rnd() * 0.1f;
  for (int i = 0; i < O * F; ++i) wd[i] = rnd() * 0.1f;
  for (int i = 0; i < F; ++i) bg[i] = rnd(), bu[i] = rnd();
  for (int i = 0; i < O; ++i) bd[i] = rnd();

  swiglu_memref_2d mg = matrix(wg, F, D), mu = matrix(wu, F, D), md = matrix(wd, O, F);
  struct ffn_pack_weights_results packed;
  _mlir_ciface_ffn_pack_weights(&packed, &mg, &mu, &md);
  printf("packed: [%lld x %lld x %lld] [%lld x %lld x %lld]\n",
         (long long)packed.r0.sizes[0], (long long)packed.r0.sizes[1],
         (long long)packed.r0.sizes[2], (long long)packed.r1.sizes[0],
         (long long)packed.r1.sizes[1], (long long)packed.r1.sizes[2]);

  int failures = 0;
  const int tokens[] = {1, 7, 37, 129};
  for (int t = 0; t < 4; ++t) {
    int T = tokens[t];
    float *x = malloc(sizeof(float) * T * D);
    for (int i = 0; i < T * D; ++i) x[i] = rnd();
    swiglu_memref_2d mx = matrix(x, T, D), y;
    swiglu_memref_1d vg = vector(bg, F), vu = vector(bu, F), vd = vector(bd, O);
    _mlir_ciface_ffn(&y, &mx, &packed.r0, &packed.r1, &vg, &vu, &vd);
    double worst = 0, scale = 0;
    for (int r = 0; r < T; ++r) {
      double h[F];
      for (int f = 0; f < F; ++f) {
        double g = bg[f], u = bu[f];
        for (int k = 0; k < D; ++k) {
          g += (double)x[r * D + k] * wg[f * D + k];
          u += (double)x[r * D + k] * wu[f * D + k];
        }
        h[f] = g / (1.0 + exp(-g)) * u;
      }
      for (int o = 0; o < O; ++o) {
        double ref = bd[o];
        for (int f = 0; f < F; ++f) ref += h[f] * wd[o * F + f];
        float got = ((float *)y.aligned)[y.offset + r * y.strides[0] + o];
        worst = fmax(worst, fabs(got - ref));
        scale = fmax(scale, fabs(ref));
      }
    }
    int ok = y.sizes[0] == T && y.sizes[1] == O && worst <= 1e-5 * scale;
    printf("tokens %d: shape %lldx%lld max_err/max_ref %.2e %s\n", T,
           (long long)y.sizes[0], (long long)y.sizes[1], worst / scale,
           ok ? "OK" : "FAIL");
    failures += !ok;
    free(y.allocated);
    free(x);
  }
  free(packed.r0.allocated);
  free(packed.r1.allocated);
  return failures != 0;
}
