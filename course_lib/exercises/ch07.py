"""Checks for the exercises of notebooks/07_coordinated_and_sequence.ipynb."""
import math

import torch
import torch.nn.functional as F

from . import exercise
from ..fusion.coordinated import clip_loss


@exercise
def check_clip_loss(symmetric_infonce):
    """symmetric_infonce(logits (B, B)) == CLIP's loss: the mean of the row-wise and column-wise cross-entropies."""
    g = torch.Generator().manual_seed(0)
    for B in (2, 5, 9):
        logits = torch.randn(B, B, generator=g) * 3 + torch.randn(B, 1, generator=g) * 4   # rows differ: not symmetric
        got, target = symmetric_infonce(logits), torch.arange(B)
        rows, cols = F.cross_entropy(logits, target), F.cross_entropy(logits.T, target)
        if torch.is_tensor(got) and got.numel() == 1:
            if torch.isclose(got, rows) or torch.isclose(got, cols):
                raise AssertionError("that is one direction only: average the image -> caption (rows) and the "
                                     "caption -> image (columns) cross-entropies")
            if torch.isclose(got, rows + cols):
                raise AssertionError("the two directions are summed: CLIP averages them")
        assert torch.is_tensor(got) and got.numel() == 1 and torch.isclose(got, clip_loss(logits), atol=1e-5), \
            f"B = {B}: expected {clip_loss(logits).item():.4f}, got {got!r}"


@exercise
def check_uniform_infonce(uniform_infonce):
    """uniform_infonce(B) -> CLIP's loss, in nats, on a batch of B pairs whose logits (B, B) are all equal."""
    for B in (7, 64, 2):
        want = clip_loss(torch.zeros(B, B)).item()
        got = uniform_infonce(B)
        got = got.item() if torch.is_tensor(got) else got
        assert isinstance(got, (int, float)), f"return a number, got {got!r}"
        hints = {math.log2(B): "the loss is a cross-entropy in nats: natural logarithm",
                 2 * math.log(B): "CLIP averages its two directions, it does not add them",
                 math.log(B - 1): "the true caption is one of the B classes too",
                 1 / B: "1/B is the chance of picking the right caption; the loss is the cross-entropy of that guess"}
        for wrong, hint in hints.items():
            if abs(got - wrong) < 1e-3 and abs(want - wrong) > 1e-3:
                raise AssertionError(f"B = {B}: the loss is {want:.4f}. {hint}")
        assert abs(got - want) < 1e-3, f"B = {B}: the loss is {want:.4f}, you said {got}"


@exercise
def check_recall_at_1(text_to_image_recall_at_1):
    """text_to_image_recall_at_1(sim (C, N), caption_of (N,)) == share of captions whose best image they describe."""
    caption_of = torch.tensor([0, 1, 0, 2, 1, 0])          # six pictures, three distinct captions
    sim = torch.tensor([[0.1, 0.0, 0.9, 0.0, 0.0, 0.2],     # caption 0's best is picture 2, which it describes
                        [0.0, 0.3, 0.0, 0.0, 0.8, 0.0],     # caption 1's best is picture 4: described too
                        [0.0, 0.0, 0.0, 0.1, 0.0, 0.7]])    # caption 2's best is picture 5: wrong
    got = text_to_image_recall_at_1(sim, caption_of)
    if isinstance(got, (float, int)) or torch.is_tensor(got):
        got = float(got)
        if abs(got - 0.0) < 1e-6:
            raise AssertionError("only 'picture i for caption i' counted as right: many pictures share a caption, "
                                 "and every picture a caption describes is a right answer")
    assert abs(got - 2 / 3) < 1e-6, f"two of the three captions find a picture they describe (2/3), got {got!r}"
    sim = torch.randn(4, 40, generator=torch.Generator().manual_seed(1))
    caption_of = torch.arange(40) % 4
    want = (caption_of[sim.argmax(1)] == torch.arange(4)).float().mean().item()
    assert abs(float(text_to_image_recall_at_1(sim, caption_of)) - want) < 1e-6, "wrong on a random case"
