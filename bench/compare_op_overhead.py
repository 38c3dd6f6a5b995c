#!/usr/bin/env python3
"""The fixed cost of an op, heed against PyTorch on the same CPU in one run.

Both run a chain of LENGTH small ops (mul, add, tanh, sub in turn, on vectors of SIZE elements)
forward with autograd recording, then backward, and the same chain forward without autograd
(heed's bench/op_overhead, PyTorch eager from Python, as a user writes it). With a handful of
elements the arithmetic is nothing: the time per op is what every op pays. Each side runs at 1
and 2 threads in separate processes, --rounds times in alternation; every figure is a median
over rounds, and the ratio is taken against PyTorch's faster thread count.

Usage, from the repository root after building:
    python3 bench/compare_op_overhead.py [--build build] [--rounds 5] [--length 1000] [--size 16]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from torch_threads import torch_environment

TORCH_WORKER = r"""
import json, statistics, sys, time, torch
length, size, repeats, threads = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
x = torch.randn(size, requires_grad=True)
w = torch.full((size,), 0.5, requires_grad=True)

def chain(y):
    for i in range(length):
        k = i % 4
        if k == 0: y = y * w
        elif k == 1: y = y + w
        elif k == 2: y = torch.tanh(y)
        else: y = y - w
    return y

forward, backward, no_grad = [], [], []
for r in range(repeats + 1):
    x.grad = None; w.grad = None
    start = time.perf_counter(); loss = chain(x).sum(); f = time.perf_counter() - start
    start = time.perf_counter(); loss.backward(); b = time.perf_counter() - start
    with torch.no_grad():
        start = time.perf_counter(); chain(x); n = time.perf_counter() - start
    if r == 0: continue
    forward.append(1e6 * f / length); backward.append(1e6 * b / length); no_grad.append(1e6 * n / length)
print(json.dumps({"forward_us": statistics.median(forward), "backward_us": statistics.median(backward),
                  "no_grad_us": statistics.median(no_grad), "torch": torch.__version__}))
"""


def run_torch(length, size, repeats, threads):
    result = subprocess.run([sys.executable, "-c", TORCH_WORKER, str(length), str(size), str(repeats), str(threads)],
                            env=torch_environment(threads), check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().split("\n")[-1])


def run_heed(build, length, size, repeats, threads):
    result = subprocess.run([os.path.join(build, "bench", "op_overhead"), str(length), str(size), str(repeats),
                             str(threads)], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().split("\n")[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=21, help="chains per process (medians)")
    args = parser.parse_args()

    keys = ("forward_us", "backward_us", "no_grad_us")
    runs = {(side, t): {k: [] for k in keys} for side in ("heed", "torch") for t in (1, 2)}
    version = ""
    for _ in range(args.rounds):
        for threads in (1, 2):
            heed = run_heed(args.build, args.length, args.size, args.repeats, threads)
            torch = run_torch(args.length, args.size, args.repeats, threads)
            version = torch["torch"]
            for k in keys:
                runs[("heed", threads)][k].append(heed[k])
                runs[("torch", threads)][k].append(torch[k])
    med = {key: {k: statistics.median(v) for k, v in value.items()} for key, value in runs.items()}

    print(f"Fixed cost of an op: a chain of {args.length} ops on vectors of {args.size} elements, "
          f"microseconds per op, medians of {args.rounds} rounds (PyTorch {version})")
    print(f"| | heed 1t | heed 2t | PyTorch 1t | PyTorch 2t | PyTorch's best / heed's best |")
    print(f"| --- | --- | --- | --- | --- | --- |")
    for k, label in (("forward_us", "forward, recording"), ("backward_us", "backward"),
                     ("no_grad_us", "forward, no grad")):
        h1, h2 = med[("heed", 1)][k], med[("heed", 2)][k]
        t1, t2 = med[("torch", 1)][k], med[("torch", 2)][k]
        print(f"| {label} | {h1:.2f} | {h2:.2f} | {t1:.2f} | {t2:.2f} | {min(t1, t2) / min(h1, h2):.2f}x |")
    total = {key: value["forward_us"] + value["backward_us"] for key, value in med.items()}
    heed_best = min(total[("heed", 1)], total[("heed", 2)])
    torch_best = min(total[("torch", 1)], total[("torch", 2)])
    print(f"| forward + backward | {total[('heed', 1)]:.2f} | {total[('heed', 2)]:.2f} | "
          f"{total[('torch', 1)]:.2f} | {total[('torch', 2)]:.2f} | {torch_best / heed_best:.2f}x |")


if __name__ == "__main__":
    main()
