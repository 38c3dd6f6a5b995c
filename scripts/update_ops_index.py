#!/usr/bin/env python3
"""Regenerates docs/ops.md from the table below and from the code. For each op it looks up the
current line of its definition (so the file:line links never go stale) and takes the derivative
from the comment beside its backward: the comment lines opening each closure passed to `record`
in the function's body. Only ops with no backward of their own (composites, ops with no gradient)
take their text from this table. tests/test_docs.cpp checks the result the same way. Run after
editing engine/ops/:
    python3 scripts/update_ops_index.py
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (op, regex matching the line that defines it, file, derivative for ops without a backward of
# their own; None where the code's comment gives it)
OPS = [
    ("add", r"^Tensor add\(", "elementwise", None),
    ("sub", r"^Tensor sub\(", "elementwise", None),
    ("mul", r"^Tensor mul\(", "elementwise", None),
    ("div", r"^Tensor div\(", "elementwise", None),
    ("pow (tensor exponent)", r"^Tensor pow\(const Tensor& base, const Tensor& exponent\)", "elementwise",
     None),
    ("pow (scalar exponent)", r"^Tensor pow\(const Tensor& base, double exponent\)", "elementwise",
     None),
    ("maximum / minimum", r"^Tensor maximum\(", "elementwise", None),
    ("neg", r"^Tensor neg\(", "elementwise", None),
    ("exp", r"^Tensor exp\(", "elementwise", None),
    ("log", r"^Tensor log\(", "elementwise", None),
    ("sqrt", r"^Tensor sqrt\(", "elementwise", None),
    ("abs", r"^Tensor abs\(", "elementwise", None),
    ("tanh", r"^Tensor tanh\(", "elementwise", None),
    ("sigmoid", r"^Tensor sigmoid\(", "elementwise", None),
    ("relu", r"^Tensor relu\(", "elementwise", None),
    ("gelu (exact, tanh)", r"^Tensor gelu\(", "elementwise",
     None),
    ("log1p", r"^Tensor log1p\(", "elementwise", None),
    ("expm1", r"^Tensor expm1\(", "elementwise", None),
    ("sin", r"^Tensor sin\(", "elementwise", None),
    ("cos", r"^Tensor cos\(", "elementwise", None),
    ("erf", r"^Tensor erf\(", "elementwise", None),
    ("silu", r"^Tensor silu\(", "elementwise", None),
    ("softplus", r"^Tensor softplus\(", "elementwise", None),
    ("clamp", r"^Tensor clamp\(", "elementwise", None),
    ("where", r"^Tensor where\(", "elementwise", None),
    ("masked_fill", r"^Tensor masked_fill\(", "elementwise", "composite: where(mask, value, x)"),
    ("eq, ne, lt, le, gt, ge, logical_not", r"^Tensor eq\(", "elementwise", "comparisons: bool results, no gradient"),
    ("sum", r"^Tensor sum\(", "reduce", None),
    ("mean", r"^Tensor mean\(", "reduce", "composite: sum(x) / count"),
    ("sum_to", r"^Tensor sum_to\(", "reduce", "composite: a product with a row of ones, or sum over the broadcast dims"),
    ("amax / amin", r"^Tensor amax_or_amin\(", "reduce", None),
    ("max / min (dim)", r"^std::pair<Tensor, Tensor> max_or_min_along\(", "reduce",
     "composite: gather(x, dim, argmax): the gradient goes to the index"),
    ("argmax / argmin", r"^Tensor argmax\(", "reduce", "int64 result, no gradient"),
    ("matmul / bmm / mm", r"^Tensor matmul_nd\(", "matmul", None),
    ("addmm", r"^Tensor addmm\(", "matmul", None),
    ("softmax / log_softmax", r"^Tensor softmax_last_dim\(", "softmax",
     None),
    ("masked_softmax", r"^Tensor masked_softmax\(", "softmax", "composite: the softmax kernels with a mask, so softmax's backward; masked entries have y = 0, so their gradient is 0"),
    ("cross_entropy", r"^Tensor cross_entropy\(", "cross_entropy",
     None),
    ("layer_norm", r"^Tensor layer_norm\(", "layer_norm",
     None),
    ("index_select", r"^Tensor index_select\(", "index", None),
    ("embedding", r"^Tensor embedding\(", "index",
     None),
    ("gather", r"^Tensor gather\(", "index", None),
    ("gru_cell (fused)", r"^Tensor gru_cell\(", "gru_cell",
     None),
    ("additive_scores (fused)", r"^Tensor additive_scores\(", "additive_scores",
     None),
    ("scaled_dot_product_attention (fused)", r"^Tensor scaled_dot_product_attention\(", "attention",
     None),
    ("unfold (im2col)", r"^Tensor im2col\(", "conv", None),
    ("fold (col2im)", r"^Tensor col2im\(", "conv", None),
    ("conv2d", r"^Tensor conv2d\(", "conv",
     "composite on a backend without a fused conv2d (CUDA): unfold, one matmul with the weight per group, + bias; gradients from matmul and unfold. Otherwise the fused conv2d below"),
    ("conv2d (fused, CPU)", r"^Tensor fused_conv2d\(", "conv", None),
    ("conv_transpose2d", r"^Tensor conv_transpose2d\(", "conv",
     "composite on a backend without a fused conv2d (CUDA): weight^T matmul x, then fold "
     "(col2im), + bias; gradients from matmul and fold. Otherwise conv2d's kernels run backwards "
     "(conv_transpose2d is conv2d's adjoint), below"),
    ("conv_transpose2d (fused, CPU)", r"^Tensor fused_conv_transpose2d\(", "conv", None),
    ("max_pool2d", r"^Tensor max_pool2d\(", "pool",
     "composite: a kernel picks each window's largest pixel (`max_pool2d_indices`), gather takes it: dx is dy scatter-added at the chosen pixels"),
    ("avg_pool2d", r"^Tensor avg_pool2d\(", "pool",
     "composite: unfold, a sum over each window's taps, a division by the count; gradients from those"),
    ("dropout", r"^Tensor dropout\(", "dropout", "composite: x * keep / (1 - p), gradient from mul"),
    ("view / reshape / unsqueeze / squeeze / flatten", r"^Tensor record_reshape_like\(", "shape",
     None),
    ("movedim", r"^Tensor movedim\(", "shape", "composite: a permute moving one dim, so its gradient is permute's"),
    ("permute / transpose / t / mT", r"^Tensor Tensor::permute\(", "shape", None),
    ("slice / narrow / select", r"^Tensor Tensor::slice\(", "shape", None),
    ("expand", r"^Tensor Tensor::expand\(", "shape", None),
    ("cat / stack / split / chunk", r"^Tensor cat\(", "shape", None),
    ("unbind", r"^std::vector<Tensor> unbind\(", "shape",
     None),
    ("clone / contiguous / to", r"^Tensor Tensor::clone\(", "shape", None),
]

HEADER = """# Op index

