"""Checks for the exercises of notebooks/04_bilinear_tensor_lowrank.ipynb."""
import math
import numbers

import torch

from . import exercise
from ..ceilings import trimodal_ceilings
from ..fusion.tensor import TFN, lmf_params, outer, tfn_params
from ..measure import count_flops


@exercise
def check_tensor_fusion(tensor_fusion):
    """tensor_fusion(h_a, h_b, h_c) -> (B, d_a + 1, d_b + 1, d_c + 1), the outer product of the [h_m; 1]."""
    g = torch.Generator().manual_seed(0)
    hs = [torch.randn(4, d, generator=g) for d in (2, 3, 5)]
    got = tensor_fusion(*hs)
    if torch.is_tensor(got) and tuple(got.shape) == (4, 2, 3, 5):
        raise AssertionError("that is h_a ⊗ h_b ⊗ h_c alone: append a 1 to each h first, or the unimodal and "
                             "bimodal terms are lost")
    assert torch.is_tensor(got) and tuple(got.shape) == (4, 3, 4, 6), f"expected shape (4, 3, 4, 6), got {got!r}"
    want = outer(*[torch.cat([h, torch.ones(4, 1)], 1) for h in hs])
    assert torch.allclose(got, want, atol=1e-6), "entry [b, j, k, l] must be z_a[b, j] * z_b[b, k] * z_c[b, l]"


@exercise
def check_break_even_rank(break_even_rank):
    """break_even_rank(dims, d_out) == the smallest rank with lmf_params >= tfn_params (brute force)."""
    for dims, d_out in [((8, 8, 8), 32), ((3, 5), 7), ((2, 4, 6), 3), ((16, 1, 9, 4), 5), ((4, 4), 1)]:
        want = next(r for r in range(1, 10_000) if lmf_params(dims, d_out, r) >= tfn_params(dims, d_out))
        got = break_even_rank(dims, d_out)
        if got == want - 1:
            raise AssertionError("one short: at that rank LMF is still smaller than TFN (round up, not down)")
        assert got == want, f"dims {dims}, d_out {d_out}: LMF reaches TFN's size at rank {want}, you said {got!r}"


@exercise
def check_tfn_flops(tfn_flops):
    """tfn_flops(dims, d_out, batch) == count_flops(TFN(dims, d_out), ...) on unseen shapes."""
    for dims, d_out, batch in [((3, 4, 5), 6, 7), ((2, 9), 11, 3), ((1, 2, 3, 4), 5, 2)]:
        hs = [torch.randn(batch, d) for d in dims]
        got, want = tfn_flops(dims, d_out, batch), count_flops(TFN(dims, d_out), *hs)
        if got * 2 == want:
            raise AssertionError("half the counter's number: a multiply-add counts as 2 FLOPs")
        assert got == want, f"TFN{(dims, d_out)} on {batch} samples: the counter says {want}, you said {got}"


@exercise
def check_pairs_task(pairs_task):
    """pairs_task() -> (w_uni, w_bi, w_tri): a `trimodal` task that some pairwise rule solves on every cell (pairwise
    ceiling 100%) while no additive rule reaches 90%."""
    weights = pairs_task()
    assert (isinstance(weights, (tuple, list)) and len(weights) == 3
            and all(isinstance(w, numbers.Real) and math.isfinite(w) for w in weights)), \
        f"return three finite numbers, (w_uni, w_bi, w_tri); got {weights!r}"
    assert any(weights), "all three weights are 0: every score is 0 and no cell has a label"
    ceilings = trimodal_ceilings(*weights)
    if ceilings["pairwise"] < 1:
        raise AssertionError(f"the best pairwise rule is right on only {ceilings['pairwise']:.1%} of the cells: "
                             "your three-way term decides some cells on its own; weaken it against the pairs")
    if ceilings["additive"] >= 0.9:
        raise AssertionError(f"an additive rule is already right on {ceilings['additive']:.1%} of the cells: the "
                             "unimodal terms decide most of them, so a model hardly needs the pairs; weaken w_uni")
