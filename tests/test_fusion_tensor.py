"""course_lib.fusion.tensor: generated from notebooks/04_bilinear_tensor_lowrank.ipynb (drift: tests/test_export.py)."""
import math

import pytest
import torch

from course_lib.fusion.tensor import (LMF, MCB, MFB, TFN, BilinearPool, Projected, append_one, lmf_from_tfn,
                                      lmf_params, outer, signed_sqrt_l2, tfn_params)
from course_lib.measure import count_flops, count_parameters

torch.manual_seed(0)
B = 5


def feats(*dims, b=B):
    return [torch.randn(b, d) for d in dims]


# --- references written independently of the module: the equations, one sample at a time

def tfn_tensor_reference(hs):
    """Entry by entry: Z[j, k, l] = z_a[j] z_b[k] z_c[l] with z_m = [h_m; 1]."""
    out = []
    for h_a, h_b, h_c in zip(*hs):
        z = [torch.cat([h, torch.ones(1)]) for h in (h_a, h_b, h_c)]
        out.append(torch.tensor([[[a * b * c for c in z[2]] for b in z[1]] for a in z[0]]))
    return torch.stack(out)


def lmf_reference(lmf, hs):
    """out = sum_i prod_m (W_m^(i) [h_m; 1]) + b, one sample and one rank at a time."""
    rows = []
    for sample in zip(*hs):
        z = [torch.cat([h, torch.ones(1)]) for h in sample]
        terms = [math.prod(z_m @ W[i] for z_m, W in zip(z, lmf.factors)) for i in range(lmf.rank)]
        rows.append(sum(terms) + lmf.bias)
    return torch.stack(rows)


def test_append_one_and_outer():
    h = torch.randn(3, 4)
    assert torch.equal(append_one(h), torch.cat([h, torch.ones(3, 1)], 1))
    a, b, c = feats(2, 3, 4)
    assert torch.allclose(outer(a, b, c), torch.einsum("bj,bk,bl->bjkl", a, b, c))
    assert torch.allclose(outer(a, b), a[:, :, None] * b[:, None, :])


def test_tfn_tensor_has_every_block():
    hs = feats(2, 3, 2)
    tfn = TFN((2, 3, 2), d_out=4)
    Z = tfn.tensor(*hs)
    assert Z.shape == (B, 3, 4, 3) and torch.allclose(Z, tfn_tensor_reference(hs))
    h_a, h_b, h_c = hs
    assert torch.all(Z[:, -1, -1, -1] == 1)                                      # constant
    assert torch.equal(Z[:, :-1, -1, -1], h_a) and torch.equal(Z[:, -1, -1, :-1], h_c)  # unimodal edges
    assert torch.allclose(Z[:, :-1, :-1, -1], outer(h_a, h_b))                    # a bimodal face
    assert torch.allclose(Z[:, :-1, :-1, :-1], outer(h_a, h_b, h_c))             # the trimodal body


def test_tfn_keeps_a_unimodal_term_through_the_appended_one():
    """A weight on h_a's edge alone makes TFN a linear function of h_a: the 1s carry it through the product."""
    tfn = TFN((2, 3, 2), d_out=1)
    w = torch.zeros(3, 4, 3)
    w[:-1, -1, -1] = torch.tensor([2.0, -1.0])
    with torch.no_grad():
        tfn.linear.weight.copy_(w.flatten()[None])
        tfn.linear.bias.zero_()
    hs = feats(2, 3, 2)
    assert torch.allclose(tfn(*hs)[:, 0], 2 * hs[0][:, 0] - hs[0][:, 1], atol=1e-6)


def test_lmf_matches_its_equation():
    lmf = LMF((2, 3, 4), d_out=5, rank=3)
    with torch.no_grad():
        lmf.bias.normal_()
    hs = feats(2, 3, 4)
    assert lmf(*hs).shape == (B, 5)
    assert torch.allclose(lmf(*hs), lmf_reference(lmf, hs), atol=1e-5)


@pytest.mark.parametrize("dims", [(3, 4), (3, 4, 5), (2, 1, 3, 2)])
def test_lmf_from_tfn_is_exact(dims):
    tfn = TFN(dims, d_out=6)
    lmf = lmf_from_tfn(tfn)
    assert lmf.rank == math.prod(d + 1 for d in dims[:-1])
    hs = feats(*dims, b=64)
    assert (tfn(*hs) - lmf(*hs)).abs().max() < 1e-4


