#!/usr/bin/env bash
# Builds the project with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/ (against the uninstrumented libMLIR.so) and runs the whole lit
# suite on it; any ASan/UBSan/LSan report fails the test that produced it.
#
#   bash scripts/sanitize.sh [extra lit args]
#
# Build: -fsanitize=address,undefined -fno-sanitize-recover=undefined
#   -fno-omit-frame-pointer on all of our code (lib/, tools/, the C API and
#   the plugin), explicit flags rather than LLVM_USE_SANITIZER: the installed
#   HandleLLVMOptions.cmake appends ${LLVM_UBSAN_FLAGS}, which only LLVM's own
#   build defines, so "Address;Undefined" would silently drop UBSan. Every
#   binary uses the shared ASan runtime (-shared-libasan, found through an
#   rpath), so that uninstrumented hosts can load our instrumented libraries
#   with that runtime preloaded (below).
#
# Run, in two lit invocations:
#   A. every test whose processes are ours or plain tools (swiglu-opt,
#      swiglu-run, swiglu-capi-test, FileCheck, Python scripts that spawn
#      them), with leak detection ON: swiglu-opt, swiglu-run and the C API
#      test program must not leak. The JIT-compiled code of swiglu-run is
#      not instrumented, but its mallocs and frees go through the ASan
#      runtime like everything else in the process, so a result buffer the
#      runner fails to free is reported; the JIT's own code/data memory is
#      mmap'ed, not a leak candidate.
#   B. the tests where an uninstrumented host loads our instrumented code:
#      test/Plugin (Debian's mlir-opt loads SwigluPlugin.so), test/Python
#      (python loads libSwigluCAPI.so through ctypes) and test/Docs (the
#      README's blocks do both). The ASan runtime is
#      LD_PRELOADed into every process of these tests, and leak detection is
#      OFF: the hosts (python, mlir-opt) do not free everything at exit, and
#      a preloaded LSan would report their allocations, not ours.
#   Not run: test/Downstream, which installs the build tree and compiles a
#   separate project against it; the installed libraries are instrumented
#   and that project is compiled without sanitizers, so it cannot link. It
#   checks the CMake package, not memory safety: scripts/test.sh runs it.
#
# ASan options common to both: halt_on_error=1 (the default, stated),
# print_stacktrace; allow_user_poisoning=0 and detect_container_overflow=0
# because libMLIR.so is uninstrumented while the MLIR/LLVM headers we include
# are: llvm::BumpPtrAllocator poisons slabs in our (instrumented) inline
# code that libMLIR.so then fills without unpoisoning, and std::vector
# annotations are likewise half-applied; both give false reports.
# UBSan: halt_on_error=1, print_stacktrace=1.
#
# Environment: SWIGLU_ASAN_BUILD_DIR (default build-asan),
# SWIGLU_NINJA_FLAGS (default -j1), SWIGLU_PYTHON (default: the project's
# venv, else /tmp/vtest/bin/python, else python3).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ASAN_BUILD_DIR="${SWIGLU_ASAN_BUILD_DIR:-$SWIGLU_ROOT/build-asan}"
start=$(date +%s)

# --- runtimes ------------------------------------------------------------------
# (A file test, not `dpkg -L | grep -q`: with pipefail, grep -q closing the
# pipe early makes the check fail at random.)
if [ ! -f "$("$LLVM_PREFIX/bin/clang" -print-runtime-dir)/libclang_rt.asan-x86_64.so" ]; then
  log "installing libclang-rt-22-dev (sanitizer runtimes)"
  apt_install libclang-rt-22-dev
fi
rt_dir="$("$LLVM_PREFIX/bin/clang" -print-runtime-dir)"
asan_rt="$rt_dir/libclang_rt.asan-x86_64.so"
[ -f "$asan_rt" ] || asan_rt="$("$LLVM_PREFIX/bin/clang" -print-file-name=libclang_rt.asan-x86_64.so)"
[ -f "$asan_rt" ] || { echo "error: no libclang_rt.asan-x86_64.so under $rt_dir" >&2; exit 1; }
rt_dir="$(dirname "$asan_rt")"

