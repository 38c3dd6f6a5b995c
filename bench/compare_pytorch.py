#!/usr/bin/env python3
"""Side-by-side: heed's bench_kernels and bench_gru (2 threads) against PyTorch on the same CPU.

PyTorch runs in each of torch_threads.SETTINGS (1 thread; 2 threads with OpenMP's idle threads
sleeping, and spinning), each in its own process, and the ratio is taken against the fastest.
The sides take turns for --rounds rounds, so that a slow minute on a shared machine slows each
alike; every figure is the median over the rounds of each round's median of --repeats runs.
The masked-softmax baseline is d2l.ai's masked_softmax (fill -1e6, then softmax), forward and
backward. The machine's limits come from the same rounds: OpenBLAS's 1024^3 sgemm called
directly (the peak the products are compared with) and STREAM's triad (the memory bandwidth the
softmax is compared with). Usage, from the repository root after building:
    python3 bench/compare_pytorch.py [--build build] [--baseline OTHER_BUILD] [--rounds 3] [--repeats 5]
--baseline runs another build's benchmarks in the same rounds (a "before" column; the machine's
limits still come from --build).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from build_programs import check_programs
from torch_threads import SETTINGS, setting_environment

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


def run_torch(setting, repeats):
    threads, _ = SETTINGS[setting]
    result = subprocess.run([sys.executable, "-c", TORCH_WORKER, str(threads), str(repeats)],
                            env=setting_environment(setting), check=True, capture_output=True, text=True)
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


def gru_flops(hidden, steps, batch=64, features=64, layers=2):
    """Multiply-adds x 2 of a GRU's forward (each layer: (B, in + H) x (in + H, 3H) a step), x 3
    for forward and backward (the input's gradient included: x requires grad)."""
    forward = 0
    for layer in range(layers):
        width_in = features if layer == 0 else hidden
        forward += 2 * batch * (width_in + hidden) * 3 * hidden * steps
    return 3 * forward


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--baseline", help="another build directory, shown as a 'before' column")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for flag in ("rounds", "repeats"):  # checked before any work
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    programs = [os.path.join("bench", "bench_kernels"), os.path.join("bench", "bench_gru")]
    check_programs(parser, "--build", args.build, programs)
    if args.baseline:
        check_programs(parser, "--baseline", args.baseline, programs)

    heed_rounds, baseline_rounds, torch_rounds = [], [], {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        heed_rounds.append(run_heed(args.build, args.repeats))
        if args.baseline:
            baseline_rounds.append(run_heed(args.baseline, args.repeats))
        for name in SETTINGS:
            torch_rounds[name].append(run_torch(name, args.repeats))
    median = statistics.median
    heed = {name: median([r[name][0] for r in heed_rounds]) for name in heed_rounds[0] if name != "openblas_core"}
    before = {name: median([r[name][0] for r in baseline_rounds]) for name in (baseline_rounds or [{}])[0]
              if name != "openblas_core"}
    torch = {setting: {name: median([r[name] for r in runs]) for name in runs[0] if name not in ("torch", "threads")}
             for setting, runs in torch_rounds.items()}
    peak = median([r["openblas_sgemm_1024"][1]["GFLOP/s"] for r in heed_rounds]) / 1e9
    triad = median([r["triad"][1]["GB/s"] for r in heed_rounds]) / 1e9
    print(f"PyTorch {torch_rounds['1t'][0]['torch']} ({', '.join(SETTINGS)}; fastest taken) vs heed (2 threads, "
          f"OpenBLAS core {heed_rounds[0]['openblas_core']}); medians of {args.rounds} rounds x {args.repeats} runs; "
          f"ratio = PyTorch's time / heed's (> 1: heed faster)")
    print(f"the machine in these rounds: OpenBLAS sgemm 1024^3 {peak:.0f} GFLOP/s, STREAM triad {triad:.1f} GB/s\n")
    print(f"{'fwd+bwd':34} {'heed':>10} " + " ".join(f"{'torch ' + name:>16}" for name in SETTINGS) +
          f" {'ratio':>6}  heed's share of the machine" + ("; before: time, ratio" if before else ""))

    def row(label, heed_name, torch_name, share=""):
        theirs = [torch[setting][torch_name] for setting in SETTINGS]
        then = (f"; before {before[heed_name]*1e3:.3f}ms, {min(theirs)/before[heed_name]:.2f}x"
                if heed_name in before else "")
        print(f"{label:34} {heed[heed_name]*1e3:8.3f}ms " + " ".join(f"{t*1e3:14.3f}ms" for t in theirs) +
              f" {min(theirs)/heed[heed_name]:5.2f}x  {share}{then}")

    for (b, m, k, n) in BMM_SHAPES:
        gflops = 6.0 * b * m * k * n / heed[f"bmm_forward_backward/{b}/{m}/{k}/{n}"] / 1e9
        row(f"bmm {b}x{m}x{k}x{n}", f"bmm_forward_backward/{b}/{m}/{k}/{n}", f"bmm/{b}/{m}/{k}/{n}",
            f"{gflops:.0f} GFLOP/s, {100 * gflops / peak:.0f}% of sgemm")
    row("matmul 1024^3 (forward)", "matmul_1024", "matmul_1024",
        f"{100 * heed['openblas_sgemm_1024'] / heed['matmul_1024']:.1f}% of OpenBLAS sgemm called directly")
    for (b, q, k) in SOFTMAX_SHAPES:
        gbs = 5.0 * 4 * b * q * k / heed[f"masked_softmax_forward_backward/{b}/{q}/{k}"] / 1e9
        row(f"masked_softmax {b}x{q}x{k}", f"masked_softmax_forward_backward/{b}/{q}/{k}",
            f"masked_softmax/{b}/{q}/{k}", f"{gbs:.1f} GB/s, {100 * gbs / triad:.0f}% of the triad")
    for (hidden, steps) in GRU_SHAPES:
        gflops = gru_flops(hidden, steps) / heed[f"gru_forward_backward/{hidden}/{steps}"] / 1e9
        row(f"GRU hidden {hidden}, {steps} steps", f"gru_forward_backward/{hidden}/{steps}", f"gru/{hidden}/{steps}",
            f"{gflops:.0f} GFLOP/s, {100 * gflops / peak:.0f}% of sgemm")


if __name__ == "__main__":
    main()
