"""ctypes bindings of the swiglu C API (libSwigluCAPI.so).

The library carries MLIR's own C API too (Debian ships it only as static
archives), so everything here is one shared library. Only what the package
needs is bound: contexts with the glu dialect, parsing, running a pass
pipeline by name, diagnostics, and swigluCompileModule.

Small structs of the C API are passed in registers exactly like their
fields on the ABIs this runs on (x86-64 SysV, AArch64): MlirStringRef as
(pointer, size), handles as a pointer, MlirLogicalResult as an int8.
"""

import ctypes
import os
import pathlib

_HERE = pathlib.Path(__file__).resolve().parent


class SwigluError(RuntimeError):
    """A compilation or usage error, with MLIR's diagnostics as its message."""


class _StringRef(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t)]

    @classmethod
    def of(cls, text):
        data = text.encode() if isinstance(text, str) else bytes(text)
        buf = ctypes.create_string_buffer(data, len(data))
        ref = cls(ctypes.cast(buf, ctypes.c_void_p), len(data))
        ref._keepalive = buf
        return ref


class _Handle(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p)]


class _LogicalResult(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int8)]


# void (*)(MlirStringRef, void *), with the struct split into its fields.
_STRING_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.c_void_p)
# MlirLogicalResult (*)(MlirDiagnostic, void *).
_DIAGNOSTIC_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int8, ctypes.c_void_p,
                                       ctypes.c_void_p)
_DELETE_USER_DATA = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def library_path():
    """Where libSwigluCAPI.so is: $SWIGLU_CAPI_LIBRARY, else the build tree
    next to this source tree, else an installed prefix (lib/ next to the
    package's python/ directory)."""
    env = os.environ.get("SWIGLU_CAPI_LIBRARY")
    if env:
        return pathlib.Path(env)
    for candidate in (_HERE.parent.parent / "build" / "lib" / "libSwigluCAPI.so",
                      _HERE.parent.parent / "lib" / "libSwigluCAPI.so"):
        if candidate.exists():
            return candidate
    raise SwigluError("cannot find libSwigluCAPI.so: build the project "
                      "(scripts/build.sh) or set SWIGLU_CAPI_LIBRARY")


_lib = None


