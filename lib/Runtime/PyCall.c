/*===- PyCall.c - The per-call entry of compiled blocks for Python --------===*
 *
 * _swiglu_call: a CPython extension module of one function, the per-call
 * path of the Python package's bound blocks (python/swiglu/ffn.py,
 * BoundFFN.call_into) without ctypes. ctypes costs about 2 us a call here
 * (argument conversion, building two memref descriptors as ctypes
 * structures, byref objects); this costs a few hundred nanoseconds.
 *
 *   call(fn, weights, count, d_model, d_out, x, tokens, out) -> None
 *
 * calls the compiled function at address `fn`, `void fn(x*, w_1*, ...,
 * w_count*, out*)` over memref descriptors (MLIR's C interface,
 * `_mlir_ciface_*`), where `weights` is the address of an array of `count`
 * pointers to the weights' descriptors (built once at bind time, read
 * only), and x [tokens, d_model] and out [tokens, d_out] are C-contiguous
 * buffers at the addresses `x` and `out`, whose 2-D descriptors are built
 * here, on this call's stack: threads may share one bound block. The GIL
 * is released during the call. Every argument is a Python int; no torch or
 * numpy headers are needed, only Python's (python3-dev).
 *
 *===----------------------------------------------------------------------===*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

/* MLIR's descriptor of a rank-2 memref (StridedMemRefType<T, 2>). */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} Memref2D;

/* The most descriptors a compiled block takes: x, gate, up, down, their
 * three biases, out (unpacked, with biases) is 8. */
#define MAX_ARGS 16

typedef void *P;

static void invoke(void *fn, int n, P *a) {
  switch (n) {
  case 2: ((void (*)(P, P))fn)(a[0], a[1]); break;
  case 3: ((void (*)(P, P, P))fn)(a[0], a[1], a[2]); break;
  case 4: ((void (*)(P, P, P, P))fn)(a[0], a[1], a[2], a[3]); break;
  case 5: ((void (*)(P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4]); break;
  case 6: ((void (*)(P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5]); break;
  case 7:
    ((void (*)(P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    break;
  case 8:
    ((void (*)(P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                                           a[7]);
    break;
  case 9:
    ((void (*)(P, P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5],
                                              a[6], a[7], a[8]);
    break;
  case 10:
    ((void (*)(P, P, P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5],
                                                 a[6], a[7], a[8], a[9]);
    break;
  case 11:
    ((void (*)(P, P, P, P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5],
                                                    a[6], a[7], a[8], a[9], a[10]);
    break;
  case 12:
    ((void (*)(P, P, P, P, P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4],
                                                       a[5], a[6], a[7], a[8], a[9],
                                                       a[10], a[11]);
    break;
  case 13:
    ((void (*)(P, P, P, P, P, P, P, P, P, P, P, P, P))fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]);
    break;
  case 14:
    ((void (*)(P, P, P, P, P, P, P, P, P, P, P, P, P, P))fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
        a[13]);
    break;
  case 15:
    ((void (*)(P, P, P, P, P, P, P, P, P, P, P, P, P, P, P))fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
        a[13], a[14]);
    break;
  case 16:
    ((void (*)(P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P))fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
        a[13], a[14], a[15]);
    break;
  }
}

static void fill(Memref2D *d, void *data, int64_t rows, int64_t columns) {
  d->allocated = d->aligned = data;
  d->offset = 0;
  d->sizes[0] = rows;
  d->sizes[1] = columns;
  d->strides[0] = columns;
  d->strides[1] = 1;
}

static PyObject *call(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  (void)self;
  if (nargs != 8) {
    PyErr_Format(PyExc_TypeError,
                 "call(fn, weights, count, d_model, d_out, x, tokens, out) takes 8 "
                 "arguments, got %zd",
                 nargs);
    return NULL;
  }
  void *fn = PyLong_AsVoidPtr(args[0]);
  P *weights = (P *)PyLong_AsVoidPtr(args[1]);
  long count = PyLong_AsLong(args[2]);
  long long d_model = PyLong_AsLongLong(args[3]);
  long long d_out = PyLong_AsLongLong(args[4]);
  void *x = PyLong_AsVoidPtr(args[5]);
  long long tokens = PyLong_AsLongLong(args[6]);
  void *out = PyLong_AsVoidPtr(args[7]);
  if (PyErr_Occurred())
    return NULL;
  if (!fn || (count && !weights) || !x || !out) {
    PyErr_SetString(PyExc_ValueError, "call: a null address");
    return NULL;
  }
  if (count < 0 || count > MAX_ARGS - 2) {
    PyErr_Format(PyExc_ValueError, "call: %ld weight descriptors, at most %d", count,
                 MAX_ARGS - 2);
    return NULL;
  }
  if (tokens < 0 || d_model <= 0 || d_out <= 0) {
    PyErr_Format(PyExc_ValueError,
                 "call: tokens must be >= 0 and the widths > 0, got tokens=%lld "
                 "d_model=%lld d_out=%lld",
                 tokens, d_model, d_out);
    return NULL;
  }
  Memref2D xd, od;
  fill(&xd, x, tokens, d_model);
  fill(&od, out, tokens, d_out);
  P a[MAX_ARGS];
  a[0] = &xd;
  for (long i = 0; i < count; ++i)
    a[1 + i] = weights[i];
  a[1 + count] = &od;
  Py_BEGIN_ALLOW_THREADS
  invoke(fn, (int)count + 2, a);
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"call", (PyCFunction)(void (*)(void))call, METH_FASTCALL,
     "call(fn, weights, count, d_model, d_out, x, tokens, out): runs the compiled "
     "block at address fn on x [tokens, d_model], writing out [tokens, d_out]."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,
                                    "_swiglu_call",
                                    "The per-call entry of compiled blocks.",
                                    -1,
                                    methods,
                                    NULL,
                                    NULL,
                                    NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__swiglu_call(void) { return PyModule_Create(&module); }
