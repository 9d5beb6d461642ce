"""backbones: the cell tagger and freezing its cells; the small BERT and ViT (pretraining, saving, the shipped ones)."""
import subprocess
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from transformers import BertForMaskedLM

from course_lib import backbones
from course_lib.backbones import (BACKBONES, NEW_BACKBONES, CellTagger, PatchTagger, cell_accuracy, freeze_cells,
                                  image_config, load_cell_tagger, load_image_backbone, load_image_tagger,
                                  load_text_backbone, load_text_mlm, mask_tokens, mlm_accuracy, pretrain_cells,
                                  pretrain_image, pretrain_text, save_backbones, save_folder, text_config,
                                  world_sentences)
from course_lib.fusion.early_late import Concat
from course_lib.models import FusionClassifier
from course_lib.world import SHAPES, TASKS, VOCAB, cell_attributes, make_task, object_cells


def test_cell_attributes_mark_each_objects_cells():
    data = make_task("qa", 5, seed=0)
    attrs = cell_attributes(data)
    assert attrs.shape == (5, 16, 8)
    for i in range(5):
        want = torch.zeros(16, 8)
        for o in data.meta[i]["objects"]:
            cells = torch.from_numpy(object_cells(o).ravel())
            want[cells, o["shape_id"]] = 1
            want[cells, len(SHAPES) + o["colour_id"]] = 1
        assert torch.equal(attrs[i], want)
    assert ((attrs.sum(-1) == 0).sum(-1) > 0).all(), "every scene has background cells"


def test_cell_attributes_reject_bags():
    with pytest.raises(ValueError, match="bags"):
        cell_attributes(make_task("bag", 4, seed=0))


def test_pretraining_learns_and_is_deterministic():
    data = make_task("qa", 256, seed=0)
    tagger, losses = pretrain_cells(data, epochs=3, show=False, device=torch.device("cpu"))
    again, losses_again = pretrain_cells(data, epochs=3, show=False, device=torch.device("cpu"))
    assert isinstance(tagger, CellTagger) and len(losses) == 3
    assert losses[-1] < losses[0], f"the tagging loss should fall: {losses}"
    assert losses == losses_again
    assert all(torch.equal(a, b) for a, b in zip(tagger.state_dict().values(), again.state_dict().values()))
    assert tagger(data.tensors()["image"][:2]).shape == (2, 16, 8)
    with pytest.raises(ValueError, match="epochs"):
        pretrain_cells(data, epochs=0)


def test_freeze_cells_copies_and_freezes_only_the_cells():
    tagger = CellTagger()
    model = freeze_cells(FusionClassifier(Concat([64, 64]), 6), tagger.encoder)
    image = model.encoders["image"]
    assert all(torch.equal(a, b) for a, b in zip(image.net.state_dict().values(),
                                                 tagger.encoder.net.state_dict().values()))
    assert not any(p.requires_grad for p in image.net.parameters())
    assert all(p.requires_grad for p in image.proj.parameters())
    assert all(p.requires_grad for p in model.encoders["text"].parameters())
    with pytest.raises(ValueError, match="image encoder"):
        freeze_cells(FusionClassifier(Concat([64]), 6, modalities=("text",)), tagger.encoder)


# ---- the small BERT and ViT

TINY = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def corpus():
    return world_sentences(30, seed=0)


def test_world_sentences_cover_every_task(corpus):
    assert corpus["text"].shape == corpus["text_mask"].shape and len(corpus["text"]) == 30 * len(TASKS)
    assert torch.equal(corpus["text"] != VOCAB.pad_id, corpus["text_mask"])
    assert (corpus["text"][:, 0] == VOCAB.cls_id).all()


def test_mask_tokens_follows_bert():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(VOCAB.n_special, len(VOCAB), (4000, 12), generator=g)
    ids[:, 0], ids[:, -1], ids[:, -3:-1] = VOCAB.cls_id, VOCAB.sep_id, VOCAB.pad_id
    inputs, labels = mask_tokens(ids, p=0.2, generator=g)
    chosen = labels != -100
    assert torch.equal(labels[chosen], ids[chosen]) and not chosen[ids < VOCAB.n_special].any()
    assert torch.equal(inputs[~chosen], ids[~chosen])                        # what is not chosen stays as it was
    words = ids >= VOCAB.n_special
    assert abs(chosen.sum() / words.sum() - 0.2) < 0.01
    assert abs((inputs[chosen] == VOCAB.mask_id).float().mean() - 0.8) < 0.02
    same_seed = [mask_tokens(ids, 0.2, torch.Generator().manual_seed(5)) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(*same_seed))


def test_text_pretraining_learns_and_is_deterministic(corpus):
    model, losses = pretrain_text(corpus, 3, text_config(**TINY), lr=3e-3, show=False, device=CPU)
    again, losses_again = pretrain_text(corpus, 3, text_config(**TINY), lr=3e-3, show=False, device=CPU)
    assert isinstance(model, BertForMaskedLM) and model.config.hidden_size == 16
    assert losses[-1] < losses[0] and losses == losses_again
    assert mlm_accuracy(model, corpus) == mlm_accuracy(again, corpus)


