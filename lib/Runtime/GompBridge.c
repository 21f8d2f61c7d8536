/*===- GompBridge.c - compiled code on a libgomp process's threads --------===*
 *
 * The fast CPU pipeline lowers its parallel loops through MLIR's OpenMP
 * dialect, and LLVM's OpenMPIRBuilder calls LLVM's OpenMP runtime ABI
 * (`__kmpc_*`). Linked with LLVM's libomp, the compiled code then brings its
 * own thread pool. In a process that already has GCC's libgomp (PyTorch's
 * wheels use it for every intra-op parallel op and for MKL), that makes two
 * pools on the same cores: after each region libomp's threads spin for
 * KMP_BLOCKTIME (200 ms) and libgomp's for GOMP_SPINCOUNT, and each slows
 * the other's next region (measured in docs/python.md#one-thread-pool).
 *
 * This library implements the few `__kmpc_*` entry points the compiled code
 * calls on top of the libgomp already in the process, so that its parallel
 * regions run on the same threads as PyTorch's: one pool, one team size
 * (the calling thread's omp_set_num_threads, i.e. torch.set_num_threads).
 * Linked in place of libomp (swiglu.ffn's `openmp="gomp"`).
 *
 * The entry points, as the compiled code uses them:
 *   __kmpc_fork_call(loc, argc, microtask, args...)  -> GOMP_parallel
 *   __kmpc_for_static_init_{4,4u,8,8u}               -> static schedules
 *   __kmpc_for_static_fini                           -> nothing to do
 *   __kmpc_barrier                                   -> GOMP_barrier
 *   __kmpc_global_thread_num                         -> omp_get_thread_num
 *   __kmpc_push_num_threads                          -> the next fork's size
 *   __kmpc_serialized_parallel / __kmpc_end_...      -> nothing to do
 * libgomp is found by its soname: the copy already loaded (PyTorch's), else
 * the system's. Without one, regions run on the calling thread alone, which
 * is slower but correct; swiglu_gomp_bridge_ready() says which.
 *
 *===----------------------------------------------------------------------===*/

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct ident ident_t; /* unused: the source location libomp reports */
typedef void (*microtask_t)(int32_t *gtid, int32_t *btid, ...);

/* libomp's schedule kinds (kmp.h): the static ones the init calls get. */
enum { SCHED_STATIC_CHUNKED = 33, SCHED_STATIC = 34 };

/* Arguments a microtask can take: LLVM passes each captured value (or one
 * aggregate of them) as a pointer-sized argument. */
enum { MAX_ARGS = 16 };

static struct {
  void (*parallel)(void (*)(void *), void *, unsigned, unsigned);
  void (*barrier)(void);
  int (*thread_num)(void);
  int (*num_threads)(void);
  int (*max_threads)(void);
  int (*in_parallel)(void);
} gomp;
static pthread_once_t gomp_once = PTHREAD_ONCE_INIT;
static int gomp_found;

static void find_gomp(void) {
  /* RTLD_NOLOAD first: the libgomp the process has (PyTorch's copy,
   * matched by soname), never a second one beside it. */
  void *h = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (!h)
    h = dlopen("libgomp.so.1", RTLD_NOW);
  if (!h)
    return;
  *(void **)&gomp.parallel = dlsym(h, "GOMP_parallel");
  *(void **)&gomp.barrier = dlsym(h, "GOMP_barrier");
  *(void **)&gomp.thread_num = dlsym(h, "omp_get_thread_num");
  *(void **)&gomp.num_threads = dlsym(h, "omp_get_num_threads");
  *(void **)&gomp.max_threads = dlsym(h, "omp_get_max_threads");
  *(void **)&gomp.in_parallel = dlsym(h, "omp_in_parallel");
  gomp_found = gomp.parallel && gomp.barrier && gomp.thread_num &&
               gomp.num_threads && gomp.max_threads && gomp.in_parallel;
}

static int have_gomp(void) {
  pthread_once(&gomp_once, find_gomp);
  return gomp_found;
}

/* 1 when the regions run on libgomp's threads, 0 when on the caller alone. */
EXPORT int swiglu_gomp_bridge_ready(void) { return have_gomp(); }

