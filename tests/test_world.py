"""Unit tests for `course_lib.world`: determinism, shapes, vocabulary, collate, information structure, dials, errors."""
import re
import time

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from course_lib.world import (COLOURS, SHAPES, SIZES, TASKS, VOCAB, SceneObject, cell_targets, collate,
                              make_splits, make_task, object_cells, object_mask, random_objects, render_scene, tone)
from course_lib.world.language import ALL_TEMPLATES, SPECIALS
from course_lib.world.scenes import well_separated
from course_lib.world.sounds import PITCHES_HZ
from course_lib.world.tasks import PAIR_ATTRIBUTES, RANDOM_NEGATIVE, TRIMODAL_LEVELS, trimodal_score

SETTINGS = [("redundant", {}), ("complementary", {}), ("synergy", {}), ("bag", {"rule": "any"}),
            ("bag", {"rule": "most"}), ("qa", {}), ("trimodal", {}), ("pairs", {})]
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


@pytest.mark.parametrize("name", ["redundant", "qa"])
def test_speed(name):
    """10,000 samples in under 10 s of this process's CPU time (not wall time: a busy machine must not fail it)."""
    start = time.process_time()
    make_task(name, 10_000)
    assert time.process_time() - start < 10


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
        assert all(len({o["colour_id"] for o in m["objects"]}) == 2 for m in d.meta)  # always two colours


def test_bag_any_frames_alone_say_nothing(big):
    """Regression: negatives once showed one colour only, so the frames alone answered (PID: U_image = 1 bit)."""
    d = big["bag-any"]
    rare_count = [min([o["colour_id"] for o in m["objects"]].count(c) for c in {o["colour_id"] for o in m["objects"]})
                  for m in d.meta]
    for r in (1, 2):                      # how rare the rare object is, the frames' only clue, is the same for y = 0, 1
        share = d.label[torch.tensor(rare_count) == r].float().mean()
        assert abs(share - 0.5) < 0.06, (r, share)


@pytest.fixture(scope="module")
def noisy():
    """The same seed undamaged (p=0) and with each kind of damage (p=0.5)."""
    return {damage: make_task("noisy", 1000, seed=4, **kw)
            for damage, kw in (("clean", {"p": 0}), ("noise", {}), ("blank", {"damage": "blank"}))}


@pytest.mark.parametrize("damage", ["noise", "blank"])
def test_noisy_damages_one_of_image_or_text(noisy, damage):
    clean, d = noisy["clean"], noisy[damage]
    assert (clean.latents["damaged"] == -1).all() and clean.present.all() and (clean.corrupted == -1).all()
    assert torch.equal(d.label, clean.label) and d.label.tolist() == [m["objects"][0]["colour_id"] for m in d.meta]
    assert all(COLOURS[m["label"]] in m["sentence"].split() for m in clean.meta)
    hit = d.latents["damaged"]
    assert torch.equal(hit, noisy["noise" if damage == "blank" else "blank"].latents["damaged"])  # same samples
    assert abs((hit >= 0).float().mean() - 0.5) < 0.05 and abs((hit == 0).sum() / (hit >= 0).sum() - 0.5) < 0.07
    assert [m["damaged"] for m in d.meta] == hit.tolist()
    recorded = d.corrupted if damage == "noise" else torch.where(d.present.all(1), -1, (~d.present).long().argmax(1))
    assert torch.equal(recorded, hit)
    assert (d.present.all(1) if damage == "noise" else d.corrupted == -1).all()  # one record, of the right kind
    img, txt = hit == 0, hit == 1
    assert torch.equal(d.image[~img], clean.image[~img]) and torch.equal(d.audio, clean.audio)  # the rest untouched
    assert torch.equal(d.text[~txt], clean.text[~txt]) and torch.equal(d.text_mask[~txt], clean.text_mask[~txt])
    if damage == "noise":
        assert ((d.image[img] != clean.image[img]).flatten(1).float().mean(1) > 0.9).all()
        assert abs(d.image[img].mean() - 0.5) < 0.01  # uniform noise, nothing of the scene
        assert (d.text[txt] != clean.text[txt]).any(1).all() and torch.equal(d.text_mask, clean.text_mask)
    else:
        assert (d.image[img] == 0).all() and (d.text_mask[txt].sum(1) == 2).all()


def test_noisy_with_user_dials():
    base = make_task("noisy", 400, seed=2)
    more = make_task("noisy", 400, seed=2, p_missing={"audio": 0.3}, noise={"text": 0.2})
    assert torch.equal(base.latents["damaged"], more.latents["damaged"])  # the user's dials never move the task's
    gone = ~more.present[:, 2]
    assert 0.2 < gone.float().mean() < 0.4 and (more.latents["damaged"][gone] == -1).all()  # one event per sample
    assert not torch.equal(base.text, more.text)


