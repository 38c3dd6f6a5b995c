#!/usr/bin/env python3
"""Bahdanau-attention translator training, heed against PyTorch on the same CPU in one run.

Both train the same model on the same data with the same batches' shapes: d2l.ai's classic
configuration (embedding 32, hidden 32, 2 GRU layers, dropout 0.1, additive attention, batch 64,
num_steps 10, Adam at 0.005, clipping at norm 1, Xavier initialisation) on the first 600 pairs
of Tatoeba's fra.txt, preprocessed as d2l does. Both compute the attention's key projection once
per batch, not once per decoder step, so the two do the same arithmetic. Throughput is target
tokens per second (the valid target tokens, d2l's num_tokens), the median over the epochs after
the first. heed runs at 1 and 2 threads; PyTorch in each of torch_threads.SETTINGS (1 thread; 2
threads sleeping or spinning when idle) in separate processes, and the ratio is taken against
its fastest.

Usage, from the repository root after building:
    python3 bench/compare_bahdanau.py --data ../shared/data/fra-eng/fra.txt [--epochs 30]
        [--baseline OTHER_BUILD]   (another build's heed in the same run: a "before" row)
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
from torch_threads import SETTINGS, setting_environment

TORCH_WORKER = r"""
import collections, json, statistics, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(args["seed"])

def preprocess(text):
    text = text.replace('\u202f', ' ').replace('\xa0', ' ').lower()
    return ''.join(' ' + c if i > 0 and c in ',.!?' and text[i - 1] != ' ' else c for i, c in enumerate(text))

pairs = []
for line in open(args["data"], encoding="utf-8"):
    parts = line.rstrip('\n').split('\t')
    if len(parts) in (2, 3) and parts[0] and parts[1]:
        pairs.append([preprocess(parts[0]).split(), preprocess(parts[1]).split()])
    if len(pairs) == args["num_examples"]: break

def vocab(sentences):
    counts = collections.Counter(t for s in sentences for t in s)
    tokens = ['<unk>', '<pad>', '<bos>', '<eos>'] + [t for t, c in sorted(counts.items(), key=lambda x: x[1], reverse=True) if c >= 2]
    return {t: i for i, t in enumerate(tokens)}

def encode(sentences, v, T):
    rows = [[v.get(t, 0) for t in s] + [3] for s in sentences]
    rows = [(r + [1] * T)[:T] for r in rows]
    array = torch.tensor(rows)
    return array, (array != 1).sum(1)

src_v, tgt_v = vocab([p[0] for p in pairs]), vocab([p[1] for p in pairs])
T, B, E, H, L, p = args["num_steps"], args["batch_size"], 32, 32, 2, 0.1
X_all, X_len = encode([p[0] for p in pairs], src_v, T)
Y_all, Y_len = encode([p[1] for p in pairs], tgt_v, T)

class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_k, self.W_q, self.w_v = nn.Linear(H, H, bias=False), nn.Linear(H, H, bias=False), nn.Linear(H, 1, bias=False)
        self.dropout = nn.Dropout(p)
    def forward(self, query, projected_keys, values, valid_lens):
        features = torch.tanh(self.W_q(query).unsqueeze(2) + projected_keys.unsqueeze(1))  # (B, 1, K, H)
        scores = self.w_v(features).squeeze(-1)                                           # (B, 1, K)
        mask = torch.arange(scores.shape[-1])[None, None, :] < valid_lens[:, None, None]
        weights = F.softmax(scores.masked_fill(~mask, -1e6), dim=-1)
        return torch.bmm(self.dropout(weights), values)

class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_embedding, self.enc_rnn = nn.Embedding(len(src_v), E), nn.GRU(E, H, L, dropout=p, batch_first=True)
        self.attention = Attention()
        self.dec_embedding, self.dec_rnn = nn.Embedding(len(tgt_v), E), nn.GRU(E + H, H, L, dropout=p)
        self.dense = nn.Linear(H, len(tgt_v))
    def forward(self, X, dec_X, X_valid):
        keys, hidden = self.enc_rnn(self.enc_embedding(X))       # (B, T, H), (L, B, H)
        projected = self.attention.W_k(keys)
        outputs = []
        for x in self.dec_embedding(dec_X).permute(1, 0, 2):     # (B, E) per step
            context = self.attention(hidden[-1].unsqueeze(1), projected, keys, X_valid)
            out, hidden = self.dec_rnn(torch.cat((context, x.unsqueeze(1)), dim=-1).permute(1, 0, 2), hidden)
            outputs.append(out)
        return self.dense(torch.cat(outputs, dim=0)).permute(1, 0, 2)  # (B, T, V)

