"""How the comparison scripts run PyTorch at a given thread count, giving it its fair best:
torch's, OpenMP's, MKL's and OpenBLAS's thread counts set together, and OpenMP's threads
sleeping rather than spinning when idle in multi-threaded runs."""
import os


def torch_environment(threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    if threads > 1:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env
