"""Chapter 07's MulT (fusion/mult.py, exported from the chapter): position codes, padding, shapes, bad input."""
import pytest
import torch

from course_lib.fusion.mult import SPAN, MulT, sinusoid, token_positions


def _sequences(seed=0, B=3, T_a=5, T_b=9, d=16):
    g = torch.Generator().manual_seed(seed)
    m_a = torch.arange(T_a) < torch.tensor([5, 3, 1])[:B, None]
    m_b = torch.arange(T_b) < torch.tensor([9, 4, 7])[:B, None]
    return torch.randn(B, T_a, d, generator=g), m_a, torch.randn(B, T_b, d, generator=g), m_b


def test_sinusoid_codes():
    codes = sinusoid(torch.tensor([[0.0, 1.0, 2.5]]), 8)
    assert codes.shape == (1, 3, 8)
    assert torch.allclose(codes[0, 0], torch.tensor([0.0] * 4 + [1.0] * 4))                # sin 0, cos 0
    assert torch.isclose(codes[0, 2, 0], torch.sin(torch.tensor(2.5))) and torch.allclose(codes.norm(dim=-1) ** 2,
                                                                                        torch.full((1, 3), 4.0))


def test_token_positions_absolute_and_fractional():
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    assert torch.equal(token_positions(mask, fractional=False)[mask], torch.tensor([0.0, 1, 2, 3, 0, 1]))
    frac = token_positions(mask)
    assert torch.allclose(frac[mask], torch.tensor([1 / 8, 3 / 8, 5 / 8, 7 / 8, 1 / 4, 3 / 4]) * SPAN)
    assert torch.isclose(frac[0, 1:3].mean(), frac[1, :2].mean())    # both middles sit at SPAN / 2


@pytest.mark.parametrize("positions", ["fractional", "absolute", "none"])
def test_mult_shapes_and_attention_maps(positions):
    h_a, m_a, h_b, m_b = _sequences()
    torch.manual_seed(0)
    model = MulT(16, heads=2, layers=2, positions=positions)
    assert model(h_a, m_a, h_b, m_b).shape == (3, 32) and model.out_dim == 32
    a_reads_b, b_reads_a = model.cross_weights()
    assert a_reads_b.shape == (3, 2, 5, 9) and b_reads_a.shape == (3, 2, 9, 5)
    assert torch.allclose(a_reads_b.sum(-1), torch.ones(3, 2, 5))
    assert (a_reads_b * ~m_b[:, None, None, :]).abs().max() == 0 and (b_reads_a * ~m_a[:, None, None, :]).abs().max() == 0


def test_mult_ignores_padding_and_other_samples():
    h_a, m_a, h_b, m_b = _sequences()
    torch.manual_seed(0)
    model = MulT(16).eval()
    out = model(h_a, m_a, h_b, m_b)
    junk = torch.randn(3, 9, 16) * 100
    h_b2 = torch.where(m_b[..., None], h_b, junk)                       # change only the padding
    assert torch.allclose(model(h_a, m_a, h_b2, m_b), out, atol=1e-5)
    grow = lambda h, m: (torch.cat([h, torch.randn(3, 4, 16)], 1), torch.cat([m, torch.zeros(3, 4, dtype=torch.bool)], 1))
    assert torch.allclose(model(*grow(h_a, m_a), *grow(h_b, m_b)), out, atol=1e-5)   # and more padding
    assert torch.allclose(model(h_a[1:2], m_a[1:2], h_b[1:2], m_b[1:2]), out[1:2], atol=1e-5)


def test_mult_is_deterministic():
    h_a, m_a, h_b, m_b = _sequences()
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        outs.append(MulT(16)(h_a, m_a, h_b, m_b))
    assert torch.equal(*outs)


def test_mult_bad_input():
    h_a, m_a, h_b, m_b = _sequences()
    model = MulT(16)
    with pytest.raises(ValueError, match="positions"):
        MulT(16, positions="learned")
    with pytest.raises(ValueError, match="same batch size"):
        model(h_a, m_a, h_b[:2], m_b[:2])
    with pytest.raises(ValueError, match="expected two sequences"):
        model(h_a, m_a[:, :3], h_b, m_b)
    missing = m_b.clone()
    missing[1] = False
    with pytest.raises(ValueError, match="missing"):
        model(h_a, m_a, h_b, missing)