def lib():
    """The loaded C API library, with the signatures used here declared."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    try:
        l = ctypes.CDLL(str(path))
    except OSError as e:
        raise SwigluError("cannot load %s: %s" % (path, e)) from None
    l.mlirDialectRegistryCreate.restype = _Handle
    l.mlirDialectRegistryDestroy.argtypes = [_Handle]
    l.swigluRegisterAllDialects.argtypes = [_Handle]
    l.swigluRegisterAllPasses.argtypes = []
    l.mlirContextCreateWithRegistry.argtypes = [_Handle, ctypes.c_bool]
    l.mlirContextCreateWithRegistry.restype = _Handle
    l.mlirContextDestroy.argtypes = [_Handle]
    l.mlirContextAttachDiagnosticHandler.argtypes = [
        _Handle, _DIAGNOSTIC_HANDLER, ctypes.c_void_p, _DELETE_USER_DATA]
    l.mlirContextAttachDiagnosticHandler.restype = ctypes.c_uint64
    l.mlirDiagnosticPrint.argtypes = [ctypes.c_void_p, _STRING_CALLBACK,
                                      ctypes.c_void_p]
    l.mlirModuleCreateParse.argtypes = [_Handle, _StringRef]
    l.mlirModuleCreateParse.restype = _Handle
    l.mlirModuleDestroy.argtypes = [_Handle]
    l.mlirModuleGetOperation.argtypes = [_Handle]
    l.mlirModuleGetOperation.restype = _Handle
    l.mlirPassManagerCreate.argtypes = [_Handle]
    l.mlirPassManagerCreate.restype = _Handle
    l.mlirPassManagerDestroy.argtypes = [_Handle]
    l.mlirPassManagerGetAsOpPassManager.argtypes = [_Handle]
    l.mlirPassManagerGetAsOpPassManager.restype = _Handle
    l.mlirParsePassPipeline.argtypes = [_Handle, _StringRef, _STRING_CALLBACK,
                                        ctypes.c_void_p]
    l.mlirParsePassPipeline.restype = _LogicalResult
    l.mlirPassManagerRunOnOp.argtypes = [_Handle, _Handle]
    l.mlirPassManagerRunOnOp.restype = _LogicalResult
    l.swigluCompileModule.argtypes = [_Handle, _StringRef, _STRING_CALLBACK,
                                      ctypes.c_void_p]
    l.swigluCompileModule.restype = _LogicalResult
    l.swigluDescribeCPUTarget.argtypes = [_StringRef, _STRING_CALLBACK,
                                          ctypes.c_void_p]
    l.swigluDescribeCPUTarget.restype = _LogicalResult
    l.swigluRegisterAllPasses()
    _lib = l
    return l


_native = {}


def native_call():
    """The `call` function of the _swiglu_call extension (lib/Runtime/
    PyCall.c, built next to libSwigluCAPI.so when Python's headers are
    there): the per-call path of bound blocks without ctypes. None when it
    is missing, fails to load, or $SWIGLU_NATIVE_CALL is 0 (then callers use
    ctypes, with the same results)."""
    if os.environ.get("SWIGLU_NATIVE_CALL", "1").lower() in ("0", "off", "false", "no"):
        return None
    if "call" not in _native:
        _native["call"] = _load_native()
    return _native["call"]


def _load_native():
    import importlib.machinery
    import importlib.util
    try:
        directory = library_path().parent
    except SwigluError:
        return None
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / ("_swiglu_call" + suffix)
        if path.exists():
            try:
                spec = importlib.util.spec_from_file_location("_swiglu_call", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module.call
            except (ImportError, OSError):
                return None
    return None


def describe_cpu_target(options=""):
    """The CPU that --glu-cpu-pipeline with `options` compiles for: a dict
    with "cpu" (LLVM's name), "features", "vector_bits" and "tuning_key"."""
    import json
    chunks = []
    sink = _STRING_CALLBACK(lambda p, n, _u: chunks.append(ctypes.string_at(p, n)))
    ok = lib().swigluDescribeCPUTarget(_StringRef.of(options), sink, None).value
    text = b"".join(chunks).decode(errors="replace")
    if not ok:
        raise SwigluError(text)
    return json.loads(text)


class Context:
    """An MLIR context with every dialect the glu pipelines use, collecting
    its diagnostics so that failures raise SwigluError with their text."""

    def __init__(self):
        l = lib()
        registry = l.mlirDialectRegistryCreate()
        l.swigluRegisterAllDialects(registry)
        self._ctx = l.mlirContextCreateWithRegistry(registry, False)
        l.mlirDialectRegistryDestroy(registry)
        self.diagnostics = []

        def on_diagnostic(diagnostic, _user_data):
            chunks = []
            l.mlirDiagnosticPrint(
                diagnostic,
                _STRING_CALLBACK(lambda p, n, _u: chunks.append(ctypes.string_at(p, n))),
                None)
            self.diagnostics.append(b"".join(chunks).decode(errors="replace"))
            return 1  # handled

        self._handler = _DIAGNOSTIC_HANDLER(on_diagnostic)
        self._no_delete = _DELETE_USER_DATA(lambda _u: None)
        l.mlirContextAttachDiagnosticHandler(self._ctx, self._handler, None,
                                             self._no_delete)

    def close(self):
        if self._ctx is not None and self._ctx.ptr:
            lib().mlirContextDestroy(self._ctx)
        self._ctx = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def _fail(self, what):
        message = "; ".join(self.diagnostics) or "no diagnostic"
        self.diagnostics = []
        raise SwigluError("%s: %s" % (what, message))

    def compile(self, mlir_text, target="cpu", passes=None):
        """Parses `mlir_text`, runs the textual pass pipeline `passes` (e.g.
        'builtin.module(glu-fuse-ffn)') if given, and compiles for `target`.
        Returns the artifact's bytes."""
        l = lib()
        self.diagnostics = []
        module = l.mlirModuleCreateParse(self._ctx, _StringRef.of(mlir_text))
        if not module.ptr:
            self._fail("the generated IR does not parse")
        try:
            if passes:
                pm = l.mlirPassManagerCreate(self._ctx)
                try:
                    errors = []
                    sink = _STRING_CALLBACK(
                        lambda p, n, _u: errors.append(ctypes.string_at(p, n)))
                    if not l.mlirParsePassPipeline(
                            l.mlirPassManagerGetAsOpPassManager(pm),
                            _StringRef.of(passes), sink, None).value:
                        raise SwigluError("bad pass pipeline %r: %s" % (
                            passes, b"".join(errors).decode(errors="replace")))
                    if not l.mlirPassManagerRunOnOp(
                            pm, l.mlirModuleGetOperation(module)).value:
                        self._fail("the passes %s failed" % passes)
                finally:
                    l.mlirPassManagerDestroy(pm)
            chunks = []
            keep = _STRING_CALLBACK(
                lambda p, n, _u: chunks.append(ctypes.string_at(p, n)))
            if not l.swigluCompileModule(module, _StringRef.of(target), keep,
                                         None).value:
                self._fail("compiling for %s failed" % target)
            return b"".join(chunks)
        finally:
            l.mlirModuleDestroy(module)
