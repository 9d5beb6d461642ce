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


def leaked_by_pair_split(captions_per_photo, test_share, photos=20000, seed=0):
    """Split (photo, caption) pairs at random, each pair to test with probability test_share; return the share of
    test pairs whose photo also has a caption in training (a simulation of `photos` photos)."""
    g = torch.Generator().manual_seed(seed)
    in_test = torch.rand(photos, captions_per_photo, generator=g) < test_share      # (photos, captions)
    seen_in_training = (~in_test).any(1, keepdim=True).expand_as(in_test)
    return (seen_in_training & in_test).sum().item() / in_test.sum().item()


@exercise
def check_leaked_share(leaked_share):
    """leaked_share(k, q) -> with k captions per photo and each (photo, caption) pair sent to test with probability
    q, the expected share of test pairs whose photo the model also saw in training."""
    for k, q in [(5, 0.2), (2, 0.5), (3, 0.3)]:
        got = leaked_share(k, q)
        assert isinstance(got, (int, float)) and 0 <= got <= 1, f"give a share in [0, 1], got {got!r}"
        measured = leaked_by_pair_split(k, q)
        hints = {q: "that is the share of pairs in test; ask instead whether a test pair's photo has another caption "
                    "in training",
                 1 - q: "a test pair's photo is in training if ANY of its other captions is",
                 1 - q ** k: "the pair itself is in test: only its k - 1 other captions can put the photo in training",
                 0: "a split of pairs does not keep a photo's captions together"}
        for wrong, hint in hints.items():
            if abs(got - wrong) < 1e-3 and abs(measured - wrong) > 0.01:
                raise AssertionError(f"k = {k}, q = {q}: the simulation measures {measured:.3f}. {hint}")
        assert abs(got - measured) <= 0.01, f"k = {k}, q = {q}: the simulation measures {measured:.3f}, you said {got}"


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
