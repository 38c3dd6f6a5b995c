#!/usr/bin/env python3
"""Writes tests/data/attention_zoo_reference.safetensors: the attention zoo's six models
(examples/attention_zoo) written again in PyTorch, run at fixed random weights on fixed inputs,
with their outputs and the gradients of every parameter and float input, all float64. The
doctest suite (test_attention_zoo.cpp) loads the weights into heed's models by name and compares.
Neither building nor testing heed needs Python; run this by hand when a model changes:

    python3 tests/generate_attention_zoo.py

Names as tests/generate_nn_reference.py: "<case>/param/<name>", "<case>/in/<input>",
"<case>/out/<output>", "<case>/up/<output>" (backward runs on sum(out * up)), "<case>/grad/<name>".
"""
import pathlib
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import safetensors_numpy  # noqa: E402

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
out = {}


def put(name, t):
    out[name] = t.detach().cpu().numpy().copy() if torch.is_tensor(t) else np.asarray(t)


def record(case, module, inputs, forward, int_inputs=None):
    """Parameters, inputs, outputs, and the gradients of sum(out * up) for every float input
    and parameter."""
    for name, p in module.named_parameters():
        with torch.no_grad():
            p.copy_(torch.randn_like(p) * 0.3)  # larger than the default init: every path matters
        put(f"{case}/param/{name}", p)
    for name, x in inputs.items():
        put(f"{case}/in/{name}", x)
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
        put(f"{case}/grad/{name}", x.grad)
    for name, p in module.named_parameters():
        put(f"{case}/grad/{name}", p.grad)


def coordinates(batch, height, width):
    """(batch, 2, H, W): each pixel centre's x, then y, in [0, 1]."""
    x = ((torch.arange(width) + 0.5) / width).expand(height, width)
    y = ((torch.arange(height) + 0.5) / height)[:, None].expand(height, width)
    return torch.stack([x, y])[None].expand(batch, 2, height, width)


class SpatialAttentionPool(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.score = nn.Linear(channels, 1)

    def forward(self, features):
        b, c, h, w = features.shape
        positions = features.flatten(2).transpose(1, 2)                  # (B, HW, C)
        weights = torch.softmax(self.score(positions).squeeze(-1), -1)   # over positions
        return (weights.unsqueeze(1) @ positions).reshape(b, c), weights.reshape(b, h, w)


class DigitClassifier(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.attention = SpatialAttentionPool(c2)
        self.fc = nn.Linear(c2, 10)

    def forward(self, images):
        h = F.relu(self.conv2(F.max_pool2d(F.relu(self.conv1(images)), 2)))
        pooled, weights = self.attention(h)
        return {"logits": self.fc(pooled), "weights": weights}


class DigitDetector(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c2, 3, padding=1)
        self.attention = SpatialAttentionPool(c2)
        self.classifier = nn.Linear(c2, 10)
        self.box = nn.Linear(c2 + 2, 4)

    def forward(self, canvases):
        b, _, h, w = canvases.shape
        x = torch.cat([canvases, coordinates(b, h, w)], 1)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        pooled, weights = self.attention(F.relu(self.conv3(x)))
        grid = coordinates(1, h // 4, w // 4).reshape(1, 2, -1).transpose(1, 2)
        centre = (weights.reshape(b, 1, -1) @ grid).squeeze(1)
        boxes = torch.sigmoid(self.box(torch.cat([pooled, centre], 1)))
        return {"logits": self.classifier(pooled), "boxes": boxes, "weights": weights}


class DigitGenerator(nn.Module):
    def __init__(self, noise, c1, c2):
        super().__init__()
        self.c1 = c1
        self.fc = nn.Linear(noise, c1 * 2 * 2)
        self.deconv1 = nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1)
        self.attention = nn.Linear(c2, 1)
        self.deconv2 = nn.ConvTranspose2d(c2, 1, 4, stride=2, padding=1)

    def forward(self, noise):
        b = noise.shape[0]
        h = F.relu(self.deconv1(F.relu(self.fc(noise)).reshape(b, self.c1, 2, 2)))
        weights = torch.softmax(self.attention(h.flatten(2).transpose(1, 2)).squeeze(-1), -1)
        images = torch.sigmoid(self.deconv2(h * (weights * 16).reshape(b, 1, 4, 4)))
        return {"images": images, "weights": weights.reshape(b, 4, 4)}


class DigitDiscriminator(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.fc = nn.Linear(c2 * 4, 1)

    def forward(self, images):
        h = F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(images), 0.2)), 0.2)
        return {"logits": self.fc(h.flatten(1)).squeeze(-1)}