Every differentiable op of the engine, its derivative in one line, and where its forward and
backward sit (the backward is the closure passed to `record` right below the forward). Ops marked
*composite* are built from other ops and get their gradient from them. Masks are never
differentiable. heed computes first derivatives only: a backward pass records no graph, so
gradients of gradients are not available.

This file is generated by `python3 scripts/update_ops_index.py`; edit the table there.

| op | derivative | file |
| --- | --- | --- |
"""

FOOTER = """
## Fused kernels and their references

| fused op | backend kernels | checked against |
| --- | --- | --- |
| masked_softmax / softmax / log_softmax | `softmax_forward`, `softmax_backward` (engine/cpu/softmax.cpp) | the serial reference kernel (engine/cpu/reference/softmax.cpp) and PyTorch values |
| cross_entropy | `cross_entropy_forward/backward` (engine/cpu/cross_entropy.cpp) | `cross_entropy_composite` (log_softmax + gather), the reference kernel (engine/cpu/reference/cross_entropy.cpp) and PyTorch values |
| layer_norm | `layer_norm_forward/backward` (engine/cpu/layer_norm.cpp) | `layer_norm_composite`, the reference kernel (engine/cpu/reference/layer_norm.cpp) and PyTorch values |
| matmul | `gemm` (engine/cpu/matmul.cpp, OpenBLAS) | the triple-loop reference gemm (engine/cpu/reference/matmul.cpp) and PyTorch values |
| gru_cell | `gru_cell_forward/backward` (engine/cpu/gru_cell.cpp) | `gru_cell_composite`, the reference kernel (engine/cpu/reference/gru_cell.cpp) and torch.nn.GRU |
| additive_scores | `additive_scores_forward/backward` (engine/cpu/additive_scores.cpp) | `additive_scores_composite`, the reference kernel (engine/cpu/reference/additive_scores.cpp), and torch through nn's attention modules |
| scaled_dot_product_attention | `attention_forward/backward` (engine/cpu/attention.cpp: tiles, online softmax, causal tiles skipped) | `scaled_dot_product_attention_composite` (matmul, masked_softmax, matmul), the reference kernel (engine/cpu/reference/attention.cpp), and torch through nn's MultiHeadAttention |
| conv2d, conv_transpose2d | `conv2d_forward/backward` (engine/cpu/conv2d.cpp: a few images at a time, columns built, multiplied and folded back while in cache; dx of a stride-1 convolution as a convolution of dy where that pays; 3x3 at stride 1 with 8+ channels a group on maps of 4x4 and up by Winograd's F(2x2, 3x3), engine/cpu/winograd.cpp) | conv2d composed from the reference im2col, gemm and col2im (the reference table has no fused conv2d), a direct convolution written out in tests/test_conv.cpp, and PyTorch values |
| unfold / fold (and composed conv2d, conv_transpose2d, avg_pool2d through them) | `im2col`, `col2im` (engine/cpu/conv.cpp: one plane per task, inside runs copied, short or strided rows element by element from a table of sources) | the per-element reference kernels (engine/cpu/reference/conv.cpp), a direct convolution written out in tests/test_conv.cpp, and PyTorch values |
| max_pool2d | `max_pool2d_indices` (engine/cpu/pool.cpp: taps inside the image worked out per window) | the per-tap reference kernel (engine/cpu/reference/pool.cpp), pooling written out in tests/test_pool.cpp, and PyTorch values |
| adam_step_ (not differentiable: the optimizer's in-place update) | `adam_step` (engine/cpu/adam.cpp) | `adam_step_composite_`, the reference kernel (engine/cpu/reference/adam.cpp) and torch.optim.Adam/AdamW |
"""


def function_body(lines, start):
    """The lines of the function defined at index `start`, up to its closing brace at column 0."""
    end = start + 1
    while end < len(lines) and not lines[end].startswith("}"):
        end += 1
    return lines[start:end + 1]


def backward_comments(body):
    """The derivative comments of every backward closure in a function body, one text."""
    texts = []
    for i, line in enumerate(body):
        if "record(" not in line or line.lstrip().startswith("//"):
            continue
        opening = i
        while opening < len(body) and not re.search(r"\(const Tensor&[^)]*\) \{\s*$", body[opening]):
            opening += 1
        comment = []
        for following in body[opening + 1:]:
            if not following.lstrip().startswith("//"):
                break
            comment.append(following.strip()[2:].strip())
        if not comment:
            raise SystemExit(f"a backward closure has no derivative comment: {line.strip()}")
        text = ""
        for part in comment:
            text += part if not text else (" " if text.endswith(":") else "; ") + part
        texts.append(text)
    return " ".join("; ".join(texts).split())


def main():
    rows = []
    for name, pattern, family, math in OPS:
        path = f"engine/ops/{family}.cpp"
        lines = (ROOT / path).read_text().split("\n")
        matches = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        if not matches:
            raise SystemExit(f"{name}: no line matching {pattern!r} in {path}")
        from_code = backward_comments(function_body(lines, matches[0]))
        if from_code and math is not None:
            raise SystemExit(f"{name}: has its own backward; its text comes from the code's comment")
        if not from_code and math is None:
            raise SystemExit(f"{name}: no backward in its body at {path}:{matches[0] + 1}; give a text")
        text = from_code or math
        line = matches[0] + 1
        rows.append(f"| {name} | {text} | [{path}:{line}](../{path}#L{line}) |")
    (ROOT / "docs" / "ops.md").write_text(HEADER + "\n".join(rows) + "\n" + FOOTER)
    print(f"docs/ops.md: {len(rows)} ops")


if __name__ == "__main__":
    main()
