#!/usr/bin/env bash
# Runs a program as a job of N processes under Open MPI's mpirun: run_mpi.sh N PROGRAM [ARGS...].
# Skips (exit 77, meson's code for a skipped test) with the reason printed where mpirun is
# missing. As root (CI containers) mpirun needs to be told that this is intended.
set -euo pipefail
ranks=$1
shift
if ! command -v mpirun > /dev/null; then
  echo "SKIP: mpirun not found (install openmpi-bin, scripts/install-deps.sh)"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# --oversubscribe: more ranks than cores is allowed (a 2-core CI machine runs 2 ranks plus the
# tests beside them); one thread per rank keeps them from fighting over the cores.
exec mpirun -np "$ranks" --oversubscribe --bind-to none -x HEED_NUM_THREADS=1 "$@"
