#!/usr/bin/env python3
"""Writes tests/data/pytorch_reference.txt: inputs, outputs and gradients computed by PyTorch
for the ops whose exact semantics heed mirrors. The doctest suite (test_pytorch_reference.cpp)
reads the file; neither building nor testing heed needs Python.

Run from the repository root:  python3 tests/generate_pytorch_reference.py
File format, one record per line:  name ndim d0 d1 ... v0 v1 ...  (float64 values, row-major)
"""
import math
import pathlib

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
records = []


def put(name, t):
    t = t.detach().to(torch.float64).contiguous()
    dims = " ".join(str(d) for d in t.shape)
    values = " ".join(repr(float(v)) for v in t.reshape(-1).tolist())
    records.append(f"{name} {t.dim()} {dims} {values}".replace("  ", " "))


def d2l_masked_softmax(x, valid_lens):
    """d2l.ai's masked_softmax: fill masked scores with -1e6, then softmax."""
    shape = x.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    flat = x.reshape(-1, shape[-1])
    keep = torch.arange(shape[-1])[None, :] < valid_lens[:, None]
    flat = flat.masked_fill(~keep, -1e6)
    return torch.softmax(flat.reshape(shape), dim=-1)


def with_grad(name, x, f, *extra):
    """Records x, f(x), and d/dx sum(f(x) * w) for fixed random weights w."""
    x = x.clone().requires_grad_(True)
    y = f(x)
    w = torch.randn(y.shape)
    (y * w).sum().backward()
    put(f"{name}.x", x)
    put(f"{name}.w", w)
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)
    for index, tensor in enumerate(extra):
        put(f"{name}.extra{index}", tensor)


# masked softmax, d2l semantics (valid lengths (B,) and (B, Q)), where every length is > 0:
# there heed and d2l agree exactly (d2l gives a uniform row for length 0; heed gives zeros).
lens_b = torch.tensor([2, 3])
with_grad("masked_softmax_lens_b", torch.rand(2, 2, 4), lambda x: d2l_masked_softmax(x, lens_b))
lens_bq = torch.tensor([[1, 3], [2, 4]])
with_grad("masked_softmax_lens_bq", torch.rand(2, 2, 4), lambda x: d2l_masked_softmax(x, lens_bq))
# a 0/1 attention mask of a left-padded batch, and a causal mask, as additive -inf masks
keep = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]]).reshape(2, 1, 4)
with_grad("masked_softmax_keep", torch.randn(2, 3, 4),
          lambda x: torch.softmax(x.masked_fill(keep == 0, float("-inf")), -1))
causal = torch.ones(4, 4).tril().bool()
with_grad("masked_softmax_causal", torch.randn(2, 4, 4),
          lambda x: torch.softmax(x.masked_fill(~causal, float("-inf")), -1))

with_grad("softmax", torch.randn(3, 5), lambda x: torch.softmax(x, -1))
with_grad("log_softmax", torch.randn(3, 5), lambda x: torch.log_softmax(x, -1))

targets = torch.tensor([1, 0, -100, 4])
with_grad("cross_entropy", torch.randn(4, 5), lambda x: torch.nn.functional.cross_entropy(x, targets).reshape(1),
          targets.to(torch.float64))

ln_weight, ln_bias = torch.randn(6), torch.randn(6)
with_grad("layer_norm", torch.randn(3, 6),
          lambda x: torch.nn.functional.layer_norm(x, (6,), ln_weight, ln_bias, 1e-5), ln_weight, ln_bias)

with_grad("gelu_exact", torch.randn(10) * 2, lambda x: torch.nn.functional.gelu(x))
with_grad("gelu_tanh", torch.randn(10) * 2, lambda x: torch.nn.functional.gelu(x, approximate="tanh"))

mm_b = torch.randn(3, 4, 2)
with_grad("matmul_broadcast", torch.randn(2, 1, 5, 4), lambda x: torch.matmul(x, mm_b), mm_b)

# Activations a layer author reaches for. Drawn after every record above, so those keep their
# values. softplus past its threshold is x itself (and its gradient 1): beta 2, threshold 1
# puts most of these inputs there.
with_grad("log1p", torch.rand(10) * 3 - 0.9, torch.log1p)
with_grad("expm1", torch.randn(10), torch.expm1)
with_grad("sin", torch.randn(10) * 3, torch.sin)
with_grad("cos", torch.randn(10) * 3, torch.cos)
with_grad("erf", torch.randn(10), torch.erf)
with_grad("silu", torch.randn(10) * 3, torch.nn.functional.silu)
with_grad("softplus", torch.randn(10) * 10, torch.nn.functional.softplus)
with_grad("softplus_beta2_threshold1", torch.randn(10),
          lambda x: torch.nn.functional.softplus(x, beta=2, threshold=1))



def with_grads(name, inputs, f):
    """Records every input, f(*inputs), and the gradient of sum(f(...) * w) for each input."""
    inputs = [t.clone().requires_grad_(True) for t in inputs]
    y = f(*inputs)
    w = torch.randn(y.shape)
    (y * w).sum().backward()
    put(f"{name}.w", w)
    put(f"{name}.y", y)
    for index, tensor in enumerate(inputs):
        put(f"{name}.in{index}", tensor)
        put(f"{name}.d{index}", tensor.grad)


# Convolutions and pooling (torch.nn.functional), drawn after every record above.
F = torch.nn.functional
with_grads("conv2d", [torch.randn(2, 4, 7, 6), torch.randn(6, 2, 3, 2), torch.randn(6)],
           lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                                    groups=2))
with_grads("conv_transpose2d", [torch.randn(2, 4, 3, 4), torch.randn(4, 3, 3, 2), torch.randn(6)],
           lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0),
                                              output_padding=(1, 2), groups=2, dilation=(1, 2)))
with_grads("unfold", [torch.randn(2, 3, 5, 6)],
           lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=(1, 1), stride=(1, 2)))
with_grads("fold", [torch.randn(2, 12, 12)],
           lambda c: F.fold(c, (5, 6), (2, 3), dilation=(1, 2), padding=(1, 1), stride=(2, 1)))
with_grads("max_pool2d", [torch.randn(2, 3, 7, 8)],
           lambda x: F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2)))
with_grads("avg_pool2d", [torch.randn(2, 3, 7, 8)],
           lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 2), padding=(1, 1)))
with_grads("avg_pool2d_exclude_pad", [torch.randn(2, 3, 7, 8)],
           lambda x: F.avg_pool2d(x, (3, 3), stride=(2, 1), padding=(1, 1),
                                  count_include_pad=False))

path = pathlib.Path(__file__).parent / "data" / "pytorch_reference.txt"
path.write_text(f"# generated by tests/generate_pytorch_reference.py with torch {torch.__version__}\n"
                + "\n".join(records) + "\n")
print(f"wrote {len(records)} records to {path} (torch {torch.__version__})")
