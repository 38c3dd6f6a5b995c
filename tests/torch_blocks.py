"""heed's nn::TransformerBlock written in PyTorch, with heed's parameter names, for the reference
generator and the interoperability check (PyTorch is imported by the caller's environment)."""
import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    """Pre-LayerNorm block: x + attn(ln_1(x)) causal, then + mlp(ln_2(x)) with tanh GELU."""

    def __init__(self, e, h):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(e)
        self.attn = torch.nn.MultiheadAttention(e, h, batch_first=True)
        self.ln_2 = torch.nn.LayerNorm(e)
        self.mlp = torch.nn.ModuleDict({"c_fc": torch.nn.Linear(e, 4 * e), "c_proj": torch.nn.Linear(4 * e, e)})

    def forward(self, x, keep=None):
        """keep: (B, T) bool, True for real tokens (heed's convention), or None for no padding."""
        t = x.shape[1]
        causal = ~torch.ones(t, t, dtype=torch.bool).tril()
        padding = None if keep is None else ~keep
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=causal, key_padding_mask=padding, need_weights=False)[0]
        return x + self.mlp["c_proj"](F.gelu(self.mlp["c_fc"](self.ln_2(x)), approximate="tanh"))
