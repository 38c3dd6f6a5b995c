#!/usr/bin/env python3
"""Loads a checkpoint written by heed (tests/interop_export) into the matching PyTorch modules
and checks that they give heed's outputs. Run by `meson test` as the 'interop' test; it is skipped
(exit 77, with the reason printed) where PyTorch is not installed.

Usage: check_interop.py PATH_TO_interop_export
"""
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
try:
    import numpy as np
    import torch
except ImportError as missing:
    print(f"SKIP: the interoperability check needs PyTorch and numpy ({missing})")
    sys.exit(77)
import safetensors_numpy  # noqa: E402
from torch_blocks import Block  # noqa: E402

torch.set_default_dtype(torch.float64)


def main():
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run([sys.argv[1], directory], check=True)
        weights, metadata = safetensors_numpy.load(f"{directory}/model.safetensors")
        io, _ = safetensors_numpy.load(f"{directory}/io.safetensors")
    assert metadata["note"] == "interop", metadata
    assert any(k.startswith("optimizer/") for k in weights), "the optimizer state should be there"

    def part(prefix):
        return {k[len(prefix):]: torch.from_numpy(v) for k, v in weights.items() if k.startswith(prefix)}

    gru = torch.nn.GRU(4, 5, num_layers=2, bidirectional=True)
    gru.load_state_dict(part("gru."))  # strict: every name and shape must match PyTorch's
    lstm = torch.nn.LSTM(4, 5, batch_first=True)
    lstm.load_state_dict(part("lstm."))
    block = Block(8, 2)
    block.load_state_dict(part("block."))

    t = {k: torch.from_numpy(v) for k, v in io.items()}
    failures = []

    def compare(name, ours):
        worst = float((ours.detach() - t[name]).abs().max())
        print(f"{name:10} max |PyTorch - heed| = {worst:.3g}")
        if worst > 1e-10:
            failures.append(name)

    with torch.no_grad():
        out, h = gru(t["sequence"])
        compare("gru_out", out); compare("gru_h", h)
        out, (h, c) = lstm(t["batch_first"])
        compare("lstm_out", out); compare("lstm_h", h); compare("lstm_c", c)
        compare("block_out", block(t["tokens"]))
    print(f"PyTorch {torch.__version__}: " + ("FAILED " + ", ".join(failures) if failures else "all outputs match"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
