"""Real image-text data and real encoders (Appendix B), with a small offline fixture in the same formats.

- Flickr8k as the Hugging Face Hub stores it (jxie/flickr8k): parquet, `image` = struct {bytes, path}, captions in
  `caption_0` ... `caption_4`. `load_flickr_parquet(path)` -> [(PIL image, [5 captions])].
- A classification set in the Hateful Memes layout: `{split}.jsonl` lines {"id", "img": "img/NNNNN.png", "label",
  "text"} next to an `img/` folder. `load_memes(root, split)` -> [{"id", "image", "text", "label"}].
- Preprocessing: torchvision transforms (resize, centre crop to 224, normalise) and a BERT tokenizer.
- Encoders: torchvision's ResNet-18 and transformers' BERT and ViT, frozen, pooled to (N, D) features.

Nothing is downloaded unless `COURSE_DOWNLOAD=1` (and never in quick mode, which CI uses): offline, the loaders read
data/fixtures/ (written by `python -m course_lib.real_data --make-fixtures`) and the encoders are the same
architectures, randomly initialised (BERT and ViT narrower than base size, so that a 2-core CPU runs them in seconds).
"""
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from .config import is_quick
from .encoders import masked_mean
from .fusion.coordinated import MAX_SCALE
from .measure import recall_at_k
from .models import mlp

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "data" / "real"            # downloads (ignored by git)
FIXTURES = ROOT / "data" / "fixtures"    # shipped, made by make_fixtures()
CAPTIONS = tuple(f"caption_{i}" for i in range(5))
MEME_KEYS = ("id", "img", "label", "text")
FLICKR = {"repo": "jxie/flickr8k", "file": "data/test-00000-of-00001-42a2661d12c73e48.parquet", "size": "137 MB"}
MEMES = {"repo": "neuralcatcher/hateful_memes", "size": "about 1 MB of jsonl + about 0.3 MB per image"}
CHECKPOINTS = {"resnet18": "torchvision ResNet18_Weights.DEFAULT (45 MB)", "bert": "bert-base-uncased (440 MB)",
               "vit": "google/vit-base-patch16-224-in21k (346 MB)"}
NORMS = {"imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),   # ResNet (torchvision's ImageNet weights)
         "vit": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}                     # google/vit-*-in21k's image processor
SMALL_BERT = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
SMALL_VIT = dict(hidden_size=192, num_hidden_layers=6, num_attention_heads=3, intermediate_size=768)


def download_requested() -> bool:
    """Whether to fetch real data and checkpoints: `COURSE_DOWNLOAD=1`, default off, always off in quick mode (CI)."""
    return os.environ.get("COURSE_DOWNLOAD", "0").strip().lower() in ("1", "true", "yes") and not is_quick()


# ---- Flickr8k (parquet) ----

def _flickr_help(path) -> str:
    return (f"put Flickr8k's test split there as parquet: with internet, set COURSE_DOWNLOAD=1 (the notebook fetches it), "
            f"or run `huggingface-cli download --repo-type dataset {FLICKR['repo']} {FLICKR['file']} "
            f"--local-dir {REAL / 'flickr8k'}` ({FLICKR['size']}); source: https://huggingface.co/datasets/{FLICKR['repo']}")