model = Seq2Seq()
for m in model.modules():
    if isinstance(m, nn.Linear): nn.init.xavier_uniform_(m.weight)
    if isinstance(m, nn.GRU):
        for name in m._flat_weights_names:
            if "weight" in name: nn.init.xavier_uniform_(m._parameters[name])
opt = torch.optim.Adam(model.parameters(), lr=0.005)
rates, loss_value = [], 0.0
for epoch in range(args["epochs"]):
    start, tokens, order = time.perf_counter(), 0, torch.randperm(len(pairs))
    for b in range(0, len(pairs), B):
        rows = order[b:b + B]
        X, X_valid, Y, Y_valid = X_all[rows], X_len[rows], Y_all[rows], Y_len[rows]
        dec_X = torch.cat([torch.full((len(rows), 1), 2), Y[:, :-1]], 1)
        logits = model(X, dec_X, X_valid)
        mask = torch.arange(T)[None, :] < Y_valid[:, None]
        losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1), reduction='none').view(Y.shape)
        loss = (losses * mask).sum() / mask.sum()
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        tokens += int(Y_valid.sum()); loss_value = loss.item()
    rates.append(tokens / (time.perf_counter() - start))
print(json.dumps({"tokens_per_second": statistics.median(rates[1:] or rates), "loss": loss_value,
                  "torch": torch.__version__}))
"""


def run_torch(config, setting):
    threads, _ = SETTINGS[setting]
    result = subprocess.run([sys.executable, "-c", TORCH_WORKER, json.dumps(dict(config, threads=threads))],
                            env=setting_environment(setting), check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def run_heed(build, config, threads, checkpoint):
    command = [os.path.join(build, "examples", "bahdanau"), "--threads", str(threads), "train",
               "--data", config["data"], "--num-examples", str(config["num_examples"]), "--val-fraction", "0",
               "--epochs", str(config["epochs"]), "--checkpoint-every", str(config["epochs"]),
               "--seed", str(config["seed"]), "--checkpoint", checkpoint]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    rates = [float(m) for m in re.findall(r"loss [0-9.]+ +(\d+) tok/s", result.stdout)]
    return statistics.median(rates[1:] or rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--baseline", help="another build directory, shown as a 'before' row")
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the median is reported")
    args = parser.parse_args()
    for flag in ("epochs", "repeats"):  # checked before any work
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    check_programs(parser, "--build", args.build, [os.path.join("examples", "bahdanau")])
    if args.baseline:
        check_programs(parser, "--baseline", args.baseline, [os.path.join("examples", "bahdanau")])
    config = {"data": args.data, "num_examples": 600, "num_steps": 10, "batch_size": 64,
              "epochs": args.epochs, "seed": 0}
    env_note = f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}" if "OPENBLAS_CORETYPE" in os.environ else "OpenBLAS's own kernel choice"
    print(f"d2l classic Bahdanau, {args.epochs} epochs x 10 batches, median of {args.repeats} runs ({env_note})")
    with tempfile.TemporaryDirectory() as directory:
        checkpoint = os.path.join(directory, "bench.safetensors")
        median = lambda values: statistics.median(values)
        heed1 = median([run_heed(args.build, config, 1, checkpoint) for _ in range(args.repeats)])
        heed2 = median([run_heed(args.build, config, 2, checkpoint) for _ in range(args.repeats)])
        if args.baseline:
            before1 = median([run_heed(args.baseline, config, 1, checkpoint) for _ in range(args.repeats)])
            before2 = median([run_heed(args.baseline, config, 2, checkpoint) for _ in range(args.repeats)])
        torch_runs = {name: [run_torch(config, name) for _ in range(args.repeats)] for name in SETTINGS}
    torch_rates = {name: median([r["tokens_per_second"] for r in runs]) for name, runs in torch_runs.items()}
    best_torch = max(torch_rates.values())
    print(f"{'':10} {'1 thread':>10} {'2 threads':>10}   (target tokens/s)")
    print(f"{'heed':10} {heed1:10.0f} {heed2:10.0f}")
    if args.baseline:
        print(f"{'before':10} {before1:10.0f} {before2:10.0f}   ({args.baseline}: "
              f"{before1 / best_torch:.2f}x / {before2 / best_torch:.2f}x PyTorch's fastest)")
    print("PyTorch    " + ", ".join(f"{name} {rate:.0f}" for name, rate in torch_rates.items()))
    print(f"heed / PyTorch's fastest: {heed1 / best_torch:.2f}x at 1 thread, {heed2 / best_torch:.2f}x at 2 threads "
          f"(PyTorch {torch_runs['1t'][0]['torch']})")


if __name__ == "__main__":
    main()
