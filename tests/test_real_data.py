"""Appendix B's real-data path on the shipped fixture: loaders, clear errors, preprocessing, encoders, no network."""
import importlib.util
import json
import shutil
import socket

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from course_lib import real_data as rd

# `make colab-test`'s venv has no torchvision (.ci/colab-versions.txt says why): the rest of this file runs there.
needs_torchvision = pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="no torchvision here")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any socket connection fails: the offline path must never reach for the network."""
    def refuse(*args, **kwargs):
        raise AssertionError("the offline path tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def flickr():
    return rd.load_flickr_parquet(rd.flickr_file(download=False))


def test_download_flag_defaults_to_off_and_quick_mode_forces_it_off(monkeypatch):
    monkeypatch.delenv("COURSE_DOWNLOAD", raising=False)
    assert rd.download_requested() is False
    monkeypatch.setenv("COURSE_DOWNLOAD", "1")
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert rd.download_requested() is False
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert rd.download_requested() is True


def test_offline_paths_are_the_shipped_fixtures():
    assert rd.flickr_file(False) == rd.FIXTURES / "flickr8k" / "test.parquet"
    assert rd.memes_root(False) == rd.FIXTURES / "memes"


def test_flickr_fixture_has_the_hub_schema_and_five_captions_per_image(flickr):
    schema = pq.read_schema(rd.flickr_file(False))
    assert schema.names == ["image", *rd.CAPTIONS]
    assert schema.field("image").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    assert len(flickr) == 40 and all(len(caps) == 5 and all(isinstance(c, str) and c for c in caps)
                                     for _, caps in flickr)
    assert flickr[0][0].convert("RGB").size == (96, 96)


def test_memes_fixture_loads_both_splits():
    root = rd.memes_root(False)
    train, dev = rd.load_memes(root, "train"), rd.load_memes(root, "dev_seen")
    assert (len(train), len(dev)) == (32, 16)
    assert {m["label"] for m in train} == {0, 1} and train[0]["image"].mode == "RGB"
    assert len({m["id"] for m in train + dev}) == 48


def test_missing_files_say_what_to_download_and_where(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no Flickr8k parquet file at .*huggingface-cli download.*jxie/flickr8k"):
        rd.load_flickr_parquet(tmp_path / "test.parquet")
    with pytest.raises(FileNotFoundError, match=r"no train.jsonl at .*img/ folder.*hateful_memes"):
        rd.load_memes(tmp_path, "train")


def test_corrupt_parquet_and_missing_columns_are_named(tmp_path):
    bad = tmp_path / "test.parquet"
    bad.write_bytes(b"not a parquet file at all")
    with pytest.raises(ValueError, match="is not a readable parquet file"):
        rd.load_flickr_parquet(bad)
    pq.write_table(pa.table({"image": [b"x"], "caption": ["a dog"]}), bad)
    with pytest.raises(ValueError, match=r"expected columns image \(struct with bytes, path\).*found image \(binary\), "
                                         r"caption \(string\)"):
        rd.load_flickr_parquet(bad)


def test_unreadable_image_bytes_name_the_row(tmp_path):
    table = pq.read_table(rd.flickr_file(False)).slice(0, 2).to_pylist()
    table[1]["image"]["bytes"] = b"garbage"
    pq.write_table(pa.Table.from_pylist(table), tmp_path / "t.parquet")
    with pytest.raises(ValueError, match="row 1 holds no readable image bytes"):
        rd.load_flickr_parquet(tmp_path / "t.parquet")


def test_bad_jsonl_line_and_missing_image_are_named(tmp_path):
    root = tmp_path / "memes"
    shutil.copytree(rd.memes_root(False), root)
    lines = (root / "train.jsonl").read_text().splitlines()
    (root / "train.jsonl").write_text("\n".join(lines[:2] + ['{"id": 1, "text": "no image"}'] + lines[2:]) + "\n")
    with pytest.raises(ValueError, match=r"train.jsonl, line 3: expected a JSON object with keys id, img, label, text"):
        rd.load_memes(root, "train")
    (root / "train.jsonl").write_text("\n".join(lines) + "\n")
    (root / json.loads(lines[4])["img"]).unlink()
    with pytest.raises(FileNotFoundError, match=r"train.jsonl, line 5: image img/\d+.png not found"):
        rd.load_memes(root, "train")


@needs_torchvision
def test_transforms_give_224_crops_normalised_per_channel(flickr):
    x = rd.pixels([im for im, _ in flickr[:3]])
    assert x.shape == (3, 3, 224, 224) and x.dtype == torch.float32
    mean, std = (torch.tensor(v)[:, None, None] for v in rd.NORMS["imagenet"])
    raw = x * std + mean                                        # undo the normalisation: back in [0, 1]
    assert raw.min() >= -1e-5 and raw.max() <= 1 + 1e-5
    assert torch.allclose(rd.pixels([flickr[0][0]], "vit") * 0.5 + 0.5, raw[:1], atol=1e-5)


def test_offline_tokenizer_reads_the_fixture_vocabulary(flickr):
    tok = rd.make_tokenizer(download=False)
    assert tok.tokenize("There is a small RED circle .") == ["there", "is", "a", "small", "red", "circle", "."]
    ids, mask = rd.tokenize(tok, flickr[0][1])
    assert ids.shape == mask.shape and ids.shape[0] == 5
    assert (ids[:, 0] == tok.cls_token_id).all() and tok.unk_token_id not in ids[mask.bool()].tolist()


@needs_torchvision
def test_offline_encoders_are_the_real_architectures_frozen_and_pooled(flickr, monkeypatch):
    import transformers
    monkeypatch.setattr(transformers.BertModel, "from_pretrained", lambda *a, **k: pytest.fail("downloaded BERT"))
    tok = rd.make_tokenizer(False)
    enc = rd.make_encoders(False, vocab_size=len(tok))
    assert type(enc["bert"]).__name__ == "BertModel" and type(enc["vit"]).__name__ == "ViTModel"
    assert not any(p.requires_grad for m in enc.values() for p in m.parameters())
    images = [im for im, _ in flickr[:2]]
    assert rd.image_features(enc["resnet18"], rd.pixels(images)).shape == (2, 512)
    assert rd.image_features(enc["vit"], rd.pixels(images, "vit")).shape == (2, rd.SMALL_VIT["hidden_size"])
    ids, mask = rd.tokenize(tok, flickr[0][1])
    h = rd.text_features(enc["bert"], ids, mask)
    assert h.shape == (5, rd.SMALL_BERT["hidden_size"])
    padded = torch.cat([ids, torch.zeros(5, 3, dtype=ids.dtype)], 1), torch.cat([mask, torch.zeros(5, 3, dtype=mask.dtype)], 1)
    assert torch.allclose(rd.text_features(enc["bert"], *padded), h, atol=1e-5), "padding must not change the pooled feature"


def test_recall_both_ways_counts_identical_captions_as_right():
    z_img = torch.eye(2)
    z_txt = torch.tensor([[1.0, 0], [0, 1], [0, 1], [0.9, 0.1]])  # image 0: "a", "b"; image 1: "b", "c"
    r = rd.recall_both_ways(z_img, z_txt, ["a", "b", "b", "c"], ks=(1,))
    assert r["text -> image"][1] == pytest.approx(3 / 4)           # "b" -> image 1 is right; "c" -> image 0 is wrong
    assert r["image -> text"][1] == 1.0
    with pytest.raises(ValueError, match="C captions each"):
        rd.recall_both_ways(z_img, z_txt[:3], ["a", "b", "c"])


def test_fixture_maker_is_deterministic(tmp_path):
    a, b = rd.make_fixtures(tmp_path / "a"), rd.make_fixtures(tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and len(files) == 52
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    # the shipped files, by content (a parquet footer names the pyarrow version; PNG bytes depend on zlib)
    stale = "the shipped fixture is stale: run `python -m course_lib.real_data --make-fixtures`"
    for f in files:
        mine, shipped = a / f, rd.FIXTURES / f
        if f.suffix == ".parquet":
            assert pq.read_table(mine).drop(["image"]).equals(pq.read_table(shipped).drop(["image"])), stale
        elif f.suffix == ".png":
            assert (np.asarray(Image.open(mine)) == np.asarray(Image.open(shipped))).all(), stale
        else:
            assert mine.read_bytes() == shipped.read_bytes(), stale
    assert sum((a / f).stat().st_size for f in files) < 1_000_000


@needs_torchvision
def test_exercise_checks_catch_classic_wrong_answers(capsys):
    from course_lib.exercises.chB import check_captions_per_image, check_masked_mean, check_normalise
    with pytest.raises(AssertionError, match="reshape mean and std to"):
        check_normalise(lambda x, m, s: (x - torch.tensor(m)) / torch.tensor(s))
    with pytest.raises(AssertionError, match="padding is averaged in"):
        check_masked_mean(lambda h, mask: h.mean(1))
    with pytest.raises(AssertionError, match="one list per caption column"):
        check_captions_per_image(lambda t: [t.column(c).to_pylist() for c in rd.CAPTIONS])
    check_masked_mean(lambda h, mask: (_ for _ in ()).throw(NotImplementedError))
    assert "not attempted yet" in capsys.readouterr().out
