// Every user error gives one clear message prefixed "swiglu-run: error: ",
// exit code 1, no crash, and no output file.

// REQUIRES: numpy
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/npy_tool.py write %t/x.npy f32 2x4 --seed 1
// RUN: %python %S/npy_tool.py write %t/x5.npy f32 2x5 --seed 1
// RUN: %python %S/npy_tool.py write %t/x1d.npy f32 8 --seed 1
// RUN: %python %S/npy_tool.py write %t/int.npy i32 2x4 --seed 1

// --- Choosing the function ---
// RUN: not swiglu-run %s -i %t/x.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=AMBIGUOUS
// AMBIGUOUS: swiglu-run: error: '{{.*}}errors.mlir' has 6 public functions (@static, @bf16, @scalar_arg, @memref_result, @complex_arg, @unranked_arg); choose one with --entry=<name>
// RUN: not swiglu-run %s --entry=nope -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=NOFUNC
// NOFUNC: swiglu-run: error: no func.func @nope in '{{.*}}errors.mlir'
// RUN: not swiglu-run %s --entry=hidden -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=PRIVATE
// PRIVATE: swiglu-run: error: @hidden is private; only public functions can be run
// RUN: not swiglu-run %s --entry=external 2>&1 | FileCheck %s --check-prefix=DECL
// DECL: swiglu-run: error: @external is a declaration without a body

// --- Unsupported signatures ---
// RUN: not swiglu-run %s --entry=scalar_arg -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=SCALAR
// SCALAR: swiglu-run: error: argument 1 of @scalar_arg has type 'f32', but swiglu-run only supports ranked tensors (without encoding) of f64, f32, f16, bf16, i64, i32, i16, i8 or i1
// RUN: not swiglu-run %s --entry=memref_result -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=MEMREF
// MEMREF: swiglu-run: error: result 0 of @memref_result has type 'memref<2x4xf32>', but swiglu-run only supports
// RUN: not swiglu-run %s --entry=complex_arg -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=COMPLEX
// COMPLEX: swiglu-run: error: argument 0 of @complex_arg has type 'tensor<2xcomplex<f32>>', but
// RUN: not swiglu-run %s --entry=unranked_arg -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=UNRANKED
// UNRANKED: swiglu-run: error: argument 0 of @unranked_arg has type 'tensor<*xf32>', but

// --- Files versus signature ---
// RUN: not swiglu-run %s --entry=static -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=NUMIN
// NUMIN: swiglu-run: error: @static takes 2 argument(s), but 1 input file(s) were given with -i
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy -o %t/out.npy -o %t/out2.npy 2>&1 | FileCheck %s --check-prefix=NUMOUT
// NUMOUT: swiglu-run: error: @static returns 1 result(s), but 2 output file(s) were given with -o; give none, or one per result
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/int.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: swiglu-run: error: argument 1 of @static expects f32 (npy dtype '<f4'), but '{{.*}}int.npy' holds '<i4'
// RUN: not swiglu-run %s --entry=bf16 -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=BF16
// BF16: swiglu-run: error: argument 0 of @bf16 expects bf16 (npy dtype '<u2'), but '{{.*}}x.npy' holds '<f4'
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x1d.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: swiglu-run: error: argument 1 of @static is a rank-2 tensor (tensor<2x4xf32>), but '{{.*}}x1d.npy' holds a rank-1 array of shape (8,)
// RUN: not swiglu-run %s --entry=static -i %t/x5.npy -i %t/x.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=DIM
// DIM: swiglu-run: error: argument 0 of @static: dim 1 is 4 in the function type but 5 in '{{.*}}x5.npy'