def masked_softmax(scores, valid_lens):
    keep = torch.arange(scores.shape[-1])[None, :] < valid_lens[:, None]
    while keep.dim() < scores.dim():
        keep = keep.unsqueeze(1)
    return torch.softmax(scores.masked_fill(~keep, float("-inf")), -1)


class ConcatAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.score = nn.Linear(2 * hidden, hidden)
        self.v = nn.Linear(hidden, 1, bias=False)

    def forward(self, state, outputs, valid_lens):
        b, t, h = outputs.shape
        joined = torch.cat([state[:, None, :].expand(b, t, h), outputs], 2)
        weights = masked_softmax(self.v(torch.tanh(self.score(joined))).squeeze(-1), valid_lens)
        return (weights[:, None, :] @ outputs).squeeze(1), weights


class Seq2Seq(nn.Module):
    def __init__(self, source_vocab, target_vocab, embed, hidden):
        super().__init__()
        self.hidden = hidden
        self.source_embedding = nn.Embedding(source_vocab, embed, padding_idx=0)
        self.target_embedding = nn.Embedding(target_vocab, embed, padding_idx=0)
        self.encoder = nn.LSTM(embed, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(embed + hidden, hidden)
        self.attention = ConcatAttention(hidden)
        self.out = nn.Linear(2 * hidden, target_vocab)

    def forward(self, source, valid_lens, target_in):
        outputs, _ = self.encoder(self.source_embedding(source))
        h = c = torch.zeros(source.shape[0], self.hidden)
        logits, weights = [], []
        for s in range(target_in.shape[1]):
            context, w = self.attention(h, outputs, valid_lens)
            h, c = self.decoder(torch.cat([self.target_embedding(target_in[:, s]), context], 1), (h, c))
            logits.append(self.out(torch.cat([h, context], 1)))
            weights.append(w)
        return {"logits": torch.stack(logits, 1), "weights": torch.stack(weights, 1)}


class Tagger(nn.Module):
    def __init__(self, vocab, tags, embed, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(2 * hidden, 2 * hidden, bias=False)
        self.classifier = nn.Linear(4 * hidden, tags)

    def forward(self, tokens, valid_lens):
        h, _ = self.lstm(self.embedding(tokens))
        weights = masked_softmax(self.attention(h) @ h.transpose(1, 2), valid_lens)
        return {"logits": self.classifier(torch.cat([h, weights @ h], 2)), "weights": weights}


# Narrow widths (the examples train wider ones): the same code paths in a small file.
classifier = DigitClassifier(4, 6)
record("classify", classifier, {"images": torch.rand(3, 1, 8, 8)}, classifier)
detector = DigitDetector(4, 6)
record("detect", detector, {"canvases": torch.rand(2, 1, 16, 16)}, detector)
generator = DigitGenerator(5, 6, 4)
record("generator", generator, {"noise": torch.randn(3, 5)}, generator)
discriminator = DigitDiscriminator(4, 6)
record("discriminator", discriminator, {"images": torch.rand(3, 1, 8, 8)}, discriminator)
seq2seq = Seq2Seq(9, 7, 5, 6)
record("seq2seq", seq2seq, {}, seq2seq,
       int_inputs={"source": torch.tensor([[4, 5, 6, 7, 8], [3, 8, 4, 0, 0]]),
                   "valid_lens": torch.tensor([5, 3]),
                   "target_in": torch.tensor([[1, 4, 5, 6], [1, 6, 3, 2]])})
tagger = Tagger(9, 5, 5, 6)
record("tagger", tagger, {}, tagger,
       int_inputs={"tokens": torch.tensor([[4, 5, 6, 7, 8, 3], [3, 8, 4, 5, 0, 0]]),
                   "valid_lens": torch.tensor([6, 4])})

path = pathlib.Path(__file__).resolve().parent / "data" / "attention_zoo_reference.safetensors"
safetensors_numpy.save(path, out, {"generator": "tests/generate_attention_zoo.py", "torch": torch.__version__})
print(f"wrote {len(out)} tensors to {path.relative_to(pathlib.Path.cwd())} with torch {torch.__version__}")