def test_a_lower_rank_lmf_is_not_exact():
    """The equivalence is not a tautology: one rank-one term fewer changes the outputs."""
    tfn = TFN((3, 4, 5), d_out=6)
    lmf = lmf_from_tfn(tfn)
    short = LMF((3, 4, 5), 6, lmf.rank - 1)
    with torch.no_grad():
        for a, b in zip(short.factors, lmf.factors):
            a.copy_(b[1:])
        short.bias.copy_(lmf.bias)
    hs = feats(3, 4, 5, b=64)
    assert (tfn(*hs) - short(*hs)).abs().max() > 1e-2


@pytest.mark.parametrize("dims,d_out,rank", [((8, 8, 8), 32, 4), ((3, 5), 7, 1), ((2, 4, 6, 1), 3, 10)])
def test_parameter_formulas(dims, d_out, rank):
    assert count_parameters(TFN(dims, d_out)) == tfn_params(dims, d_out)
    assert count_parameters(LMF(dims, d_out, rank)) == lmf_params(dims, d_out, rank)


def test_flops_grow_with_the_product_for_tfn_and_the_sum_for_lmf():
    dims, d_out, rank = (3, 4, 5), 6, 2
    hs = feats(*dims)
    assert count_flops(TFN(dims, d_out), *hs) == 2 * B * math.prod(d + 1 for d in dims) * d_out
    assert count_flops(LMF(dims, d_out, rank), *hs) == 2 * B * rank * sum(d + 1 for d in dims) * d_out


def test_lmf_factors_are_registered_parameters():
    """The defect chapter 08 hunts for: factors in a plain list never reach parameters() or the state dict."""
    lmf = LMF((2, 3), d_out=4, rank=2)
    names = dict(lmf.named_parameters())
    assert {"factors.0", "factors.1", "bias"} <= set(names) and set(lmf.state_dict()) == set(names)


def test_bilinear_pool_is_normalised_sum_of_outer_products():
    X, Y = torch.randn(B, 4, 3), torch.randn(B, 4, 2)
    pool = BilinearPool((3, 2))
    want = signed_sqrt_l2(sum(torch.einsum("bx,by->bxy", X[:, t], Y[:, t]) for t in range(4)).flatten(1))
    z = pool(X, Y)
    assert z.shape == (B, 6) and torch.allclose(z, want, atol=1e-6)
    assert torch.allclose(z.norm(dim=-1), torch.ones(B))
    x, y = feats(3, 2)
    assert torch.allclose(pool(x, y), pool(x[:, None], y[:, None]))       # a pooled vector is one position


def test_signed_sqrt_l2_keeps_signs():
    z = torch.tensor([[4.0, -9.0, 0.0]])
    assert torch.allclose(signed_sqrt_l2(z), torch.tensor([[2.0, -3.0, 0.0]]) / math.sqrt(13), atol=1e-4)


def test_mfb_is_a_sum_of_rank_k_bilinear_forms():
    mfb = MFB((6, 5), d_out=3, k=4)
    x, y = feats(6, 5)
    got = mfb(x, y)
    assert got.shape == (B, 3) and torch.allclose(got.norm(dim=-1), torch.ones(B))
    U, V = mfb.U.weight.view(3, 4, 6), mfb.V.weight.view(3, 4, 5)
    bu, bv = mfb.U.bias.view(3, 4), mfb.V.bias.view(3, 4)
    raw = torch.stack([((x @ U[o].T + bu[o]) * (y @ V[o].T + bv[o])).sum(-1) for o in range(3)], dim=-1)
    assert torch.allclose(got, signed_sqrt_l2(raw), atol=1e-5)


def test_projected_maps_each_modality_then_fuses():
    tfn = TFN((2, 3, 2), d_out=4)
    fusion = Projected((10, 7, 5), tfn)
    xs = feats(10, 7, 5)
    assert fusion(*xs).shape == (B, 4) and fusion.out_dim == 4
    assert torch.allclose(fusion(*xs), tfn(*[p(x) for p, x in zip(fusion.project, xs)]))


