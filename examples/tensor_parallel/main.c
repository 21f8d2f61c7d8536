/* A C program that runs a swiglu-compile'd FFN split over MPI ranks
 * (glu-shard weights=local, or the unsplit block with -DUNSHARDED):
 *
 *   mpirun -np N ./tp x.npy wg.npy wu.npy wd.npy out.npy [calls]
 *
 * Every rank reads the full weights, keeps its shard (ffn_shard_weights),
 * packs it once (ffn_pack_weights) and calls the block `calls` times; rank 0
 * writes the output and prints the median time of a call (the slowest
 * rank's, each call started together after a barrier). Only f32 C-ordered
 * .npy files. */
#include "ffn.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *path) {
  fprintf(stderr, "tp: %s: %s\n", what, path);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Reads a 2-D '<f4' C-ordered .npy file. */
static swiglu_memref_2d load(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    die("cannot open", path);
  unsigned char pre[10];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6))
    die("not a .npy file", path);
  size_t headerLen = pre[8] | (pre[9] << 8);
  char header[4096];
  if (pre[6] != 1 || headerLen >= sizeof header ||
      fread(header, 1, headerLen, f) != headerLen)
    die("unsupported .npy header", path);
  header[headerLen] = 0;
  long rows = 0, cols = 0;
  char *shape = strstr(header, "'shape': (");
  if (!strstr(header, "'<f4'") || strstr(header, "'fortran_order': True") ||
      !shape || sscanf(shape, "'shape': (%ld, %ld)", &rows, &cols) != 2)
    die("not a 2-D C-ordered float32 array", path);
  float *data = malloc(sizeof(float) * rows * cols);
  if (fread(data, sizeof(float), rows * cols, f) != (size_t)(rows * cols))
    die("short file", path);
  fclose(f);
  swiglu_memref_2d m = {data, data, 0, {rows, cols}, {cols, 1}};
  return m;
}

static void save(const char *path, const swiglu_memref_2d *m) {
  char header[128];
  int n = snprintf(header, sizeof header,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, "
                   "%ld), }",
                   (long)m->sizes[0], (long)m->sizes[1]);
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f)
    die("cannot write", path);
  unsigned short len = (unsigned short)(n + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(len & 0xff, f);
  fputc(len >> 8, f);
  fwrite(header, 1, n, f);
  for (int i = 0; i < pad; ++i)
    fputc(' ', f);
  fputc('\n', f);
  const float *data = (const float *)m->aligned + m->offset;
  for (long r = 0; r < m->sizes[0]; ++r)
    fwrite(data + r * m->strides[0], sizeof(float), m->sizes[1], f);
  fclose(f);
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 6)
    die("usage", "tp x.npy wg.npy wu.npy wd.npy out.npy [calls]");
  int calls = argc > 6 ? atoi(argv[6]) : 1;
  swiglu_memref_2d x = load(argv[1]), wg = load(argv[2]), wu = load(argv[3]),
                   wd = load(argv[4]);
  struct ffn_pack_weights_results panels;
#ifdef UNSHARDED
  _mlir_ciface_ffn_pack_weights(&panels, &wg, &wu, &wd);
#else
  struct ffn_shard_weights_results shards;
  _mlir_ciface_ffn_shard_weights(&shards, &wg, &wu, &wd);
  _mlir_ciface_ffn_pack_weights(&panels, &shards.r0, &shards.r1, &shards.r2);
  free(shards.r0.allocated);
  free(shards.r1.allocated);
  free(shards.r2.allocated);
#endif
  free(wg.allocated);
  free(wu.allocated);
  free(wd.allocated);
  double *times = malloc(sizeof(double) * calls);
  swiglu_memref_2d out;
  for (int i = 0; i < calls; ++i) {
    if (i)
      free(out.allocated);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    _mlir_ciface_ffn(&out, &x, &panels.r0, &panels.r1);
    double mine = MPI_Wtime() - start, slowest;
    MPI_Reduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    times[i] = slowest * 1e3;
  }
  if (rank == 0) {
    save(argv[5], &out);
    qsort(times, calls, sizeof(double), compare);
    printf("tp: ranks=%d tokens=%ld calls=%d median_ms=%.3f\n", size,
           (long)x.sizes[0], calls, times[calls / 2]);
  }
  free(out.allocated);
  free(panels.r0.allocated);
  free(panels.r1.allocated);
  free(times);
  free(x.allocated);
  MPI_Finalize();
  return 0;
}
