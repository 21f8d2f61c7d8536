// The C API from a C program (test/CAPI/capi-test.c holds the CHECK lines).
// RUN: swiglu-capi-test 2>&1 | FileCheck %S/capi-test.c
