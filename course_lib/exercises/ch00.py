"""Checks for the exercises of notebooks/00_why_fuse.ipynb."""
import torch

from ..world import make_task
from . import exercise


def _ceiling(attr: torch.Tensor, label: torch.Tensor) -> float:
    """Reference: the best accuracy of any classifier that sees only `attr`."""
    joint = torch.zeros(int(attr.max()) + 1, int(label.max()) + 1, dtype=torch.long)
    joint.index_put_((attr, label), torch.ones(len(label), dtype=torch.long), accumulate=True)
    return joint.max(1).values.sum().item() / len(label)


@exercise
def check_chance_level(chance_level):
    """chance_level(labels) = accuracy of always predicting the most frequent class."""
    cases = [(torch.tensor([0, 0, 1]), 2 / 3), (torch.tensor([3, 3, 3, 3]), 1.0), (torch.tensor([0, 1, 2, 3]), 0.25)]
    for labels, want in cases:
        got = float(chance_level(labels))
        assert abs(got - want) < 1e-6, f"chance_level({labels.tolist()}) = {got:.3f}, expected {want:.3f}"
    data = make_task("redundant", 500, seed=0)
    assert abs(float(chance_level(data.label)) - data.chance) < 1e-6, "does not match WorldData.chance"


@exercise
def check_fusion_ceiling(fusion_ceiling):
    """fusion_ceiling(attr_a, attr_b, labels): the best accuracy of any model that sees both attributes."""
    a, b, y = torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0, 1, 0, 1, 1]), torch.tensor([0, 1, 1, 0, 1])
    got = float(fusion_ceiling(a, b, y))
    assert abs(got - 0.8) < 1e-6, f"on the 5-sample example expected 0.8 (pair (1,1) has labels 0 and 1), got {got:.3f}"
    for task, ka, kb in [("synergy", "c_img", "c_txt"), ("complementary", "b_img", "b_txt")]:
        data = make_task(task, 2000, seed=1)
        a, b = data.latents[ka], data.latents[kb]
        got, want = float(fusion_ceiling(a, b, data.label)), _ceiling(a * (int(b.max()) + 1) + b, data.label)
        assert abs(got - want) < 1e-6, f"{task}: got {got:.3f}, expected {want:.3f} (count each (a, b) pair)"


@exercise
def check_synergy_labels(synergy_labels):
    """synergy_labels(b_img, b_txt) -> labels that neither bit predicts alone but both together determine."""
    g = torch.Generator().manual_seed(0)
    b_img, b_txt = torch.randint(0, 2, (4000,), generator=g), torch.randint(0, 2, (4000,), generator=g)
    y = torch.as_tensor(synergy_labels(b_img, b_txt)).long()
    assert y.shape == b_img.shape, f"expected one label per sample, shape {tuple(b_img.shape)}, got {tuple(y.shape)}"
    both = b_img * 2 + b_txt
    assert _ceiling(both, y) > 0.999, "the two bits together must determine the label"
    assert len(torch.unique(y)) == 2, "use two classes"
    for name, bit in [("b_img", b_img), ("b_txt", b_txt)]:
        assert _ceiling(bit, y) < 0.53, f"{name} alone predicts your label: it is not synergy"
