// Machine ceilings for the FFN benchmark: FP32 FMA peak and memory read
// bandwidth, both on N threads (pthreads, one per core).
//
//   peak fma    [threads]  GFLOP/s of independent AVX-512 FMA chains
//   peak fma256 [threads]  the same with 256-bit (AVX2) FMAs: the ceiling of
//                          code limited to AVX2 (x86-64-v3)
//   peak bw     [threads]  GB/s of a sum over a 1 GiB float array
//
// Each prints one line "<what> <median> <max>" over several repetitions.
// Build: clang -O3 -march=native -pthread peak.c -o peak
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// ---------------------------------------------------------------------------
// FMA peak: 16 independent zmm accumulators (FMA latency 4 x 2 pipes needs
// at least 8 in flight), each FMA = 16 lanes x 2 flops.
// ---------------------------------------------------------------------------

#define CHAINS 16
#define FMA_ITERS 20000000L

typedef struct {
  pthread_barrier_t *barrier;
  long iters;
  float sink;
} fma_arg;

// 256-bit FMAs: 12 chains + 2 constants fit AVX2's 16 ymm registers.
#define CHAINS256 12

static void *fma256_worker(void *p) {
  fma_arg *a = p;
  __m256 acc[CHAINS256];
  for (int i = 0; i < CHAINS256; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 mul = _mm256_set1_ps(0.9999999f), add = _mm256_set1_ps(1e-7f);
  pthread_barrier_wait(a->barrier);
  for (long it = 0; it < a->iters; ++it) {
#pragma clang loop unroll(full)
    for (int i = 0; i < CHAINS256; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  }
  __m256 s = acc[0];
  for (int i = 1; i < CHAINS256; ++i) s = _mm256_add_ps(s, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  a->sink = lanes[0] + lanes[7];
  return NULL;
}

static void *fma_worker(void *p) {
  fma_arg *a = p;
  __m512 acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  // Multiplier 1, addend tiny: values stay finite, no denormals.
  const __m512 mul = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-7f);
  pthread_barrier_wait(a->barrier);
  for (long it = 0; it < a->iters; ++it) {
#pragma clang loop unroll(full)
    for (int i = 0; i < CHAINS; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  }
  __m512 s = acc[0];
  for (int i = 1; i < CHAINS; ++i) s = _mm512_add_ps(s, acc[i]);
  a->sink = _mm512_reduce_add_ps(s);
  return NULL;
}

// GFLOP/s of `threads` workers running `iters` iterations each; `wide`:
// AVX-512 (16 chains of 16 lanes), else AVX2 (12 chains of 8 lanes).
static double fma_once(int threads, long iters, int wide) {
  pthread_t tid[64];
  fma_arg args[64];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, threads + 1);
  for (int t = 0; t < threads; ++t) {
    args[t].barrier = &barrier;
    args[t].iters = iters;
    pthread_create(&tid[t], NULL, wide ? fma_worker : fma256_worker, &args[t]);
  }
  pthread_barrier_wait(&barrier);
  double t0 = now();
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
  double dt = now() - t0;
  pthread_barrier_destroy(&barrier);
  volatile float sink = 0;
  for (int t = 0; t < threads; ++t) sink += args[t].sink;
  (void)sink;
  double flops_per_iter = wide ? CHAINS * 16 * 2 : CHAINS256 * 8 * 2;
  return (double)threads * iters * flops_per_iter / dt / 1e9;
}

// ---------------------------------------------------------------------------
// Read bandwidth: each thread sums its half of a 1 GiB float array with 8
// zmm accumulators (loads, not streaming stores: what a GEMV does).
// ---------------------------------------------------------------------------

typedef struct {
  pthread_barrier_t *barrier;
  const float *data;
  size_t n;
  float sum;
} bw_arg;

static void *bw_worker(void *p) {
  bw_arg *a = p;
  pthread_barrier_wait(a->barrier);
  __m512 acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = _mm512_setzero_ps();
  const float *d = a->data;
  for (size_t i = 0; i + 128 <= a->n; i += 128)
    for (int j = 0; j < 8; ++j)
      acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(d + i + 16 * j));
  for (int i = 1; i < 8; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  a->sum = _mm512_reduce_add_ps(acc[0]);
  return NULL;
}

static double bw_once(int threads, const float *data, size_t n) {
  pthread_t tid[64];
  bw_arg args[64];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, threads + 1);
  size_t per = n / threads / 128 * 128;
  for (int t = 0; t < threads; ++t) {
    args[t] = (bw_arg){&barrier, data + t * per, per, 0};
    pthread_create(&tid[t], NULL, bw_worker, &args[t]);
  }
  pthread_barrier_wait(&barrier);
  double t0 = now();
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
  double dt = now() - t0;
  pthread_barrier_destroy(&barrier);
  volatile float sink = 0;
  for (int t = 0; t < threads; ++t) sink += args[t].sum;
  (void)sink;
  return (double)threads * per * sizeof(float) / dt / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "fma") && strcmp(argv[1], "fma256") && strcmp(argv[1], "bw"))) {
    fprintf(stderr, "usage: %s fma|fma256|bw [threads] [repetitions]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 2;
  int reps = argc > 3 ? atoi(argv[3]) : 7;
  if (threads < 1 || threads > 64 || reps < 1 || reps > 100) {
    fprintf(stderr, "threads must be 1..64, repetitions 1..100\n");
    return 2;
  }
  double r[100];
  if (strcmp(argv[1], "bw")) {
    int wide = !strcmp(argv[1], "fma");
    fma_once(threads, FMA_ITERS / 10, wide);  // warm up (clocks, thread start)
    for (int i = 0; i < reps; ++i) r[i] = fma_once(threads, FMA_ITERS, wide);
  } else {
    size_t bytes = (size_t)1 << 30, n = bytes / sizeof(float);
    float *data = aligned_alloc(64, bytes);
    if (!data) { fprintf(stderr, "cannot allocate 1 GiB\n"); return 1; }
    for (size_t i = 0; i < n; ++i) data[i] = (float)(i & 1023) * 1e-3f;  // touch every page
    bw_once(threads, data, n);  // warm up
    for (int i = 0; i < reps; ++i) r[i] = bw_once(threads, data, n);
    free(data);
  }
  qsort(r, reps, sizeof(double), cmp_double);
  printf("%s %.2f %.2f\n", argv[1], r[reps / 2], r[reps - 1]);
  return 0;
}
