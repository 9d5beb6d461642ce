"""`FusionClassifier`: encoders -> (bag pooling) -> fusion -> head, the one model shape every chapter trains.

The same encoders sit under every fusion, so a comparison between two classifiers is a comparison between
their fusions. A fusion module takes the modalities' features in order and returns fused features, or logits
when it decides itself (late fusion): then `head=None`.
"""
import torch.nn as nn

from .encoders import encode, encode_tokens, make_encoders


def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))


class FusionClassifier(nn.Module):
    """Classify a batch dict with `fusion` on top of fresh encoders of `modalities`.

    head: "linear" (one layer on the fused vector), "mlp" (one hidden layer), or None (fusion returns logits).
    bag_pool: a module pooling a bag of image features (B, K, D) with its mask (B, K) -> (B, D).
    tokens: False gives the fusion one pooled (B, D) vector per modality; True gives it each modality's tokens and
    mask, `fusion(h_img (B, N, D), m_img (B, N), h_txt (B, T, D), m_txt (B, T))`, as attention fusions need.
    """

    def __init__(self, fusion: nn.Module, n_classes: int, modalities=("image", "text"), d: int = 64,
                 head: str | None = "linear", hidden: int = 128, bag_pool: nn.Module | None = None,
                 tokens: bool = False):
        super().__init__()
        heads = {"linear": lambda: nn.Linear(fusion.out_dim, n_classes),
                 "mlp": lambda: mlp(fusion.out_dim, hidden, n_classes), None: nn.Identity}
        if head not in heads:
            raise ValueError(f"unknown head {head!r}; choose 'linear', 'mlp' or None")
        self.modalities = tuple(modalities)
        self.encoders = make_encoders(d, self.modalities)
        self.bag_pool = bag_pool
        self.tokens = tokens
        self.fusion = fusion
        self.head = heads[head]()

    def features(self, batch: dict) -> list:
        """The modalities' features in order: each (B, D) (a bag of images pooled first), or (tokens, mask) pairs."""
        if self.tokens:
            t = encode_tokens(self.encoders, batch)
            return [x for m in self.modalities for x in t[m]]
        h = encode(self.encoders, batch)
        if "image" in h and h["image"].dim() == 3:
            if self.bag_pool is None:
                raise ValueError("the batch holds a bag of images (B, K, ...) but the model has no bag_pool")
            h["image"] = self.bag_pool(h["image"], batch["bag_mask"])
        return [h[m] for m in self.modalities]

    def forward(self, batch: dict):
        return self.head(self.fusion(*self.features(batch)))
