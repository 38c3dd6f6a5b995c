#!/usr/bin/env python3
"""Makes the GPT-2 tokenizer fixture the C++ tests compare heed's byte-level BPE against.

GPT-2's own vocabulary cannot be downloaded here, so this trains a byte-level BPE the way
GPT-2's was made (the `tokenizers` library's ByteLevelBPETokenizer: GPT-2's byte-to-unicode
table, its pre-tokenization pattern, merges by rank) on Tiny Shakespeare, with GPT-2's
`<|endoftext|>` as an added special token, and saves it as a Hugging Face GPT-2 tokenizer folder
(vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json). Then it
records what transformers' GPT2TokenizerFast makes of:

- edge cases (whitespace runs, trailing spaces, newlines, contractions, digits, CJK, emoji,
  combining marks, text holding <|endoftext|>, and invalid UTF-8 bytes, decoded with
  errors="replace" as Python reads such a file): ids and the decoded text, in
  tokenizer_cases.json;
- every line of every text file in ../shared/data: a hash per block of 256 lines (the data is
  14 MB; ids for every line would be as large), in tokenizer_corpus.txt.

Building and testing heed never needs Python; this only regenerates the committed fixture:
    pip install transformers tokenizers
    python3 tests/generate_gpt2_tokenizer.py
"""
import json
import pathlib

from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2TokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "tests" / "data" / "gpt2_tiny"
BLOCK = 256

CASES = [
    "Hello world",
    "It will rain in the",
    "I want to eat a big bowl of",
    "My dog is",
    "  two leading spaces",
    "trailing spaces   ",
    "tabs\tand\t\tmore tabs",
    "line one\nline two\n\n\nafter blank lines\n",
    "\r\nwindows line ends\r\n",
    "don't you'll we've they're I'm she'd it's",
    "DON'T YOU'LL (upper-case contractions stay apart)",
    "digits 0123456789 and 3.14159, 1,000,000 and 2026-12-02",
    "mixed12abc34 x1y2",
    "日本語のテキストと中文",
    "emoji 😀👍🏽 and a flag 🇫🇷",
    "combining: e\u0301 a\u0308 n\u0303 (NFD) and é ä ñ (NFC)",
    "punctuation!!! ...?? --- ;;; \"quoted\" 'single' (paren) [bracket] {brace}",
    "a<|endoftext|>b and <|endoftext|> alone",
    "<|endoftext|>",
    "",
    " ",
    "\n",
    "     ",
    "KING RICHARD III:\nNow is the winter of our discontent",
    "Ünïcödé wörds: naïve café résumé Zürich",
    "zero\u200bwidth\u00a0nbsp\u2003em-space",
]
# Bytes that are not UTF-8, read as Python reads a file with errors="replace".
INVALID = [
    b"bad \xff byte",
    b"truncated \xe6\x97 sequence",
    b"overlong \xc0\xaf slash",
    b"surrogate \xed\xa0\x80 half",
    b"lone continuation \x80\x81 bytes",
    b"\xf0\x9f\x98 cut emoji at the end",
    b"caf\xe9 latin-1",
]


def fnv1a(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def corpus_files():
    files = [p for p in sorted(SHARED.rglob("*")) if p.is_file() and p.suffix != ".gz"]
    return [p for p in files if p.name != "LICENSE"]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train([str(SHARED / "tinyshakespeare" / "input.txt")], vocab_size=1024,
                  min_frequency=2, show_progress=False, special_tokens=["<|endoftext|>"])
    # vocab.json and merges.txt as GPT-2's folder on the Hub has them, then transformers' own
    # files (tokenizer.json, tokenizer_config.json) beside them.
    trainer.save_model(str(OUT))
    tokenizer = GPT2TokenizerFast(vocab=str(OUT / "vocab.json"), merges=str(OUT / "merges.txt"))
    tokenizer.save_pretrained(str(OUT))

    tokenizer = GPT2TokenizerFast.from_pretrained(str(OUT))
    cases = []
    for text in CASES:
        ids = tokenizer.encode(text)
        cases.append({"bytes": list(text.encode("utf-8")), "ids": ids,
                      "decoded": list(tokenizer.decode(ids).encode("utf-8"))})
    for raw in INVALID:
        text = raw.decode("utf-8", errors="replace")
        ids = tokenizer.encode(text)
        cases.append({"bytes": list(raw), "ids": ids,
                      "decoded": list(tokenizer.decode(ids).encode("utf-8"))})
    # Decoding ids whose bytes are not UTF-8 on their own: byte tokens of half a character.
    half = [tokenizer.convert_tokens_to_ids(t) for t in ["æ", "Ĺ"]]  # bytes e6 and 97
    decode_only = [{"ids": half, "decoded": list(tokenizer.decode(half).encode("utf-8"))}]
    (OUT / "tokenizer_cases.json").write_text(json.dumps(
        {"tokenizer": "transformers.GPT2TokenizerFast", "transformers": __import__("transformers").__version__,
         "cases": cases, "decode_only": decode_only}, indent=0) + "\n")

    # Every line of every text file: one FNV-1a 64 hash per block of 256 lines, over the ids of
    # each line written as decimal numbers joined by "," with a "\n" after each line.
    rows = [f"# {BLOCK} lines per block; file, first line (1-based), lines, fnv1a64 of the ids"]
    total = 0
    for path in corpus_files():
        lines = path.read_bytes().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for start in range(0, len(lines), BLOCK):
            block = lines[start:start + BLOCK]
            text = "".join(",".join(map(str, tokenizer.encode(line.decode("utf-8", errors="replace")))) + "\n"
                           for line in block)
            rows.append(f"{path.relative_to(SHARED)}\t{start + 1}\t{len(block)}\t{fnv1a(text.encode()):016x}")
        total += len(lines)
    (OUT / "tokenizer_corpus.txt").write_text("\n".join(rows) + "\n")
    print(f"{OUT}: vocab {len(tokenizer)}, {len(cases)} cases, {total} corpus lines in {len(rows) - 1} blocks")


if __name__ == "__main__":
    main()
