#!/usr/bin/env python3
"""GPT training and generation, heed against PyTorch on the same CPU in one run.

Trains the same model (examples/gpt: pre-LayerNorm blocks, GELU MLP, learned positions, GPT-2
init, AdamW 0.9/0.95 with decay on matrices only, warmup then cosine, clipping at 1.0) on
character-level Tiny Shakespeare with the same hyperparameters, and reports training tokens/sec
(median over the progress windows after the first), peak memory (max RSS) and the final
validation loss. PyTorch uses F.scaled_dot_product_attention (its fused path) and runs in each of
torch_threads.SETTINGS (1 thread; 2 threads sleeping or spinning when idle) in separate
processes; the ratio is taken against the fastest. MFU counts 6N + 12 * layers * width * context
FLOPs per token (N: the parameters) against OpenBLAS's sgemm peak (bench_kernels'
openblas_sgemm_1024, the best of the runs at the start and at the end of the script). Then
generation: 256 new tokens at the small preset, heed with its key/value cache against PyTorch
recomputing the whole context each step (no cache).

Usage, from the repository root after building:
    python3 bench/compare_gpt.py --data ../shared/data/tinyshakespeare/input.txt \
        [--presets tiny small medium] [--steps 60] [--baseline OTHER_BUILD]
--baseline trains another build's heed too, in the same run (a "before" line under each preset).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

from build_programs import check_programs
from machine_limits import openblas_peak_flops
from torch_threads import SETTINGS, setting_environment

PRESETS = {"nano": (3, 3, 48, 64), "tiny": (2, 4, 64, 64), "small": (4, 4, 128, 128),
           "medium": (6, 6, 384, 256)}

TORCH_WORKER = r"""
import json, math, resource, statistics, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(args["seed"])
text = open(args["data"], encoding="utf-8").read()
chars = sorted(set(text)); index = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([index[c] for c in text], dtype=torch.long)
split = len(ids) * 9 // 10
train_ids, val_ids = ids[:split], ids[split:]
L, H, E, T = args["n_layer"], args["n_head"], args["n_embd"], args["block_size"]
V, B = len(chars), args["batch_size"]

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.qkv, self.proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
        self.fc, self.fc_proj = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)
    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(E, dim=2)
        q, k, v = (z.view(b, t, H, E // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, E))
        return x + self.fc_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, E), nn.Embedding(T, E)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f, self.lm_head = nn.LayerNorm(E), nn.Linear(E, V, bias=False)
        for name, p in self.named_parameters():
            if p.dim() >= 2: nn.init.normal_(p, 0.0, 0.02)
            elif "ln" not in name: nn.init.zeros_(p)
        for block in self.h:
            for p in (block.proj.weight, block.fc_proj.weight):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L))
    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h: x = block(x)
        return self.lm_head(self.ln_f(x))

def batch(source):
    starts = torch.randint(len(source) - T - 1, (B,))
    x = torch.stack([source[s:s + T] for s in starts]); y = torch.stack([source[s + 1:s + T + 1] for s in starts])
    return x, y

