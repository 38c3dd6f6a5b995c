#!/usr/bin/env python3
"""Side-by-side: heed's bench_kernels (2 threads) against PyTorch on the same CPU, in one run.

PyTorch runs at 1 and at 2 threads, each in its own process (torch.set_num_threads and
OPENBLAS/OMP/MKL thread counts set together; OMP_WAIT_POLICY=PASSIVE for the 2-thread run), and
the ratio is taken against the faster of the two. Every figure is the median of --repeats runs.
The masked-softmax baseline is d2l.ai's masked_softmax (fill -1e6, then softmax), forward and
backward. Usage, from the repository root after building:
    python3 bench/compare_pytorch.py [--build build] [--repeats 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from torch_threads import torch_environment

BMM_SHAPES = [(256, 64, 32, 64), (64, 128, 64, 128), (48, 256, 64, 256)]
SOFTMAX_SHAPES = [(1024, 64, 64), (384, 256, 256), (96, 512, 512)]
GRU_SHAPES = [(32, 10), (32, 50), (256, 10), (256, 50)]  # (hidden, steps); input 64, batch 64, 2 layers

TORCH_WORKER = r"""
import json, statistics, sys, time, torch
threads, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)

def median_seconds(step, min_time=0.3):
    step()  # warm-up
    runs = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while True:
            step(); count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time: break
        runs.append(elapsed / count)
    return statistics.median(runs)

def d2l_masked_softmax(x, valid_lens):
    shape = x.shape
    valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    flat = x.reshape(-1, shape[-1])
    mask = torch.arange(shape[-1])[None, :] < valid_lens[:, None]
    flat = flat.masked_fill(~mask, -1e6)  # d2l writes X[~mask] = value; same values, out of place
    return torch.softmax(flat.reshape(shape), dim=-1)

out = {"torch": torch.__version__, "threads": threads}
for (b, m, k, n) in %BMM%:
    x = torch.randn(b, m, k, requires_grad=True); y = torch.randn(b, k, n, requires_grad=True)
    g = torch.randn(b, m, n)
    def step():
        x.grad = None; y.grad = None
        torch.bmm(x, y).backward(g)
    out[f"bmm/{b}/{m}/{k}/{n}"] = median_seconds(step)
a = torch.randn(1024, 1024); c = torch.randn(1024, 1024)
out["matmul_1024"] = median_seconds(lambda: torch.matmul(a, c))
for (b, q, k) in %SOFTMAX%:
    x = torch.randn(b, q, k, requires_grad=True); lens = torch.randint(1, k + 1, (b,))
    g = torch.randn(b, q, k)
    def step():
        x.grad = None
        d2l_masked_softmax(x, lens).backward(g)
    out[f"masked_softmax/{b}/{q}/{k}"] = median_seconds(step)
for (hidden, steps) in %GRU%:
    gru = torch.nn.GRU(64, hidden, num_layers=2)
    x = torch.randn(steps, 64, 64, requires_grad=True); g = torch.randn(steps, 64, hidden)
    def step():
        gru.zero_grad(); x.grad = None
        gru(x)[0].backward(g)
    out[f"gru/{hidden}/{steps}"] = median_seconds(step)
print(json.dumps(out))
""".replace("%BMM%", repr(BMM_SHAPES)).replace("%SOFTMAX%", repr(SOFTMAX_SHAPES)).replace("%GRU%", repr(GRU_SHAPES))


def run_torch(threads, repeats):
    env = torch_environment(threads)
    result = subprocess.run([sys.executable, "-c", TORCH_WORKER, str(threads), str(repeats)],
                            env=env, check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def run_heed(build, repeats):
    env = dict(os.environ, HEED_NUM_THREADS="2")
    figures = {}
    for program in ("bench_kernels", "bench_gru"):
        result = subprocess.run([os.path.join(build, "bench", program), "--benchmark_format=json",
                                 f"--benchmark_repetitions={repeats}", "--benchmark_min_time=0.3",
                                 "--benchmark_report_aggregates_only=true"],
                                env=env, check=True, capture_output=True, text=True)
        report = json.loads(result.stdout)
        figures.setdefault("openblas_core", report["context"].get("openblas_core"))
        read_medians(report, figures)
    return figures


def read_medians(report, figures):
    for entry in report["benchmarks"]:
        if entry.get("aggregate_name") != "median":
            continue
        name = entry["run_name"].replace("/real_time", "")
        unit = {"us": 1e-6, "ms": 1e-3, "ns": 1e-9}[entry["time_unit"]]
        figures[name] = (entry["real_time"] * unit, entry)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    heed = run_heed(args.build, args.repeats)
    torch1 = run_torch(1, args.repeats)
    torch2 = run_torch(2, args.repeats)
    print(f"PyTorch {torch1['torch']} (1 and 2 threads, best taken) vs heed (2 threads, OpenBLAS "
          f"core {heed['openblas_core']}); medians of {args.repeats} runs; "
          f"ratio = PyTorch time / heed time (> 1: heed faster)\n")
    print(f"{'benchmark':32} {'heed':>10} {'torch 1t':>10} {'torch 2t':>10} {'ratio':>7}")

    def row(label, heed_name, torch_name, extra=""):
        heed_seconds = heed[heed_name][0]
        best_torch = min(torch1[torch_name], torch2[torch_name])
        print(f"{label:32} {heed_seconds*1e3:9.3f}ms {torch1[torch_name]*1e3:9.3f}ms "
              f"{torch2[torch_name]*1e3:9.3f}ms {best_torch/heed_seconds:6.2f}x {extra}")

    for (b, m, k, n) in BMM_SHAPES:
        name = f"bmm_forward_backward/{b}/{m}/{k}/{n}"
        gflops = heed[name][1]["GFLOP/s"] / 1e9
        row(f"bmm fwd+bwd {b}x{m}x{k}x{n}", name, f"bmm/{b}/{m}/{k}/{n}", f"heed {gflops:.0f} GFLOP/s")
    row("matmul 1024^3", "matmul_1024", "matmul_1024")
    sgemm = heed["openblas_sgemm_1024"][0]
    print(f"{'  heed matmul / direct sgemm':32} {sgemm / heed['matmul_1024'][0]*100:9.1f}% of OpenBLAS sgemm's throughput")
    triad = heed["triad"][1]["GB/s"] / 1e9
    for (b, q, k) in SOFTMAX_SHAPES:
        name = f"masked_softmax_forward_backward/{b}/{q}/{k}"
        gbs = heed[name][1]["GB/s"] / 1e9
        row(f"masked_softmax fwd+bwd {b}x{q}x{k}", name, f"masked_softmax/{b}/{q}/{k}",
            f"heed {gbs:.1f} GB/s (triad {triad:.1f} GB/s)")
    for (hidden, steps) in GRU_SHAPES:
        row(f"GRU fwd+bwd hidden {hidden}, {steps} steps", f"gru_forward_backward/{hidden}/{steps}",
            f"gru/{hidden}/{steps}")


if __name__ == "__main__":
    main()
