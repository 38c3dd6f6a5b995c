#!/usr/bin/env python3
"""Writes tests/data/nn_reference.safetensors: for every heed::nn module, PyTorch's outputs and
gradients for fixed weights and inputs, all float64. The doctest suite (test_nn_reference.cpp)
loads the weights into the heed module, runs the same inputs, and compares. Neither building nor
testing heed needs Python; this script is run by hand when a case is added:

    python3 tests/generate_nn_reference.py

Names: "<case>/param/<parameter name>", "<case>/in/<input>", "<case>/out/<output>",
"<case>/up/<output>" (the upstream gradient: backward runs on sum(out * up) over all outputs),
"<case>/grad/<input or parameter name>".
"""
import math
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import safetensors_numpy  # noqa: E402
from torch_blocks import Block  # noqa: E402

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
out = {}


def put(name, t):
    out[name] = t.detach().cpu().numpy().copy() if torch.is_tensor(t) else np.asarray(t)


def record(case, module, inputs, forward, int_inputs=None):
    """Saves module's parameters, the inputs, forward(*inputs) outputs, and the gradients of
    sum(out * up) with respect to every float input and every parameter."""
    if module is not None:
        module.zero_grad(set_to_none=True)  # modules shared by two cases start clean
    for name, p in (module.named_parameters() if module is not None else []):
        put(f"{case}/param/{name}", p)
    for name, x in inputs.items():
        put(f"{case}/in/{name}", x)
        if x.is_floating_point():
            x.requires_grad_(True)
    for name, x in (int_inputs or {}).items():
        put(f"{case}/in/{name}", x)
    outputs = forward(**inputs, **(int_inputs or {}))
    total = 0
    for name, y in outputs.items():
        up = torch.randn_like(y)
        put(f"{case}/out/{name}", y)
        put(f"{case}/up/{name}", up)
        total = total + (y * up).sum()
    total.backward()
    for name, x in inputs.items():
        if x.is_floating_point():
            put(f"{case}/grad/{name}", x.grad)
    for name, p in (module.named_parameters() if module is not None else []):
        put(f"{case}/grad/{name}", p.grad)


# ---- layers ----
linear = torch.nn.Linear(5, 3)
record("linear", linear, {"x": torch.randn(2, 4, 5)}, lambda x: {"y": linear(x)})

embedding = torch.nn.Embedding(7, 4, padding_idx=0)
record("embedding", embedding, {}, lambda ids: {"y": embedding(ids)},
       int_inputs={"ids": torch.tensor([[0, 3, 6], [2, 0, 3]])})

norm = torch.nn.LayerNorm(6)
with torch.no_grad():
    norm.weight.copy_(torch.randn(6)); norm.bias.copy_(torch.randn(6))
record("layer_norm", norm, {"x": torch.randn(3, 2, 6)}, lambda x: {"y": norm(x)})

# ---- recurrent ----
gru = torch.nn.GRU(4, 5, num_layers=2, bidirectional=True)
record("gru_bidirectional_h0", gru, {"x": torch.randn(6, 3, 4), "h0": torch.randn(4, 3, 5)},
       lambda x, h0: dict(zip(("output", "h_n"), gru(x, h0))))
gru1 = torch.nn.GRU(4, 5, batch_first=True)
record("gru_batch_first", gru1, {"x": torch.randn(3, 6, 4)},
       lambda x: dict(zip(("output", "h_n"), gru1(x))))
lstm = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True)
record("lstm_bidirectional_h0", lstm,
       {"x": torch.randn(6, 3, 4), "h0": torch.randn(4, 3, 5), "c0": torch.randn(4, 3, 5)},
       lambda x, h0, c0: (lambda o: {"output": o[0], "h_n": o[1][0], "c_n": o[1][1]})(lstm(x, (h0, c0))))
lstm1 = torch.nn.LSTM(4, 5, num_layers=3, batch_first=True)
record("lstm_three_layers", lstm1, {"x": torch.randn(2, 5, 4)},
       lambda x: (lambda o: {"output": o[0], "h_n": o[1][0], "c_n": o[1][1]})(lstm1(x)))
gru_cell = torch.nn.GRUCell(4, 5)
record("gru_cell", gru_cell, {"x": torch.randn(3, 4), "h": torch.randn(3, 5)},
       lambda x, h: {"h_next": gru_cell(x, h)})
lstm_cell = torch.nn.LSTMCell(4, 5)
record("lstm_cell", lstm_cell, {"x": torch.randn(3, 4), "h": torch.randn(3, 5), "c": torch.randn(3, 5)},
       lambda x, h, c: dict(zip(("h_next", "c_next"), lstm_cell(x, (h, c)))))