@pytest.mark.parametrize("make,dims", [(lambda: TFN((2, 3, 2), 4), (2, 3, 2)), (lambda: LMF((2, 3, 2), 4, 3), (2, 3, 2)),
                                       (lambda: BilinearPool((3, 4)), (3, 4)), (lambda: MFB((3, 4), 5, 2), (3, 4))])
def test_gradients_reach_every_parameter_and_input(make, dims):
    fusion = make()
    xs = [x.requires_grad_() for x in feats(*dims)]
    (fusion(*xs) * torch.randn(B, fusion.out_dim)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in [*fusion.parameters(), *xs])


def test_same_seed_same_module():
    torch.manual_seed(3)
    a = LMF((2, 3), 4, 2)
    torch.manual_seed(3)
    b = LMF((2, 3), 4, 2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("call,message", [
    (lambda: TFN((2, 3), 4)(*feats(2, 4)), "feature sizes"),
    (lambda: TFN((2, 3), 4)(torch.randn(5, 2), torch.randn(4, 3)), "batch sizes"),
    (lambda: TFN((2, 3, 2), 4)(*feats(2, 3)), "feature sizes"),
    (lambda: TFN((3,), 4), "at least 2"),
    (lambda: LMF((2, 3), 4, 0), "rank must be a positive integer, got 0"),
    (lambda: LMF((2, 3), 4, 2.5), r"rank must be a positive integer, got 2.5"),  # unchecked: a TypeError in randn
    (lambda: LMF((2,), 4, 2), "at least 2 modalities"),
    (lambda: LMF((2, 3), 4, 2)(torch.randn(5, 2, 1), torch.randn(5, 3)), r"\(B, D\)"),
    (lambda: BilinearPool((2, 3, 4)), "exactly 2"),
    (lambda: BilinearPool((2, 3))(torch.randn(5, 4, 2), torch.randn(5, 3, 3)), "same B and T"),
    (lambda: BilinearPool((2, 3))(*feats(2, 4)), "feature sizes"),
    (lambda: MFB((2, 3, 4)), "exactly 2"),
    (lambda: Projected((8, 8), TFN((2, 2, 2), 4)), "3 modalities"),
    (lambda: Projected((8, 8), TFN((2, 2), 4))(*feats(8, 7)), "feature sizes"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mcb_is_the_count_sketch_of_the_outer_product():
    mcb = MCB((5, 7), d_out=16, seed=3)
    x, y = torch.randn(3, 5), torch.randn(3, 7)
    for b in range(3):
        want = torch.zeros(16)
        for j in range(5):
            for k in range(7):
                want[(mcb.bucket_x[j] + mcb.bucket_y[k]) % 16] += mcb.sign_x[j] * mcb.sign_y[k] * x[b, j] * y[b, k]
        assert torch.allclose(mcb.compact(x, y)[b], want, atol=1e-5)
    assert mcb(x, y).shape == (3, 16) and torch.allclose(mcb(x, y).norm(dim=-1), torch.ones(3), atol=1e-5)
    assert not list(mcb.parameters()), "MCB trains nothing: buckets and signs are buffers"
    assert torch.equal(MCB((5, 7), 16, seed=3).bucket_y, mcb.bucket_y), "the same seed draws the same sketch"


def test_mcb_inner_products_are_unbiased():
    g = torch.Generator().manual_seed(0)
    x, x2, y, y2 = (torch.nn.functional.normalize(torch.randn(1, 8, generator=g), dim=-1) for _ in range(4))
    x2, y2 = x + x2, y + y2
    truth = ((x * x2).sum() * (y * y2).sum()).item()
    estimates = [(m.compact(x, y) * m.compact(x2, y2)).sum().item() for m in (MCB((8, 8), 32, s) for s in range(400))]
    assert abs(sum(estimates) / len(estimates) - truth) < 0.05, "averaged over sketches, <x, x'><y, y'>"


def test_mcb_refuses_bad_input():
    with pytest.raises(ValueError, match="exactly 2 modalities"):
        MCB((4, 4, 4))
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        MCB((4, 4))(torch.randn(3, 4), torch.randn(2, 4))
