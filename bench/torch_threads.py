"""How the comparison scripts run PyTorch at a given thread count, giving it its fair best:
torch's, OpenMP's, MKL's and OpenBLAS's thread counts set together, and, in multi-threaded runs,
OpenMP's idle threads either sleeping (passive) or left to OpenMP's own default, spinning a while
before they sleep (what a user gets without setting anything). Spinning is faster for short ops
(a 3x3 convolution of a (64, 32, 4, 4) batch measured about twice as fast) and can be slower
when the two threads share the cores with anything else, so the comparison scripts run PyTorch in
each of SETTINGS, in its own process, and compare heed with the fastest (compare_op_overhead.py
excepted: its 16-element ops never use a second thread)."""
import os

# name: (threads, passive)
SETTINGS = {"1t": (1, True), "2t passive": (2, True), "2t spin": (2, False)}


def torch_environment(threads, passive=True):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.pop("OMP_WAIT_POLICY", None)
    if threads > 1 and passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def setting_environment(name):
    """The environment of one of SETTINGS, by name."""
    threads, passive = SETTINGS[name]
    return torch_environment(threads, passive)
