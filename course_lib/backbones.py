"""Small pretrained backbones the chapters stand on.

- `pretrain_cells` trains an `ImageEncoder` whose grid cells say what they hold (a multi-label tagger of shape and
  colour per cell, the role an ImageNet CNN's grid features played in early VQA models); `freeze_cells` puts such
  an encoder under a model and freezes it, so that fusions are compared on the same fixed features.
- `pretrain_cells` is also how the shipped cell CNN (data/backbones/cells, `load_cell_tagger`) was made, the image
  encoder under chapter 05's MMBT.
- The course's own small BERT and ViT (transformers' `BertModel` / `ViTModel` with small configs): pretrained on the
  world by `pretrain_text` (masked language modelling) and `pretrain_image` (what each 8x8-pixel cell holds), shipped
  in data/backbones/, loaded by `load_text_backbone` / `load_image_backbone` (and, with their pretraining heads,
  `load_text_mlm` / `load_image_tagger`) without touching the network.
- `save_backbones` writes a new run's models to data/backbones_new/ (ignored by git), so that re-running appendix A
  never overwrites the shipped ones by accident; `COURSE_REPLACE_BACKBONES=1` makes it write data/backbones/ instead.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForMaskedLM, BertModel, ViTConfig, ViTModel
from transformers.utils import logging as hf_logging

from .config import pick_device
from .encoders import ImageEncoder
from .train import batches, progress, to_device
from .world import TASKS, VOCAB, cell_attributes, make_task
from .world.data import pad

BACKBONES = Path(__file__).resolve().parents[1] / "data" / "backbones"          # shipped: every load reads it
NEW_BACKBONES = BACKBONES.with_name("backbones_new")                             # a new run's models (ignored by git)
SMALL = {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 256}


def _pretrain(model: nn.Module, loss_of, tensors: dict, epochs: int, lr: float, batch_size: int, seed: int, device,
              desc: str, show: bool, params=None) -> list:
    """AdamW over whole-set `tensors` (moved to the device once); `loss_of(model, batch)` -> loss. Per-epoch mean losses."""
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    model.to(device).train()
    optimizer = torch.optim.AdamW(params if params is not None else model.parameters(), lr=lr)
    tensors = to_device(tensors, device)
    generator, losses, n = torch.Generator().manual_seed(seed), [], len(tensors["label"])
    for _ in progress(range(epochs), desc=desc, leave=False, **({} if show else {"disable": True})):
        total = 0.0
        for batch in batches(tensors, batch_size, shuffle=True, generator=generator):
            loss = loss_of(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch["label"])
        losses.append(total / n)
    model.eval()
    return losses


class CellTagger(nn.Module):
    """An `ImageEncoder`'s cells and a linear layer on each: images (B, 3, H, W) -> logits (B, N, S + C)."""

    def __init__(self, d: int = 64, n_attributes: int = 8):
        super().__init__()
        self.encoder, self.head = ImageEncoder(d), nn.Linear(d, n_attributes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder.tokens(images))


def _tag_loss(model, batch):
    return F.binary_cross_entropy_with_logits(model(batch["image"]), batch["label"])


def pretrain_cells(data, epochs: int, d: int = 64, lr: float = 3e-3, batch_size: int = 64, seed: int = 0,
                   device=None, show: bool = True) -> tuple[CellTagger, list]:
    """Train a `CellTagger` to read each cell's shapes and colours (multi-label) from its token.

    data: a single-picture task (e.g. `make_task("qa", ...)`); targets from `world.cell_attributes`.
    Returns (tagger on the CPU, per-epoch mean binary cross-entropy); `tagger.encoder` is the pretrained
    `ImageEncoder`. Deterministic for a given seed.
    """
    torch.manual_seed(seed)
    targets = cell_attributes(data)                                   # (N, 16, S + C)
    tagger = CellTagger(d, targets.shape[-1])
    params = [*tagger.encoder.net.parameters(), *tagger.head.parameters()]   # `proj` (pooled output) is unused
    losses = _pretrain(tagger, _tag_loss, {"image": data.tensors()["image"], "label": targets}, epochs, lr,
                       batch_size, seed, device or pick_device(), "pretrain cells", show, params)
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


# ---- the small BERT and ViT

def text_config(**overrides) -> BertConfig:
    """The course's BERT: the world's vocabulary, 4 layers of width 128, 4 heads; `overrides` change any field."""
    return BertConfig(**{"vocab_size": len(VOCAB), "max_position_embeddings": 64, "type_vocab_size": 2,
                         "pad_token_id": VOCAB.pad_id, **SMALL, **overrides})