def load_flickr_parquet(path) -> list:
    """Flickr8k rows from a Hub parquet file -> [(PIL image, [caption_0, ..., caption_4])], images decoded lazily."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Flickr8k parquet file at {path}: {_flickr_help(path)}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise ValueError(f"{path} is not a readable parquet file ({e}); delete it and fetch it again: "
                         f"{_flickr_help(path)}") from e
    missing = [c for c in ("image",) + CAPTIONS if c not in table.column_names]
    image_type = table.schema.field("image").type if "image" in table.column_names else None
    if missing or not (pa.types.is_struct(image_type) and image_type.get_field_index("bytes") >= 0):
        raise ValueError(f"{path}: expected columns image (struct with bytes, path) and {', '.join(CAPTIONS)}; "
                         f"found {', '.join(f'{f.name} ({f.type})' for f in table.schema)}")
    rows = table.select(["image", *CAPTIONS]).to_pylist()
    items = []
    for i, row in enumerate(rows):
        try:
            image = Image.open(io.BytesIO(row["image"]["bytes"] or b""))
        except UnidentifiedImageError as e:
            raise ValueError(f"{path}: row {i} holds no readable image bytes ({row['image']['path']!r})") from e
        items.append((image, [row[c] for c in CAPTIONS]))
    return items


def flickr_file(download: bool) -> Path:
    """The Flickr8k parquet to use: the fixture offline; with `download`, the real test split (fetched if absent)."""
    if not download:
        return FIXTURES / "flickr8k" / "test.parquet"
    target = REAL / "flickr8k" / FLICKR["file"]
    if not target.exists():
        from huggingface_hub import hf_hub_download
        hf_hub_download(FLICKR["repo"], FLICKR["file"], repo_type="dataset", local_dir=REAL / "flickr8k")
    return target


# ---- Hateful Memes layout (jsonl + img/) ----

def _memes_help(root) -> str:
    return (f"put the Hateful Memes files there ({root}/train.jsonl, {root}/dev_seen.jsonl and the img/ folder): with "
            f"internet, set COURSE_DOWNLOAD=1, or get them from https://huggingface.co/datasets/{MEMES['repo']} "
            "(the dataset's licence applies: https://hatefulmemeschallenge.com)")


def load_memes(root, split: str) -> list:
    """`{root}/{split}.jsonl` + `{root}/img/` -> [{"id", "image" (PIL, RGB), "text", "label"}], in file order."""
    root = Path(root)
    path = root / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no {split}.jsonl at {path}: {_memes_help(root)}")
    items = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            assert isinstance(row, dict) and all(k in row for k in MEME_KEYS)
        except (json.JSONDecodeError, AssertionError) as e:
            raise ValueError(f"{path}, line {n}: expected a JSON object with keys {', '.join(MEME_KEYS)}, got "
                             f"{line[:80]!r}") from e
        image_path = root / row["img"]
        if not image_path.is_file():
            raise FileNotFoundError(f"{path}, line {n}: image {row['img']} not found at {image_path}: "
                                    f"{_memes_help(root)}")
        image = Image.open(io.BytesIO(image_path.read_bytes())).convert("RGB")
        items.append({"id": row["id"], "image": image, "text": row["text"], "label": int(row["label"])})
    return items


def memes_root(download: bool, splits=("train", "dev_seen"), n_max: int = 1500) -> Path:
    """The memes folder to use: the fixture offline; with `download`, Hateful Memes (jsonl + the first n_max images)."""
    if not download:
        return FIXTURES / "memes"
    from huggingface_hub import hf_hub_download, snapshot_download
    root = REAL / "hateful_memes"
    for split in splits:
        hf_hub_download(MEMES["repo"], f"{split}.jsonl", repo_type="dataset", local_dir=root)
        lines = (root / f"{split}.jsonl").read_text().splitlines()[:n_max]
        (root / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
        wanted = [json.loads(line)["img"] for line in lines if line.strip()]
        snapshot_download(MEMES["repo"], repo_type="dataset", local_dir=root, allow_patterns=wanted)
    return root


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
    import inspect
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
    """texts -> (input_ids (N, T), attention_mask (N, T)), padded to the longest, cut at max_len."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


# ---- encoders and frozen features ----

def make_encoders(download: bool, vocab_size: int | None = None, seed: int = 0) -> dict:
    """{"resnet18", "vit", "bert"}: the real checkpoints with `download`, else randomly initialised (seeded), all frozen.

    Offline BERT and ViT are narrower than base size (SMALL_BERT, SMALL_VIT); ResNet-18 is full size either way.
    """
    from torchvision.models import ResNet18_Weights, resnet18
    from transformers import BertConfig, BertModel, ViTConfig, ViTModel
    torch.manual_seed(seed)
    if download:
        encoders = {"resnet18": resnet18(weights=ResNet18_Weights.DEFAULT),
                    "vit": ViTModel.from_pretrained("google/vit-base-patch16-224-in21k"),
                    "bert": BertModel.from_pretrained("bert-base-uncased")}
    else:
        encoders = {"resnet18": resnet18(weights=None),
                    "vit": ViTModel(ViTConfig(image_size=224, patch_size=16, **SMALL_VIT)),
                    "bert": BertModel(BertConfig(vocab_size=vocab_size or 30522, **SMALL_BERT))}
    encoders["resnet18"].fc = nn.Identity()                  # (N, 512) pooled features, not ImageNet logits
    for model in encoders.values():
        model.eval().requires_grad_(False)
    return encoders


