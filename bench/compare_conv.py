#!/usr/bin/env python3
"""Side-by-side: heed's conv2d and conv_transpose2d forward+backward (bench_conv, 2 threads)
against PyTorch's (oneDNN on CPU) at the attention zoo's shapes and at (64, 64, 32, 32) 3x3, in
one run.

PyTorch runs at 1 thread and at 2 threads, the latter both with OpenMP's threads sleeping when
idle (OMP_WAIT_POLICY=PASSIVE) and with OpenMP's default (spinning a while first, faster for
short ops), each in its own process; the ratio is taken against the fastest of the three. The
machines are shared and their speed drifts from minute to minute, so all take turns: --rounds
rounds, each running heed and every PyTorch setting once with --repeats timed runs per shape;
every figure is the median of all rounds' runs. Each is
also given as a share of OpenBLAS sgemm's throughput measured in the same rounds (the matrix
products' peak). Usage, from the repository root after building:
    python3 bench/compare_conv.py [--build build] [--rounds 3] [--repeats 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from torch_threads import SETTINGS, setting_environment

# (label, kind, batch, in channels, height = width, out channels, stride): "conv" is 3x3 with
# padding 1, "deconv" a transposed 4x4 with stride 2 and padding 1 (doubling the map)
SHAPES = [
    ("classify conv1", "conv", 64, 1, 8, 32, 1),
    ("classify conv2", "conv", 64, 32, 4, 64, 1),
    ("detect conv1", "conv", 64, 3, 32, 32, 1),
    ("detect conv2", "conv", 64, 32, 16, 64, 1),
    ("detect conv3", "conv", 64, 64, 8, 64, 1),
    ("gan disc. conv1", "conv", 64, 1, 8, 32, 2),
    ("gan disc. conv2", "conv", 64, 32, 4, 64, 2),
    ("gan gen. deconv1", "deconv", 64, 128, 2, 64, 2),
    ("gan gen. deconv2", "deconv", 64, 64, 4, 1, 2),
    ("(64, 64, 32, 32)", "conv", 64, 64, 32, 64, 1),
]


def benchmark_name(kind, n, c, size, o, stride):
    """bench_conv's name for a shape."""
    if kind == "conv":
        return f"conv2d_forward_backward/{n}/{c}/{size}/{o}/{stride}"
    return f"conv_transpose2d_forward_backward/{n}/{c}/{size}/{o}"


def multiply_adds(kind, n, c, size, o, stride):
    """The forward's multiply-adds (the backward does twice as many)."""
    if kind == "conv":
        out = (size - 1) // stride + 1
        return n * o * c * 9 * out * out
    return n * c * o * 16 * size * size

TORCH_WORKER = r"""
import json, statistics, sys, time, torch
threads, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
out = {"torch": torch.__version__}
F = torch.nn.functional
for (label, kind, n, c, size, o, stride) in %SHAPES%:
    x = torch.randn(n, c, size, size, requires_grad=True)
    b = torch.randn(o, requires_grad=True)
    if kind == "conv":
        w = torch.randn(o, c, 3, 3, requires_grad=True)
        conv = lambda: F.conv2d(x, w, b, stride=stride, padding=1)
    else:
        w = torch.randn(c, o, 4, 4, requires_grad=True)
        conv = lambda: F.conv_transpose2d(x, w, b, stride=2, padding=1)
    g = torch.randn(conv().shape)
    def step():
        x.grad = w.grad = b.grad = None
        conv().backward(g)
    step()
    runs = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while True:
            step(); count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= 0.3: break
        runs.append(elapsed / count)
    out[label] = runs
print(json.dumps(out))
""".replace("%SHAPES%", repr(SHAPES))


def run_torch(setting, repeats):
    threads, _ = SETTINGS[setting]
    result = subprocess.run([sys.executable, "-c", TORCH_WORKER, str(threads), str(repeats)],
                            env=setting_environment(setting), check=True,
                            capture_output=True, text=True)
    return json.loads(result.stdout)


def run_heed(build, repeats):
    """Each benchmark's timed runs, in seconds (and the entries, for the counters)."""
    env = dict(os.environ, HEED_NUM_THREADS="2")
    result = subprocess.run([os.path.join(build, "bench", "bench_conv"), "--benchmark_format=json",
                             f"--benchmark_repetitions={repeats}", "--benchmark_min_time=0.3"],
                            env=env, check=True, capture_output=True, text=True)
    figures = {}
    for entry in json.loads(result.stdout)["benchmarks"]:
        if entry.get("run_type") != "iteration":
            continue
        unit = {"us": 1e-6, "ms": 1e-3, "ns": 1e-9}[entry["time_unit"]]
        name = entry["run_name"].replace("/real_time", "")
        figures.setdefault(name, []).append((entry["real_time"] * unit, entry))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for flag in ("rounds", "repeats"):  # checked before any work
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    settings = SETTINGS
    heed, torch = {}, {name: {} for name in settings}
    for _ in range(args.rounds):  # taking turns, so that a slow minute slows every side alike
        for name, runs in run_heed(args.build, args.repeats).items():
            heed.setdefault(name, []).extend(runs)
        for name in settings:
            for label, runs in run_torch(name, args.repeats).items():
                if label == "torch":
                    torch[name]["torch"] = runs
                else:
                    torch[name].setdefault(label, []).extend(runs)
    median = statistics.median
    peak = median([entry["GFLOP/s"] for _, entry in heed["openblas_sgemm_1024"]]) / 1e9
    print(f"PyTorch {torch['1t']['torch']} (1 thread; 2 threads passive and spinning; best taken) "
          f"vs heed (2 threads); medians of {args.rounds} rounds x {args.repeats} runs; OpenBLAS "
          f"sgemm 1024^3 in these rounds: {peak:.0f} GFLOP/s\n")
    print(f"{'fwd+bwd':20} {'heed':>9} " +
          " ".join(f"{'torch ' + name:>15}" for name in settings) +
          f" {'ratio':>6} {'heed GFLOP/s':>12} {'of peak':>8} {'torch of peak':>13}")
    for (label, *shape) in SHAPES:
        seconds = median([t for t, _ in heed[benchmark_name(*shape)]])
        theirs = [median(torch[name][label]) for name in settings]
        best = min(theirs)
        flops = 6.0 * multiply_adds(*shape)
        print(f"{label:20} {seconds*1e3:7.3f}ms " +
              " ".join(f"{t*1e3:13.3f}ms" for t in theirs) +
              f" {best/seconds:5.2f}x {flops/seconds/1e9:12.1f} {flops/seconds/1e9/peak*100:7.1f}% "
              f"{flops/best/1e9/peak*100:12.1f}%")


if __name__ == "__main__":
    main()
