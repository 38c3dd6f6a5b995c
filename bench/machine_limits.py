"""The machine's limits that the comparison scripts report each side's share of, measured in the
same run as the figures they are compared with (a shared machine's limits move from hour to
hour)."""
import os
import time


def sgemm_peak_flops():
    """The best of five 2048^3 float32 products with numpy's BLAS on every core: the peak MFU is
    taken against (heed's train line measures its own the same way)."""
    import numpy as np
    n = 2048
    a = np.ones((n, n), dtype=np.float32)
    b = np.ones((n, n), dtype=np.float32)
    a @ b
    best = 1e9
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def memory_bandwidth_gb_s():
    """Bytes read per second by a sum over 1 GB on every core (PyTorch's threaded reduction),
    best of 5: the machine's limit for streaming weights, which decoding reads and never
    writes."""
    import torch
    torch.set_num_threads(os.cpu_count())
    a = torch.ones(1 << 28, dtype=torch.float32)
    a.sum()
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        a.sum()
        best = max(best, a.numel() * 4 / (time.perf_counter() - start))
    return best / 1e9
