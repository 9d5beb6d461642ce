"""course_lib.fusion.gated: generated from notebooks/02_gated_fusion.ipynb (drift: tests/test_export.py)."""
import pytest
import torch

from course_lib.fusion.gated import AFF, GMU, MSCAM, GRUGatedFusion
from course_lib.models import FusionClassifier
from course_lib.train import fit
from course_lib.world import make_task

torch.manual_seed(0)
B, D = 5, 8
X1, X2 = torch.randn(B, 6), torch.randn(B, D)          # x1 (image) and x2 (text) may differ in size
CELLS, CELL_MASK = torch.randn(B, 4, D), torch.ones(B, 4, dtype=torch.bool)
WORDS, WORD_MASK = torch.randn(B, 7, D), torch.arange(7)[None] < torch.tensor([[3], [7], [5], [1], [6]])
TOKENS = (CELLS, CELL_MASK, WORDS, WORD_MASK)


def zero_(*linears):
    with torch.no_grad():
        for layer in linears:
            layer.weight.zero_()
            if layer.bias is not None:
                layer.bias.zero_()


# --- references written independently of the module: the equations, one sample (and one cell) at a time

def gru_reference(f, x1, x2):
    rows = []
    for a, b in zip(x1, x2):
        x = torch.cat([a, b])
        z = torch.sigmoid(f.W_z.weight @ x + f.W_z.bias)
        r = torch.sigmoid(f.W_r.weight @ x + f.W_r.bias)
        rows.append(z * torch.tanh(f.W_h.weight @ torch.cat([r * a, b]) + f.W_h.bias) + (1 - z) * b)
    return torch.stack(rows)


def gmu_reference(f, x_v, x_t):
    rows = []
    for v, t in zip(x_v, x_t):
        z = torch.sigmoid(f.W_z.weight @ torch.cat([v, t]))
        rows.append(z * torch.tanh(f.W_v.weight @ v) + (1 - z) * torch.tanh(f.W_t.weight @ t))
    return torch.stack(rows)


def cam_reference(cam, S):                                 # one sample S (N, D), all cells real
    g = cam.glob(S.mean(0))
    return torch.stack([torch.sigmoid(cam.local(s) + g) for s in S])


def aff_reference(f, cells, words, word_mask):
    rows = []
    for X, T, m in zip(cells, words, word_mask):
        y = T[m].mean(0)
        S = X + y
        if f.cam0 is not None:
            M0 = cam_reference(f.cam0, S)
            S = M0 * X + (1 - M0) * y
        M = cam_reference(f.cam, S)
        rows.append((M * X + (1 - M) * y).amax(0))
    return torch.stack(rows)


def test_shapes_and_out_dim():
    assert GRUGatedFusion(6, D)(X1, X2).shape == (B, D) and GRUGatedFusion(6, D).out_dim == D
    assert GMU(6, D, 3)(X1, X2).shape == (B, 3) and GMU(6, D, 3).out_dim == 3
    for iterative in (False, True):
        aff = AFF(D, iterative=iterative)
        assert aff(*TOKENS).shape == (B, D) and aff.out_dim == D and aff.gate(*TOKENS).shape == CELLS.shape
    z, r = GRUGatedFusion(6, D).gate(X1, X2)
    assert z.shape == (B, D) and r.shape == (B, 6)


def test_batched_equals_the_equations_per_sample():
    gru, gmu = GRUGatedFusion(6, D), GMU(6, D, 3)
    assert torch.allclose(gru(X1, X2), gru_reference(gru, X1, X2), atol=1e-6)
    assert torch.allclose(gmu(X1, X2), gmu_reference(gmu, X1, X2), atol=1e-6)
    for iterative in (False, True):
        aff = AFF(D, r=2, iterative=iterative)
        assert torch.allclose(aff(*TOKENS), aff_reference(aff, CELLS, WORDS, WORD_MASK), atol=1e-5)


