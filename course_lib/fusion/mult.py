"""Generated from notebooks/07_coordinated_and_sequence.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import math

import torch
import torch.nn as nn

from course_lib.encoders import masked_mean
from course_lib.fusion.attention import Block


SPAN = 100.0  # fractional positions: every sequence, whatever its length, is stretched over 0..SPAN


def sinusoid(pos, d):
    """Transformer position codes of (possibly fractional) positions: pos (B, T) -> (B, T, d), sines then cosines
    at frequencies 1 / 10000^(2i / d)."""
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, device=pos.device) / d)    # (d / 2,)
    angle = pos[..., None] * freq                                                         # (B, T, d / 2)
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


def token_positions(mask, fractional=True):
    """Each real token's place in its own sequence: mask (B, T) -> (B, T) float.

    Absolute: the index i. Fractional: (i + 1/2) / n * SPAN, n = the sequence's real length, so the middle of a
    short text and the middle of a long sound get the same code however fast each was produced.
    """
    index = (mask.long().cumsum(1) - 1).clamp(min=0).float()
    if not fractional:
        return index
    return (index + 0.5) / mask.sum(1, keepdim=True).clamp(min=1) * SPAN


def check_sequences(h_a, m_a, h_b, m_b):
    shapes = [tuple(t.shape) for t in (h_a, m_a, h_b, m_b)]
    if h_a.dim() != 3 or h_b.dim() != 3 or m_a.shape != h_a.shape[:2] or m_b.shape != h_b.shape[:2]:
        raise ValueError(f"expected two sequences (B, T_a, D), mask (B, T_a), (B, T_b, D), mask (B, T_b); got {shapes}")
    if h_a.shape[0] != h_b.shape[0] or h_a.shape[2] != h_b.shape[2]:
        raise ValueError(f"the two sequences need the same batch size and width D; got {shapes}")
    if not (m_a.any(1).all() and m_b.any(1).all()):
        raise ValueError("every sample needs at least one real token in each sequence (a modality is missing)")


class MulT(nn.Module):
    """Multimodal transformer (Tsai et al., 2019) for two unaligned sequences, small:
    h_a (B, T_a, D), m_a (B, T_a), h_b (B, T_b, D), m_b (B, T_b) -> (B, 2D).

    Each sequence gets position codes; a cross-modal transformer per direction (`layers` pre-norm Blocks whose
    queries are one modality's tokens and whose keys and values are the other's low-level features) lets each
    modality read the other without any alignment given; one self-attention Block per stream follows; each stream
    is averaged over its real tokens and the two are concatenated.
    positions: "absolute" (each token's index in its own sequence), "fractional" (see token_positions: a shortcut
    wherever the two sequences keep pace, as this world's words and tones do), or "none".
    """

    def __init__(self, d, heads=2, layers=1, positions="absolute"):
        super().__init__()
        if positions not in ("fractional", "absolute", "none"):
            raise ValueError(f"positions must be 'fractional', 'absolute' or 'none', got {positions!r}")
        self.positions = positions
        self.a_from_b = nn.ModuleList(Block(d, heads, cross=True) for _ in range(layers))
        self.b_from_a = nn.ModuleList(Block(d, heads, cross=True) for _ in range(layers))
        self.self_a, self.self_b = Block(d, heads), Block(d, heads)
        self.out_dim = 2 * d

    def placed(self, h, mask):
        if self.positions == "none":
            return h
        return h + sinusoid(token_positions(mask, self.positions == "fractional"), h.shape[-1])

    def forward(self, h_a, m_a, h_b, m_b):
        check_sequences(h_a, m_a, h_b, m_b)
        x_a, x_b = self.placed(h_a, m_a), self.placed(h_b, m_b)
        a, b = x_a, x_b
        for block in self.a_from_b:
            a = block(a, m_a, x_b, m_b)                     # a's tokens ask, b's low-level features answer
        for block in self.b_from_a:
            b = block(b, m_b, x_a, m_a)
        a, b = self.self_a(a, m_a), self.self_b(b, m_b)
        return torch.cat([masked_mean(a, m_a), masked_mean(b, m_b)], dim=-1)

    def cross_weights(self):
        """Where each modality looked in the other in the last cross-modal layers of the last call:
        (a reads b (B, H, T_a, T_b), b reads a (B, H, T_b, T_a))."""
        return self.a_from_b[-1].attn.weights, self.b_from_a[-1].attn.weights
