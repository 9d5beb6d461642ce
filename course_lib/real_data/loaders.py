"""Real image-text data in its published formats, and where it lives.

- Flickr8k as the Hugging Face Hub stores it (jxie/flickr8k): parquet, `image` = struct {bytes, path}, captions in
  `caption_0` ... `caption_4`. `load_flickr_parquet(path)` -> [(PIL image, [5 captions])].
- A classification set in the Hateful Memes layout: `{split}.jsonl` lines {"id", "img": "img/NNNNN.png", "label",
  "text"} next to an `img/` folder. `load_memes(root, split)` -> a `MemesSplit`: the rows whose image loaded, and the
  lines whose image is missing or unreadable, counted rather than fatal (Hateful Memes has lost some for good).

Nothing is downloaded unless `COURSE_DOWNLOAD=1` (and never in quick mode, which CI uses): offline, the loaders read
the fixture in data/fixtures/ (written by `python -m course_lib.real_data --make-fixtures`).
"""
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..config import is_quick

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "data" / "real"            # downloads (ignored by git)
FIXTURES = ROOT / "data" / "fixtures"    # shipped, made by fixtures.make_fixtures()
CAPTIONS = tuple(f"caption_{i}" for i in range(5))
MEME_KEYS = ("id", "img", "label", "text")
MEME_SPLITS = ("train", "test_seen")     # complete in the Hub mirror (its card: dev_seen lacks 102 of its 500 images)
FLICKR = {"repo": "jxie/flickr8k", "file": "data/test-00000-of-00001-42a2661d12c73e48.parquet", "size": "137 MB"}
MEMES = {"repo": "neuralcatcher/hateful_memes", "size": "about 1 MB of jsonl + about 0.3 MB per image"}


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
    return (f"put the Hateful Memes files there ({root}/{MEME_SPLITS[0]}.jsonl, {root}/{MEME_SPLITS[1]}.jsonl and the "
            f"img/ folder): with internet, set COURSE_DOWNLOAD=1, or get them from "
            f"https://huggingface.co/datasets/{MEMES['repo']} (the dataset's licence applies: "
            "https://hatefulmemeschallenge.com)")


@dataclass
class MemesSplit:
    """One split in the Hateful Memes layout: the memes whose image loaded, and the lines whose image did not."""
    name: str
    rows: list      # [{"id", "image" (PIL, RGB), "text", "label"}], in file order
    skipped: list   # [(line number, "img/NNNNN.png", "missing" | "unreadable")]

    @property
    def skipped_share(self) -> float:
        """Skipped lines / all lines of the split."""
        return len(self.skipped) / max(len(self.rows) + len(self.skipped), 1)

    def report(self) -> str:
        """One line: how many memes loaded, and how many were skipped for which reason."""
        total = len(self.rows) + len(self.skipped)
        line = f"{self.name}: {len(self.rows):,} of {total:,} memes loaded"
        if not self.skipped:
            return line + ", none skipped"
        why = {r: sum(s[2] == r for s in self.skipped) for r in ("missing", "unreadable")}
        first = self.skipped[0]
        return (line + f"; {len(self.skipped):,} skipped ({self.skipped_share:.1%}; image missing: {why['missing']:,}, "
                f"unreadable: {why['unreadable']:,}; first: line {first[0]}, {first[1]})")


def load_memes(root, split: str) -> MemesSplit:
    """`{root}/{split}.jsonl` + `{root}/img/` -> MemesSplit; a missing or unreadable image skips its line (counted)."""
    root = Path(root)
    path = root / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no {split}.jsonl at {path}: {_memes_help(root)}")
    rows, skipped = [], []
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
            skipped.append((n, row["img"], "missing"))
            continue
        try:
            image = Image.open(io.BytesIO(image_path.read_bytes())).convert("RGB")
        except OSError:                                    # PIL's UnidentifiedImageError, or a truncated file
            skipped.append((n, row["img"], "unreadable"))
            continue
        rows.append({"id": row["id"], "image": image, "text": row["text"], "label": int(row["label"])})
    return MemesSplit(split, rows, skipped)


def memes_root(download: bool, splits=MEME_SPLITS, n_max: int = 1500) -> Path:
    """The memes folder to use: the fixture offline; with `download`, Hateful Memes (jsonl + the first n_max images).

    Images the Hub mirror has lost are simply not fetched; `load_memes` counts them.
    """
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