/* > 0 while the calling thread runs a region alone, inline (see
 * __kmpc_fork_call): the region's team is then this thread alone, whatever
 * team libgomp has around it. */
static _Thread_local int serial_depth;

static int thread_num(void) {
  return !serial_depth && have_gomp() ? gomp.thread_num() : 0;
}
static int num_threads(void) {
  return !serial_depth && have_gomp() ? gomp.num_threads() : 1;
}

/*===-- Parallel regions --------------------------------------------------===*/

typedef struct {
  microtask_t fn;
  int argc;
  void *argv[MAX_ARGS];
} region_t;

static void invoke(const region_t *r, int32_t *gtid, int32_t *btid) {
  void *const *a = r->argv;
  switch (r->argc) {
#define A1 a[0]
#define A2 A1, a[1]
#define A3 A2, a[2]
#define A4 A3, a[3]
#define A5 A4, a[4]
#define A6 A5, a[5]
#define A7 A6, a[6]
#define A8 A7, a[7]
#define A9 A8, a[8]
#define A10 A9, a[9]
#define A11 A10, a[10]
#define A12 A11, a[11]
#define A13 A12, a[12]
#define A14 A13, a[13]
#define A15 A14, a[14]
#define A16 A15, a[15]
  case 0: r->fn(gtid, btid); break;
  case 1: r->fn(gtid, btid, A1); break;
  case 2: r->fn(gtid, btid, A2); break;
  case 3: r->fn(gtid, btid, A3); break;
  case 4: r->fn(gtid, btid, A4); break;
  case 5: r->fn(gtid, btid, A5); break;
  case 6: r->fn(gtid, btid, A6); break;
  case 7: r->fn(gtid, btid, A7); break;
  case 8: r->fn(gtid, btid, A8); break;
  case 9: r->fn(gtid, btid, A9); break;
  case 10: r->fn(gtid, btid, A10); break;
  case 11: r->fn(gtid, btid, A11); break;
  case 12: r->fn(gtid, btid, A12); break;
  case 13: r->fn(gtid, btid, A13); break;
  case 14: r->fn(gtid, btid, A14); break;
  case 15: r->fn(gtid, btid, A15); break;
  case 16: r->fn(gtid, btid, A16); break;
  }
}

static void run_member(void *data) {
  int32_t tid = thread_num();
  int32_t btid = tid;
  invoke((const region_t *)data, &tid, &btid);
}

/* The team size __kmpc_push_num_threads asked for the calling thread's next
 * region (0: libgomp's default, the caller's nthreads-var). */
static _Thread_local unsigned pushed_threads;

EXPORT void __kmpc_push_num_threads(ident_t *loc, int32_t gtid,
                                    int32_t n) {
  (void)loc, (void)gtid;
  pushed_threads = n > 0 ? (unsigned)n : 0;
}

EXPORT void __kmpc_fork_call(ident_t *loc, int32_t argc, microtask_t fn,
                             ...) {
  (void)loc;
  region_t r;
  if (argc < 0 || argc > MAX_ARGS) {
    /* The compiled code never passes more (LLVM aggregates captures); a
     * region it cannot call must not run half its arguments. */
    fprintf(stderr, "swiglu gomp bridge: a parallel region with %d "
                    "arguments (at most %d supported)\n",
            (int)argc, MAX_ARGS);
    abort();
  }
  r.fn = fn;
  r.argc = argc;
  va_list ap;
  va_start(ap, fn);
  for (int i = 0; i < argc; ++i)
    r.argv[i] = va_arg(ap, void *);
  va_end(ap);
  unsigned threads = pushed_threads;
  pushed_threads = 0;
  /* A team of one runs inline: GOMP_parallel would start and end a team
   * of one anyway, and its barriers wake futexes even then (4 system calls
   * per call of a two-region block, measurable on small blocks with
   * torch.set_num_threads(1)). So do regions nested in a libgomp region,
   * which libgomp (nesting off, its default) gives a team of one. */
  if (!have_gomp() || serial_depth || gomp.in_parallel() ||
      (threads ? threads : (unsigned)gomp.max_threads()) == 1) {
    ++serial_depth;
    run_member(&r);
    --serial_depth;
    return;
  }
  gomp.parallel(run_member, &r, threads, 0);
}

