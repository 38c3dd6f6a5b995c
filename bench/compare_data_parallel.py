#!/usr/bin/env python3
"""Data-parallel GPT training on this machine: 2 ranks x 1 thread (mpirun) against 1 process x 2
threads, at the small and medium presets, in one run.

For each preset it runs, alternating, REPEATS times each:
  one process      gpt train --threads 2
  2 ranks          mpirun -np 2, one thread a rank, allreduces started during backward
  2 ranks, after   the same with --no-overlap: every allreduce waits until backward has ended
and reads every step's seconds and wait_seconds from --metrics. It prints the median tokens/s,
the share of a step a rank spends waiting for the gradients' allreduces, and how much of the
allreduce time the overlap hides: 1 - wait(overlap) / wait(no overlap).

    python3 bench/compare_data_parallel.py --build build --repeats 3

Needs mpirun (openmpi-bin) and heed built with MPI; standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "tinyshakespeare", "input.txt")


def run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def train(gpt, preset, steps, batch, ranks, overlap, folder):
    metrics = os.path.join(folder, "metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    flags = ["train", "--preset", preset, "--data", DATA, "--steps", str(steps),
             "--batch-size", str(batch), "--eval-interval", str(steps), "--eval-batches", "1",
             "--log-interval", str(steps), "--metrics", metrics,
             "--checkpoint", os.path.join(folder, "run.safetensors")]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.pop("HEED_NUM_THREADS", None)
    if ranks == 1:
        command = [gpt, *flags, "--threads", "2"]
    else:
        command = ["mpirun", "-np", str(ranks), "--bind-to", "core", "-x", "HEED_NUM_THREADS=1",
                   gpt, *flags, "--overlap" if overlap else "--no-overlap"]
    run(command, env)
    with open(metrics) as f:
        records = [json.loads(line) for line in f]
    return records[2:]  # the first steps warm the allocator and the thread pools


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", default="small,medium")
    args = parser.parse_args()
    gpt = os.path.join(args.build, "examples", "gpt")
    if not os.path.exists(DATA):
        sys.exit(f"{DATA} is missing")
    # steps and global batch a preset
    shapes = {"small": (30, 32), "medium": (12, 16)}
    configs = [("one process x 2 threads", 1, True), ("2 ranks x 1 thread", 2, True),
               ("2 ranks, no overlap", 2, False)]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for preset in args.presets.split(","):
            steps, batch = shapes[preset]
            seconds = {name: [] for name, _, _ in configs}
            waits = {name: [] for name, _, _ in configs}
            tokens = 0
            for _ in range(args.repeats):
                for name, ranks, overlap in configs:
                    records = train(gpt, preset, steps, batch, ranks, overlap, folder)
                    tokens = records[0]["tokens"]
                    seconds[name] += [r["seconds"] for r in records]
                    waits[name] += [r.get("wait_seconds", 0.0) for r in records]
            one = statistics.median(seconds[configs[0][0]])
            overlapped = statistics.median(waits[configs[1][0]])
            after = statistics.median(waits[configs[2][0]])
            for name, ranks, overlap in configs:
                step = statistics.median(seconds[name])
                wait = statistics.median(waits[name])
                rows.append((preset, name, tokens / step, one / step, 100 * wait / step,
                             1000 * wait))
            hidden = 100 * (1 - overlapped / after) if after > 0 else float("nan")
            rows.append((preset, f"allreduce hidden by the overlap: {hidden:.0f}%", None, None,
                         None, None))
    print(f"{'preset':<8} {'configuration':<28} {'tok/s':>8} {'vs 1 proc':>9} "
          f"{'wait %':>7} {'wait ms':>8}")
    for preset, name, rate, ratio, share, wait in rows:
        if rate is None:
            print(f"{preset:<8} {name}")
        else:
            print(f"{preset:<8} {name:<28} {rate:>8.0f} {ratio:>8.2f}x {share:>6.1f}% {wait:>8.1f}")


if __name__ == "__main__":
    main()
