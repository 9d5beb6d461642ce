"""Real encoders and their frozen features: preprocessing, the BERT tokenizer, ResNet-18 / BERT / ViT.

- Preprocessing: torchvision transforms (resize, centre crop to 224, normalise) and a BERT tokenizer.
- Encoders: torchvision's ResNet-18 and transformers' BERT and ViT, frozen: the real checkpoints with `download`,
  else the same architectures randomly initialised (BERT and ViT narrower than base size, of the same depth as
  each other, as bert-base and vit-base are, so that PMF can pair them and a 2-core CPU runs them in seconds).
- Features: computed once, in batches, on the device (`pick_device`), with a progress bar; returned on the CPU.
"""
import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import pick_device
from ..encoders import masked_mean
from ..train import progress
from .loaders import FIXTURES

CHECKPOINTS = {"resnet18": "torchvision ResNet18_Weights.DEFAULT (45 MB)", "bert": "bert-base-uncased (440 MB)",
               "vit": "google/vit-base-patch16-224-in21k (346 MB)"}
NORMS = {"imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),   # ResNet (torchvision's ImageNet weights)
         "vit": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}                     # google/vit-*-in21k's image processor
SMALL_BERT = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
SMALL_VIT = dict(hidden_size=192, num_hidden_layers=4, num_attention_heads=3, intermediate_size=768)
CELLS = (4, 4)    # the course's grid of image cells (chapter 03), which MMBT's ImageTokens pools to N regions


# ---- preprocessing ----

def image_transform(norm: str = "imagenet"):
    """PIL image -> (3, 224, 224) float tensor: resize the short side to 224, centre crop, scale to [0, 1], normalise."""
    from torchvision import transforms as T
    mean, std = NORMS[norm]
    return T.Compose([T.Resize(224), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])


def pixels(images, norm: str = "imagenet") -> torch.Tensor:
    """A list of PIL images -> (N, 3, 224, 224)."""
    transform = image_transform(norm)
    return torch.stack([transform(im.convert("RGB")) for im in images])


def make_tokenizer(download: bool):
    """bert-base-uncased's tokenizer with `download`; offline, a BertTokenizer on the fixture's vocab.txt (no network)."""
    from transformers import BertTokenizer
    if download:
        return BertTokenizer.from_pretrained("bert-base-uncased")
    path = FIXTURES / "vocab.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no {path}: run `python -m course_lib.real_data --make-fixtures`")
    if "vocab_file" in inspect.signature(BertTokenizer.__init__).parameters:      # transformers 4.x
        return BertTokenizer(vocab_file=str(path), do_lower_case=True)
    words = path.read_text().splitlines()                                          # transformers 5.x: a dict
    return BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)


def tokenize(tokenizer, texts, max_len: int = 32) -> tuple:
    """texts -> (input_ids (N, T), attention_mask (N, T)), [CLS] first, padded to the longest, cut at max_len."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


# ---- encoders ----

def make_encoders(download: bool, vocab_size: int | None = None, seed: int = 0) -> dict:
    """{"resnet18", "vit", "bert"}: the real checkpoints with `download`, else randomly initialised, all frozen.

    Offline BERT and ViT are narrower than base size (SMALL_BERT, SMALL_VIT); ResNet-18 is full size either way. Each
    random encoder starts from `seed` itself, so that one encoder's size leaves the others' weights alone.
    """
    from torchvision.models import ResNet18_Weights, resnet18
    from transformers import BertConfig, BertModel, ViTConfig, ViTModel
    if download:
        build = {"resnet18": lambda: resnet18(weights=ResNet18_Weights.DEFAULT),
                 "vit": lambda: ViTModel.from_pretrained("google/vit-base-patch16-224-in21k"),
                 "bert": lambda: BertModel.from_pretrained("bert-base-uncased")}
    else:
        build = {"resnet18": lambda: resnet18(weights=None),
                 "vit": lambda: ViTModel(ViTConfig(image_size=224, patch_size=16, **SMALL_VIT)),
                 "bert": lambda: BertModel(BertConfig(vocab_size=vocab_size or 30522, **SMALL_BERT))}
    encoders = {}
    for name, make in build.items():
        torch.manual_seed(seed)
        encoders[name] = make().eval().requires_grad_(False)
    encoders["resnet18"].fc = nn.Identity()                  # (N, 512) pooled features, not ImageNet logits
    return encoders


# ---- frozen features, in batches on the device ----

def _vit_cells(tokens: torch.Tensor) -> torch.Tensor:
    """ViT's last layer (B, 1 + P, D) -> its P patch tokens on their grid, averaged to CELLS: (B, D, 4, 4)."""
    patches = tokens[:, 1:].transpose(1, 2)                                         # (B, D, P), [CLS] dropped
    side = int(patches.shape[2] ** 0.5)
    return F.adaptive_avg_pool2d(patches.reshape(*patches.shape[:2], side, side), CELLS)


@torch.no_grad()
def image_features(model, images, norm: str, cells: bool = False, batch_size: int = 32, device=None,
                   desc: str = "image features") -> torch.Tensor:
    """PIL images -> frozen features, preprocessed (`image_transform(norm)`) and encoded batch by batch on the device.

    Pooled (N, D): ResNet's average pool, or ViT's [CLS] token. With `cells` (ViT only): its patch tokens averaged to
    the course's 4x4 grid, (N, D, 4, 4), the image regions MMBT pools. Returned on the CPU.
    """
    vit = hasattr(model, "config")
    if cells and not vit:
        raise ValueError("cells=True needs a ViTModel (its patch tokens make the grid)")
    device = device or pick_device()
    model.to(device)
    out = []
    for start in progress(range(0, len(images), batch_size), desc=desc, leave=False):
        x = pixels(images[start:start + batch_size], norm).to(device)               # (B, 3, 224, 224)
        if vit:
            tokens = model(pixel_values=x).last_hidden_state                        # (B, 1 + P, D)
            h = _vit_cells(tokens) if cells else tokens[:, 0]
        else:
            h = model(x)                                                            # (B, 512)
        out.append(h.float().cpu())
    return torch.cat(out)


@torch.no_grad()
def text_features(model, ids: torch.Tensor, mask: torch.Tensor, batch_size: int = 64, device=None,
                  desc: str = "text features") -> torch.Tensor:
    """Frozen pooled features (N, D) of token ids (N, T): BERT's last layer averaged over the real tokens, computed
    batch by batch on the device, returned on the CPU."""
    device = device or pick_device()
    model.to(device)
    out = []
    for start in progress(range(0, len(ids), batch_size), desc=desc, leave=False):
        i, m = ids[start:start + batch_size].to(device), mask[start:start + batch_size].to(device)
        h = model(input_ids=i, attention_mask=m).last_hidden_state                    # (B, T, D)
        out.append(masked_mean(h, m).float().cpu())                                    # (B, D)
    return torch.cat(out)
