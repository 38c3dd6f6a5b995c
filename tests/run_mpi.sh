#!/usr/bin/env bash
# Runs a program as a job of N processes under Open MPI's mpirun: run_mpi.sh N PROGRAM [ARGS...].
# meson uses it only in a build with MPI, where a missing mpirun is a failure, not a skip. As
# root (CI containers) mpirun needs to be told that this is intended.
set -euo pipefail
ranks=$1
shift
if ! command -v mpirun > /dev/null; then
  echo "heed was built with MPI but mpirun is missing: install openmpi-bin (scripts/install-deps.sh)"
  exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# --oversubscribe: more ranks than cores is allowed (a 2-core CI machine runs 2 ranks plus the
# tests beside them); one thread per rank keeps them from fighting over the cores.
exec mpirun -np "$ranks" --oversubscribe --bind-to none -x HEED_NUM_THREADS=1 "$@"