# ---- qa ----

@pytest.fixture(scope="module")
def qa():
    return make_task("qa", 2000, seed=5)


def test_qa_scenes_and_answers(qa):
    for m, kind in zip(qa.meta, qa.latents["kind"].tolist()):
        objs = m["objects"]
        assert len(objs) == 3 and well_separated(objs)
        assert len({o["shape"] for o in objs}) == 3 and len({o["colour"] for o in objs}) == 3
        a = objs[m["target"]]
        assert (m["target_colour"], m["target_x"]) == (a["colour_id"], a["x"])
        words = m["sentence"].split()
        if kind == 0:
            assert words == ["what", "colour", "is", "the", a["shape"], "?"] and m["targets"] == [m["target"]]
            assert m["label"] == a["colour_id"]
        else:
            assert words[:2] + words[3:6] + words[7:] == ["is", "the", "left", "of", "the", "?"]
            named = [[o["shape"] for o in objs].index(w) for w in (words[2], words[6])]
            assert m["targets"] == named and named[0] == m["target"]
            b = objs[named[1]]
            assert abs(a["x"] - b["x"]) >= 4 and qa.class_names[m["label"]] == ("yes" if a["x"] < b["x"] else "no")
    kind = qa.latents["kind"]
    assert abs(kind.float().mean() - 0.5) < 0.05
    assert abs((qa.label[kind == 1] == 5).float().mean() - 0.5) < 0.05  # yes / no balanced
    assert not (qa.text == VOCAB.unk_id).any() and qa.class_names == list(COLOURS) + ["no", "yes"]


def test_qa_options():
    two, four = make_task("qa", 50, k=2), make_task("qa", 50, k=4, kinds="left_of")
    assert {len(m["objects"]) for m in two.meta} == {2} and {len(m["objects"]) for m in four.meta} == {4}
    assert (four.latents["kind"] == 1).all() and set(four.label.tolist()) == {4, 5}
    colour = make_task("qa", 50, kinds=("colour",))
    assert (colour.latents["kind"] == 0).all() and colour.label.max() < 4


