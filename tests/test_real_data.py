"""Appendix B's real-data path on the shipped fixture: loaders, clear errors, preprocessing, encoders, no network."""
import copy
import json
import shutil
import socket

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

# `make colab-test`'s venv has no torchvision (.ci/colab-versions.txt says why): this file runs in `make test`'s venv
pytest.importorskip("torchvision", reason="no torchvision in this venv (make colab-test): appendix B's tests need it")

from course_lib import real_data as rd  # noqa: E402
from course_lib.fusion.mmbt import MMBT
from course_lib.fusion.pmf import PMF
from course_lib.world import VOCAB
from course_lib.exercises.chB import (check_captions_per_image, check_leaked_share, check_normalise,
                                      check_pairwise_auroc)


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


def test_memes_fixture_loads_the_splits_the_appendix_uses_complete():
    root = rd.memes_root(False)
    train, test = (rd.load_memes(root, split) for split in rd.MEME_SPLITS)
    assert (train.name, test.name) == ("train", "test_seen") and (len(train.rows), len(test.rows)) == (32, 16)
    assert train.skipped == test.skipped == [] and test.skipped_share == 0
    assert test.report() == "test_seen: 16 of 16 memes loaded, none skipped"
    assert {m["label"] for m in train.rows} == {0, 1} and train.rows[0]["image"].mode == "RGB"
    assert len({m["id"] for m in train.rows + test.rows}) == 48


