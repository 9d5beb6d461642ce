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
