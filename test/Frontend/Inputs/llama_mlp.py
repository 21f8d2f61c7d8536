import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """Hugging Face's LlamaMLP."""

    def __init__(self, hidden=64, intermediate=176):
        super().__init__()
        torch.manual_seed(0)
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
