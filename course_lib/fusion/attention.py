"""Generated from notebooks/03_attention_fusion.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import math

import torch
import torch.nn as nn

from course_lib.encoders import masked_mean
from course_lib.fusion.gated import check_tokens


def attention(q, k, v, mask=None):
    """Scaled dot-product attention: softmax(q k^T / sqrt(d) masked) v.

    q (..., T_q, d), k (..., T_k, d), v (..., T_k, d_v) -> (out (..., T_q, d_v), weights (..., T_q, T_k)).
    mask: bool, True where a query may look at a key, broadcastable to (..., T_q, T_k); a padding mask over the
    keys of a (B, H, T_q, T_k) batch is (B, 1, 1, T_k). Masked scores become -inf *before* the softmax.
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention needs q (..., T_q, d), k (..., T_k, d), v (..., T_k, d_v); got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])      # (..., T_q, T_k)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be bool (True = attend), got {mask.dtype}")
        if mask.dim() > scores.dim() or any(m not in (1, s) for m, s in zip(mask.shape[::-1], scores.shape[::-1])):
            raise ValueError(f"mask {tuple(mask.shape)} does not broadcast to the scores {tuple(scores.shape)}")
        if not mask.any(-1).all():
            raise ValueError("a query has no key to attend to (a mask row is all False)")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """x_q (B, T_q, D) attends to x_kv (B, T_k, D) with `heads` heads of size D / heads -> (B, T_q, D).

    kv_mask (B, T_k), True on real keys. The last attention weights are kept in `.weights` (B, H, T_q, T_k).
    """

    def __init__(self, d, heads=1):
        super().__init__()
        if d % heads:
            raise ValueError(f"d = {d} must be divisible by heads = {heads}")
        self.heads = heads
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(d, d) for _ in range(4))
        self.weights = None

    def split(self, x):
        # (B, T, D) -> (B, H, T, D/H): head h reads features h*D/H .. (h+1)*D/H - 1
        B, T, D = x.shape
        return x.view(B, T, self.heads, D // self.heads).transpose(1, 2)

    def forward(self, x_q, x_kv, kv_mask=None):
        if x_q.dim() != 3 or x_kv.dim() != 3 or x_q.shape[0] != x_kv.shape[0] or x_q.shape[2] != x_kv.shape[2]:
            raise ValueError(f"x_q must be (B, T_q, D) and x_kv (B, T_k, D); got {tuple(x_q.shape)} and "
                             f"{tuple(x_kv.shape)}")
        if kv_mask is not None and kv_mask.shape != x_kv.shape[:2]:
            raise ValueError(f"kv_mask must be (B, T_k) = {tuple(x_kv.shape[:2])}, got {tuple(kv_mask.shape)}")
        mask = None if kv_mask is None else kv_mask[:, None, None, :]   # (B, 1, 1, T_k): every head, every query
        out, weights = attention(self.split(self.W_q(x_q)), self.split(self.W_k(x_kv)), self.split(self.W_v(x_kv)),
                                 mask)
        self.weights = weights.detach()
        B, T_q, D = x_q.shape
        return self.W_o(out.transpose(1, 2).reshape(B, T_q, D))        # merge the heads back: (B, T_q, D)


class TextGuided(nn.Module):
    """The question attends over the image cells: (h_img (B, N, D), m_img (B, N), h_txt (B, T, D), m_txt (B, T))
    -> [what it read; the question] (B, 2D). `image_weights()` -> (B, H, N), where each head looked.
    """

    def __init__(self, d, heads=2, n_cells=16):
        super().__init__()
        self.pos = nn.Parameter(0.02 * torch.randn(n_cells, d))    # cells have no order of their own: learn one
        self.attn = MultiHeadAttention(d, heads)
        self.out_dim = 2 * d

    def forward(self, h_img, m_img, h_txt, m_txt):
        check_cells(h_img, m_img, h_txt, m_txt, self.pos)
        q = masked_mean(h_txt, m_txt)                                # (B, D): the question
        read = self.attn(q[:, None], h_img + self.pos, m_img)[:, 0]   # (B, D)
        return torch.cat([read, q], dim=-1)

    def image_weights(self):
        return self.attn.weights[:, :, 0]


def check_cells(h_img, m_img, h_txt, m_txt, pos):
    check_tokens(h_img, m_img, h_txt, m_txt)
    if h_img.shape[1:] != pos.shape:
        raise ValueError(f"image cells must be (B, {pos.shape[0]}, {pos.shape[1]}) to match the position "
                         f"embedding, got {tuple(h_img.shape)}")


class Block(nn.Module):
    """Pre-norm transformer layer on x (B, T, D): x += MHA(LN(x), LN(ctx)); x += MLP(LN(x)) -> (B, T, D).

    Self-attention when ctx is None (keys are x, masked by mask (B, T)); cross-attention to ctx (B, T_c, D),
    masked by ctx_mask (B, T_c), when cross=True.
    """

    def __init__(self, d, heads, cross=False):
        super().__init__()
        self.norm_x, self.norm_ff = nn.LayerNorm(d), nn.LayerNorm(d)
        self.norm_ctx = nn.LayerNorm(d) if cross else None
        self.attn = MultiHeadAttention(d, heads)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x, mask, ctx=None, ctx_mask=None):
        if (ctx is None) != (self.norm_ctx is None):
            raise ValueError("a cross-attention Block needs ctx and ctx_mask; a self-attention Block takes none")
        h = self.norm_x(x)
        kv, kv_mask = (h, mask) if ctx is None else (self.norm_ctx(ctx), ctx_mask)
        x = x + self.attn(h, kv, kv_mask)
        return x + self.ff(self.norm_ff(x))