# ---- attention (d2l's definitions) ----
def masked_softmax(scores, valid_lens):
    """d2l's masked_softmax; heed gives exact zeros where d2l gives exp(-1e6) = 0."""
    if valid_lens is None:
        return F.softmax(scores, dim=-1)
    shape = scores.shape
    lens = torch.repeat_interleave(valid_lens, shape[1]) if valid_lens.dim() == 1 else valid_lens.reshape(-1)
    flat = scores.reshape(-1, shape[-1])
    keep = torch.arange(shape[-1])[None, :] < lens[:, None]
    return F.softmax(flat.masked_fill(~keep, -1e6).reshape(shape), dim=-1)


class AdditiveAttention(torch.nn.Module):
    def __init__(self, key_size, query_size, num_hiddens):
        super().__init__()
        self.W_k = torch.nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = torch.nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = torch.nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens):
        features = torch.tanh(self.W_q(queries).unsqueeze(2) + self.W_k(keys).unsqueeze(1))
        weights = masked_softmax(self.w_v(features).squeeze(-1), valid_lens)
        return {"y": torch.bmm(weights, values), "weights": weights}


additive = AdditiveAttention(3, 5, 7)
qkv = lambda: {"queries": torch.randn(2, 4, 5), "keys": torch.randn(2, 6, 3), "values": torch.randn(2, 6, 2)}
record("additive_lens_b", additive, qkv(), additive.forward,
       int_inputs={"valid_lens": torch.tensor([2, 6])})
record("additive_lens_bq", additive, qkv(), additive.forward,
       int_inputs={"valid_lens": torch.tensor([[1, 3, 6, 2], [4, 4, 5, 6]])})


def dot_attention(queries, keys, values, valid_lens):
    scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(queries.shape[-1])
    weights = masked_softmax(scores, valid_lens)
    return {"y": torch.bmm(weights, values), "weights": weights}


dot_inputs = lambda: {"queries": torch.randn(2, 3, 4), "keys": torch.randn(2, 5, 4), "values": torch.randn(2, 5, 3)}
record("dot_lens_b", None, dot_inputs(), dot_attention, int_inputs={"valid_lens": torch.tensor([3, 5])})
record("dot_lens_bq", None, dot_inputs(), dot_attention,
       int_inputs={"valid_lens": torch.tensor([[1, 2, 5], [5, 4, 3]])})


class LuongGeneral(torch.nn.Module):
    def __init__(self, query_size, key_size):
        super().__init__()
        self.W = torch.nn.Linear(key_size, query_size, bias=False)

    def forward(self, queries, keys, values, valid_lens):
        weights = masked_softmax(torch.bmm(queries, self.W(keys).transpose(1, 2)), valid_lens)
        return {"y": torch.bmm(weights, values)}


class LuongConcat(torch.nn.Module):
    def __init__(self, query_size, key_size, hiddens):
        super().__init__()
        self.W = torch.nn.Linear(query_size + key_size, hiddens, bias=False)
        self.v = torch.nn.Linear(hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens):
        q, k = queries.unsqueeze(2), keys.unsqueeze(1)
        pairs = torch.cat([q.expand(-1, -1, k.shape[2], -1), k.expand(-1, q.shape[1], -1, -1)], dim=-1)
        weights = masked_softmax(self.v(torch.tanh(self.W(pairs))).squeeze(-1), valid_lens)
        return {"y": torch.bmm(weights, values)}


general = LuongGeneral(5, 3)
record("luong_general", general, qkv(), general.forward, int_inputs={"valid_lens": torch.tensor([3, 5])})
concat = LuongConcat(5, 3, 6)
record("luong_concat", concat, qkv(), concat.forward, int_inputs={"valid_lens": torch.tensor([6, 2])})

# ---- multi-head attention and the transformer block ----
mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
with torch.no_grad():
    mha.in_proj_bias.copy_(torch.randn(24) * 0.1); mha.out_proj.bias.copy_(torch.randn(8) * 0.1)
keep = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]], dtype=torch.bool)  # second row left-padded
record("mha_padding", mha, {"query": torch.randn(2, 3, 8), "key": torch.randn(2, 5, 8), "value": torch.randn(2, 5, 8)},
       lambda query, key, value, keep: dict(zip(("y", "weights"), mha(query, key, value, key_padding_mask=~keep))),
       int_inputs={"keep": keep})
