"""The tensor-parallel block from Python: a swiglu-compile'd library
(shard-weights=local) called through ctypes under mpirun, with MPI
initialized through ctypes too (no mpi4py needed; with mpi4py, its
`MPI.Init` does the same).

  mpirun -np N python examples/tensor_parallel/tp.py LIB.so x.npy wg.npy wu.npy wd.npy out.npy

Every rank loads the full weights, keeps its shard (ffn_shard_weights),
packs it once (ffn_pack_weights) and calls ffn; rank 0 writes the output.
Run with PYTHONPATH=python (swiglu.ffn's ctypes wrappers). OpenMPI's ABI.
"""
import ctypes
import sys
from types import SimpleNamespace

import numpy as np

from swiglu.ffn import CompiledFunction


def main(argv):
    lib_path, x_path, wg_path, wu_path, wd_path, out_path = argv[1:7]
    # The MPI library, global so that the compiled library's MPI symbols
    # resolve to it, initialized before the first call.
    mpi = ctypes.CDLL("libmpi.so.40", mode=ctypes.RTLD_GLOBAL)
    mpi.MPI_Init(None, None)
    world = ctypes.c_void_p.in_dll(mpi, "ompi_mpi_comm_world")
    rank = ctypes.c_int()
    mpi.MPI_Comm_rank(ctypes.byref(world), ctypes.byref(rank))

    lib = SimpleNamespace(so=ctypes.CDLL(lib_path))
    shard = CompiledFunction(lib, "ffn_shard_weights", [2, 2, 2], [2, 2, 2])
    pack = CompiledFunction(lib, "ffn_pack_weights", [2, 2, 2], [3, 3])
    ffn = CompiledFunction(lib, "ffn", [2, 3, 3], 2)
    f32 = np.dtype(np.float32)
    x, wg, wu, wd = (np.ascontiguousarray(np.load(p), dtype=np.float32)
                     for p in (x_path, wg_path, wu_path, wd_path))
    shards = shard.call([wg, wu, wd], [f32] * 3)
    panels = pack.call(shards, [f32] * 2)
    out = ffn.call([x] + panels, f32)
    if rank.value == 0:
        np.save(out_path, out)
        print(f"tp.py: rank 0 wrote {out_path} {out.shape}")
    mpi.MPI_Finalize()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
