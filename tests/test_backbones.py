"""backbones: the pretrained cell tagger, and freezing its cells under a model; world.cell_attributes."""
import pytest
import torch

from course_lib.backbones import CellTagger, freeze_cells, pretrain_cells
from course_lib.fusion.early_late import Concat
from course_lib.models import FusionClassifier
from course_lib.world import SHAPES, cell_attributes, make_task, object_cells


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
