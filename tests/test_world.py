"""Unit tests for `course_lib.world`: determinism, shapes, vocabulary, collate, information structure, dials, errors."""
import re
import time

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from course_lib.world import (COLOURS, SHAPES, TASKS, VOCAB, SceneObject, collate, make_splits, make_task,
                              object_mask, random_objects, render_scene, tone)
from course_lib.world.language import ALL_TEMPLATES, SPECIALS

SETTINGS = [("redundant", {}), ("complementary", {}), ("synergy", {}), ("bag", {"rule": "any"}),
            ("bag", {"rule": "most"})]
IDS = [name + "-" + "-".join(kw.values()) if kw else name for name, kw in SETTINGS]


@pytest.fixture(scope="module")
def small():
    """One small set per task setting, shared by the cheap tests."""
    return {i: make_task(name, 300, seed=1, **kw) for i, (name, kw) in zip(IDS, SETTINGS)}


@pytest.fixture(scope="module")
def big():
    """Larger sets (synergy n = 8000) for the statistical checks on the information structure."""
    return {"synergy": make_task("synergy", 8000, seed=3), "complementary": make_task("complementary", 2000, seed=3),
            "redundant": make_task("redundant", 2000, seed=3), "bag-any": make_task("bag", 1500, seed=3, rule="any"),
            "bag-most": make_task("bag", 1500, seed=3, rule="most")}


# ---- vocabulary and rendering ----

def test_vocabulary_special_ids_and_round_trip():
    assert VOCAB.words[:5] == list(SPECIALS)
    assert (VOCAB.pad_id, VOCAB.cls_id, VOCAB.sep_id, VOCAB.mask_id, VOCAB.unk_id) == (0, 1, 2, 3, 4)
    assert len(set(VOCAB.words)) == len(VOCAB)
    ids = VOCAB.encode(["a", "red", "circle", "zebra"])
    assert ids[-1] == VOCAB.unk_id and VOCAB.decode(ids[:3] + [VOCAB.pad_id]) == "a red circle"


def test_every_template_word_is_in_vocabulary():
    literal = {w for t in ALL_TEMPLATES for w in re.sub(r"\{\w+\}", "", t).split()}
    assert literal <= set(VOCAB.words)


def test_render_and_mask():
    obj = SceneObject(shape=0, colour=2, size=1, x=16, y=16)
    image = render_scene([obj])
    assert image.shape == (3, 32, 32) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    mask = object_mask(obj)
    assert mask.shape == (32, 32) and 100 < mask.sum() < 250
    assert np.allclose(image[:, mask].T, [0.15, 0.3, 0.95]) and np.allclose(image[:, ~mask], 0.05)
    assert np.array_equal(object_mask(obj.to_dict()), mask)  # meta dicts work too
    for shape in range(len(SHAPES)):  # every shape drawn, inside the frame, at every position
        for o in random_objects(np.random.default_rng(shape), 3, shapes=[shape] * 3):
            assert object_mask(o).sum() > 10


def test_tone():
    wave = tone(2, 300, np.random.default_rng(0))
    assert wave.shape == (300,) and wave.dtype == np.float32 and 0.7 < np.abs(wave).max() <= 0.8
    with pytest.raises(ValueError):
        tone(4, 300, np.random.default_rng(0))


# ---- data: determinism, shapes, masks ----

def test_determinism():
    a, b, c = make_task("synergy", 200, seed=5), make_task("synergy", 200, seed=5), make_task("synergy", 200, seed=6)
    for key, value in a.tensors().items():
        assert torch.equal(value, b.tensors()[key]), key
    assert not torch.equal(a.image, c.image) and not torch.equal(a.audio, c.audio)
    train, test = make_splits("synergy", 100, 50, seed=5)
    assert len(train) == 100 and len(test) == 50 and not torch.equal(train.image[:50], test.image)


@pytest.mark.parametrize("key", IDS)
def test_shapes_dtypes_and_masks(small, key):
    d = small[key]
    t = d.tensors()
    n = len(d)
    bag = key.startswith("bag")
    assert t["image"].shape == ((n, t["bag_mask"].shape[1]) if bag else (n,)) + (3, 32, 32)
    assert t["image"].dtype == torch.float32 and t["audio"].dtype == torch.float32
    assert t["text"].dtype == torch.long and t["label"].dtype == torch.long
    assert t["present"].shape == (n, 3) and t["present"].all() and (t["corrupted"] == -1).all()
    assert t["text"].shape == t["text_mask"].shape and t["audio"].shape == t["audio_mask"].shape
    assert torch.equal(t["text"] != VOCAB.pad_id, t["text_mask"])  # the mask is exactly the non-[PAD] tokens
    lengths = t["audio_mask"].sum(1)
    assert lengths.min() >= 200 and lengths.max() <= 400
    assert (t["audio"][~t["audio_mask"]] == 0).all()
    assert (t["text"][:, 0] == VOCAB.cls_id).all()
    assert (t["text"].gather(1, t["text_mask"].sum(1, keepdim=True) - 1) == VOCAB.sep_id).all()
    assert not (t["text"] == VOCAB.unk_id).any()  # every emitted word is in the vocabulary
    assert d.n_classes == len(d.class_names) and int(d.label.max()) < d.n_classes
    assert all(len(v) == n for v in d.latents.values()) and len(d.meta) == n
    assert d.meta[0]["sentence"] == VOCAB.decode(d.text[0])[6:-6]  # strip "[CLS] " and " [SEP]"
    if bag:
        assert torch.equal(t["bag_mask"].sum(1), d.latents["k"])
        assert (t["image"][~t["bag_mask"]] == 0).all()
        assert [len(m["objects"]) for m in d.meta] == d.latents["k"].tolist()


