#!/usr/bin/env python3
"""The round trip of `gpt export --hf`: heed fine-tunes the test GPT-2 (tests/data/gpt2_tiny) for a
few steps, exports the checkpoint, and transformers loads the folder with from_pretrained. Its
tokenizer must give heed's ids, its logits heed's loss to 1e-4, and its greedy generate() heed's
tokens. Run by `meson test` as the 'gpt2_export' test; it is skipped (exit 77, with the reason
printed) where transformers is not installed: building and testing heed never needs Python.

Usage: check_gpt2_export.py PATH_TO_gpt PATH_TO_gpt2_tiny
"""
import json
import pathlib
import subprocess
import sys
import tempfile

try:
    import torch
    from transformers import AutoTokenizer, GPT2LMHeadModel
except ImportError as missing:
    print(f"SKIP: the export round trip needs PyTorch and transformers ({missing})")
    sys.exit(77)

SENTENCE = "It will rain in the morning, said the dog to the cat.\n"
PROMPTS = ["It will rain", "My dog is", "I want to eat a big bowl of"]


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def main():
    gpt, tiny = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as directory:
        folder = pathlib.Path(directory)
        (folder / "text.txt").write_text(SENTENCE * 60)
        checkpoint = folder / "tuned.safetensors"
        run(gpt, "train", "--init-from", tiny, "--data", folder / "text.txt", "--block-size", 24,
            "--batch-size", 4, "--steps", 12, "--lr", 3e-3, "--warmup", 0, "--eval-batches", 1,
            "--checkpoint", checkpoint)
        exported = folder / "exported"
        run(gpt, "export", "--checkpoint", checkpoint, "--hf", exported)

        # heed on its checkpoint: the loss of a text and greedy tokens for a left-padded batch.
        run(gpt, "eval", "--pretrained", exported, "--data", folder / "text.txt", "--stride", 64,
            "--json", folder / "eval.json")
        run(gpt, "sample", "--checkpoint", checkpoint, "--temperature", 0, "--max-new-tokens", 10,
            "--json", folder / "sample.json", *PROMPTS)
        heed_eval = json.loads((folder / "eval.json").read_text())
        heed_sample = json.loads((folder / "sample.json").read_text())

        model = GPT2LMHeadModel.from_pretrained(exported).eval()
        tokenizer = AutoTokenizer.from_pretrained(exported)
        ids = [tokenizer(p)["input_ids"] for p in PROMPTS]
        assert ids == heed_sample["prompt_ids"], (ids, heed_sample["prompt_ids"])

        # The same strided windows as heed's eval (window = n_positions = 128, stride 64).
        text_ids = torch.tensor(tokenizer((folder / "text.txt").read_text())["input_ids"])
        assert len(text_ids) == heed_eval["tokens"], (len(text_ids), heed_eval["tokens"])
        total, scored, previous_end = 0.0, 0, 0
        with torch.no_grad():
            for begin in range(0, len(text_ids), 64):
                end = min(begin + 128, len(text_ids))
                window = text_ids[begin:end].unsqueeze(0)
                labels = window.clone()
                labels[:, : -(end - previous_end)] = -100
                counted = int((labels[:, 1:] != -100).sum())
                loss = model(window, labels=labels).loss
                total += float(loss) * counted
                scored += counted
                previous_end = end
                if end == len(text_ids):
                    break
        mean_nll = total / scored
        assert scored == heed_eval["scored"], (scored, heed_eval["scored"])
        assert abs(mean_nll - heed_eval["mean_nll"]) < 1e-4, (mean_nll, heed_eval["mean_nll"])

        # Greedy generation of the three prompts as one left-padded batch.
        tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        batch = tokenizer(PROMPTS, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=10, do_sample=False,
                                 pad_token_id=tokenizer.eos_token_id)
        width = batch["input_ids"].shape[1]
        for row, expected in zip(out[:, width:].tolist(), heed_sample["generated_ids"]):
            if tokenizer.eos_token_id in row:  # heed's rows stop at <|endoftext|>, keeping it
                row = row[: row.index(tokenizer.eos_token_id) + 1]
            assert row == expected, (row, expected)
    print(f"exported folder loads in transformers: ids, loss ({mean_nll:.6f} against heed's "
          f"{heed_eval['mean_nll']:.6f}) and greedy tokens match")


if __name__ == "__main__":
    main()
