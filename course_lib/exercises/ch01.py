"""Checks for the exercises of notebooks/01_early_late_hybrid.ipynb."""
import torch

from . import exercise
from ..fusion.early_late import LateFusion


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


def _torn_models(n=20000, seed=1):
    """Ideal unimodal models on `complementary` (y = 2 b_img + b_txt): each knows its bit and is torn 50/50 between
    the two classes its bit allows; a whisper of noise decides which of the two its argmax names.
    Returns (image logits, text logits, labels): (n, 4), (n, 4), (n,)."""
    g = torch.Generator().manual_seed(seed)
    b_img, b_txt = torch.randint(2, (n,), generator=g), torch.randint(2, (n,), generator=g)
    classes = torch.arange(4)
    allowed_img = (classes[None] // 2) == b_img[:, None]          # (n, 4): the image knows the shape bit
    allowed_txt = (classes[None] % 2) == b_txt[:, None]           # the text knows the material bit
    def torn(allowed):
        return torch.where(allowed, 0.0, -30.0) + 1e-4 * torch.randn(n, 4, generator=g)
    return torn(allowed_img), torn(allowed_txt), 2 * b_img + b_txt


@exercise
def check_late_complementary(predict_late_complementary):
    """predict_late_complementary() -> {"mean": accuracy, "vote": accuracy}, both in [0, 1]."""
    guess = predict_late_complementary()
    assert isinstance(guess, dict) and set(guess) == {"mean", "vote"}, \
        f'return a dict with the keys "mean" and "vote", got {guess!r}'
    assert all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in guess.values()), \
        f"give each accuracy as a share in [0, 1], got {guess!r}"
    image, text, y = _torn_models()
    measured = {rule: (LateFusion(rule)(image, text).argmax(-1) == y).float().mean().item() for rule in guess}
    if abs(guess["mean"] - measured["mean"]) > 0.03:
        raise AssertionError(f"the mean rule measures {measured['mean']:.3f}. Each model gives the true class 1/2 and "
                             "one wrong class 1/2, but the two wrong classes differ: the average peaks at the truth")
    if abs(guess["vote"] - 0.5) < 0.03 or abs(guess["vote"] - 0.25) < 0.03:
        raise AssertionError(f"the vote rule measures {measured['vote']:.3f}. Count the four cases: each model names "
                             "the truth or its wrong class, and a 1-1 tie goes to the class with the higher mean "
                             "probability")
    assert abs(guess["vote"] - measured["vote"]) <= 0.03, \
        f"the vote rule measures {measured['vote']:.3f}: when is the truth left without a single vote?"


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