python="${SWIGLU_PYTHON:-$(swiglu_venv_dir)/bin/python}"
[ -x "$python" ] || python=/tmp/vtest/bin/python
[ -x "$python" ] || python="$(command -v python3)"

# --- build ---------------------------------------------------------------------
san_flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only"
link_flags="-shared-libasan -Wl,-rpath,$rt_dir"
if [ ! -f "$ASAN_BUILD_DIR/CMakeCache.txt" ]; then
  log "configuring $ASAN_BUILD_DIR"
  # -O1: the usual sanitizer trade-off (fast enough to run, quick to build);
  # no -DNDEBUG: assertions on in our code (and the header templates it uses).
  cmake -S "$SWIGLU_ROOT" -B "$ASAN_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O1" -DCMAKE_CXX_FLAGS_RELEASE="-O1" \
    -DCMAKE_C_FLAGS="$san_flags" -DCMAKE_CXX_FLAGS="$san_flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$link_flags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$link_flags" \
    -DCMAKE_MODULE_LINKER_FLAGS="$link_flags" \
    -DCMAKE_C_COMPILER="$LLVM_PREFIX/bin/clang" \
    -DCMAKE_CXX_COMPILER="$LLVM_PREFIX/bin/clang++" \
    -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" >/dev/null
fi
cmake -S "$SWIGLU_ROOT" -B "$ASAN_BUILD_DIR" \
  -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" -DSWIGLU_PYTHON="$python" >/dev/null
# What the lit suite runs: every tool and library of test/CMakeLists.txt's
# SWIGLU_TEST_DEPENDS (one list, so a new tool cannot be left out here).
targets=(swiglu-test-depends)
log "building ${targets[*]} (the tools and libraries the suite runs) with ASan+UBSan"
ninja -C "$ASAN_BUILD_DIR" ${SWIGLU_NINJA_FLAGS:--j1} "${targets[@]}"
built=$(date +%s)
log "build done in $(( built - start )) s"

# --- run -----------------------------------------------------------------------
common_asan="halt_on_error=1:abort_on_error=0:print_stacktrace=1:allow_user_poisoning=0:detect_container_overflow=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_SYMBOLIZER_PATH="$LLVM_PREFIX/bin/llvm-symbolizer"
lit="$LLVM_PREFIX/bin/lit"
status=0

log "A: lit $ASAN_BUILD_DIR/test (all but Plugin, Python, Docs, Downstream), leak detection on"
set +e
ASAN_OPTIONS="$common_asan:detect_leaks=1" \
  "$lit" -sv --filter-out ':: (Plugin|Python|Docs|Downstream)/' "$@" "$ASAN_BUILD_DIR/test"
rc_a=$?
set -e
a_done=$(date +%s)
log "A: exit code $rc_a in $(( a_done - built )) s"
[ "$rc_a" -eq 0 ] || status=1

b_tests=()
for d in Plugin Python Docs; do
  [ -d "$SWIGLU_ROOT/test/$d" ] && b_tests+=("$ASAN_BUILD_DIR/test/$d")
done
if [ ${#b_tests[@]} -gt 0 ]; then
  log "B: lit ${b_tests[*]} with the ASan runtime preloaded, leak detection off"
  set +e
  LD_PRELOAD="$asan_rt" ASAN_OPTIONS="$common_asan:detect_leaks=0:verify_asan_link_order=0" \
    "$lit" -sv "$@" "${b_tests[@]}"
  rc_b=$?
  set -e
  log "B: exit code $rc_b in $(( $(date +%s) - a_done )) s"
  [ "$rc_b" -eq 0 ] || status=1
fi

log "sanitizer run done in $(( $(date +%s) - start )) s (build $(( built - start )) s): $([ $status -eq 0 ] && echo clean || echo FAILURES)"
exit $status
