"""Checks for the exercises of notebooks/03_attention_fusion.ipynb."""
import torch

from . import exercise
from ..fusion.attention import MultiHeadAttention


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
def check_split_heads(split_heads):
    """split_heads(x (B, T, D), heads) -> (B, H, T, D/H), head h holding features h*D/H .. (h+1)*D/H - 1."""
    x = torch.arange(2 * 5 * 12, dtype=torch.float32).reshape(2, 5, 12)
    mha = MultiHeadAttention(12, heads=3)
    got = split_heads(x, 3)
    assert torch.is_tensor(got) and tuple(got.shape) == (2, 3, 5, 4), f"expected shape (2, 3, 5, 4), got {got!r}"
    if _close(got, x.view(2, 3, 5, 4)):
        raise AssertionError("x.view(B, H, T, D/H) has the right shape but mixes tokens into heads: view as "
                             "(B, T, H, D/H) first, then swap the T and H axes")
    assert _close(got[:, 1], x[:, :, 4:8]), "head 1 must hold features 4..7 of every token"
    assert _close(got, mha.split(x)), "your split differs from MultiHeadAttention.split"
    assert _close(split_heads(x, 1)[:, 0], x), "with one head, the head is the whole feature vector"


@exercise
def check_mass_on_target(mass_on_target):
    """mass_on_target(weights (B, N), targets (B, N) bool) -> (B,) the weight on each sample's target cells."""
    weights = torch.tensor([[0.5, 0.25, 0.25, 0.0], [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    targets = torch.tensor([[True, False, False, False], [False, True, True, True], [True, True, False, False]])
    got = mass_on_target(weights, targets)
    assert torch.is_tensor(got) and tuple(got.shape) == (3,), f"expected one number per sample, shape (3,); got {got!r}"
    if _close(got, (weights * ~targets).sum(-1)):
        raise AssertionError("that is the mass *off* the target: sum the weights where targets is True")
    assert _close(got, torch.tensor([0.5, 0.9, 0.5])), "sum, per sample, the weights of the cells where targets is True"
    g = torch.Generator().manual_seed(1)
    w = torch.rand(6, 16, generator=g).softmax(-1)
    t = torch.rand(6, 16, generator=g) > 0.7
    assert _close(mass_on_target(w, t), torch.stack([w[i][t[i]].sum() for i in range(6)])), "wrong on random rows"