model = GPT()
decay = [p for p in model.parameters() if p.dim() >= 2]; no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": args["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=args["lr"], betas=(0.9, 0.95))
steps, warmup = args["steps"], min(args["warmup"], args["steps"])
def lr_at(step):
    if step < warmup: return args["lr"] * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return args["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
windows, window_start = [], time.perf_counter()
for step in range(steps):
    for g in opt.param_groups: g["lr"] = lr_at(step)
    x, y = batch(train_ids)
    loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    if (step + 1) % args["log_interval"] == 0:
        now = time.perf_counter(); windows.append(args["log_interval"] * B * T / (now - window_start)); window_start = now
model.eval()
with torch.no_grad():
    val = statistics.mean(F.cross_entropy(model(x).view(-1, V), y.view(-1)).item()
                          for x, y in (batch(val_ids) for _ in range(args["eval_batches"])))
    generation = None
    if args["generate"]:
        context = torch.zeros(1, 1, dtype=torch.long); start = time.perf_counter()
        for _ in range(args["generate"]):  # no cache: the whole context runs again every step
            logits = model(context)[:, -1]
            context = torch.cat([context, logits.argmax(-1, keepdim=True)], dim=1)
        generation = args["generate"] / (time.perf_counter() - start)
print(json.dumps({"tokens_per_second": statistics.median(windows[1:] or windows), "val_loss": val,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "generation_tokens_per_second": generation, "torch": torch.__version__,
                  "parameters": sum(p.numel() for p in model.parameters())}))
"""


def run_torch(config, setting):
    threads, _ = SETTINGS[setting]
    result = subprocess.run([sys.executable, "-c", TORCH_WORKER, json.dumps(dict(config, threads=threads))],
                            env=setting_environment(setting), check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def run_heed(build, config, checkpoint):
    command = [os.path.join(build, "examples", "gpt"), "--threads", "2", "train", "--data", config["data"],
               "--n-layer", str(config["n_layer"]), "--n-head", str(config["n_head"]),
               "--n-embd", str(config["n_embd"]), "--block-size", str(config["block_size"]),
               "--batch-size", str(config["batch_size"]), "--steps", str(config["steps"]),
               "--lr", str(config["lr"]), "--warmup", str(config["warmup"]),
               "--log-interval", str(config["log_interval"]), "--eval-interval", str(config["steps"]),
               "--eval-batches", str(config["eval_batches"]), "--seed", str(config["seed"]),
               "--checkpoint", checkpoint]
    stdout, rss_kb = run_measured(command)
    # Rates over whole timed windows only: a progress line at a step that is not a multiple of
    # the log interval (the last one, when the steps do not divide evenly) covers fewer steps.
    rates = [float(rate) for step, rate in re.findall(r"step +(\d+)/\d+ .*? (\d+) tok/s", stdout)
             if int(step) % config["log_interval"] == 0]
    val = float(re.findall(r"val loss ([0-9.]+)", stdout)[-1])
    return {"tokens_per_second": statistics.median(rates[1:] or rates), "val_loss": val,
            "max_rss_mb": rss_kb / 1024}


def run_measured(command):
    """Runs a command; returns its stdout+stderr and its own peak resident memory in KiB."""
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{text}")
    return text, usage.ru_maxrss


def heed_generation(build, checkpoint, tokens):
    command = [os.path.join(build, "examples", "gpt"), "--threads", "2", "sample", "--checkpoint", checkpoint,
               "--temperature", "0", "--max-new-tokens", str(tokens), "\n"]
    text, _ = run_measured(command)
    return float(re.search(r"\(([0-9.]+) tokens/s", text).group(1))  # generation alone


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--baseline", help="another build directory, shown as a 'before' line")
    parser.add_argument("--data", required=True)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "medium"], choices=list(PRESETS))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-batches", type=int, default=4, help="validation batches per estimate")
    parser.add_argument("--same-time", action="store_true",
                        help="then train heed again for as many steps as fit in PyTorch's wall-clock time")
    args = parser.parse_args()
    for flag in ("steps", "batch_size", "eval_batches"):  # checked before any work
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    check_programs(parser, "--build", args.build, [os.path.join("examples", "gpt")])
    if args.baseline:
        check_programs(parser, "--baseline", args.baseline, [os.path.join("examples", "gpt")])
    env_note = f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}" if "OPENBLAS_CORETYPE" in os.environ else "OpenBLAS's own kernel choice"
    try:
        peak = openblas_peak_flops(args.build)
        peak_note = f"OpenBLAS sgemm 1024^3 at the start: {peak / 1e9:.0f} GFLOP/s"
    except FileNotFoundError:  # built without the benchmark programs
        peak = None
        peak_note = "no MFU: bench/bench_kernels is not built (meson setup -Dbenchmarks=enabled)"
    print(f"heed 2 threads ({env_note}) vs PyTorch in each of {', '.join(SETTINGS)} (fastest taken), "
          f"{args.steps} steps, batch {args.batch_size}; {peak_note}")
    rows = []  # MFU is printed at the end, against the better of the two peak measurements
    print(f"{'preset':8} {'heed tok/s':>11} " + " ".join(f"{'torch ' + name:>15}" for name in SETTINGS) +
          f" {'ratio':>6}  {'heed MB':>8} {'torch MB':>8}  {'heed val':>8} {'torch val':>9}")
    with tempfile.TemporaryDirectory() as directory:
        for preset in args.presets:
            layers, heads, width, block = PRESETS[preset]
            config = {"data": args.data, "n_layer": layers, "n_head": heads, "n_embd": width, "block_size": block,
                      "batch_size": args.batch_size, "steps": args.steps, "lr": 1e-3, "warmup": 10,
                      "weight_decay": 0.1, "log_interval": 10, "eval_batches": args.eval_batches,
                      "seed": 1337, "generate": 0}
            heed = run_heed(args.build, config, os.path.join(directory, f"{preset}.safetensors"))
            runs = {name: run_torch(config, name) for name in SETTINGS}
            fastest = max(runs.values(), key=lambda run: run["tokens_per_second"])
            best = fastest["tokens_per_second"]
            flops_per_token = 6.0 * fastest["parameters"] + 12.0 * layers * width * block
            print(f"{preset:8} {heed['tokens_per_second']:11.0f} " +
                  " ".join(f"{run['tokens_per_second']:15.0f}" for run in runs.values()) +
                  f" {heed['tokens_per_second'] / best:5.2f}x  {heed['max_rss_mb']:8.0f} {fastest['max_rss_mb']:8.0f}  "
                  f"{heed['val_loss']:8.4f} {fastest['val_loss']:9.4f}", flush=True)
            rates = {"heed": heed["tokens_per_second"], "PyTorch": best}
            if args.baseline:
                then = run_heed(args.baseline, config, os.path.join(directory, f"{preset}-before.safetensors"))
                rates["heed before"] = then["tokens_per_second"]
                print(f"  before ({args.baseline}): {then['tokens_per_second']:.0f} tok/s, "
                      f"{then['tokens_per_second'] / best:.2f}x", flush=True)
            rows.append((preset, flops_per_token, rates))
            if args.same_time:
                # As many heed steps as take the fastest PyTorch run's training time.
                torch_seconds = args.steps * args.batch_size * block / best
                steps = int(torch_seconds * heed["tokens_per_second"] / (args.batch_size * block))
                same_time = run_heed(args.build, dict(config, steps=steps),
                                     os.path.join(directory, f"{preset}-time.safetensors"))
                print(f"  same wall-clock (~{torch_seconds:.0f} s of training): heed {steps} steps, val loss "
                      f"{same_time['val_loss']:.4f}; PyTorch {args.steps} steps, val loss "
                      f"{fastest['val_loss']:.4f}", flush=True)
        if peak is not None:
            peak = max(peak, openblas_peak_flops(args.build))
            print(f"MFU against OpenBLAS's sgemm peak, the better of the start and now: {peak / 1e9:.0f} GFLOP/s")
            for preset, flops_per_token, rates in rows:
                print(f"  {preset:8} " + ", ".join(f"{side} {100 * rate * flops_per_token / peak:.0f}%"
                                                   for side, rate in rates.items()), flush=True)
        # Generation: 256 new tokens at the small preset with a context that holds them.
        layers, heads, width, _ = PRESETS["small"]
        config = {"data": args.data, "n_layer": layers, "n_head": heads, "n_embd": width, "block_size": 288,
                  "batch_size": 4, "steps": 2, "lr": 1e-3, "warmup": 1, "weight_decay": 0.1, "log_interval": 1,
                  "eval_batches": 1, "seed": 1, "generate": 256}
        checkpoint = os.path.join(directory, "generation.safetensors")
        run_heed(args.build, config, checkpoint)
        heed_rate = heed_generation(args.build, checkpoint, 256)
        runs = {name: run_torch(config, name) for name in SETTINGS}
        best = max(run["generation_tokens_per_second"] for run in runs.values())
        print(f"generation, small, 256 new tokens: heed with cache {heed_rate:.0f} tok/s, "
              f"PyTorch without cache " + " / ".join(f"{run['generation_tokens_per_second']:.0f}" for run in runs.values()) +
              f" tok/s ({', '.join(SETTINGS)}): {heed_rate / best:.1f}x")
        print(f"PyTorch {runs['1t']['torch']}")


if __name__ == "__main__":
    main()
