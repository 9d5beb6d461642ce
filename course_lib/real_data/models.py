"""What trains on the real data: heads on frozen features, retrieval, and the inputs of the course's MMBT and PMF.

- `FeatureClassifier` (a fusion and an MLP on pooled features) and `Projections` (CLIP-style retrieval), with
  `recall_both_ways` for several captions per image.
- Token-level inputs for chapter 05's MMBT and chapter 06's PMF on BERT and ViT: `token_tensors` (the tokenizer's
  ids, [CLS] first, and a bool mask) and `PrecomputedCells`, which lets MMBT read a frozen ViT's cells computed once.
- `binary_scores`: accuracy and AUROC (Hateful Memes' own metric) of a two-class model.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..fusion.coordinated import MAX_SCALE
from ..measure import auroc, recall_at_k
from ..models import mlp
from ..train import predict
from .features import tokenize


# ---- heads on frozen features, and retrieval with several captions per image ----

class FeatureClassifier(nn.Module):
    """A fusion and a head on frozen features: batch {"image": (B, D_img), "text": (B, D_txt)} -> logits (B, C)."""

    def __init__(self, fusion: nn.Module, n_classes: int, hidden: int = 64):
        super().__init__()
        self.fusion = fusion
        self.head = mlp(fusion.out_dim, hidden, n_classes)

    def forward(self, batch):
        return self.head(self.fusion(batch["image"], batch["text"]))


class Projections(nn.Module):
    """Two linear maps into one space: batch {"image": (B, D_img), "text": (B, D_txt)} -> logits (B, B) for clip_loss."""

    def __init__(self, d_img: int, d_txt: int, d_embed: int = 64, temperature: float = 0.07):
        super().__init__()
        self.proj_img, self.proj_txt = nn.Linear(d_img, d_embed), nn.Linear(d_txt, d_embed)
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(1 / temperature))))

    def embed(self, h_img, h_txt):
        return F.normalize(self.proj_img(h_img), dim=-1), F.normalize(self.proj_txt(h_txt), dim=-1)

    def forward(self, batch):
        z_img, z_txt = self.embed(batch["image"], batch["text"])
        return self.log_scale.exp().clamp(max=MAX_SCALE) * z_img @ z_txt.T


def recall_both_ways(z_img, z_txt, captions, ks=(1, 5)) -> dict:
    """Recall@k for N images z_img (N, E) and their captions z_txt (N*C, E) in image order, `captions` the N*C strings.

    Text -> image: every caption is a query; right = any image with an identical caption. Image -> text: every image
    is a query over all N*C captions; right = any caption identical to one of its own.
    """
    n, c = len(z_img), len(captions) // max(len(z_img), 1)
    if len(captions) != n * c or len(z_txt) != n * c or c == 0:
        raise ValueError(f"need N images and C captions each in image order; got {n} images, {len(z_txt)} caption "
                         f"embeddings and {len(captions)} caption strings")
    same = torch.tensor([[a == b for b in captions] for a in captions])                # (N*C, N*C)
    t2i = same.view(n * c, n, c).any(-1)                                                # (N*C, N)
    return {"text -> image": {k: recall_at_k(z_txt @ z_img.T, t2i, k) for k in ks if k <= n},
            "image -> text": {k: recall_at_k(z_img @ z_txt.T, t2i.T, k) for k in ks if k <= n * c}}


# ---- token-level inputs for MMBT and PMF ----

def token_tensors(tokenizer, rows, max_len: int = 64) -> dict:
    """Memes [{"text", "label", ...}] -> {"text": ids (N, T) starting with the tokenizer's [CLS], "text_mask": (N, T)
    bool, "label": (N,)}: the text half of a batch for MMBT and PMF (add "image" for each)."""
    ids, mask = tokenize(tokenizer, [r["text"] for r in rows], max_len)
    return {"text": ids, "text_mask": mask.bool(), "label": torch.tensor([r["label"] for r in rows])}


class PrecomputedCells(nn.Module):
    """Chapter 05's image encoder when the frozen cells were computed once (`image_features(vit, ..., cells=True)`):
    batch["image"] already is the grid (B, D, 4, 4), so `net` passes it through and `d` is its width; MMBT's
    ImageTokens pools it to N regions and projects them to BERT's width, as it does a CNN's cells on the world."""

    def __init__(self, d: int):
        super().__init__()
        self.net, self.d = nn.Identity(), d


def binary_scores(model: nn.Module, data: dict, batch_size: int = 64) -> dict:
    """{"accuracy", "AUROC"} of a two-class model on data ("label" (N,) in {0, 1}); AUROC ranks logit_1 - logit_0."""
    logits = predict(model, data, batch_size=batch_size)                              # (N, 2)
    labels = data["label"].cpu()
    return {"accuracy": (logits.argmax(-1) == labels).float().mean().item(),
            "AUROC": auroc(logits[:, 1] - logits[:, 0], labels)}