def test_missing_files_say_what_to_download_and_where(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no Flickr8k parquet file at .*huggingface-cli download.*jxie/flickr8k"):
        rd.load_flickr_parquet(tmp_path / "test.parquet")
    with pytest.raises(FileNotFoundError, match=r"no train.jsonl at .*test_seen.jsonl and the img/ folder.*hateful_memes"):
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


def test_a_bad_jsonl_line_is_named(tmp_path):
    root = tmp_path / "memes"
    shutil.copytree(rd.memes_root(False), root)
    lines = (root / "train.jsonl").read_text().splitlines()
    (root / "train.jsonl").write_text("\n".join(lines[:2] + ['{"id": 1, "text": "no image"}'] + lines[2:]) + "\n")
    with pytest.raises(ValueError, match=r"train.jsonl, line 3: expected a JSON object with keys id, img, label, text"):
        rd.load_memes(root, "train")


def test_missing_and_unreadable_images_are_skipped_and_counted(tmp_path):
    """Hateful Memes has lost images for good: each one skips its line, counted by reason, never fatal."""
    root = tmp_path / "memes"
    shutil.copytree(rd.memes_root(False), root)
    image = lambda n: root / json.loads((root / "train.jsonl").read_text().splitlines()[n - 1])["img"]
    image(5).unlink()
    image(7).write_bytes(b"not a png")
    image(9).write_bytes(image(9).read_bytes()[:200])                 # cut short: the header reads, the pixels do not
    split = rd.load_memes(root, "train")
    assert [(n, why) for n, _, why in split.skipped] == [(5, "missing"), (7, "unreadable"), (9, "unreadable")]
    assert len(split.rows) == 29 and split.skipped_share == pytest.approx(3 / 32)
    assert split.report() == (f"train: 29 of 32 memes loaded; 3 skipped (9.4%; image missing: 1, unreadable: 2; "
                              f"first: line 5, {split.skipped[0][1]})")
    assert all(r["id"] != int(image(5).stem) for r in split.rows)


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


@pytest.fixture(scope="module")
def encoders():
    import transformers
    with pytest.MonkeyPatch.context() as mp:
        for cls in (transformers.BertModel, transformers.ViTModel):
            mp.setattr(cls, "from_pretrained", lambda *a, **k: pytest.fail("downloaded a checkpoint"))
        tok = rd.make_tokenizer(False)
        return tok, rd.make_encoders(False, vocab_size=len(tok))


def test_offline_encoders_are_the_real_architectures_frozen_and_pooled(flickr, encoders):
    import transformers
    tok, enc = encoders
    assert type(enc["bert"]).__name__ == "BertModel" and type(enc["vit"]).__name__ == "ViTModel"
    assert enc["bert"].config.num_hidden_layers == enc["vit"].config.num_hidden_layers, "PMF pairs them layer by layer"
    assert not any(p.requires_grad for m in enc.values() for p in m.parameters())
    torch.manual_seed(0)                       # each encoder from the seed itself: the ViT's size leaves BERT alone
    bert = transformers.BertModel(transformers.BertConfig(vocab_size=len(tok), **rd.SMALL_BERT))
    assert all(torch.equal(a, b) for a, b in zip(bert.state_dict().values(), enc["bert"].state_dict().values()))
    images = [im for im, _ in flickr[:3]]
    assert rd.image_features(enc["resnet18"], images, "imagenet").shape == (3, 512)
    d_vit = rd.SMALL_VIT["hidden_size"]
    assert rd.image_features(enc["vit"], images, "vit").shape == (3, d_vit)
    assert rd.image_features(enc["vit"], images, "vit", cells=True).shape == (3, d_vit, *rd.CELLS)
    with pytest.raises(ValueError, match="needs a ViTModel"):
        rd.image_features(enc["resnet18"], images, "imagenet", cells=True)
    ids, mask = rd.tokenize(tok, flickr[0][1])
    h = rd.text_features(enc["bert"], ids, mask)
    assert h.shape == (5, rd.SMALL_BERT["hidden_size"])
    padded = torch.cat([ids, torch.zeros(5, 3, dtype=ids.dtype)], 1), torch.cat([mask, torch.zeros(5, 3, dtype=mask.dtype)], 1)
    assert torch.allclose(rd.text_features(enc["bert"], *padded), h, atol=1e-5), "padding must not change the pooled feature"


def test_features_are_batched_on_the_device_with_a_progress_bar(flickr, encoders, monkeypatch):
    tok, enc = encoders
    bars = []
    real_progress = rd.features.progress
    monkeypatch.setattr(rd.features, "progress", lambda it, **kw: bars.append(kw["desc"]) or real_progress(it, **kw))
    images = [im for im, _ in flickr[:5]]
    one_batch = rd.image_features(enc["vit"], images, "vit", device=torch.device("cpu"))
    assert torch.allclose(rd.image_features(enc["vit"], images, "vit", batch_size=2), one_batch, atol=1e-5)
    ids, mask = rd.tokenize(tok, flickr[0][1])
    h = rd.text_features(enc["bert"], ids, mask, batch_size=2)
    assert h.device.type == "cpu" and torch.allclose(h, rd.text_features(enc["bert"], ids, mask), atol=1e-5)
    assert bars == ["image features"] * 2 + ["text features"] * 2


def test_token_tensors_start_with_the_tokenizers_cls():
    tok = rd.make_tokenizer(False)
    rows = rd.load_memes(rd.memes_root(False), "test_seen").rows[:4]
    t = rd.token_tensors(tok, rows)
    assert t["text_mask"].dtype == torch.bool and t["text"].shape == t["text_mask"].shape
    assert (t["text"][:, 0] == tok.cls_token_id).all() and t["label"].tolist() == [r["label"] for r in rows]
    assert tok.cls_token_id != VOCAB.cls_id, "the fixture's tokenizer must number [CLS] unlike the world, or no test sees the difference"


def test_mmbt_and_pmf_run_on_bert_and_vit_with_the_tokenizers_special_ids(encoders):
    tok, enc = encoders
    rows = rd.load_memes(rd.memes_root(False), "test_seen").rows[:4]
    images = [r["image"] for r in rows]
    text = rd.token_tensors(tok, rows)
    cells = rd.image_features(enc["vit"], images, "vit", cells=True)
    torch.manual_seed(0)
    bert = copy.deepcopy(enc["bert"]).requires_grad_(True)
    mmbt = MMBT(bert, rd.PrecomputedCells(cells.shape[1]), 2, n_tokens=3, cls_id=tok.cls_token_id,
                sep_id=tok.sep_token_id).eval()
    batch = {**text, "image": cells}
    inputs = mmbt.inputs(batch)
    words = bert.embeddings.word_embeddings.weight
    assert torch.equal(inputs["inputs_embeds"][:, 0], words[tok.cls_token_id].expand(4, -1))
    assert torch.equal(inputs["inputs_embeds"][:, 4], words[tok.sep_token_id].expand(4, -1))
    assert mmbt(batch).shape == (4, 2)
    with pytest.raises(ValueError, match=rf"text row 0 of the batch starts with id {tok.cls_token_id}, not \[CLS\]"):
        MMBT(bert, rd.PrecomputedCells(cells.shape[1]), 2)(batch)       # the world's ids on this tokenizer's text
    L = enc["bert"].config.num_hidden_layers
    pmf = PMF(enc["bert"], enc["vit"], 2, fusion_layer=L - 2, qp=4, qcp=4, fcp=4)
    pmf_batch = {**text, "image": rd.pixels(images, "vit")}
    assert pmf(pmf_batch).shape == (4, 2) and 0 < pmf.trainable_share() < 0.1
    scores = rd.binary_scores(pmf, {**pmf_batch, "label": torch.tensor([0, 1, 0, 1])}, batch_size=2)
    assert set(scores) == {"accuracy", "AUROC"} and all(0 <= v <= 1 for v in scores.values())


def test_binary_scores_are_accuracy_and_auroc_of_the_logit_difference():
    class Fixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, batch):
            return torch.stack([torch.zeros(len(batch["x"])), batch["x"]], 1)      # logit_1 - logit_0 = x

    data = {"x": torch.tensor([0.5, 0.5, -0.2, 0.9]), "label": torch.tensor([1, 0, 0, 1])}
    assert rd.binary_scores(Fixed(), data) == {"accuracy": 0.75, "AUROC": pytest.approx(0.875)}


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


