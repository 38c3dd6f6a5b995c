#!/usr/bin/env python3
"""Makes the small GPT-2 in Hugging Face's format that heed's tests load, with transformers'
answers for it.

The model: transformers' GPT2LMHeadModel, 2 layers, 4 heads, 64 wide, 128 positions, on the
byte-level BPE of tests/data/gpt2_tiny (run tests/generate_gpt2_tokenizer.py first), trained on
Tiny Shakespeare long enough that its greedy choices are clear. Saved with save_pretrained
(config.json, model.safetensors) beside the tokenizer, plus the same weights in F16 and in BF16
(model_f16/, model_bf16/: config and model only) for the half-precision paths.

The answers (gpt2_answers.json), all from transformers on the CPU in float32:
- the token ids of three prompts, and of a probe text;
- the probe's logits at every position, for each of the three folders (in
  gpt2_answers_logits.safetensors, float32);
- greedy generations of 12 new tokens for the three prompts, one by one and as one batch left
  padded with an attention mask (generate() with its KV cache);
- the mean token cross-entropy of one 128-token window of the validation text;
- the strided perplexity of the text's last 4,000 characters, as Hugging Face's perplexity
  guide computes it (windows of n_positions tokens, stride 48, each token scored once).

Building and testing heed never needs Python; this only regenerates the committed fixture:
    pip install torch transformers tokenizers safetensors
    python3 tests/generate_gpt2_model.py
"""
import json
import pathlib
import shutil

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "gpt2_tiny"
TEXT = ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
PROMPTS = ["It will rain in the", "I want to eat a big bowl of", "My dog is"]
PROBE = "First Citizen:\nBefore we proceed any further, hear me speak."


def main():
    torch.manual_seed(1234)
    tokenizer = GPT2TokenizerFast.from_pretrained(str(OUT))
    ids = torch.tensor(tokenizer.encode(TEXT.read_text(encoding="utf-8")), dtype=torch.long)
    split = len(ids) * 9 // 10
    train, val = ids[:split], ids[split:]
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=64, n_layer=2, n_head=4,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    block, batch = 128, 32
    for step in range(1500):
        starts = torch.randint(len(train) - block - 1, (batch,))
        x = torch.stack([train[s:s + block] for s in starts])
        loss = model(x, labels=x).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 250 == 0:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    model.eval()
    model.save_pretrained(str(OUT), safe_serialization=True)
    for dtype, name in [(torch.float16, "model_f16"), (torch.bfloat16, "model_bf16")]:
        folder = OUT / name
        shutil.rmtree(folder, ignore_errors=True)
        GPT2LMHeadModel.from_pretrained(str(OUT), dtype=dtype).save_pretrained(
            str(folder), safe_serialization=True)
        (folder / "generation_config.json").unlink(missing_ok=True)

    answers = {"transformers": __import__("transformers").__version__, "torch": torch.__version__}
    answers["prompt_ids"] = [tokenizer.encode(p) for p in PROMPTS]
    probe = tokenizer.encode(PROBE)
    answers["probe_ids"] = probe
    logits = {}
    with torch.no_grad():
        for key, folder in [("probe_logits", OUT), ("probe_logits_f16", OUT / "model_f16"),
                            ("probe_logits_bf16", OUT / "model_bf16")]:
            m = GPT2LMHeadModel.from_pretrained(str(folder), dtype=torch.float32).eval()
            logits[key] = m(torch.tensor([probe])).logits[0].contiguous()  # (T, V)
        save_file(logits, str(OUT / "gpt2_answers_logits.safetensors"))
        # Greedy generation, one prompt at a time and as one left-padded batch.
        answers["greedy_one_by_one"] = [
            model.generate(torch.tensor([p]), attention_mask=torch.ones(1, len(p), dtype=torch.long),
                           max_new_tokens=12, do_sample=False,
                           pad_token_id=tokenizer.eos_token_id)[0, len(p):].tolist()
            for p in answers["prompt_ids"]]
        tokenizer.padding_side = "left"
        tokenizer.pad_token = tokenizer.eos_token
        batch = tokenizer(PROMPTS, return_tensors="pt", padding=True)
        out = model.generate(**batch, max_new_tokens=12, do_sample=False,
                             pad_token_id=tokenizer.eos_token_id)
        answers["greedy_batched"] = out[:, batch["input_ids"].shape[1]:].tolist()
        window = val[:block].unsqueeze(0)
        answers["eval_window_ids"] = window[0].tolist()
        answers["eval_window_loss"] = model(window, labels=window).loss.item()
        # The perplexity guide's loop: each window scores only the tokens the last one did not.
        eval_text = TEXT.read_text(encoding="utf-8")[-4000:]
        eval_ids = torch.tensor([tokenizer.encode(eval_text)])
        stride, length = 48, eval_ids.shape[1]
        nll_sum, scored, previous_end = 0.0, 0, 0
        for begin in range(0, length, stride):
            end = min(begin + config.n_positions, length)
            target_length = end - previous_end
            inputs = eval_ids[:, begin:end]
            targets = inputs.clone()
            targets[:, :-target_length] = -100
            loss = model(inputs, labels=targets).loss
            counted = int((targets[:, 1:] != -100).sum())
            nll_sum += loss.item() * counted
            scored += counted
            previous_end = end
            if end == length:
                break
        answers["strided_eval"] = {"characters": 4000, "stride": stride, "tokens": length,
                                   "scored": scored, "mean_nll": nll_sum / scored}
    (OUT / "gpt2_answers.json").write_text(json.dumps(answers) + "\n")
    print(f"{OUT}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"greedy {answers['greedy_one_by_one']}, eval loss {answers['eval_window_loss']:.4f}")


if __name__ == "__main__":
    main()
