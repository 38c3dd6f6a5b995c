"""How the comparison scripts run PyTorch at a given thread count, giving it its fair best:
torch's, OpenMP's, MKL's and OpenBLAS's thread counts set together, and OpenMP's threads
sleeping rather than spinning when idle in multi-threaded runs (passive=True, the default here).
OpenMP's own default, spinning a while before sleeping, is what a user gets without setting
anything; it is faster for short ops (a 3x3 convolution of a (64, 32, 4, 4) batch measured
about twice as fast), so compare_conv.py tries PyTorch both ways. The other scripts were measured
with passive threads only."""
import os


def torch_environment(threads, passive=True):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.pop("OMP_WAIT_POLICY", None)
    if threads > 1 and passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env