EXPORT void __kmpc_serialized_parallel(ident_t *loc, int32_t gtid) {
  (void)loc, (void)gtid;
}
EXPORT void __kmpc_end_serialized_parallel(ident_t *loc, int32_t gtid) {
  (void)loc, (void)gtid;
}

EXPORT int32_t __kmpc_global_thread_num(ident_t *loc) {
  (void)loc;
  return thread_num();
}

EXPORT void __kmpc_barrier(ident_t *loc, int32_t gtid) {
  (void)loc, (void)gtid;
  if (!serial_depth && have_gomp())
    gomp.barrier();
}

/*===-- Static worksharing ------------------------------------------------===*/

/* libomp's static schedules over the inclusive range [*lower, *upper] with
 * step incr: unchunked, the balanced split (the first trip % nth threads one
 * iteration more); chunked, round-robin chunks of `chunk` iterations, the
 * caller stepping by *stride. A thread without iterations gets
 * *lower = *upper + incr, an empty range. */
#define STATIC_INIT(NAME, T, UT, ST)                                          \
  EXPORT void NAME(ident_t *loc, int32_t gtid, int32_t sched,                 \
                   int32_t *last, T *lower, T *upper, ST *stride, ST incr,    \
                   ST chunk) {                                                \
    (void)loc, (void)gtid;                                                    \
    if ((incr > 0 && *upper < *lower) || (incr < 0 && *upper > *lower)) {    \
      if (last) /* no iterations at all */                                   \
        *last = 0;                                                            \
      *stride = incr;                                                         \
      return;                                                                 \
    }                                                                         \
    UT tid = (UT)thread_num(), nth = (UT)num_threads();                       \
    UT trip;                                                                  \
    if (incr == 1)                                                            \
      trip = (UT)(*upper - *lower) + 1;                                       \
    else if (incr == -1)                                                      \
      trip = (UT)(*lower - *upper) + 1;                                       \
    else if (incr > 0)                                                        \
      trip = (UT)(*upper - *lower) / (UT)incr + 1;                            \
    else                                                                      \
      trip = (UT)(*lower - *upper) / (UT)(-incr) + 1;                         \
    if (sched == SCHED_STATIC_CHUNKED) {                                      \
      if (chunk < 1)                                                          \
        chunk = 1;                                                            \
      ST span = chunk * incr;                                                 \
      *stride = span * (ST)nth;                                               \
      *lower = (T)(*lower + span * (ST)tid);                                  \
      *upper = (T)(*lower + span - incr);                                     \
      if (last)                                                               \
        *last = tid == ((trip - 1) / (UT)chunk) % nth;                        \
      return;                                                                 \
    }                                                                         \
    /* Every other static kind: the balanced split. */                        \
    *stride = (ST)trip;                                                       \
    if (trip <= nth) {                                                        \
      if (last)                                                               \
        *last = tid == trip - 1;                                              \
      if (tid < trip)                                                         \
        *upper = *lower = (T)(*lower + (ST)tid * incr);                       \
      else                                                                    \
        *lower = (T)(*upper + incr);                                          \
      return;                                                                 \
    }                                                                         \
    UT small = trip / nth, extras = trip % nth;                               \
    *lower = (T)(*lower +                                                     \
                 incr * (ST)(tid * small + (tid < extras ? tid : extras)));   \
    *upper = (T)(*lower + (ST)small * incr - (tid < extras ? 0 : incr));      \
    if (last)                                                                 \
      *last = tid == nth - 1;                                                 \
  }

STATIC_INIT(__kmpc_for_static_init_4, int32_t, uint32_t, int32_t)
STATIC_INIT(__kmpc_for_static_init_4u, uint32_t, uint32_t, int32_t)
STATIC_INIT(__kmpc_for_static_init_8, int64_t, uint64_t, int64_t)
STATIC_INIT(__kmpc_for_static_init_8u, uint64_t, uint64_t, int64_t)

EXPORT void __kmpc_for_static_fini(ident_t *loc, int32_t gtid) {
  (void)loc, (void)gtid;
}