def image_config(**overrides) -> ViTConfig:
    """The course's ViT: 32x32 pictures in 4x4 patches (an 8x8 grid + [CLS]), 4 layers of width 128, 4 heads."""
    return ViTConfig(**{"image_size": 32, "patch_size": 4, "num_channels": 3, **SMALL, **overrides})


def mask_tokens(ids: torch.Tensor, p: float = 0.15, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of a (B, T) batch: pick each word with probability p (never [CLS], [SEP], [PAD]); of the
    picked, 80% -> [MASK], 10% -> a random word, 10% unchanged. Returns (inputs, labels: the word where picked,
    -100 elsewhere, the index cross-entropy ignores)."""
    rand = lambda: torch.rand(ids.shape, generator=generator).to(ids.device)
    picked = (ids >= VOCAB.n_special) & (rand() < p)
    action = rand()
    inputs = ids.masked_fill(picked & (action < 0.8), VOCAB.mask_id)
    swap = picked & (action >= 0.8) & (action < 0.9)
    words = torch.randint(VOCAB.n_special, len(VOCAB), ids.shape, generator=generator).to(ids.device)
    return torch.where(swap, words, inputs), ids.masked_fill(~picked, -100)


def world_sentences(n_per_task: int, seed: int = 0) -> dict:
    """Every task's sentences, n_per_task each: {"text": (N, L), "text_mask": (N, L)}, the MLM corpus."""
    rows = [row[m] for name in TASKS for d in [make_task(name, n_per_task, seed)] for row, m in zip(d.text, d.text_mask)]
    text, mask = pad(rows, VOCAB.pad_id)
    return {"text": text, "text_mask": mask}


def _mlm_loss(model, batch):
    inputs, labels = mask_tokens(batch["text"])
    logits = model(input_ids=inputs, attention_mask=batch["text_mask"].long()).logits
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def pretrain_text(corpus: dict, epochs: int, config: BertConfig | None = None, lr: float = 1e-3,
                  batch_size: int = 64, seed: int = 0, device=None, show: bool = True) -> tuple[BertForMaskedLM, list]:
    """Masked language modelling on `corpus` (from `world_sentences`), fresh masks every batch.

    Returns (the model on the CPU, per-epoch mean loss); `model.bert` is the `BertModel` later chapters load.
    """
    torch.manual_seed(seed)
    model = BertForMaskedLM(config or text_config())
    losses = _pretrain(model, _mlm_loss, {**corpus, "label": corpus["text"]}, epochs, lr, batch_size, seed,
                       device or pick_device(), "pretrain BERT (MLM)", show)
    return model.cpu(), losses


@torch.no_grad()
def mlm_accuracy(model: BertForMaskedLM, corpus: dict, seed: int = 0) -> float:
    """Share of masked words the model restores, with one fixed (seeded) masking of `corpus`."""
    model.eval()
    inputs, labels = mask_tokens(corpus["text"], generator=torch.Generator().manual_seed(seed))
    logits = model(input_ids=inputs, attention_mask=corpus["text_mask"].long()).logits
    picked = labels != -100
    return (logits.argmax(-1)[picked] == labels[picked]).float().mean().item()


class PatchTagger(nn.Module):
    """A `ViTModel` and a linear layer on each 8x8-pixel cell (2x2 patches averaged): (B, 3, 32, 32) -> (B, 16, S + C)."""

    def __init__(self, config: ViTConfig | None = None, n_attributes: int = 8):
        super().__init__()
        self.vit = ViTModel(config or image_config(), add_pooling_layer=False)
        self.head = nn.Linear(self.vit.config.hidden_size, n_attributes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = self.vit(pixel_values=images).last_hidden_state[:, 1:]            # (B, 64, H), [CLS] dropped
        side = int(patches.shape[1] ** 0.5)
        grid = patches.transpose(1, 2).reshape(len(images), -1, side, side)         # (B, H, 8, 8)
        cells = F.avg_pool2d(grid, 2).flatten(2).transpose(1, 2)                    # (B, 16, H), row-major cells
        return self.head(cells)


def pretrain_image(data, epochs: int, config: ViTConfig | None = None, lr: float = 1e-3, batch_size: int = 64,
                   seed: int = 0, device=None, show: bool = True) -> tuple[PatchTagger, list]:
    """Train a ViT to say which shapes and colours each cell holds (`world.cell_attributes`, multi-label).

    Returns (the tagger on the CPU, per-epoch mean binary cross-entropy); `tagger.vit` is the `ViTModel`.
    """
    torch.manual_seed(seed)
    targets = cell_attributes(data)
    tagger = PatchTagger(config, targets.shape[-1])
    losses = _pretrain(tagger, _tag_loss, {"image": data.tensors()["image"], "label": targets}, epochs, lr,
                       batch_size, seed, device or pick_device(), "pretrain ViT (cells)", show)
    return tagger.cpu(), losses


@torch.no_grad()
def cell_accuracy(tagger: nn.Module, data) -> float:
    """Share of (cell, attribute) pairs a tagger gets right (logit > 0 means present), on `data`'s pictures."""
    tagger.eval()
    return ((tagger(data.tensors()["image"]) > 0) == cell_attributes(data).bool()).float().mean().item()


@contextmanager
def _quiet():
    """Silence transformers' progress bars and warnings for a save or load (notebook outputs stay readable)."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def replace_requested() -> bool:
    """Whether a new run replaces the shipped backbones: `COURSE_REPLACE_BACKBONES=1`, default off."""
    return os.environ.get("COURSE_REPLACE_BACKBONES", "0").strip().lower() in ("1", "true", "yes")


def save_folder() -> Path:
    """Where `save_backbones` writes by default: data/backbones/ if `replace_requested()`, else data/backbones_new/."""
    return BACKBONES if replace_requested() else NEW_BACKBONES


def save_backbones(mlm: BertForMaskedLM, tagger: PatchTagger, cells: CellTagger, folder=None) -> Path:
    """Write the pretrained models, heads included, as safetensors: folder/text (BERT + MLM head), folder/image
    (ViT, and the cell head in cell_head.safetensors) and folder/cells (the cell CNN and its head), so a test can
    re-measure each on its pretraining task. folder: `save_folder()` unless given. Returns the folder."""
    folder = Path(folder) if folder is not None else save_folder()
    with _quiet():
        mlm.save_pretrained(folder / "text")
        tagger.vit.save_pretrained(folder / "image")
    save_file(tagger.head.state_dict(), folder / "image" / "cell_head.safetensors")
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    save_file(cells.state_dict(), folder / "cells" / "model.safetensors")
    return folder


def _folder(kind: str, path) -> Path:
    return Path(path) if path is not None else BACKBONES / kind


def _require(kind: str, path: Path, file: str) -> Path:
    if not (path / file).exists():
        raise FileNotFoundError(f"no {kind} backbone in {path}: the course ships it in data/backbones/{kind} "
                                f"(git checkout data/backbones), or re-create it with "
                                f"notebooks/A_pretraining_backbones.ipynb in full mode with "
                                f"COURSE_REPLACE_BACKBONES=1")
    return path / file


def _load(cls, kind: str, path, **kwargs):
    path = _folder(kind, path)
    _require(kind, path, "config.json")
    with _quiet():                            # loading the encoder alone skips the heads' weights: not a problem
        return cls.from_pretrained(path, local_files_only=True, **kwargs).eval()


def load_text_backbone(path=None, **config) -> BertModel:
    """The course's pretrained small BERT (data/backbones/text unless `path`), from local files only; `config`
    overrides configuration fields (e.g. attn_implementation="eager" to return attention weights)."""
    return _load(BertModel, "text", path, add_pooling_layer=False, **config)


def load_text_mlm(path=None) -> BertForMaskedLM:
    """The same BERT with its masked-language-modelling head."""
    return _load(BertForMaskedLM, "text", path)


def load_image_backbone(path=None) -> ViTModel:
    """The course's pretrained small ViT (data/backbones/image unless `path`), from local files only."""
    return _load(ViTModel, "image", path, add_pooling_layer=False)


def load_image_tagger(path=None) -> PatchTagger:
    """The same ViT with its cell head: images (B, 3, 32, 32) -> (B, 16, S + C) logits."""
    vit = load_image_backbone(path)
    tagger = PatchTagger(vit.config)
    tagger.vit = vit
    tagger.head.load_state_dict(load_file(_folder("image", path) / "cell_head.safetensors"))
    return tagger.eval()


def load_cell_tagger(path=None) -> CellTagger:
    """The course's pretrained cell CNN with its head (data/backbones/cells unless `path`): images (B, 3, 32, 32) ->
    (B, 16, S + C) logits; `.encoder` is the `ImageEncoder` (its sizes read off the saved weights)."""
    weights = load_file(_require("cells", _folder("cells", path), "model.safetensors"))
    tagger = CellTagger(*weights["head.weight"].shape[::-1])                 # (d, n_attributes)
    tagger.load_state_dict(weights)
    return tagger.eval()
