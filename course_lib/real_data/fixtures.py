"""The offline fixture: a few dozen items from the course's own world, written in the real formats (data/fixtures/).

`make_fixtures()` writes flickr8k/test.parquet (the Hub's layout), memes/{train,test_seen}.jsonl + img/ (the Hateful
Memes layout) and vocab.txt (a BERT word-piece vocabulary of the world's words); deterministic.
"""
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .loaders import CAPTIONS, FIXTURES, MEME_SPLITS


def _scene_image(rng, colour=None, size: int = 96):
    from ..world.scenes import random_objects, render_scene
    obj = random_objects(rng, 1, colours=None if colour is None else [colour])[0]
    array = (render_scene([obj]).transpose(1, 2, 0) * 255).round().astype(np.uint8)  # (32, 32, 3)
    image = Image.fromarray(array).resize((size, size), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return obj, buffer.getvalue()


def make_fixtures(out: Path = FIXTURES, n_flickr: int = 40, n_train: int = 32, n_test: int = 16, seed: int = 0):
    """Write out/flickr8k/test.parquet, out/memes/{train,test_seen}.jsonl + img/, out/vocab.txt; deterministic."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from ..world.language import CLAIM_TEMPLATES, COLOURS, DESCRIBE_TEMPLATES, SHAPES, SIZES, VOCAB, fill, pick
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
    for split, n in zip(MEME_SPLITS, (n_train, n_test)):   # label 1: the text contradicts the picture
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

