"""Chapter 07's coordinated space: the dual encoder, both contrastive losses, retrieval scoring, CCA, ITM, and the
captioner (fusion/coordinated.py and fusion/translation.py, exported from the chapter)."""
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.fusion.coordinated import (MAX_SCALE, DualEncoder, Matcher, clip_loss, fit_cca, retrieval,
                                           seed_loss)
from course_lib.fusion.translation import Captioner, caption_loss
from course_lib.world import VOCAB, make_task


@pytest.fixture(scope="module")
def batch():
    return make_task("pairs", 6, seed=0, captions=1, p_negative=0.0).tensors()


def test_dual_encoder_gives_unit_embeddings_and_square_logits(batch):
    torch.manual_seed(0)
    model = DualEncoder(d=32, d_embed=16)
    z_img, z_txt = model.embed(batch)
    assert z_img.shape == z_txt.shape == (6, 16)
    assert torch.allclose(z_img.norm(dim=-1), torch.ones(6)) and torch.allclose(z_txt.norm(dim=-1), torch.ones(6))
    logits = model(batch)
    assert logits.shape == (6, 6) and torch.allclose(logits, model.scale * z_img @ z_txt.T)


def test_temperature_is_learned_clamped_or_frozen(batch):
    model = DualEncoder(d=32, temperature=0.07)
    assert math.isclose(model.scale.item(), 1 / 0.07, rel_tol=1e-5)
    clip_loss(model(batch)).backward()
    assert model.log_scale.grad is not None
    with torch.no_grad():
        model.log_scale.fill_(10.0)
    assert model.scale.item() == MAX_SCALE
    assert not DualEncoder(d=32, learn_temperature=False).log_scale.requires_grad


def _naive(s, both_ways, keep_positive):
    def one_way(m):
        return sum(-m[i, i] + torch.logsumexp(torch.stack([m[i, j] for j in range(len(m)) if keep_positive or j != i]), 0)
                   for i in range(len(m))) / len(m)
    return (one_way(s) + one_way(s.T)) / 2 if both_ways else one_way(s)


def test_losses_equal_their_formulas_term_by_term():
    s = torch.randn(5, 5, generator=torch.Generator().manual_seed(0)) * 3
    assert torch.isclose(clip_loss(s), _naive(s, both_ways=True, keep_positive=True), atol=1e-5)
    assert torch.isclose(seed_loss(s), _naive(s, both_ways=False, keep_positive=False), atol=1e-5)
    assert not torch.isclose(clip_loss(s), clip_loss(s + torch.randn(5, 1) * 5))   # rows and columns both count


def test_seed_loss_has_no_lower_bound_and_clip_loss_does():
    cos = torch.full((8, 8), 0.2) + 0.6 * torch.eye(8)
    clip = [clip_loss(k * cos).item() for k in (1, 10, 100, 1000)]
    seed = [seed_loss(k * cos).item() for k in (1, 10, 100, 1000)]
    assert all(c >= 0 for c in clip) and clip[-1] < 1e-6
    assert all(a > b for a, b in zip(seed, seed[1:])) and seed[-1] < -500


@pytest.mark.parametrize("loss", [clip_loss, seed_loss])
def test_losses_reject_what_is_not_a_batch_of_pairs(loss):
    for bad in (torch.zeros(3, 4), torch.zeros(1, 1), torch.zeros(4)):
        with pytest.raises(ValueError, match="square"):
            loss(bad)


def test_retrieval_counts_every_picture_a_caption_describes():
    captions = torch.tensor([[5, 6], [7, 8], [5, 6], [9, 9]])           # A B A C
    z_img = F.normalize(torch.tensor([[1.0, 0, 0], [0, 1, 0], [1, 0.1, 0], [0, 1, -0.3]]), dim=-1)
    z_txt = F.normalize(torch.tensor([[1.0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0.9, 0.2]]), dim=-1)
    out = retrieval(z_img, z_txt, captions, ks=(1, 2, 5))
    assert out["text -> image"] == pytest.approx({1: 2 / 3, 2: 1.0})    # k = 5 > 4 pictures is left out
    assert out["image -> text"] == pytest.approx({1: 3 / 4, 2: 1.0})    # ... and > 3 distinct captions
    # the picture's own row is not the only right answer: caption A's best is picture 3, which A also describes
    z_img2 = torch.stack([z_img[1], z_img[1], z_img[0], z_img[3]])
    assert retrieval(z_img2, z_txt, captions, ks=(1,))["text -> image"][1] == pytest.approx(2 / 3)


