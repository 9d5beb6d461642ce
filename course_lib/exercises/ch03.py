"""Checks for the exercises of notebooks/03_attention_fusion.ipynb."""
import torch
import torch.nn as nn

from . import exercise
from ..fusion.attention import Block
from ..measure import count_flops


def _close(a, b, atol=1e-5):
    return torch.is_tensor(a) and a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=atol)


@exercise
def check_masked_softmax(masked_softmax):
    """masked_softmax(scores (..., T_k), mask bool broadcastable) -> weights, 0 where masked, rows summing to 1."""
    g = torch.Generator().manual_seed(0)
    scores = 3 * torch.randn(4, 3, 6, generator=g)
    mask = (torch.arange(6)[None] < torch.tensor([[2], [6], [4], [1]]))[:, None, :]       # (4, 1, 6)
    want = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    got = masked_softmax(scores, mask)
    assert torch.is_tensor(got) and got.shape == scores.shape, f"expected weights of shape (4, 3, 6), got {got!r}"
    if _close(got, scores.softmax(-1) * mask):
        raise AssertionError("you masked after the softmax: the real keys' weights no longer sum to 1 (bug 1)")
    if _close(got, scores.softmax(-1)):
        raise AssertionError("the mask is ignored: padded keys still get weight")
    assert torch.all(got[~mask.expand_as(got)] == 0), "masked keys must get exactly 0 weight"
    assert _close(got.sum(-1), torch.ones(4, 3)), "each query's weights must sum to 1 over the keys"
    assert _close(got, want), "the weights should be softmax over the allowed keys' scores"


@exercise
def check_self_attend(self_attend):
    """self_attend(mha: nn.MultiheadAttention built without batch_first, x (B, S, D)) -> (B, S, D), each sample's
    tokens attending over that sample's tokens only."""
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, num_heads=2)
    x = torch.randn(3, 5, 8)
    got = self_attend(mha, x)
    seed_form = mha(x, x, x)[0].detach()
    assert torch.is_tensor(got), f"return the attended tokens, a tensor; got {type(got).__name__}"
    if got.shape == (5, 3, 8):
        raise AssertionError("you moved the batch axis in but not out: give the result back as (B, S, D)")
    assert got.shape == x.shape, f"expected (B, S, D) = {tuple(x.shape)}, got {tuple(got.shape)}"
    if _close(got, seed_form):
        raise AssertionError("that is the seed's call: without batch_first the module reads x as (S, B, D), so each "
                             "position attends over the batch's samples instead of over its own sample's tokens")
    want = torch.stack([mha(x_b, x_b, x_b)[0] for x_b in x]).detach()   # one unbatched (S, D) sample at a time
    assert _close(got, want), "each sample must attend over its own S tokens, as when it is run alone"
    moved = x.clone()
    moved[0] += 1.0
    assert _close(self_attend(mha, moved)[1:], got[1:]), "changing sample 0 must leave the other samples alone"


@exercise
def check_crossover(crossover_tokens):
    """crossover_tokens(D) -> S: the sequence length at which a self-attention Block's attention products (Q K^T and
    the weights times V) cost as many FLOPs as its linear layers (W_q, W_k, W_v, W_o and the 2D-wide MLP)."""
    for d in (16, 64):
        block = Block(d, heads=2)
        flops = {}
        for s in (8, 16):
            x = torch.randn(1, s, d)
            flops[s] = count_flops(block, x, torch.ones(1, s, dtype=torch.bool))
        # flops(S) = a S + b S^2: the linear layers grow with S, the attention products with S^2
        b = (flops[16] / 16 - flops[8] / 8) / 8
        a = flops[8] / 8 - 8 * b
        measured = a / b
        guess = crossover_tokens(d)
        assert isinstance(guess, (int, float)), f"return a number of tokens, got {guess!r}"
        hints = {d: "the four projections and the MLP: count every linear layer's multiply-adds per token",
                 2 * d: "the MLP is a linear layer too (two of them, D -> 2D -> D)",
                 6 * d: "this Block's MLP is 2D wide, not the usual 4D",
                 8 * d: "the attention products are two: Q K^T, then the weights times V"}
        for wrong, hint in hints.items():
            if abs(guess - wrong) < 0.5 and abs(measured - wrong) > 1:
                raise AssertionError(f"D = {d}: the flop counter says {measured:.0f} tokens. {hint}")
        assert abs(guess - measured) <= 0.02 * measured, \
            f"D = {d}: the flop counter says {measured:.0f} tokens, you said {guess}"