def test_gate_fixed_at_half_is_an_average():
    gmu = GMU(6, D, 3, z_fixed=0.5)
    h_v, h_t = torch.tanh(gmu.W_v(X1)), torch.tanh(gmu.W_t(X2))
    assert torch.allclose(gmu(X1, X2), (h_v + h_t) / 2, atol=1e-6)
    learned = GMU(6, D, 3)
    zero_(learned.W_z)                                      # sigmoid(0) = 1/2: the learned gate at its midpoint
    assert torch.allclose(learned(X1, X2), (torch.tanh(learned.W_v(X1)) + torch.tanh(learned.W_t(X2))) / 2, atol=1e-6)
    gru = GRUGatedFusion(6, D)
    zero_(gru.W_z)
    h_cand = torch.tanh(gru.W_h(torch.cat([torch.sigmoid(gru.W_r(torch.cat([X1, X2], -1))) * X1, X2], -1)))
    assert torch.allclose(gru(X1, X2), (h_cand + X2) / 2, atol=1e-6)
    aff = AFF(D)
    zero_(aff.cam.local[2], aff.cam.glob[2])                # M = sigmoid(0 + 0) = 1/2 everywhere
    y = torch.stack([w[m].mean(0) for w, m in zip(WORDS, WORD_MASK)])
    assert torch.allclose(aff(*TOKENS), ((CELLS + y[:, None]) / 2).amax(1), atol=1e-6)


def test_gates_stay_in_zero_one_even_for_huge_inputs():
    big1, big2 = 1e3 * X1, 1e3 * X2
    z, r = GRUGatedFusion(6, D).gate(big1, big2)
    gmu = GMU(6, D)
    for g in (z, r, gmu.gate(big1, big2), AFF(D).gate(1e3 * CELLS, CELL_MASK, 1e3 * WORDS, WORD_MASK)):
        assert g.min() >= 0 and g.max() <= 1
    for w in (GRUGatedFusion(6, D).gate_weight(X1, X2), gmu.gate_weight(X1, X2), AFF(D).gate_weight(*TOKENS)):
        assert w.shape == (B,) and ((w > 0) & (w < 1)).all()
    assert torch.allclose(gmu.gate_weight(X1, X2), gmu.gate(X1, X2).mean(-1))
    assert torch.allclose(GMU(6, D, z_fixed=0.3).gate_weight(X1, X2), torch.full((B,), 0.3))


def test_aff_ignores_padding_and_masked_cells():
    aff = AFF(D, iterative=True)
    poisoned = WORDS.masked_fill(~WORD_MASK[..., None], 1e4)
    assert torch.allclose(aff(CELLS, CELL_MASK, poisoned, WORD_MASK), aff(*TOKENS), atol=1e-5)
    keep = CELL_MASK.clone()
    keep[:, -1] = False                                     # a padded cell must change nothing the real ones see
    only_real = aff(CELLS[:, :-1], CELL_MASK[:, :-1], WORDS, WORD_MASK)
    assert torch.allclose(aff(CELLS.index_fill(1, torch.tensor([3]), 1e4), keep, WORDS, WORD_MASK), only_real, atol=1e-5)
    assert MSCAM(D)(CELLS, CELL_MASK).shape == CELLS.shape


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        GMU(6, D)(X1, X2[:3])
    with pytest.raises(ValueError, match="feature sizes"):
        GRUGatedFusion(D, D)(X1, X2)
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        GMU(6, D)(X1[None], X2)
    with pytest.raises(ValueError, match="z_fixed"):
        GMU(6, D, z_fixed=1.5)
    with pytest.raises(ValueError, match=r"z_fixed must be a number in \[0, 1\] or None, got '0.5'"):
        GMU(6, D, z_fixed="0.5")                           # unchecked: a TypeError from comparing 0 <= "0.5"
    with pytest.raises(ValueError, match="z_fixed .* got nan"):
        GMU(6, D, z_fixed=float("nan"))
    with pytest.raises(ValueError, match=r"cells \(B, N, D\)"):
        AFF(D)(CELLS[:, 0], CELL_MASK, WORDS, WORD_MASK)
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        AFF(D)(CELLS, CELL_MASK, WORDS[:3], WORD_MASK[:3])
    with pytest.raises(ValueError, match="one size D"):
        AFF(D)(CELLS, CELL_MASK, WORDS[..., :4], WORD_MASK)
    with pytest.raises(ValueError, match="at least one real"):
        AFF(D)(CELLS, CELL_MASK, WORDS, torch.zeros_like(WORD_MASK))


def test_in_a_classifier_training_is_deterministic():
    data = make_task("noisy", 64, seed=0, p=0.5)

    def run(fusion, **kwargs):
        torch.manual_seed(0)
        model = FusionClassifier(fusion(), 4, **kwargs)
        fit(model, data, epochs=1, batch_size=32, show=False, device=torch.device("cpu"))
        return model(data.tensors()).detach()

    for fusion, kwargs in [(lambda: GMU(64, 64), {}), (lambda: GRUGatedFusion(64, 64), {}),
                           (lambda: AFF(64, iterative=True), {"tokens": True})]:
        first, second = run(fusion, **kwargs), run(fusion, **kwargs)
        assert first.shape == (64, 4) and torch.equal(first, second)