def test_object_cells_and_cell_targets(qa):
    rng = np.random.default_rng(0)
    for size in (0, 1):
        for o in random_objects(rng, 40, sizes=[size] * 40):
            cells, (ys, xs) = object_cells(o), np.nonzero(object_mask(o))
            assert cells.shape == (4, 4) and cells[ys // 8, xs // 8].all()  # every masked pixel's cell
            assert cells.sum() == len(set(zip(ys // 8, xs // 8))) <= (4 if size == 0 else 9)  # and no other
    assert object_cells(o, grid=8).shape == (8, 8)
    for i in range(5):
        m = qa.meta[i]
        expected = torch.from_numpy(object_cells(m["objects"][m["target"]]))
        assert torch.equal(cell_targets(qa, i).view(4, 4), expected)  # row-major, like torch's flatten
    assert torch.equal(cell_targets(qa, range(5)), torch.stack([cell_targets(qa, i) for i in range(5)]))


def test_trimodal_label_is_the_sign_of_the_score():
    d = make_task("trimodal", 2000, seed=4)
    levels = [d.latents[k].numpy() for k in ("img_level", "txt_level", "aud_level")]
    score = trimodal_score(*TRIMODAL_LEVELS[levels])
    assert (np.abs(score) > 1e-9).all()  # ties are redrawn: every label is decided
    assert np.array_equal(d.label.numpy(), (score > 0).astype(np.int64))
    assert [m["objects"][0]["shape_id"] for m in d.meta] == levels[0].tolist()     # image carries x_img
    named = [[COLOURS.index(w) for w in m["sentence"].split() if w in COLOURS] for m in d.meta]
    assert named == [[c] for c in levels[1].tolist()]                             # text names x_txt's colour
    assert [m["pitch"] for m in d.meta] == levels[2].tolist()                      # audio carries x_aud
    assert all(np.bincount(lv, minlength=4).min() > 350 for lv in levels)


def test_trimodal_dials_set_the_interaction_order():
    """With only the 3-way term every pair of modalities is at chance; with only unimodal terms each one adds."""
    tri = make_task("trimodal", 6000, seed=5, w_uni=0, w_tri=1)
    y, lv = tri.label.numpy(), {k: tri.latents[k].numpy() for k in ("img_level", "txt_level", "aud_level")}
    for a, b in (("img_level", "txt_level"), ("img_level", "aud_level"), ("txt_level", "aud_level")):
        for i in range(4):
            for j in range(4):
                cell = (lv[a] == i) & (lv[b] == j)
                assert abs(y[cell].mean() - 0.5) < 0.12, (a, b, i, j)  # a pair alone tells nothing
    uni = make_task("trimodal", 2000, seed=5, w_uni=1, w_tri=0)
    levels = TRIMODAL_LEVELS[[uni.latents[k].numpy() for k in ("img_level", "txt_level", "aud_level")]]
    assert np.array_equal(uni.label.numpy(), levels.sum(0) > 0)
    default = make_task("trimodal", 2000, seed=5)
    assert not np.array_equal(default.label.numpy(), uni.label.numpy())  # the dials change the labels


def test_sequence_needs_both_sequences_aligned():
    d = make_task("sequence", 400, seed=2)
    high = len(PITCHES_HZ) - 1
    k, pos, tone_len = (d.latents[x] for x in ("k", "target_pos", "tone_len"))
    assert torch.equal(d.audio_mask.sum(1), k * tone_len)                   # k tones of one length each
    assert ((3 <= k) & (k <= 5)).all() and (pos < k).all()
    for i, m in enumerate(d.meta):
        words = m["sentence"].split()[:-1]
        assert len(words) == len(m["tones"]) == int(k[i])                   # one word per tone
        assert [j for j, p in enumerate(m["tones"]) if p == high] == [int(pos[i])]
        assert d.class_names[int(d.label[i])] == words[int(pos[i])]         # the word said during the high tone
        code = int(d.latents["colours"][i])                                 # the sentence's colours, base 4
        assert [COLOURS[code // 4 ** j % 4] for j in range(int(k[i]))] == words
    # audio alone says when, not what: the label is spread evenly over the colours at every target position
    for p in range(3):
        counts = torch.bincount(d.label[pos == p], minlength=4).float()
        assert counts.min() / counts.sum() > 0.12, counts


def test_pairs_captions_and_hard_negatives():
    d = make_task("pairs", 900, seed=3, captions=3, p_negative=0.5)
    ids, differs = d.latents["image_id"], d.latents["differs"]
    assert torch.equal(ids, torch.arange(900) // 3)
    assert all(torch.equal(d.image[i], d.image[3 * (i // 3)]) for i in range(0, 900, 7))  # a group shares its picture
    assert torch.equal(d.label, (differs == -1).long()) and 0.4 < (differs >= 0).float().mean() < 0.6
    for i, m in enumerate(d.meta):
        obj, told = m["objects"][0], m["sentence"].split()[1:4]             # "a {size} {colour} {shape} ."
        truth = [obj["size"], obj["colour"], obj["shape"]]
        wrong = [a for a, t, o in zip(("size", "colour", "shape"), told, truth) if t != o]
        assert wrong == ([] if differs[i] < 0 else [PAIR_ATTRIBUTES[differs[i]]])  # exactly the attribute named
        said = [SIZES.index(told[0]), COLOURS.index(told[1]), SHAPES.index(told[2])]
        code = lambda size, colour, shape: (shape * len(COLOURS) + colour) * len(SIZES) + size
        assert d.latents["caption"][i] == code(*said)                       # the latents pack what is said ...
        assert d.latents["object"][i] == code(obj["size_id"], obj["colour_id"], obj["shape_id"])   # ... and shown
    assert set(differs.tolist()) == {-1, 0, 1, 2}


def test_pairs_random_negatives_describe_another_object():
    d = make_task("pairs", 600, seed=4, captions=2, p_negative=0.5, negatives="random")
    differs = d.latents["differs"]
    assert set(differs.tolist()) == {-1, RANDOM_NEGATIVE} and torch.equal(d.label, (differs == -1).long())
    n_wrong = []
    for i, m in enumerate(d.meta):
        obj, told = m["objects"][0], m["sentence"].split()[1:4]
        wrong = sum(t != o for t, o in zip(told, [obj["size"], obj["colour"], obj["shape"]]))
        assert (wrong == 0) == (differs[i] == -1)                           # a random negative is never true
        n_wrong.append(wrong)
    assert max(n_wrong) == 3                                                # ... and may differ in everything
    hard = make_task("pairs", 600, seed=4, captions=2, p_negative=0.5)      # the default stays as it was
    assert torch.equal(hard.image, make_task("pairs", 600, seed=4, captions=2, p_negative=0.5, negatives="hard").image)


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
    (lambda: make_task("noisy", 10, p=1.5), ValueError, r"\[0, 1\]"),
    (lambda: make_task("noisy", 10, damage="smudge"), ValueError, "noise, blank"),
    (lambda: make_task("noisy", 10, p_corrupt={"text": 0.1}), ValueError, "already sets p_corrupt"),
    (lambda: make_task("noisy", 10, p=1, p_missing={"audio": 0.2}), ValueError, "> 1"),
    (lambda: make_task("qa", 10, k=5), ValueError, "2..4"),
    (lambda: make_task("qa", 10, k=1), ValueError, "2..4"),
    (lambda: make_task("qa", 10, kinds=("colour", "size")), ValueError, "left_of"),
    (lambda: make_task("qa", 10, kinds=()), ValueError, "colour"),
    (lambda: object_cells(SceneObject(0, 0, 0, 16, 16), grid=3), ValueError, "divisor"),
    (lambda: cell_targets(make_task("redundant", 5), 0), ValueError, "qa"),
    (lambda: make_task("trimodal", 10, w_uni=0, w_tri=0), ValueError, "not all 0"),
    (lambda: make_task("trimodal", 10, w_tri="big"), ValueError, "numbers"),
    (lambda: make_task("sequence", 10, k_min=4, k_max=3), ValueError, "k_min"),
    (lambda: make_task("pairs", 10, captions=0), ValueError, "captions"),
    (lambda: make_task("pairs", 10, p_negative=1.5), ValueError, "p_negative"),
    (lambda: make_task("pairs", 10, negatives="easy"), ValueError, "negatives"),
])
def test_bad_input_raises(call, error, message):
    with pytest.raises(error, match=message):
        call()


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("kwargs,message", [
    (dict(noise={"image": NAN}), r"noise\['image'\] must be a finite non-negative number, got nan"),
    (dict(noise={"audio": INF}), r"noise\['audio'\] must be a finite non-negative number, got inf"),
    (dict(noise={"text": NAN}), r"noise\['text'\] must be a probability in \[0, 1\], got nan"),
    (dict(p_missing={"image": NAN}), r"p_missing\['image'\] must be a probability in \[0, 1\], got nan"),
    (dict(p_corrupt={"audio": -INF}), r"p_corrupt\['audio'\] must be a probability in \[0, 1\], got -inf"),
])
def test_dials_refuse_nan_and_inf(kwargs, message):
    # NaN passes `v < 0` and `v > 1`: unchecked, noise NaN made every image NaN and p_missing NaN dropped every image
    with pytest.raises(ValueError, match=message):
        make_task("redundant", 10, **kwargs)


@pytest.mark.parametrize("weights", [dict(w_uni=NAN), dict(w_bi=INF), dict(w_uni=INF, w_tri=-INF)])
def test_trimodal_refuses_nan_and_inf_weights(weights):
    # a NaN weight made every score NaN, and every label 0 (NaN > 0 is False)
    with pytest.raises(ValueError, match=r"trimodal: w_uni, w_bi, w_tri must be finite numbers.*got \("):
        make_task("trimodal", 10, **weights)


def test_registry():
    assert set(TASKS) == {"redundant", "complementary", "synergy", "bag", "noisy", "qa", "trimodal",
                          "sequence", "pairs"}


def test_trimodal_ceilings_are_exact():
    from course_lib.ceilings import form_ceiling, trimodal_ceilings
    # the chapter-04 default of an earlier design: an additive rule of any per-level functions reaches 55/64 and a
    # pairwise one 63/64, far above sign(x_i + x_t + x_a)
    assert trimodal_ceilings(1, 0, 3) == {"unimodal": 40 / 64, "additive": 55 / 64, "pairwise": 63 / 64}
    # the three-way sign (an odd number of negative levels): no single modality helps, pairs fall short of 100%
    assert trimodal_ceilings(0, 0, 1) == {"unimodal": 0.5, "additive": 0.75, "pairwise": 56 / 64}
    # a purely additive score is solved by the additive form
    assert trimodal_ceilings(1, 0, 0)["additive"] == 1.0
    with pytest.raises(ValueError, match="unknown form"):
        form_ceiling([((0, 0, 0), 1)], "cubic")


def test_trimodal_ceilings_print_nothing(capfd):
    """scipy's milp (HiGHS) prints debug lines from C; a chapter cell computing the ceilings must not show them."""
    from course_lib.ceilings import trimodal_ceilings
    trimodal_ceilings(1, 0, 3)
    print("after")
    out, err = capfd.readouterr()
    assert out == "after\n" and "Highs" not in err


def test_synergy_additive_ceiling_matches_a_brute_force_over_scores():
    import itertools

    import numpy as np
    from course_lib.additive_ceiling import synergy_additive_ceiling
    n = 3
    p = np.full((n, n), 1 / (2 * n * (n - 1)))
    np.fill_diagonal(p, 1 / (2 * n))
    truth = np.eye(n, dtype=bool)
    best = 0.0
    for f in itertools.product(range(-2, 3), repeat=n):       # integer scores and a half-integer threshold cover
        for g in itertools.product(range(-2, 3), repeat=n):   # every threshold rule on 3 x 3 cells
            says_true = (np.add.outer(f, g) > 0.5)
            best = max(best, p[says_true == truth].sum())
    assert synergy_additive_ceiling(n) == pytest.approx(best) == pytest.approx(0.75)
    assert synergy_additive_ceiling(4) == pytest.approx(0.75)    # "true iff the text's colour is no later than the image's"


def test_pairs_two_objects_name_both_in_shape_order():
    d = make_task("pairs", 400, seed=5, captions=2, p_negative=0.5, objects=2)
    differs = d.latents["differs"]
    assert torch.equal(d.label, (differs == -1).long()) and set(differs.tolist()) == {-1, 0, 1, 2}
    for i, m in enumerate(d.meta):
        objs = m["objects"]
        assert [o["shape_id"] for o in objs] == sorted({o["shape_id"] for o in objs}) and len(objs) == 2
        words = m["sentence"].split()                   # "a {size} {colour} {shape} and a {size} {colour} {shape} ."
        told = [words[1:4], words[6:9]]
        truth = [[o["size"], o["colour"], o["shape"]] for o in objs]
        n_wrong = sum(t != o for said, shown in zip(told, truth) for t, o in zip(said, shown))
        assert words[4] == "and" and words[-1] == "." and n_wrong == (0 if differs[i] < 0 else 1)
    gallery = make_task("pairs", 1000, seed=5, captions=1, p_negative=0.0, objects=2)
    assert len({m["sentence"] for m in gallery.meta}) > 300          # of 384 true captions: a gallery far from saturated
    one = make_task("pairs", 300, seed=5, captions=2, p_negative=0.5)  # objects=1 draws exactly as before
    assert torch.equal(one.image, make_task("pairs", 300, seed=5, captions=2, p_negative=0.5, objects=1).image)
    random = make_task("pairs", 200, seed=6, captions=2, p_negative=0.5, negatives="random", objects=2)
    assert set(random.latents["differs"].tolist()) == {-1, RANDOM_NEGATIVE}
    with pytest.raises(ValueError, match="objects"):
        make_task("pairs", 10, objects=3)


def test_interaction_shares_match_least_squares_on_the_cells():
    """Each order's share equals what least squares on indicator features of that order adds to the fit (R^2)."""
    import itertools

    import numpy as np
    from course_lib.ceilings import interaction_shares
    x = np.array([-1, -1 / 3, 1 / 3, 1])
    i, t, a = np.meshgrid(x, x, x, indexing="ij")
    assert interaction_shares(i * t * a) == pytest.approx({1: 0, 2: 0, 3: 1})
    assert interaction_shares(2 * i - t + a ** 2) == pytest.approx({1: 1, 2: 0, 3: 0})
    assert interaction_shares(np.full((4, 4, 4), 3.0)) == {1: 0.0, 2: 0.0, 3: 0.0}
    f = np.random.default_rng(0).normal(size=(3, 4, 5))             # levels need not be 4, nor equal
    cells = list(itertools.product(*map(range, f.shape)))
    y = np.array([f[c] for c in cells])

    def r2(groups):
        cols = [np.ones(len(cells))]
        for g in groups:
            for lv in itertools.product(*(range(f.shape[j]) for j in g)):
                cols.append(np.array([float(tuple(c[j] for j in g) == lv) for c in cells]))
        X = np.stack(cols, 1)
        fit = X @ np.linalg.lstsq(X, y, rcond=None)[0]
        return 1 - ((y - fit) ** 2).sum() / ((y - y.mean()) ** 2).sum()

    shares = interaction_shares(f)
    assert shares[1] == pytest.approx(r2([(0,), (1,), (2,)]))
    assert shares[1] + shares[2] == pytest.approx(r2([(0, 1), (0, 2), (1, 2)]))
    assert sum(shares.values()) == pytest.approx(1)
    with pytest.raises(ValueError, match=r"\(L1, L2, L3\) table; got shape \(4, 4\)"):
        interaction_shares(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="NaN or inf"):
        interaction_shares(np.full((2, 2, 2), np.nan))