def test_retrieval_rejects_rows_that_do_not_line_up():
    with pytest.raises(ValueError, match="same N"):
        retrieval(torch.zeros(4, 3), torch.zeros(3, 3), torch.zeros(4, 2, dtype=torch.long))


def _views(n=20000, seed=0):
    g = torch.Generator().manual_seed(seed)
    shared = torch.randn(n, 2, generator=g, dtype=torch.float64)
    r = torch.tensor([0.8, 0.4], dtype=torch.float64)
    X = torch.cat([shared, torch.randn(n, 2, generator=g, dtype=torch.float64)], 1)
    Y = torch.cat([r * shared + (1 - r**2).sqrt() * torch.randn(n, 2, generator=g, dtype=torch.float64),
                   torch.randn(n, 1, generator=g, dtype=torch.float64)], 1)
    return X, Y


def test_cca_finds_known_correlations_with_uncorrelated_unit_projections():
    X, Y = _views()
    cca = fit_cca(X, Y, k=3, reg=0.0)
    assert cca.rho[:2] == pytest.approx([0.8, 0.4], abs=0.02) and cca.rho[2] < 0.03
    u, v = cca.project_x(X), cca.project_y(Y)
    assert torch.allclose(torch.cov(u.T), torch.eye(3, dtype=u.dtype), atol=1e-6)        # whitened
    cross = (u - u.mean(0)).T @ (v - v.mean(0)) / (len(u) - 1)
    assert torch.allclose(cross, torch.diag(cca.rho), atol=1e-6)                         # diagonal = rho


def test_cca_is_blind_to_invertible_linear_maps_of_a_view():
    X, Y = _views(5000, seed=1)
    mix = torch.randn(4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(fit_cca(X, Y, 2, reg=0.0).rho, fit_cca(X @ mix + 3.0, Y, 2, reg=0.0).rho, atol=1e-8)


def test_cca_bad_input():
    X, Y = _views(100)
    with pytest.raises(ValueError, match="same N"):
        fit_cca(X, Y[:50], 2)
    with pytest.raises(ValueError, match="k must be"):
        fit_cca(X, Y, 4)                                                  # Y has only 3 features


def test_matcher_scores_pairs_and_trains_the_encoders(batch):
    torch.manual_seed(0)
    matcher = Matcher(DualEncoder(d=32, d_embed=16))
    logits = matcher(batch)
    assert logits.shape == (6, 2)
    F.cross_entropy(logits, batch["label"]).backward()
    assert matcher.dual.encoders["image"].net[0].weight.grad is not None


def test_captioner_teacher_forcing_padding_and_greedy_decoding():
    data = make_task("redundant", 4, seed=1).tensors()
    torch.manual_seed(0)
    model = Captioner(d=32)
    logits = model(data)
    assert logits.shape == (4, data["text"].shape[1] - 1, len(VOCAB))
    padded = dict(data, text=data["text"].masked_fill(~data["text_mask"], VOCAB.cls_id))
    assert torch.isclose(caption_loss(model(data), data), caption_loss(model(padded), padded))   # padding ignored
    captions = model.caption(data["image"], max_len=5)
    assert len(captions) == 4 and all(isinstance(c, str) and len(c.split()) <= 5 for c in captions)
    torch.manual_seed(0)
    assert Captioner(d=32).caption(data["image"], max_len=5) == captions                       # deterministic


def test_captioner_learns_a_tiny_set_by_heart():
    data = make_task("redundant", 8, seed=2).tensors()
    torch.manual_seed(0)
    model = Captioner(d=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        caption_loss(model(data), data).backward()
        optimizer.step()
    want = [VOCAB.decode([i for i, m in zip(row, mask) if m][1:-1]) for row, mask in
            zip(data["text"].tolist(), data["text_mask"].tolist())]
    assert sum(a == b for a, b in zip(model.caption(data["image"]), want)) >= 6
