# -*- Python -*-
"""lit configuration of the swiglu test suite.

Substitutions: the project's tools (swiglu-opt, swiglu-run) and LLVM's
(FileCheck, not, count, split-file, upstream mlir-opt) by name; %python is the
project's virtual-environment Python (numpy, ml_dtypes); %swiglu_plugin is
the mlir-opt plugin library; %swiglu_obj the build tree and %cmake,
%ninja, %cxx the build's tools (for the downstream-project test).

Features: `ptxas` when /usr/local/cuda/bin/ptxas (or $SWIGLU_PTXAS) exists
(%ptxas runs it); `cuda-gpu` when a GPU is usable (`nvidia-smi -L` lists
one and libcuda.so.1 loads): test/GPU's execution tests need it. `numpy` when %python can import numpy and ml_dtypes (execution
tests compare against numpy references and need it); `torch_mlir` when it can
import torch and torch_mlir as well (test/Frontend exports PyTorch modules);
`torch` when it can import torch (PyTorch as a reference: test/Execution/extremes).
`mpi` when mpirun and mpicc (OpenMPI, scripts/setup.sh) are on PATH:
test/Distributed runs blocks split over 2 and 4 ranks (%mpirun: mpirun
--oversubscribe, allowed to run as root; %mpicc).
"""

import os
import subprocess

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SWIGLU"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.swiglu_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%swiglu_src", config.swiglu_src_root))
config.substitutions.append(("%llvm_tools_dir", config.llvm_tools_dir))
config.substitutions.append(("%swiglu_obj", config.swiglu_obj_root))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%ninja", config.make_program))
config.substitutions.append(("%cxx", config.cxx_compiler))
config.substitutions.append(
    ("%swiglu_plugin", os.path.join(config.swiglu_obj_root, "lib", "SwigluPlugin.so"))
)

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.swiglu_tools_dir, append_path=True)
# The numpy reference lives in python/swiglu (importable by tests' scripts).
llvm_config.with_environment(
    "PYTHONPATH", os.path.join(config.swiglu_src_root, "python"), append_path=True
)
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

tool_dirs = [config.swiglu_tools_dir, config.llvm_tools_dir]
tools = ["swiglu-opt", "swiglu-run", "swiglu-compile", "swiglu-capi-test", "split-file",
         "mlir-opt", "llvm-readelf", "llvm-nm", "swiglu-gpu-compile", "swiglu-gpu-emulate", "swiglu-gpu-run"]
llvm_config.add_tool_substitutions(tools, tool_dirs)


def _python_has(modules):
    try:
        subprocess.run(
            [config.python_executable, "-c", "import " + ", ".join(modules)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return True
    except (OSError, subprocess.SubprocessError):
        return False


if _python_has(["numpy", "ml_dtypes"]):
    config.available_features.add("numpy")
else:
    lit_config.warning(
        "%s cannot import numpy and ml_dtypes: execution tests are skipped"
        % config.python_executable
    )

if _python_has(["numpy", "ml_dtypes", "torch"]):
    config.available_features.add("torch")

if _python_has(["numpy", "ml_dtypes", "torch", "torch_mlir"]):
    config.available_features.add("torch_mlir")
else:
    lit_config.warning(
        "%s cannot import torch and torch_mlir: test/Frontend is skipped"
        % config.python_executable
    )


# The widest vectors of this host, as --glu-cpu-pipeline's vector-bits=0
# picks them (lib/Pipelines/Pipelines.cpp, hostVectorBits): 512 with
# AVX-512F, 256 with AVX2 and FMA, else 128.
def _host_vector_bits():
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    if "avx512f" in flags:
        return 512
    if "avx2" in flags and "fma" in flags:
        return 256
    return 128


config.substitutions.append(("%host_vector_bits", str(_host_vector_bits())))


# GPU: ptxas (CUDA toolkit) to assemble the PTX the NVPTX backend writes, and
# a usable GPU (driver + device) for execution tests.
ptxas = os.environ.get("SWIGLU_PTXAS", "/usr/local/cuda/bin/ptxas")
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))


def _cuda_gpu_usable():
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True,
                                text=True, timeout=60)
        if listed.returncode != 0 or "GPU" not in listed.stdout:
            return False
        import ctypes
        ctypes.CDLL("libcuda.so.1")
        return True
    except (OSError, subprocess.SubprocessError):
        return False


if _cuda_gpu_usable():
    config.available_features.add("cuda-gpu")


# MPI (OpenMPI from scripts/setup.sh): test/Distributed runs tensor-parallel
# blocks on 2 and 4 ranks of this machine, oversubscribed where it has fewer
# cores; as root, mpirun needs the two OMPI_ALLOW_RUN_AS_ROOT variables.
_mpirun = lit.util.which("mpirun")
_mpicc = lit.util.which("mpicc")
if _mpirun and _mpicc:
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", _mpirun + " --oversubscribe --bind-to none"))
    config.substitutions.append(("%mpicc", _mpicc))
    config.environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    config.environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