class CoAttention(nn.Module):
    """Two streams, each attending to the other (one ViLBERT co-attention layer): -> [mean of image stream;
    mean of text stream] (B, 2D). `image_weights()` -> (B, H, N): the text tokens' attention to the cells, averaged.
    """

    def __init__(self, d, heads=2, n_cells=16):
        super().__init__()
        self.pos = nn.Parameter(0.02 * torch.randn(n_cells, d))
        self.img_from_txt, self.txt_from_img = Block(d, heads, cross=True), Block(d, heads, cross=True)
        self.out_dim = 2 * d

    def forward(self, h_img, m_img, h_txt, m_txt):
        check_cells(h_img, m_img, h_txt, m_txt, self.pos)
        v = h_img + self.pos
        v_new = self.img_from_txt(v, m_img, h_txt, m_txt)             # image queries, text keys and values
        t_new = self.txt_from_img(h_txt, m_txt, v, m_img)             # and the other way round, in parallel
        self.m_txt = m_txt
        return torch.cat([masked_mean(v_new, m_img), masked_mean(t_new, m_txt)], dim=-1)

    def image_weights(self):
        w, real = self.txt_from_img.attn.weights, self.m_txt[:, None, :, None].to(self.txt_from_img.attn.weights.dtype)
        return (w * real).sum(2) / real.sum(2)                        # mean over real text tokens


class Merged(nn.Module):
    """One transformer over [CLS; image cells; text tokens] (single stream, merged attention) -> CLS (B, D).

    Segment embeddings tell the two modalities apart; the text needs no position embedding (the GRU gave it order).
    `image_weights()` -> (B, H, N): where CLS looked among the cells in the last layer.
    """

    def __init__(self, d, heads=2, n_cells=16, layers=2):
        super().__init__()
        self.cls = nn.Parameter(0.02 * torch.randn(1, 1, d))
        self.pos = nn.Parameter(0.02 * torch.randn(n_cells, d))
        self.segment = nn.Parameter(0.02 * torch.randn(2, d))        # 0: image, 1: text
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.out_dim = d

    def forward(self, h_img, m_img, h_txt, m_txt):
        check_cells(h_img, m_img, h_txt, m_txt, self.pos)
        B = len(h_img)
        x = torch.cat([self.cls.expand(B, -1, -1), h_img + self.pos + self.segment[0], h_txt + self.segment[1]], 1)
        mask = torch.cat([m_img.new_ones(B, 1), m_img, m_txt], dim=1)   # (B, 1 + N + T)
        for block in self.blocks:
            x = block(x, mask)
        return x[:, 0]

    def image_weights(self):
        return self.blocks[-1].attn.weights[:, :, 0, 1:1 + len(self.pos)]