def test_patch_tagger_cells_are_row_major_2x2_blocks():
    """Cell c averages the four patches of its 8x8-pixel block, numbered as `world.object_cells` numbers cells."""
    tagger = PatchTagger(image_config(**TINY), n_attributes=1)
    index = torch.arange(65.0).view(1, 65, 1) - 1                          # token 0 is [CLS]; patch t holds t

    class PatchIndex(nn.Module):
        def forward(self, pixel_values):
            return SimpleNamespace(last_hidden_state=index.expand(len(pixel_values), -1, -1))

    tagger.vit = PatchIndex()
    tagger.head = nn.Identity()
    cells = tagger(torch.zeros(2, 3, 32, 32))[0, :, 0]
    assert cells.shape == (16,)
    assert cells[0] == (0 + 1 + 8 + 9) / 4 and cells[5] == (18 + 19 + 26 + 27) / 4 and cells[15] == (54 + 55 + 62 + 63) / 4


def test_image_pretraining_learns(tmp_path):
    data = make_task("qa", 128, seed=0)
    tagger, losses = pretrain_image(data, 3, image_config(**TINY), lr=3e-3, show=False, device=CPU)
    assert tagger(data.tensors()["image"][:2]).shape == (2, 16, 8) and losses[-1] < losses[0]


def test_save_and_load_round_trip(corpus, tmp_path, monkeypatch):
    mlm, _ = pretrain_text(corpus, 1, text_config(**TINY), show=False, device=CPU)
    data = make_task("qa", 32, seed=0)
    tagger, _ = pretrain_image(data, 1, image_config(**TINY), show=False, device=CPU)
    cells, _ = pretrain_cells(data, 1, d=16, show=False, device=CPU)
    monkeypatch.delenv("COURSE_REPLACE_BACKBONES", raising=False)
    monkeypatch.setattr(backbones, "NEW_BACKBONES", tmp_path)            # the default folder, out of the repository
    assert save_backbones(mlm, tagger, cells) == tmp_path
    assert mlm_accuracy(load_text_mlm(tmp_path / "text"), corpus) == mlm_accuracy(mlm, corpus)
    assert cell_accuracy(load_image_tagger(tmp_path / "image"), data) == cell_accuracy(tagger, data)
    loaded = load_cell_tagger(tmp_path / "cells")
    assert loaded.encoder.d == 16 and all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(),
                                                                            cells.state_dict().values()))
    bert, vit = load_text_backbone(tmp_path / "text"), load_image_backbone(tmp_path / "image")
    assert torch.equal(bert.embeddings.word_embeddings.weight, mlm.bert.embeddings.word_embeddings.weight)
    assert bert.pooler is None and vit.pooler is None


def test_a_new_run_writes_an_ignored_folder_unless_asked_to_replace_the_shipped_one(monkeypatch):
    monkeypatch.delenv("COURSE_REPLACE_BACKBONES", raising=False)
    assert save_folder() == NEW_BACKBONES != BACKBONES
    ignored = subprocess.run(["git", "check-ignore", "-q", str(NEW_BACKBONES / "text" / "model.safetensors")],
                             cwd=BACKBONES.parents[1])
    assert ignored.returncode == 0, "data/backbones_new/ must be ignored by git"
    monkeypatch.setenv("COURSE_REPLACE_BACKBONES", "1")
    assert save_folder() == BACKBONES


def test_missing_backbone_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="A_pretraining_backbones"):
        load_text_backbone(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="cells"):
        load_cell_tagger(tmp_path / "nowhere")


def test_the_shipped_backbones_load_and_beat_untrained_copies():
    """data/backbones/ holds what appendix A trained: the configured sizes, and better than untrained at its task."""
    bert, vit = load_text_backbone(), load_image_backbone()
    for model, config in ((bert, text_config()), (vit, image_config())):
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
            assert getattr(model.config, key) == getattr(config, key), key
    assert all(f.stat().st_size < 20 * 2**20 for f in BACKBONES.rglob("*.safetensors"))  # a few MB each
    held_out, pictures = world_sentences(40, seed=123), make_task("qa", 200, seed=123)
    torch.manual_seed(0)
    untrained_mlm, untrained_tagger = BertForMaskedLM(text_config()), PatchTagger()
    text = (mlm_accuracy(load_text_mlm(), held_out), mlm_accuracy(untrained_mlm, held_out))
    image = (cell_accuracy(load_image_tagger(), pictures), cell_accuracy(untrained_tagger, pictures))
    torch.manual_seed(0)
    cnn = (cell_accuracy(load_cell_tagger(), pictures), cell_accuracy(CellTagger(), pictures))
    print(f"MLM accuracy shipped {text[0]:.1%} vs untrained {text[1]:.1%}; cell accuracy shipped ViT "
          f"{image[0]:.1%} vs untrained {image[1]:.1%}, cell CNN {cnn[0]:.1%} vs untrained {cnn[1]:.1%}")
    assert text[0] > text[1] + 0.3 and image[0] > image[1] + 0.1 and cnn[0] > cnn[1] + 0.1
    assert load_cell_tagger().encoder.d == 64


def test_the_text_backbone_loads_with_config_overrides():
    eager = load_text_backbone(attn_implementation="eager", hidden_dropout_prob=0.0)
    assert eager.config.hidden_dropout_prob == 0.0
    out = eager(input_ids=torch.tensor([[VOCAB.cls_id, VOCAB.words.index("red"), VOCAB.sep_id]]), output_attentions=True)
    assert out.attentions[0].shape == (1, eager.config.num_attention_heads, 3, 3)
    assert torch.equal(eager.embeddings.word_embeddings.weight, load_text_backbone().embeddings.word_embeddings.weight)
