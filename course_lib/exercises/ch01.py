"""Checks for the exercises of notebooks/01_early_late_hybrid.ipynb."""
import torch

from . import exercise


def _bag(seed=0, b=6, k=5, d=4):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(b, k, d, generator=g)
    lengths = torch.tensor([1, 2, 5, 3, 4, 5])[:b]
    return h, torch.arange(k)[None] < lengths[:, None]


@exercise
def check_masked_mean(masked_mean):
    """masked_mean(h (B, K, D), mask (B, K)) -> (B, D), the mean over the real items only."""
    h, mask = _bag()
    got = masked_mean(h, mask)
    assert tuple(got.shape) == (6, 4), f"expected shape (6, 4), got {tuple(got.shape)}"
    want = torch.stack([h[i][mask[i]].mean(0) for i in range(len(h))])
    assert torch.allclose(got, want, atol=1e-6), "padding items must not count: divide by the number of real items"
    h2 = h.clone()
    h2[~mask] = 1e6
    assert torch.allclose(masked_mean(h2, mask), want, atol=1e-3), "the values at padded items leak into the mean"


@exercise
def check_average_probabilities(average_probabilities):
    """average_probabilities(*logits) -> (B, C): the mean of the softmax of each modality's logits (B, C)."""
    g = torch.Generator().manual_seed(1)
    logits = [torch.randn(7, 3, generator=g) for _ in range(3)]
    got = average_probabilities(*logits)
    want = torch.stack([l.softmax(-1) for l in logits]).mean(0)
    assert tuple(got.shape) == (7, 3), f"expected (7, 3), got {tuple(got.shape)}"
    if torch.allclose(got, torch.stack(logits).mean(0).softmax(-1), atol=1e-6):
        raise AssertionError("that is the softmax of the averaged logits: average the probabilities instead")
    assert torch.allclose(got, want, atol=1e-6), "average the per-modality probabilities (softmax over classes)"


@exercise
def check_attention_pool(attention_pool):
    """attention_pool(h (B, K, D), mask (B, K), scores (B, K)) -> (B, D): softmax(scores) over real items."""
    h, mask = _bag(seed=2)
    flat = attention_pool(h, mask, torch.zeros(mask.shape))
    assert tuple(flat.shape) == (6, 4), f"expected (6, 4), got {tuple(flat.shape)}"
    mean = torch.stack([h[i][mask[i]].mean(0) for i in range(len(h))])
    assert torch.allclose(flat, mean, atol=1e-5), "equal scores must give the mean over the real items (mask first!)"
    peaked = torch.zeros(mask.shape)
    peaked[:, 0] = 50.0
    assert torch.allclose(attention_pool(h, mask, peaked), h[:, 0], atol=1e-4), "one huge score must pick that item"
    high_pad = torch.where(mask, 0.0, 50.0)
    assert torch.allclose(attention_pool(h, mask, high_pad), mean, atol=1e-5), "padded items must get zero weight"


@exercise
def check_abstaining_mean(abstaining_mean):
    """abstaining_mean(logits (M, B, C), keep (M, B) bool) -> (B, C): per sample, the mean of the probabilities of the
    members kept for it; a sample with no member kept raises ValueError."""
    g = torch.Generator().manual_seed(3)
    logits = 3 * torch.randn(3, 5, 4, generator=g)
    keep = torch.tensor([[1, 0, 1, 1, 0], [1, 1, 0, 1, 0], [1, 1, 1, 0, 1]], dtype=torch.bool)
    got = abstaining_mean(logits, keep)
    assert tuple(got.shape) == (5, 4), f"expected (B, C) = (5, 4), got {tuple(got.shape)}"
    probs = logits.softmax(-1)
    want = torch.stack([probs[keep[:, b], b].mean(0) for b in range(5)])
    zeroed = torch.where(keep[..., None], logits, torch.zeros(())).softmax(-1).mean(0)
    if torch.allclose(got, zeroed, atol=1e-5):
        raise AssertionError("a zero logit is not an abstention: it is a uniform vote, and it still counts in the mean")
    if torch.allclose(got, (probs * keep[..., None]).sum(0) / len(logits), atol=1e-5):
        raise AssertionError("divide by the number of members kept for each sample, not by M: the rows must sum to 1")
    assert torch.allclose(got, want, atol=1e-5), "average, per sample, the softmax of the kept members' logits only"
    try:
        abstaining_mean(logits[:, :1], torch.zeros(3, 1, dtype=torch.bool))
    except ValueError:
        return
    raise AssertionError("a sample with no member left has no decision: raise ValueError rather than return NaN")