@torch.no_grad()
def image_features(model, x: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Frozen pooled features (N, D) of pixels (N, 3, 224, 224): ResNet's average pool, or ViT's [CLS] token."""
    out = []
    for chunk in x.split(batch_size):
        h = model(pixel_values=chunk).last_hidden_state[:, 0] if hasattr(model, "config") else model(chunk)
        out.append(h.float())
    return torch.cat(out)


@torch.no_grad()
def text_features(model, ids: torch.Tensor, mask: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Frozen pooled features (N, D) of token ids (N, T): BERT's last layer, averaged over the real tokens."""
    out = []
    for i, m in zip(ids.split(batch_size), mask.split(batch_size)):
        h = model(input_ids=i, attention_mask=m).last_hidden_state                    # (B, T, D)
        out.append(masked_mean(h, m))                                                  # (B, D)
    return torch.cat(out)


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


# ---- the fixture: a few dozen items from the course's own world, in the real formats ----

def _scene_image(rng, colour=None, size: int = 96):
    from .world.scenes import random_objects, render_scene
    obj = random_objects(rng, 1, colours=None if colour is None else [colour])[0]
    array = (render_scene([obj]).transpose(1, 2, 0) * 255).round().astype(np.uint8)  # (32, 32, 3)
    image = Image.fromarray(array).resize((size, size), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return obj, buffer.getvalue()


def make_fixtures(out: Path = FIXTURES, n_flickr: int = 40, n_train: int = 32, n_dev: int = 16, seed: int = 0):
    """Write out/flickr8k/test.parquet, out/memes/{train,dev_seen}.jsonl + img/, out/vocab.txt; deterministic."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from .world.language import CLAIM_TEMPLATES, COLOURS, DESCRIBE_TEMPLATES, SHAPES, SIZES, VOCAB, fill, pick

    rng, out = np.random.default_rng(seed), Path(out)
    (out / "flickr8k").mkdir(parents=True, exist_ok=True)
    (out / "memes" / "img").mkdir(parents=True, exist_ok=True)
    rows = {"image": [], **{c: [] for c in CAPTIONS}}
    for i in range(n_flickr):
        o, png = _scene_image(rng)
        slots = dict(size=SIZES[o.size], colour=COLOURS[o.colour], shape=SHAPES[o.shape],
                     side="left" if o.x < 16 else "right")
        rows["image"].append({"bytes": png, "path": f"{1000 + i}.png"})
        for c, template in zip(CAPTIONS, DESCRIBE_TEMPLATES):
            rows[c].append(" ".join(fill(template, **slots)))
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    features = {"image": {"_type": "Image"}, **{c: {"dtype": "string", "_type": "Value"} for c in CAPTIONS}}
    schema = pa.schema([("image", image_type)] + [(c, pa.string()) for c in CAPTIONS],
                       metadata={"huggingface": json.dumps({"info": {"features": features}})})
    pq.write_table(pa.table(rows, schema=schema), out / "flickr8k" / "test.parquet")
    next_id = 10000
    for split, n in (("train", n_train), ("dev_seen", n_dev)):   # label 1: the text contradicts the picture
        lines = []
        for _ in range(n):
            label, colour = int(rng.integers(2)), int(rng.integers(len(COLOURS)))
            said = (colour + int(rng.integers(1, len(COLOURS)))) % len(COLOURS) if label else colour
            _, png = _scene_image(rng, colour)
            (out / "memes" / "img" / f"{next_id}.png").write_bytes(png)
            text = " ".join(fill(pick(rng, CLAIM_TEMPLATES), colour=COLOURS[said]))
            lines.append(json.dumps({"id": next_id, "img": f"img/{next_id}.png", "label": label, "text": text}))
            next_id += 1
        (out / "memes" / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (out / "vocab.txt").write_text("\n".join(specials + [w for w in VOCAB.words if w not in specials]) + "\n")
    return out


if __name__ == "__main__":
    if "--make-fixtures" not in sys.argv:
        sys.exit("usage: python -m course_lib.real_data --make-fixtures")
    print(f"wrote {make_fixtures().relative_to(ROOT)}")
