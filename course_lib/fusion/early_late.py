"""Generated from notebooks/01_early_late_hybrid.ipynb -- edit the notebook, then run `make export`.

Each class here is built step by step, with its math, in that chapter.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.models import mlp
from course_lib.world import VOCAB


def check_features(hs, dims=None):
    """Fusion inputs must be M tensors (B, D_m) with one batch size B (and sizes `dims` when given)."""
    shapes = [tuple(h.shape) for h in hs]
    if not hs or any(len(s) != 2 for s in shapes):
        raise ValueError(f"expected one (B, D) tensor per modality, got shapes {shapes}")
    if len({s[0] for s in shapes}) > 1:
        raise ValueError(f"mismatched batch sizes between modalities: {[s[0] for s in shapes]}")
    if dims is not None and [s[1] for s in shapes] != list(dims):
        raise ValueError(f"expected feature sizes {list(dims)}, got {[s[1] for s in shapes]}")


class Concat(nn.Module):
    """Early fusion by concatenation: M features (B, D_m) -> z (B, sum of D_m)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)
        self.out_dim = sum(self.dims)

    def forward(self, *hs):
        check_features(hs, self.dims)
        return torch.cat(hs, dim=-1)


class WeightedSum(nn.Module):
    """z = sum_m w_m * LayerNorm(h_m): M features (B, D) -> (B, D).

    weights=None learns w = softmax(alpha / tau); a list fixes them (e.g. [0.3, 0.7] for image, text).
    """

    def __init__(self, d, n_modalities=2, weights=None, tau=0.1):
        super().__init__()
        self.out_dim, self.tau = d, tau
        self.norm = nn.LayerNorm(d, elementwise_affine=False)  # fixes each modality's scale: w alone sets its share
        if weights is None:
            self.alpha = nn.Parameter(torch.zeros(n_modalities))
        else:
            if len(weights) != n_modalities:
                raise ValueError(f"expected {n_modalities} weights, got {len(weights)}")
            self.register_buffer("fixed", torch.tensor(weights, dtype=torch.float))
            self.alpha = None

    @property
    def weights(self):
        """(M,) the modalities' weights, summing to 1 when learned."""
        return torch.softmax(self.alpha / self.tau, 0) if self.alpha is not None else self.fixed

    def forward(self, *hs):
        check_features(hs, [self.out_dim] * len(self.weights))
        stacked = self.norm(torch.stack(hs, dim=1))             # (B, M, D)
        return (self.weights[:, None] * stacked).sum(1)         # (B, D)


class DataLevel(nn.Module):
    """Data-level fusion: raw pixels and word counts joined before any features exist, then an MLP -> logits (B, C).

    batch: "image" (B, 3, H, W), "text" (B, T) token ids, "text_mask" (B, T) True on real tokens. The joined input is
    [pixels (B, 3HW); counts (B, V)], V = n_words: no encoder, so the MLP must learn every feature itself.
    """

    def __init__(self, n_classes, n_pixels=3 * 32 * 32, n_words=len(VOCAB), hidden=128):
        super().__init__()
        self.n_pixels, self.n_words = n_pixels, n_words
        self.mlp = mlp(n_pixels + n_words, hidden, n_classes)

    def join(self, batch):
        """The raw input (B, 3HW + V): the flattened pixels, then each word's count over the real tokens."""
        pixels, text, mask = batch["image"].flatten(1), batch["text"], batch["text_mask"]
        if pixels.shape[1] != self.n_pixels or text.shape != mask.shape or len(text) != len(pixels):
            raise ValueError(f"expected images of {self.n_pixels} values and one sentence (B, T) with its mask per "
                             f"image; got images {tuple(batch['image'].shape)}, text {tuple(text.shape)}, "
                             f"mask {tuple(mask.shape)}")
        counts = torch.zeros(len(text), self.n_words, device=text.device)
        return torch.cat([pixels, counts.scatter_add_(1, text, mask.float())], dim=-1)

    def forward(self, batch):
        return self.mlp(self.join(batch))


class LateFusion(nn.Module):
    """Decision-level fusion of M unimodal logits (B, C) -> scores (B, C) whose argmax is the decision.

    rule="mean": log of the averaged probabilities. rule="vote": majority of the argmaxes, ties broken by the
    averaged probabilities (votes + mean probability, since a probability is below 1).
    """

    RULES = ("mean", "vote")

    def __init__(self, rule="mean"):
        super().__init__()
        if rule not in self.RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of {self.RULES}")
        self.rule = rule

    def forward(self, *logits):
        check_features(logits)
        if len({h.shape[1] for h in logits}) > 1:   # else torch.stack fails with a message about tensor sizes
            raise ValueError(f"late fusion combines class scores: every model needs the same number of classes C, "
                             f"got C = {[h.shape[1] for h in logits]}")
        probs = torch.stack(logits).softmax(-1)                  # (M, B, C)
        mean = probs.mean(0)                                     # (B, C)
        if self.rule == "mean":
            return mean.clamp_min(1e-8).log()
        votes = F.one_hot(probs.argmax(-1), probs.shape[-1]).sum(0)  # (B, C) how many models chose each class
        return votes + mean


class DecisionLevel(nn.Module):
    """Late or hybrid fusion of trained models: each maps a batch to logits (B, C); LateFusion combines them."""

    def __init__(self, models, rule="mean"):
        super().__init__()
        self.models = nn.ModuleList(models)
        self.combine = LateFusion(rule)

    def forward(self, batch):
        return self.combine(*[model(batch) for model in self.models])


class BagPool(nn.Module):
    """Pool a bag of item features (B, K, D) with mask (B, K), True on real items -> (B, D)."""

    MODES = ("max", "mean")

    def __init__(self, mode="max"):
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"unknown pooling {mode!r}; choose one of {self.MODES}")
        self.mode = mode

    def forward(self, h, mask):
        if h.dim() != 3 or mask.shape != h.shape[:2]:
            raise ValueError(f"expected items (B, K, D) and mask (B, K), got {tuple(h.shape)} and {tuple(mask.shape)}")
        if mask.dtype != torch.bool:                 # a float mask would weigh the mean instead of selecting items
            raise TypeError(f"mask must be bool (True on real items), got {mask.dtype}")
        if not mask.any(1).all():
            raise ValueError("every bag needs at least one real item")
        keep = mask.unsqueeze(-1)                                # (B, K, 1)
        if self.mode == "max":
            return h.masked_fill(~keep, float("-inf")).amax(1)
        return (h * keep).sum(1) / keep.sum(1)
