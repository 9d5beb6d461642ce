"""Checks for the exercises of notebooks/B_real_data.ipynb."""
import pyarrow as pa
import torch
from torchvision import transforms as T

from . import exercise
from ..measure import auroc
from ..real_data import CAPTIONS, NORMS


@exercise
def check_normalise(normalise):
    """normalise(x (B, 3, H, W) in [0, 1], mean (3,), std (3,)) == (x - mean_c) / std_c for each channel c."""
    x = torch.rand(2, 3, 5, 3, generator=torch.Generator().manual_seed(0))   # width 3: a (3,) mean broadcasts silently
    mean, std = NORMS["imagenet"]
    got, want = normalise(x, mean, std), T.Normalize(mean, std)(x)
    assert torch.is_tensor(got) and got.shape == x.shape, f"expected a tensor of shape {tuple(x.shape)}, got {got!r}"
    if torch.allclose(got, x / torch.tensor(std)[:, None, None] - torch.tensor(mean)[:, None, None], atol=1e-5):
        raise AssertionError("divided before subtracting: subtract the channel's mean first, then divide by its std")
    if torch.allclose(got, (x - torch.tensor(mean)) / torch.tensor(std), atol=1e-5):
        raise AssertionError("a (3,) mean broadcasts along the last axis, the width: reshape mean and std to (3, 1, 1), "
                             "one value per channel")
    assert torch.allclose(got, want, atol=1e-5), "does not match torchvision's Normalize: (x - mean_c) / std_c per channel"


@exercise
def check_masked_mean(masked_mean):
    """masked_mean(h (B, T, D), mask (B, T) of 0/1) == the mean of h over each row's real tokens only."""
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 6, 4, generator=g)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]])
    got = masked_mean(h, mask)
    assert torch.is_tensor(got) and got.shape == (3, 4), f"expected a (3, 4) tensor, got {got!r}"
    if torch.allclose(got, h.mean(1), atol=1e-5) or torch.allclose(got, (h * mask[..., None]).mean(1), atol=1e-5):
        raise AssertionError("the padding is averaged in: divide the masked sum by each row's number of real tokens")
    want = torch.stack([h[i, mask[i].bool()].mean(0) for i in range(3)])
    assert torch.allclose(got, want, atol=1e-5), f"expected {want}, got {got}"


@exercise
def check_captions_per_image(captions_per_image):
    """captions_per_image(table with caption_0..caption_4) == one list of 5 captions per row, in row order."""
    rows = [[f"row {r} caption {c}" for c in range(5)] for r in range(3)]
    table = pa.table({name: [row[c] for row in rows] for c, name in enumerate(CAPTIONS)} | {"other": [1, 2, 3]})
    got = captions_per_image(table)
    if got == [list(col) for col in zip(*rows)]:
        raise AssertionError("that is one list per caption column: the check wants one list of 5 per image (row)")
    assert got == rows, f"expected {rows[0]} ... (one list of 5 per row), got {str(got)[:120]}"


@exercise
def check_pairwise_auroc(pairwise_auroc):
    """pairwise_auroc(scores (N,), labels (N,) of 0/1) == P(s+ > s-) + P(s+ = s-) / 2 over every (positive, negative)."""
    scores = torch.tensor([0.9, 0.4, 0.4, 0.7, 0.1, 0.4, 0.7, 0.2])     # ties within and across the classes
    labels = torch.tensor([1, 1, 0, 0, 0, 1, 1, 0])
    got, want = float(pairwise_auroc(scores, labels)), auroc(scores, labels)     # 12.5 of 16 pairs: 0.78125
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins, ties = (pos[:, None] > neg).float().mean().item(), (pos[:, None] == neg).float().mean().item()
    if abs(got - (1 - want)) < 1e-6:
        raise AssertionError("that is the chance a negative scores above a positive: compare positives against negatives")
    if abs(got - wins) < 1e-6:
        raise AssertionError("the tied pairs count 0 here: a tie is a coin toss, so it counts half")
    if abs(got - (wins + ties)) < 1e-6:
        raise AssertionError("the tied pairs count 1 here: a tie is a coin toss, so it counts half")
    assert abs(got - want) < 1e-6, f"expected {want} (12.5 of the 16 pairs), got {got}"