// --- Malformed .npy files ---
// An unknown --target-cpu (the JIT's CPU) or feature, and no output file.
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy -o %t/tc.npy --target-cpu=pentium9 2>&1 | FileCheck %s --check-prefix=TARGETCPU
// RUN: not ls %t/tc.npy
// TARGETCPU: swiglu-run: error: JIT compilation failed: unknown target CPU 'pentium9'
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy --target-features=avx2 2>&1 | FileCheck %s --check-prefix=TARGETFEATURE
// TARGETFEATURE: swiglu-run: error: JIT compilation failed: target feature 'avx2' is not +name or -name
// RUN: not swiglu-run %s --entry=static -i %t/missing.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: swiglu-run: error: '{{.*}}missing.npy': cannot read: {{[Nn]}}o such file or directory
// RUN: not swiglu-run %s --entry=static -i %t -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=ISDIR
// ISDIR: swiglu-run: error: '{{.*}}': cannot read: {{[Ii]}}s a directory
// RUN: %python %S/npy_tool.py bad bad-magic %t/bad-magic.npy
// RUN: not swiglu-run %s --entry=static -i %t/bad-magic.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=MAGIC
// MAGIC: swiglu-run: error: '{{.*}}bad-magic.npy': not a .npy file (bad magic string)
// RUN: %python %S/npy_tool.py bad short-header %t/short-header.npy
// RUN: not swiglu-run %s --entry=static -i %t/short-header.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=SHORTHEADER
// SHORTHEADER: swiglu-run: error: '{{.*}}short-header.npy': truncated .npy header: it declares 118 bytes but the file ends after 30
// RUN: %python %S/npy_tool.py bad short-data %t/short-data.npy
// RUN: not swiglu-run %s --entry=static -i %t/short-data.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=SHORTDATA
// SHORTDATA: swiglu-run: error: '{{.*}}short-data.npy': truncated data: shape (2, 3) of '<f4' needs 24 data bytes, but the file has 19
// RUN: %python %S/npy_tool.py bad trailing-data %t/trailing-data.npy
// RUN: not swiglu-run %s --entry=static -i %t/trailing-data.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=TRAILING
// TRAILING: swiglu-run: error: '{{.*}}trailing-data.npy': trailing bytes after the data: shape (2, 3) of '<f4' needs 24 data bytes, but the file has 28
// RUN: %python %S/npy_tool.py bad fortran %t/fortran.npy
// RUN: not swiglu-run %s --entry=static -i %t/fortran.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=FORTRAN
// FORTRAN: swiglu-run: error: '{{.*}}fortran.npy': Fortran-ordered arrays are not supported; save a C-ordered copy (np.ascontiguousarray(arr))
// RUN: %python %S/npy_tool.py bad big-endian %t/big-endian.npy
// RUN: not swiglu-run %s --entry=static -i %t/big-endian.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=BIGENDIAN
// BIGENDIAN: swiglu-run: error: '{{.*}}big-endian.npy': unsupported dtype '>f4': big-endian data is not supported
// RUN: %python %S/npy_tool.py bad version %t/version.npy
// RUN: not swiglu-run %s --entry=static -i %t/version.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: swiglu-run: error: '{{.*}}version.npy': unsupported .npy format version 4.0 (1.0, 2.0 and 3.0 are)
// RUN: %python %S/npy_tool.py bad structured %t/structured.npy
// RUN: not swiglu-run %s --entry=static -i %t/structured.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=STRUCTURED
// STRUCTURED: swiglu-run: error: '{{.*}}structured.npy': structured dtypes are not supported
// RUN: %python %S/npy_tool.py bad bad-dict %t/bad-dict.npy
// RUN: not swiglu-run %s --entry=static -i %t/bad-dict.npy -i %t/x.npy 2>&1 | FileCheck %s --check-prefix=BADDICT
// BADDICT: swiglu-run: error: '{{.*}}bad-dict.npy': malformed .npy header: expected a shape tuple at '[2, 3]

// --- Outputs and options ---
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy -o %t/no/such/dir/out.npy 2>&1 | FileCheck %s --check-prefix=OUTDIR
// OUTDIR: swiglu-run: error: cannot write output '{{.*}}out.npy': directory '{{.*}}dir' does not exist
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy -o %t 2>&1 | FileCheck %s --check-prefix=OUTISDIR
// OUTISDIR: swiglu-run: error: cannot write output '{{.*}}': it is a directory
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy --repeat=0 2>&1 | FileCheck %s --check-prefix=REPEAT
// REPEAT: swiglu-run: error: --repeat must be at least 1
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy -O4 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: swiglu-run: error: -O must be 0, 1, 2 or 3
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy --shared-libs=%t/libnothing.so 2>&1 | FileCheck %s --check-prefix=LIB
// LIB: swiglu-run: error: cannot find shared library '{{.*}}libnothing.so' (--shared-libs)
// RUN: not swiglu-run %s --entry=static -i %t/x.npy -i %t/x.npy -o %t/out.npy -o %t/out.npy 2>&1 | FileCheck %s --check-prefix=DUPOUT
// DUPOUT: swiglu-run: error: output '{{.*}}out.npy' is given more than once
// RUN: not swiglu-run %s --bogus 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: swiglu-run: error: Unknown command line argument '--bogus'.
// RUN: not swiglu-run %t/nothing.mlir 2>&1 | FileCheck %s --check-prefix=NOMLIR
// NOMLIR: swiglu-run: error: cannot read '{{.*}}nothing.mlir': {{[Nn]}}o such file or directory
// RUN: echo "func.func @f(" > %t/bad.mlir
// RUN: not swiglu-run %t/bad.mlir 2>&1 | FileCheck %s --check-prefix=PARSE
// PARSE: bad.mlir:{{[0-9]+}}:{{[0-9]+}}: error:
// PARSE: swiglu-run: error: cannot parse '{{.*}}bad.mlir'

// None of the failed runs left an output behind.
// RUN: ls %t | FileCheck %s --check-prefix=NOOUT --implicit-check-not=out
// NOOUT: x.npy

func.func @static(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %init = tensor.empty() : tensor<2x4xf32>
  %r = linalg.add ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>)
                 outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

func.func @bf16(%a: tensor<?x?xbf16>) -> tensor<?x?xbf16> {
  return %a : tensor<?x?xbf16>
}

func.func @scalar_arg(%a: tensor<2x4xf32>, %s: f32) -> tensor<2x4xf32> {
  return %a : tensor<2x4xf32>
}

func.func @memref_result(%a: tensor<2x4xf32>) -> memref<2x4xf32> {
  %m = bufferization.to_buffer %a : tensor<2x4xf32> to memref<2x4xf32>
  return %m : memref<2x4xf32>
}

func.func private @hidden(%a: tensor<2x4xf32>) -> tensor<2x4xf32> {
  return %a : tensor<2x4xf32>
}

func.func @complex_arg(%a: tensor<2xcomplex<f32>>) -> tensor<2xcomplex<f32>> {
  return %a : tensor<2xcomplex<f32>>
}

func.func @unranked_arg(%a: tensor<*xf32>) -> tensor<*xf32> {
  return %a : tensor<*xf32>
}

func.func private @external(%a: tensor<2x4xf32>) -> tensor<2x4xf32>
