#!/usr/bin/env python3
"""GPT-2 124M in Hugging Face's format: heed beside transformers on the same CPU, in one run.

The model has the shape of transformers' GPT2Config() defaults (12 layers, 12 heads, 768 wide,
1024 positions, vocabulary 50257) with random weights, saved to a temporary folder with
save_pretrained, beside the byte-level BPE of tests/data/gpt2_tiny (the real GPT-2 vocabulary
cannot be downloaded here; the tokenizer's ids are a subset of the model's vocabulary, so the
work per token is GPT-2's). Measured:

- greedy generation of 128 new tokens after prompts of about 32 tokens, at batch 1 and at batch
  8 (mixed lengths, left padded): heed's `gpt sample --pretrained` against transformers'
  generate() with its KV cache; the rate is new tokens over the whole call, prompt included;
- prefill: forward passes over a prompt of about 512 tokens, timed one by one in one process
  (heed's bench/gpt2_prefill, PyTorch's model(ids)): the median of the later passes (the rate of
  a program that keeps its model loaded) and apart, the first (a fresh process: every activation
  buffer is new memory); heed's `gpt eval` also runs on the same text and must count as many
  tokens;
- fine-tuning: AdamW steps (betas 0.9/0.95, weight decay 0.1, clipping at 1) on batches of 4 x
  256 tokens of Tiny Shakespeare: heed's `gpt train --init-from` (the rate of its last progress
  window) against a PyTorch loop over GPT2LMHeadModel; MFU counts 6N + 12 * layers * width *
  context FLOPs per token against OpenBLAS's 1024^3 sgemm (bench_kernels) timed in the same
  run, which the prefill's rate is also given as a share of;
- the peak resident memory of each process (generation and fine-tuning apart).

transformers runs in each of torch_threads.SETTINGS (1 thread; 2 threads with OpenMP's idle
threads sleeping, and spinning) in separate processes and the fastest counts. Batch-1
decoding reads every weight once per token, so memory bandwidth bounds it: the script measures
the read bandwidth (a threaded sum over 1 GB, in the same run) and reports each side's share
of that bound.

Usage, from the repository root after building:
    python3 bench/compare_gpt2.py [--build build] [--repeats 3] [--train-steps 6]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from machine_limits import memory_bandwidth_gb_s, openblas_peak_flops
from torch_threads import SETTINGS, setting_environment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "data", "gpt2_tiny")
TEXT = os.path.join(os.path.dirname(ROOT), "shared", "data", "tinyshakespeare", "input.txt")

TORCH_WORKER = r"""
import json, resource, sys, time
import torch
from transformers import GPT2LMHeadModel
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
model = GPT2LMHeadModel.from_pretrained(args["folder"], dtype=torch.float32).eval()
out = {}
with torch.no_grad():
    for name, prompts in args["batches"].items():
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        times = []
        for _ in range(args["repeats"]):
            start = time.perf_counter()
            result = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=args["new_tokens"],
                                    do_sample=False, pad_token_id=0, eos_token_id=0, use_cache=True)
            times.append(time.perf_counter() - start)
        new = int((result[:, width:] != -1).sum())
        out[name] = new / sorted(times)[len(times) // 2]
    # The first pass in the process, then the median of the later ones (as bench/gpt2_prefill.cpp).
    prefill = torch.tensor([args["prefill_ids"]])
    times = []
    for _ in range(args["repeats"] + 1):
        start = time.perf_counter()
        model(prefill)
        times.append(time.perf_counter() - start)
    out["prefill, first pass"] = prefill.shape[1] / times[0]
    later = sorted(times[1:])
    out["prefill"] = prefill.shape[1] / later[len(later) // 2]
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

# Fine-tuning as heed's train loop does it: random windows, AdamW with decay on matrices only,
# the gradient norm clipped at 1. The rate is the median step after one to warm up.
TORCH_TRAIN_WORKER = r"""
import json, resource, sys, time
import torch
from transformers import GPT2LMHeadModel
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
model = GPT2LMHeadModel.from_pretrained(args["folder"], dtype=torch.float32).train()
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                               {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.95))
ids = torch.tensor(json.load(open(args["ids_file"])))
batch, context = args["batch"], args["context"]
times = []
for step in range(args["steps"]):
    starts = torch.randint(0, len(ids) - context - 1, (batch,))
    x = torch.stack([ids[s:s + context] for s in starts])
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    loss = model(x, labels=x).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    times.append(time.perf_counter() - start)
step_time = sorted(times[1:])[len(times[1:]) // 2]
print(json.dumps({"tokens_per_s": batch * context / step_time,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_measured(command):
    """Runs a command; returns its output and its own peak resident memory in MB."""
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        output.seek(0)
        text = output.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[0]} failed:\n{text}")
    return text, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=6,
                        help="fine-tuning steps per side (heed's rate is its last progress window, "
                             "half of the steps)")
    args = parser.parse_args()

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast
    tokenizer = GPT2TokenizerFast.from_pretrained(FIXTURE)
    lines = [l for l in open(TEXT, encoding="utf-8").read().split("\n") if len(l) > 20]
    # Prompts of about 32 tokens: consecutive lines joined until they reach 26 to 38 tokens.
    prompts, current = [], ""
    for line in lines:
        current = (current + " " + line).strip()
        n = len(tokenizer.encode(current))
        if n >= 26 + 2 * len(prompts):
            prompts.append(current)
            current = ""
        if len(prompts) == 8:
            break
    prompt_ids = [tokenizer.encode(p) for p in prompts]
    prefill_text = ""
    for line in lines:
        candidate = (prefill_text + "\n" + line) if prefill_text else line
        if len(tokenizer.encode(candidate)) > 512:
            break
        prefill_text = candidate
    prefill_ids = tokenizer.encode(prefill_text)

    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        GPT2LMHeadModel(GPT2Config()).save_pretrained(folder, safe_serialization=True)
        for name in ("merges.txt", "tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(FIXTURE, name), folder)
        # The random model may pick any of its 50,257 ids: give the ones the small tokenizer
        # lacks a name, so heed can print them (no text encodes to them).
        vocab = json.load(open(os.path.join(FIXTURE, "vocab.json"), encoding="utf-8"))
        for i in range(len(vocab), 50257):
            vocab[f"<unused{i}>"] = i
        json.dump(vocab, open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8"))
        prefill_file = os.path.join(folder, "prefill.txt")
        open(prefill_file, "w", encoding="utf-8").write(prefill_text)

        torch_runs = {}
        for setting, (threads, _) in SETTINGS.items():
            payload = {"folder": folder, "threads": threads, "repeats": args.repeats,
                       "new_tokens": args.new_tokens, "prefill_ids": prefill_ids,
                       "batches": {"batch 1": prompt_ids[:1], "batch 8": prompt_ids}}
            result = subprocess.run([sys.executable, "-c", TORCH_WORKER, json.dumps(payload)],
                                    env=setting_environment(setting), check=True, capture_output=True, text=True)
            torch_runs[setting] = json.loads(result.stdout.strip().split("\n")[-1])

        gpt = os.path.join(args.build, "examples", "gpt")
        heed, heed_rss = {}, 0.0
        for name, batch in (("batch 1", prompts[:1]), ("batch 8", prompts)):
            rates = []
            for _ in range(args.repeats):
                text, rss = run_measured([gpt, "--threads", "2", "sample", "--pretrained", folder,
                                          "--temperature", "0", "--max-new-tokens", str(args.new_tokens)] + batch)
                rates.append(float(re.search(r"\(([0-9.]+) tokens/s", text).group(1)))
                heed_rss = max(heed_rss, rss)
            heed[name] = statistics.median(rates)
        # Prefill: bench/gpt2_prefill times the first pass and the later ones in one process.
        prefill_ids_file = os.path.join(folder, "prefill_ids.json")
        json.dump(prefill_ids, open(prefill_ids_file, "w"))
        text, rss = run_measured([os.path.join(args.build, "bench", "gpt2_prefill"), folder, prefill_ids_file,
                                  str(args.repeats), "2"])
        heed_rss = max(heed_rss, rss)
        result = json.loads(text.strip().split("\n")[-1])
        heed["prefill"] = len(prefill_ids) / result["median_s"]
        heed["prefill, first pass"] = len(prefill_ids) / result["first_s"]
        # gpt eval on the same text must agree with the prompt's length (and runs the CLI path).
        out_json = os.path.join(folder, "eval.json")
        _, rss = run_measured([gpt, "--threads", "2", "eval", "--pretrained", folder, "--data", prefill_file,
                               "--json", out_json])
        heed_rss = max(heed_rss, rss)
        if json.load(open(out_json))["processed"] != len(prefill_ids):
            raise RuntimeError("gpt eval read another number of tokens than the prompt has")

        # Fine-tuning, 4 x 256 tokens a step.
        ids_file = os.path.join(folder, "train_ids.json")  # too long for a command line
        json.dump(tokenizer.encode(open(TEXT, encoding="utf-8").read()), open(ids_file, "w"))
        for setting, (threads, _) in SETTINGS.items():
            payload = {"folder": folder, "threads": threads, "ids_file": ids_file, "batch": 4,
                       "context": 256, "steps": args.train_steps}
            result = subprocess.run([sys.executable, "-c", TORCH_TRAIN_WORKER, json.dumps(payload)],
                                    env=setting_environment(setting), check=True, capture_output=True, text=True)
            torch_runs[setting]["fine-tune"] = json.loads(result.stdout.strip().split("\n")[-1])
        half = max(1, args.train_steps // 2)
        text, heed_train_rss = run_measured(
            [gpt, "--threads", "2", "train", "--init-from", folder, "--data", TEXT, "--block-size", "256",
             "--batch-size", "4", "--steps", str(2 * half), "--log-interval", str(half), "--eval-interval",
             str(2 * half), "--eval-batches", "1", "--lr", "1e-4", "--warmup", "0",
             "--checkpoint", os.path.join(folder, "tuned.safetensors")])
        heed["fine-tune"] = float(re.findall(r"([0-9.]+) tok/s", text)[-1])

    bandwidth = memory_bandwidth_gb_s()
    peak = openblas_peak_flops(args.build)
    # Training FLOPs per token, as heed's progress line counts them.
    train_flops = 6 * 124_439_808 + 12 * 12 * 768 * 256
    # A prefill token's forward: 2 per weight of every product (the parameters less the position
    # table, which is only looked up; the tied head counted once) and 4 * layers * width * length
    # for the scores and their weighted sum.
    prefill_flops = 2 * (124_439_808 - 1024 * 768) + 4 * 12 * 768 * len(prefill_ids)
    # Each decoded token reads every weight once: the 124,439,808 parameters in float32 (the
    # tied head reads the embedding matrix; the lookup before it reads one row).
    bound = bandwidth * 1e9 / (124_439_808 * 4)
    import transformers
    print(f"GPT-2 124M shape, random weights; heed 2 threads, transformers {transformers.__version__} "
          f"(torch {torch.__version__}) in each of {', '.join(SETTINGS)} (fastest taken); medians of {args.repeats}")
    print(f"prompts: batch 1 of {len(prompt_ids[0])} tokens, batch 8 of {min(map(len, prompt_ids))}-"
          f"{max(map(len, prompt_ids))} tokens; {args.new_tokens} new tokens; prefill {len(prefill_ids)} tokens")
    print(f"{'':20} {'heed':>10} " + " ".join(f"{'torch ' + name:>15}" for name in SETTINGS) + f" {'ratio':>7}")

    def row(name, label, mine, theirs):
        print(f"{label:20} {mine:10.1f} " + " ".join(f"{rate:15.1f}" for rate in theirs) +
              f" {mine / max(theirs):6.2f}x   tokens/s")

    for name in ("batch 1", "batch 8", "prefill", "prefill, first pass"):
        row(name, name, heed[name], [torch_runs[setting][name] for setting in SETTINGS])
    train_rates = [torch_runs[setting]["fine-tune"]["tokens_per_s"] for setting in SETTINGS]
    row("fine-tune", "fine-tune (4 x 256)", heed["fine-tune"], train_rates)
    print(f"OpenBLAS sgemm 1024^3 {peak / 1e9:.0f} GFLOP/s: prefill heed {100 * heed['prefill'] * prefill_flops / peak:.0f}%, "
          f"transformers {100 * max(torch_runs[s]['prefill'] for s in SETTINGS) * prefill_flops / peak:.0f}% of it; "
          f"fine-tuning MFU heed {100 * heed['fine-tune'] * train_flops / peak:.0f}%, "
          f"PyTorch {100 * max(train_rates) * train_flops / peak:.0f}%")
    print("peak RSS: heed {:.0f} MB, transformers ".format(heed_rss) +
          ", ".join(f"{torch_runs[setting]['max_rss_mb']:.0f} MB ({setting})" for setting in SETTINGS))
    print("peak RSS fine-tuning: heed {:.0f} MB, PyTorch ".format(heed_train_rss) +
          ", ".join(f"{torch_runs[setting]['fine-tune']['max_rss_mb']:.0f} MB ({setting})" for setting in SETTINGS))
    print(f"memory bandwidth {bandwidth:.1f} GB/s: batch-1 decoding bound {bound:.0f} tokens/s; heed reaches "
          f"{100 * heed['batch 1'] / bound:.0f}%, transformers "
          f"{100 * max(torch_runs[s]['batch 1'] for s in SETTINGS) / bound:.0f}%")


if __name__ == "__main__":
    main()
