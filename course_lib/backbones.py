"""Small pretrained backbones the chapters stand on.

`pretrain_cells` trains an `ImageEncoder` whose grid cells say what they hold (a multi-label tagger of shape and
colour per cell, the role an ImageNet CNN's grid features played in early VQA models); `freeze_cells` puts such
an encoder under a model and freezes it, so that fusions are compared on the same fixed features.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import pick_device
from .encoders import ImageEncoder
from .train import batches, progress, to_device
from .world import cell_attributes


class CellTagger(nn.Module):
    """An `ImageEncoder`'s cells and a linear layer on each: images (B, 3, H, W) -> logits (B, N, S + C)."""

    def __init__(self, d: int = 64, n_attributes: int = 8):
        super().__init__()
        self.encoder, self.head = ImageEncoder(d), nn.Linear(d, n_attributes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder.tokens(images))


def pretrain_cells(data, epochs: int, d: int = 64, lr: float = 3e-3, batch_size: int = 64, seed: int = 0,
                   device=None, show: bool = True) -> tuple[CellTagger, list]:
    """Train a `CellTagger` to read each cell's shapes and colours (multi-label) from its token.

    data: a single-picture task (e.g. `make_task("qa", ...)`); targets from `world.cell_attributes`.
    Returns (tagger on the CPU, per-epoch mean binary cross-entropy); `tagger.encoder` is the pretrained
    `ImageEncoder`. Deterministic for a given seed.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = device or pick_device()
    torch.manual_seed(seed)
    targets = cell_attributes(data)                                   # (N, 16, S + C)
    tagger = CellTagger(d, targets.shape[-1]).to(device)
    params = [*tagger.encoder.net.parameters(), *tagger.head.parameters()]   # `proj` (pooled output) is unused
    optimizer = torch.optim.AdamW(params, lr=lr)
    tensors = to_device({"image": data.tensors()["image"], "label": targets}, device)
    generator, losses = torch.Generator().manual_seed(seed), []
    for _ in progress(range(epochs), desc="pretrain cells", leave=False, **({} if show else {"disable": True})):
        total = 0.0
        for batch in batches(tensors, batch_size, shuffle=True, generator=generator):
            loss = F.binary_cross_entropy_with_logits(tagger(batch["image"]), batch["label"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch["label"])
        losses.append(total / len(data))
    return tagger.cpu(), losses


def freeze_cells(model: nn.Module, pretrained: ImageEncoder) -> nn.Module:
    """Copy `pretrained`'s convolutions into `model.encoders["image"]` and freeze them; returns the model.

    Only the cells are fixed: the pooled projection `proj` stays trainable, so a pooled model can still adapt.
    """
    if "image" not in getattr(model, "encoders", {}):
        raise ValueError("freeze_cells needs a model with an image encoder (model.encoders['image'])")
    image = model.encoders["image"]
    image.net.load_state_dict(pretrained.net.state_dict())
    image.net.requires_grad_(False)
    return model