def test_exercise_checks_catch_classic_wrong_answers(capsys):
    with pytest.raises(AssertionError, match="reshape mean and std to"):
        check_normalise(lambda x, m, s: (x - torch.tensor(m)) / torch.tensor(s))
    with pytest.raises(AssertionError, match="ANY of its other captions"):
        check_leaked_share(lambda k, q: 1 - q)
    with pytest.raises(AssertionError, match="only its k - 1 other captions"):
        check_leaked_share(lambda k, q: 1 - q ** k)
    with pytest.raises(AssertionError, match="one list per caption column"):
        check_captions_per_image(lambda t: [t.column(c).to_pylist() for c in rd.CAPTIONS])
    pairs = lambda s, y: (s[y == 1][:, None] - s[y == 0][None])                     # (positives, negatives)
    with pytest.raises(AssertionError, match="count 0 here"):
        check_pairwise_auroc(lambda s, y: (pairs(s, y) > 0).float().mean())
    with pytest.raises(AssertionError, match="count 1 here"):
        check_pairwise_auroc(lambda s, y: (pairs(s, y) >= 0).float().mean())
    with pytest.raises(AssertionError, match="a negative scores above a positive"):
        check_pairwise_auroc(lambda s, y: 1 - ((pairs(s, y) > 0) + 0.5 * (pairs(s, y) == 0)).float().mean())
    check_leaked_share(lambda k, q: (_ for _ in ()).throw(NotImplementedError))
    assert "not attempted yet" in capsys.readouterr().out
    check_pairwise_auroc(lambda s, y: ((pairs(s, y) > 0) + 0.5 * (pairs(s, y) == 0)).float().mean())
    check_leaked_share(lambda k, q: 1 - q ** (k - 1))
    assert capsys.readouterr().out.count("correct!") == 2