def test_speed():
    start = time.perf_counter()
    make_task("redundant", 10_000)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("key", ["redundant", "bag-most"])
def test_collate_round_trips_with_tensors(small, key):
    d = small[key].subset(range(40))
    batch = collate([d[i] for i in range(len(d))])
    whole = d.tensors()
    assert batch.keys() == whole.keys()
    for k in whole:
        assert torch.equal(batch[k], whole[k]), k
    first = next(iter(DataLoader(d, batch_size=8, collate_fn=collate)))
    assert first["text"].shape[1] == int(first["text_mask"].sum(1).max())  # padded to the batch max only
    assert first["audio"].shape[1] == int(first["audio_mask"].sum(1).max())


# ---- information structure ----

def test_synergy_each_modality_alone_is_at_chance(big):
    d = big["synergy"]
    assert abs(d.label.float().mean() - 0.5) < 0.03
    assert torch.equal(d.label, (d.latents["c_img"] == d.latents["c_txt"]).long())
    for name in ("c_img", "c_txt"):
        for c in range(len(COLOURS)):
            assert abs(d.label[d.latents[name] == c].float().mean() - 0.5) < 0.06, (name, c)


def test_complementary_and_redundant_labels(big):
    d = big["complementary"]
    assert torch.equal(d.label, 2 * d.latents["b_img"] + d.latents["b_txt"])
    shapes = {m["objects"][0]["shape"] for m in d.meta}
    assert shapes == {"circle", "square"}
    assert all(m["objects"][0]["shape_id"] == 1 for m in d.meta if m["b_img"] == 1)
    r = big["redundant"]
    assert [m["pitch"] for m in r.meta] == r.label.tolist() == [m["objects"][0]["colour_id"] for m in r.meta]
    assert all(COLOURS[m["label"]] in m["sentence"].split() for m in r.meta)


def test_bag_rules(big):
    for rule in ("any", "most"):
        d = big["bag-" + rule]
        y, count, k = d.label.bool(), d.latents["count_x"], d.latents["k"]
        assert abs(y.float().mean() - 0.5) < 0.04
        assert torch.equal(y, count >= 1 if rule == "any" else 2 * count > k)
        if rule == "any":
            assert count.max() <= 2
        else:
            assert (count[~y] >= 1).all() and (count < k).all()  # neither "any X" nor "any non-X" answers it
        x = [[o["colour_id"] for o in m["objects"]].count(m["x_colour"]) for m in d.meta]
        assert x == count.tolist()


# ---- dials ----

def test_dials():
    clean = make_task("redundant", 300, seed=2)
    noisy = make_task("redundant", 300, seed=2, noise={"image": 0.2, "text": 0.5, "audio": 0.3})
    assert torch.equal(clean.label, noisy.label)  # the dials never change the clean content underneath
    assert not torch.equal(clean.image, noisy.image) and noisy.image.min() >= 0 and noisy.image.max() <= 1
    assert not torch.equal(clean.text, noisy.text) and torch.equal(clean.text_mask, noisy.text_mask)
    assert (noisy.text[noisy.text_mask] < VOCAB.n_special).sum() == 2 * 300  # only [CLS]/[SEP]: swaps are words

    gone = make_task("redundant", 100, p_missing={"image": 1.0})
    assert (gone.image == 0).all() and not gone.present[:, 0].any() and gone.present[:, 1:].all()
    assert all(m["missing"] == "image" for m in gone.meta)

    mixed = make_task("bag", 400, seed=1, p_missing={"text": 0.3, "audio": 0.2}, p_corrupt={"image": 0.3})
    missing_text = ~mixed.present[:, 1]
    assert 0.2 < missing_text.float().mean() < 0.4
    assert (mixed.text_mask[missing_text].sum(1) == 2).all()
    assert (mixed.audio_mask[~mixed.present[:, 2]].sum(1) == 200).all()
    corrupted = mixed.corrupted == 0
    assert 0.2 < corrupted.float().mean() < 0.4 and mixed.present[corrupted].all()  # at most one event per sample
    assert [m["corrupted"] == "image" for m in mixed.meta] == corrupted.tolist()
    assert (mixed.image[~mixed.bag_mask] == 0).all()  # corruption leaves the bag padding empty


# ---- errors ----

@pytest.mark.parametrize("call, error, message", [
    (lambda: make_task("nope", 10), KeyError, "redundant"),
    (lambda: make_task("bag", 10, rule="all"), ValueError, "any"),
    (lambda: make_task("redundant", 10, noise={"video": 0.1}), ValueError, "image"),
    (lambda: make_task("redundant", 10, p_missing={"text": 1.5}), ValueError, "probability"),
    (lambda: make_task("redundant", 10, noise={"image": -1}), ValueError, "non-negative"),
    (lambda: make_task("redundant", 10, p_missing={"text": 0.6}, p_corrupt={"image": 0.6}), ValueError, "> 1"),
    (lambda: make_task("redundant", 0), ValueError, "positive"),
    (lambda: make_task("synergy", 10, rule="any"), ValueError, "options"),
    (lambda: collate([]), ValueError, "empty"),
])
def test_bad_input_raises(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_registry():
    assert set(TASKS) == {"redundant", "complementary", "synergy", "bag"}
