"""The machine's limits that the comparison scripts report each side's share of, measured in the
same run as the figures they are compared with (a shared machine's limits move from hour to
hour)."""
import json
import os
import subprocess
import time


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


def openblas_peak_flops(build, threads=2):
    """OpenBLAS's 1024^3 sgemm called directly by heed's bench_kernels at heed's thread count
    (the library heed's products run on): the best of 5 repetitions of at least a second each."""
    result = subprocess.run([os.path.join(build, "bench", "bench_kernels"), "--benchmark_format=json",
                             "--benchmark_filter=openblas_sgemm_1024", "--benchmark_min_time=1",
                             "--benchmark_repetitions=5"],
                            env=dict(os.environ, HEED_NUM_THREADS=str(threads)), check=True,
                            capture_output=True, text=True)
    runs = [entry["GFLOP/s"] for entry in json.loads(result.stdout)["benchmarks"]
            if entry.get("run_type") == "iteration"]
    return max(runs)
