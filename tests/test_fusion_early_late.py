"""course_lib.fusion.early_late: generated from notebooks/01_early_late_hybrid.ipynb (drift: tests/test_export.py)."""
import pytest
import torch
import torch.nn as nn

from course_lib.fusion.early_late import BagPool, Concat, DataLevel, DecisionLevel, LateFusion, WeightedSum
from course_lib.models import FusionClassifier
from course_lib.world import VOCAB, make_task

torch.manual_seed(0)
A, B = torch.randn(5, 8), torch.randn(5, 8)


def test_concat_shapes_and_errors():
    assert torch.equal(Concat([8, 8])(A, B), torch.cat([A, B], 1)) and Concat([8, 3]).out_dim == 11
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        Concat([8, 8])(A, B[:3])
    with pytest.raises(ValueError, match="feature sizes"):
        Concat([8, 4])(A, B)
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        Concat([8, 8])(A[None], B)


def test_weighted_sum_formula_scale_invariance_and_weights():
    ws = WeightedSum(8, weights=[0.3, 0.7])
    norm = nn.LayerNorm(8, elementwise_affine=False)
    assert torch.allclose(ws(A, B), 0.3 * norm(A) + 0.7 * norm(B), atol=1e-6)
    assert torch.allclose(ws(10 * A, B), ws(A, B), atol=1e-4), "a rescaled encoder must not undo the weights"
    learned = WeightedSum(8, n_modalities=3)
    assert torch.allclose(learned.weights.sum(), torch.tensor(1.0)) and learned.alpha.requires_grad
    with pytest.raises(ValueError, match="expected 2 weights"):
        WeightedSum(8, weights=[1.0])
    with pytest.raises(ValueError, match="feature sizes"):
        learned(A, B, torch.randn(5, 4))


def test_late_fusion_mean_and_vote():
    logits = [torch.randn(4, 3) for _ in range(3)]
    mean = torch.stack([l.softmax(-1) for l in logits]).mean(0)
    assert torch.allclose(LateFusion("mean")(*logits).exp(), mean, atol=1e-6)
    votes = LateFusion("vote")(torch.tensor([[3.0, 0, 0]]), torch.tensor([[2.0, 0, 0]]), torch.tensor([[0, 0, 9.0]]))
    assert votes.argmax().item() == 0, "two votes beat one confident vote"
    tie = LateFusion("vote")(torch.tensor([[2.0, 0, 0]]), torch.tensor([[0, 0, 1.0]]))
    assert tie.argmax().item() == 0, "a tie goes to the higher mean probability"
    with pytest.raises(ValueError, match="unknown rule"):
        LateFusion("max")


def test_late_fusion_needs_one_class_count():
    # unchecked, torch.stack failed with "stack expects each tensor to be equal size"
    with pytest.raises(ValueError, match=r"same number of classes C, got C = \[4, 3\]"):
        LateFusion("mean")(torch.randn(5, 4), torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"got C = \[2, 2, 5\]"):
        DecisionLevel([nn.Linear(8, 2), nn.Linear(8, 2), nn.Linear(8, 5)], rule="vote")(A)


def test_decision_level_combines_trained_models():
    data = make_task("redundant", 6, seed=0).tensors()
    one, two = FusionClassifier(Concat([64, 64]), 4), FusionClassifier(Concat([64, 64]), 4)
    fused = DecisionLevel([one, two])(data)
    assert torch.allclose(fused.exp(), (one(data).softmax(-1) + two(data).softmax(-1)) / 2, atol=1e-6)


def test_bag_pool_ignores_padding():
    h = torch.randn(3, 4, 8)
    mask = torch.tensor([[1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    poisoned = h.masked_fill(~mask[..., None], 1e4)
    for i in range(3):
        real = h[i][mask[i]]
        assert torch.allclose(BagPool("max")(poisoned, mask)[i], real.max(0).values)
        assert torch.allclose(BagPool("mean")(poisoned, mask)[i], real.mean(0), atol=1e-6)
    with pytest.raises(ValueError, match="at least one real item"):
        BagPool("max")(h, torch.zeros(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\(B, K, D\)"):
        BagPool("mean")(h, mask[:, :2])
    with pytest.raises(ValueError, match="unknown pooling"):
        BagPool("sum")


@pytest.mark.parametrize("mode", BagPool.MODES)
def test_bag_pool_refuses_a_float_mask(mode):
    # unchecked, a float mask made "mean" silently weigh the items, and "max" fail in `~mask`
    with pytest.raises(TypeError, match=r"mask must be bool \(True on real items\), got torch.float32"):
        BagPool(mode)(torch.randn(3, 4, 8), torch.ones(3, 4))


def test_linear_head_on_concat_is_additive_across_modalities():
    """Section 2 of chapter 01: logit(img, txt) = s(img) + t(txt), so the 'interaction' contrast is exactly 0."""
    torch.manual_seed(0)
    data = make_task("synergy", 2, seed=0).tensors()
    swap = {k: v.flip(0) if k.startswith("text") else v for k, v in data.items()}   # pair image i with text 1-i
    for head, additive in [("linear", True), ("mlp", False)]:
        model = FusionClassifier(Concat([64, 64]), 2, head=head)
        same, crossed = model(data), model(swap)
        contrast = same[0] + same[1] - crossed[0] - crossed[1]   # f(i0,t0)+f(i1,t1)-f(i0,t1)-f(i1,t0)
        assert torch.allclose(contrast, torch.zeros(2), atol=1e-5) == additive, head


def test_fusion_classifier_heads_and_bag_errors():
    data = make_task("bag", 4, seed=0, k_max=5).tensors()
    with pytest.raises(ValueError, match="no bag_pool"):
        FusionClassifier(Concat([64, 64]), 2)(data)
    assert FusionClassifier(Concat([64, 64]), 2, head="mlp", bag_pool=BagPool("max"))(data).shape == (4, 2)
    with pytest.raises(ValueError, match="unknown head"):
        FusionClassifier(Concat([64, 64]), 2, head="deep")


def test_data_level_joins_pixels_and_word_counts_and_ignores_padding():
    batch = make_task("complementary", 3, seed=0).tensors()
    model = DataLevel(4)
    joined = model.join(batch)
    assert joined.shape == (3, 3 * 32 * 32 + len(VOCAB)) and model(batch).shape == (3, 4)
    assert torch.equal(joined[:, :3072], batch["image"].flatten(1))
    for row, (ids, real) in enumerate(zip(batch["text"], batch["text_mask"])):
        assert torch.equal(joined[row, 3072:], torch.bincount(ids[real], minlength=len(VOCAB)).float())
    padded = dict(batch, text=torch.where(batch["text_mask"], batch["text"], torch.full_like(batch["text"], 7)))
    assert torch.equal(model.join(padded), joined), "what stands at padded positions must not count"


def test_data_level_names_a_mismatched_batch():
    batch = make_task("complementary", 3, seed=0).tensors()
    with pytest.raises(ValueError, match="one sentence"):
        DataLevel(4)(dict(batch, text=batch["text"][:2], text_mask=batch["text_mask"][:2]))
    with pytest.raises(ValueError, match="images of 100 values"):
        DataLevel(4, n_pixels=100)(batch)