causal = torch.ones(4, 4, dtype=torch.bool).tril()
record("mha_causal_self", mha, {"x": torch.randn(2, 4, 8)},
       lambda x: dict(zip(("y", "weights"), mha(x, x, x, attn_mask=~causal, average_attn_weights=False))))


block = Block(8, 2)
with torch.no_grad():
    for p in block.parameters():
        p.add_(torch.randn_like(p) * 0.1)  # no zero biases or unit gains: every parameter matters
# Right padding here: with left padding and the causal mask, a padded query would see no key at
# all, where PyTorch gives NaN and heed gives zeros (tested separately in test_nn.cpp).
record("transformer_block", block, {"x": torch.randn(2, 5, 8)}, lambda x, keep: {"y": block(x, keep)},
       int_inputs={"keep": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)})

# ---- losses ----
record("cross_entropy_smoothing", None, {"logits": torch.randn(6, 5)},
       lambda logits, targets: {"loss": F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.1)},
       int_inputs={"targets": torch.tensor([0, 4, -100, 2, 2, 1])})


def sequence_ce(logits, targets, valid_lens):
    valid = torch.arange(logits.shape[1])[None, :] < valid_lens[:, None]
    per_token = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return {"loss": (per_token * valid).sum() / valid.sum()}


record("sequence_cross_entropy", None, {"logits": torch.randn(3, 4, 6)}, sequence_ce,
       int_inputs={"targets": torch.randint(0, 6, (3, 4)), "valid_lens": torch.tensor([4, 1, 2])})
record("mse", None, {"a": torch.randn(3, 4), "b": torch.randn(3, 4)}, lambda a, b: {"loss": F.mse_loss(a, b)})


# ---- optimizers: 10 steps on a fixed least-squares problem, two parameter groups ----
def optimizer_case(name, make):
    torch.manual_seed(1)
    x, target = torch.randn(8, 3), torch.randn(8, 2)
    w = torch.randn(3, 2, requires_grad=True)
    b = torch.randn(2, requires_grad=True)
    put(f"{name}/in/x", x); put(f"{name}/in/target", target)
    put(f"{name}/in/w", w); put(f"{name}/in/b", b)
    optimizer = make([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}])
    for _ in range(10):
        optimizer.zero_grad()
        ((x @ w + b - target) ** 2).mean().backward()
        optimizer.step()
    put(f"{name}/out/w", w); put(f"{name}/out/b", b)


optimizer_case("sgd", lambda groups: torch.optim.SGD(groups, lr=0.1))
optimizer_case("sgd_momentum", lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, dampening=0.1))
optimizer_case("sgd_nesterov", lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True))
optimizer_case("adam", lambda groups: torch.optim.Adam(groups, lr=0.05, betas=(0.8, 0.99)))
optimizer_case("adamw", lambda groups: torch.optim.AdamW(groups, lr=0.05, betas=(0.9, 0.95)))

# clip_grad_norm: the total norm before clipping and the clipped gradients
grads = [torch.randn(3, 4), torch.randn(5)]
params = [torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)]
for p, g in zip(params, grads):
    p.grad = g.clone()
put("clip/in/g0", grads[0]); put("clip/in/g1", grads[1])
put("clip/out/norm", torch.tensor(float(torch.nn.utils.clip_grad_norm_(params, 1.5))))
put("clip/out/g0", params[0].grad); put("clip/out/g1", params[1].grad)

# ---- convolution and pooling layers (drawn last, so every case above keeps its values) ----
conv = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)
record("conv2d", conv, {"x": torch.randn(2, 4, 7, 6)}, lambda x: {"y": conv(x)})
deconv = torch.nn.ConvTranspose2d(4, 6, (3, 3), stride=2, padding=1, output_padding=1, groups=2)
record("conv_transpose2d", deconv, {"x": torch.randn(2, 4, 3, 4)}, lambda x: {"y": deconv(x)})
pools = torch.nn.Sequential(torch.nn.MaxPool2d(3, stride=2, padding=1), torch.nn.AvgPool2d(2),
                            torch.nn.Flatten())
record("pools_flatten", pools, {"x": torch.randn(2, 3, 9, 8)}, lambda x: {"y": pools(x)})

path = pathlib.Path(__file__).resolve().parent / "data" / "nn_reference.safetensors"
safetensors_numpy.save(path, out, {"generator": "tests/generate_nn_reference.py", "torch": torch.__version__})
print(f"wrote {len(out)} tensors to {path.relative_to(pathlib.Path.cwd())} with torch {torch.__version__}")
