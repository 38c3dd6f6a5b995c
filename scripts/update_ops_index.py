#!/usr/bin/env python3
"""Regenerates docs/ops.md from the table below, looking up the current line of each op's
definition so the file:line links never go stale. Run after editing engine/ops/:
    python3 scripts/update_ops_index.py
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (op, regex matching the line that defines it, file, derivative in one line)
OPS = [
    ("add", r"^Tensor add\(", "elementwise", "c = a + b: da = dc, db = dc (each summed back over broadcast dims)"),
    ("sub", r"^Tensor sub\(", "elementwise", "c = a - b: da = dc, db = -dc"),
    ("mul", r"^Tensor mul\(", "elementwise", "c = a * b: da = dc * b, db = dc * a"),
    ("div", r"^Tensor div\(", "elementwise", "c = a / b: da = dc / b, db = -dc * a / b^2"),
    ("pow (tensor exponent)", r"^Tensor pow\(const Tensor& base, const Tensor& exponent\)", "elementwise",
     "c = a^b: da = dc * b * a^(b-1), db = dc * c * log(a)"),
    ("pow (scalar exponent)", r"^Tensor pow\(const Tensor& base, double exponent\)", "elementwise",
     "y = x^p: dx = dy * p * x^(p-1)"),
    ("maximum / minimum", r"^Tensor maximum\(", "elementwise", "c = max(a, b): the gradient goes to the larger input (to a on ties)"),
    ("neg", r"^Tensor neg\(", "elementwise", "y = -x: dx = -dy"),
    ("exp", r"^Tensor exp\(", "elementwise", "y = exp(x): dx = dy * y"),
    ("log", r"^Tensor log\(", "elementwise", "y = log(x): dx = dy / x"),
    ("sqrt", r"^Tensor sqrt\(", "elementwise", "y = sqrt(x): dx = dy / (2y)"),
    ("abs", r"^Tensor abs\(", "elementwise", "y = abs(x): dx = dy * sign(x)"),
    ("tanh", r"^Tensor tanh\(", "elementwise", "y = tanh(x): dx = dy * (1 - y^2)"),
    ("sigmoid", r"^Tensor sigmoid\(", "elementwise", "y = sigmoid(x): dx = dy * y * (1 - y)"),
    ("relu", r"^Tensor relu\(", "elementwise", "y = max(x, 0): dx = dy where x > 0"),
    ("gelu (exact, tanh)", r"^Tensor gelu\(", "elementwise",
     "y = x Phi(x): dx = dy * (Phi(x) + x phi(x)); the tanh form differentiates its own formula"),
    ("clamp", r"^Tensor clamp\(", "elementwise", "y = clamp(x, lo, hi): dx = dy where lo <= x <= hi"),
    ("where", r"^Tensor where\(", "elementwise", "y = c ? a : b: da = dy where c, db = dy where not c"),
    ("masked_fill", r"^Tensor masked_fill\(", "elementwise", "composite: where(mask, value, x)"),
    ("eq, ne, lt, le, gt, ge, logical_not", r"^Tensor eq\(", "elementwise", "comparisons: bool results, no gradient"),
    ("sum", r"^Tensor sum\(", "reduce", "y = sum(x): dx = dy repeated over the summed dims"),
    ("mean", r"^Tensor mean\(", "reduce", "composite: sum(x) / count"),
    ("sum_to", r"^Tensor sum_to\(", "reduce", "composite: a product with a row of ones, or sum over the broadcast dims"),
    ("amax / amin", r"^Tensor amax_or_amin\(", "reduce", "y = max(x): dx = dy where x == y, shared evenly between ties"),
    ("max / min (dim)", r"^std::pair<Tensor, Tensor> max_or_min_along\(", "reduce",
     "composite: gather(x, dim, argmax): the gradient goes to the index"),
    ("argmax / argmin", r"^Tensor argmax\(", "reduce", "int64 result, no gradient"),
    ("matmul / bmm / mm", r"^Tensor matmul_nd\(", "matmul", "c = a @ b: da = dc @ b^T, db = a^T @ dc (summed over broadcast batch dims)"),
    ("softmax / log_softmax", r"^Tensor softmax_last_dim\(", "softmax",
     "softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy)"),
    ("masked_softmax", r"^Tensor masked_softmax\(", "softmax", "as softmax; masked entries have y = 0, so their gradient is 0"),
    ("cross_entropy", r"^Tensor cross_entropy\(", "loss",
     "loss_i = logsumexp(x_i) - x_i[t_i]: dx_i = dloss_i * (softmax(x_i) - onehot(t_i))"),
    ("layer_norm", r"^Tensor layer_norm\(", "norm",
     "dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w; dw = sum(dy * xhat); db = sum(dy)"),
    ("index_select", r"^Tensor index_select\(", "index", "out = x[index]: dx[index[i]] += dy[i] (scatter-add)"),
    ("embedding", r"^Tensor embedding\(", "index",
     "out[i] = weight[ids[i]]: dweight[ids[i]] += dy[i], skipping ids equal to padding_idx"),
    ("gather", r"^Tensor gather\(", "index", "out = gather(x, index): dx[index[i]] += dy[i] (scatter-add)"),
    ("gru_cell (fused)", r"^Tensor gru_cell\(", "recurrent",
     "dn = dh' (1-z)(1-n^2), dz = dh' (h-n) z(1-z), dr = dn h_n r(1-r), dh = dh' z; d hidden_gates[n] = dn r"),
    ("additive_scores (fused)", r"^Tensor additive_scores\(", "attention",
     "s = sum_h w tanh(qf + kf): with t = tanh(.), dw = sum g t, dqf = sum_k g w (1-t^2), dkf = sum_q g w (1-t^2)"),
    ("dropout", r"^Tensor dropout\(", "dropout", "composite: x * keep / (1 - p), gradient from mul"),
    ("view / reshape / unsqueeze / squeeze / flatten", r"^Tensor record_reshape_like\(", "shape",
     "same elements, other shape: dx = reshape(dy)"),
    ("movedim", r"^Tensor movedim\(", "shape", "composite: a permute moving one dim, so its gradient is permute's"),
    ("permute / transpose / t / mT", r"^Tensor Tensor::permute\(", "shape", "dx = permute(dy, inverse permutation)"),
    ("slice / narrow / select", r"^Tensor Tensor::slice\(", "shape", "dx = zeros with dy written into the sliced positions"),
    ("expand", r"^Tensor Tensor::expand\(", "shape", "dx = dy summed over the repeated dims"),
    ("cat / stack / split / chunk", r"^Tensor cat\(", "shape", "each input's gradient is its slice of dy (split and chunk are narrows)"),
    ("unbind", r"^std::vector<Tensor> unbind\(", "shape",
     "piece_i = x[i]: dx[i] = dy_i, all pieces writing into one shared buffer"),
    ("clone / contiguous / to", r"^Tensor Tensor::clone\(", "shape", "dx = dy (converted or moved back)"),
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
| masked_softmax / softmax / log_softmax | `softmax_forward`, `softmax_backward` (engine/cpu/softmax.cpp) | the serial reference kernel (engine/cpu/reference.cpp) and PyTorch values |
| cross_entropy | `cross_entropy_forward/backward` (engine/cpu/cross_entropy.cpp) | `cross_entropy_composite` (log_softmax + gather) and PyTorch values |
| layer_norm | `layer_norm_forward/backward` (engine/cpu/layer_norm.cpp) | `layer_norm_composite`, the reference kernel and PyTorch values |
| matmul | `gemm` (engine/cpu/matmul.cpp, OpenBLAS) | the triple-loop reference gemm and PyTorch values |
| gru_cell | `gru_cell_forward/backward` (engine/cpu/gru_cell.cpp) | `gru_cell_composite`, the reference kernel and torch.nn.GRU |
| additive_scores | `additive_scores_forward/backward` (engine/cpu/additive_scores.cpp) | `additive_scores_composite`, the reference kernel, and torch through nn's attention modules |
| adam_step_ (not differentiable: the optimizer's in-place update) | `adam_step` (engine/cpu/adam.cpp) | `adam_step_composite_`, the reference kernel and torch.optim.Adam/AdamW |
"""


def main():
    rows = []
    for name, pattern, family, math in OPS:
        path = f"engine/ops/{family}.cpp"
        lines = (ROOT / path).read_text().split("\n")
        matches = [i + 1 for i, line in enumerate(lines) if re.search(pattern, line)]
        if not matches:
            raise SystemExit(f"{name}: no line matching {pattern!r} in {path}")
        rows.append(f"| {name} | {math} | [{path}:{matches[0]}](../{path}#L{matches[0]}) |")
    (ROOT / "docs" / "ops.md").write_text(HEADER + "\n".join(rows) + "\n" + FOOTER)
    print(f"docs/ops.md: {len(rows)} ops")


if __name__ == "__main__":
    main()
