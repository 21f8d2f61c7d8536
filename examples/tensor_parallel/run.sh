#!/usr/bin/env bash
# Times examples/tensor_parallel/ffn.mlir (d_model 1024, d_ff 2816) on 1, 2
# and 4 MPI ranks of this machine through compiled libraries called from C
# (main.c: every rank packs only its shard, once), next to the unsplit block
# on 1 and 2 threads, and checks every output against numpy:
#
#   bash examples/tensor_parallel/run.sh [tokens] [calls]
#
# Needs a build (scripts/build.sh) and OpenMPI (scripts/setup.sh). Each rank
# runs one thread; more ranks than cores are oversubscribed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
tokens="${1:-128}"
calls="${2:-20}"
here="$SWIGLU_ROOT/examples/tensor_parallel"
bin="$SWIGLU_BUILD_DIR/bin"
python="$(swiglu_venv_dir)/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Waiting ranks yield their core (OpenMPI busy-polls by default, which
# starves the other ranks when there are no spare cores).
mpirun=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1)

"$python" "$here/check.py" inputs --tokens "$tokens" --d-model 1024 --d-ff 2816
build() { # name, glu-cpu-pipeline options, extra C flags
  mkdir -p "$1"
  "$bin/swiglu-compile" "$here/ffn.mlir" --options="$2" -o "$1/libffn.so" \
    --header="$1/ffn.h"
  mpicc -O2 $3 "$here/main.c" -I"$1" -L"$1" -Wl,-rpath,"$work/$1" -lffn -o "$1/tp"
}
build single1 "threads=1" -DUNSHARDED
build single2 "threads=2" -DUNSHARDED
for n in 1 2 4; do
  build "ranks$n" "shard-ranks=$n shard-weights=local threads=1" ""
done
echo "tokens=$tokens d_model=1024 d_ff=2816, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo -n "unsplit, 1 thread:  "; ./single1/tp x.npy wg.npy wu.npy wd.npy single1.npy "$calls"
echo -n "unsplit, 2 threads: "; ./single2/tp x.npy wg.npy wu.npy wd.npy single2.npy "$calls"
for n in 1 2 4; do
  echo -n "tensor-parallel:    "
  "${mpirun[@]}" -np "$n" "./ranks$n/tp" x.npy wg.npy wu.npy wd.npy "ranks$n.npy" "$calls"
done
"$python" "$here/check.py" check single1.npy single2.npy ranks1.npy ranks2.npy ranks4.npy
