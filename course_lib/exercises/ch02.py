"""Checks for the exercises of notebooks/02_gated_fusion.ipynb."""
import copy

import torch

from . import exercise
from ..fusion.gated import GMU


def _close(a, b, atol=1e-5):
    return torch.is_tensor(a) and a.shape == b.shape and torch.allclose(a.float(), b, atol=atol)


@exercise
def check_gmu_one_sample(gmu_one_sample):
    """gmu_one_sample(x_v (D_v,), x_t (D_t,), W_v (D, D_v), W_t (D, D_t), W_z (D, D_v + D_t)) -> (h (D,), z (D,))."""
    g = torch.Generator().manual_seed(0)
    x_v, x_t = torch.randn(5, generator=g), torch.randn(3, generator=g)
    W_v, W_t, W_z = torch.randn(4, 5, generator=g), torch.randn(4, 3, generator=g), torch.randn(4, 8, generator=g)
    out = gmu_one_sample(x_v, x_t, W_v, W_t, W_z)
    assert isinstance(out, tuple) and len(out) == 2, "return the pair (h, z)"
    h, z = out
    assert torch.is_tensor(z) and tuple(z.shape) == (4,), f"z needs one value per feature, shape (4,); got {z!r}"
    z_want = torch.sigmoid(W_z @ torch.cat([x_v, x_t]))
    if _close(z, torch.sigmoid(W_z @ torch.cat([x_t, x_v]))) and not _close(z, z_want):
        raise AssertionError("z reads [x_v; x_t] in that order: image first, then text")
    assert _close(z, z_want), "z = sigmoid(W_z [x_v; x_t]): a sigmoid of one matrix-vector product on the concatenation"
    h_v, h_t = torch.tanh(W_v @ x_v), torch.tanh(W_t @ x_t)
    assert torch.is_tensor(h) and tuple(h.shape) == (4,), f"h must be a (4,) tensor, got {h!r}"
    if _close(h, (1 - z_want) * h_v + z_want * h_t):
        raise AssertionError("z weights the image's candidate h_v, and 1 - z the text's h_t: you swapped them")
    if _close(h, z_want * (W_v @ x_v) + (1 - z_want) * (W_t @ x_t)):
        raise AssertionError("the candidates are h_v = tanh(W_v x_v) and h_t = tanh(W_t x_t): the tanh is missing")
    assert _close(h, z_want * h_v + (1 - z_want) * h_t), "h = z * h_v + (1 - z) * h_t, element by element"
    gmu = GMU(5, 3, 4)
    with torch.no_grad():
        gmu.W_v.weight.copy_(W_v), gmu.W_t.weight.copy_(W_t), gmu.W_z.weight.copy_(W_z)
    assert _close(h, gmu(x_v[None], x_t[None])[0]), "your h differs from course_lib's GMU on the same weights"


@exercise
def check_fixed_gate(fixed_gate):
    """fixed_gate(gmu, x_v (B, D_v), x_t (B, D_t), w) -> (B, D): the GMU's output with its gate frozen at w."""
    torch.manual_seed(0)
    gmu = GMU(6, 4, 5)
    x_v, x_t = torch.randn(7, 6), torch.randn(7, 4)
    for w in (0.5, 0.2, 1.0):
        frozen = copy.deepcopy(gmu)
        frozen.z_fixed = w
        want = frozen(x_v, x_t).detach()
        got = fixed_gate(gmu, x_v, x_t, w)
        assert torch.is_tensor(got) and tuple(got.shape) == (7, 5), f"expected a (7, 5) tensor, got {got!r}"
        got = got.detach()
        if _close(got, gmu(x_v, x_t).detach()) and not _close(got, want):
            raise AssertionError("that is the GMU with its learned gate: use the constant w instead of z")
        if _close(got, w * gmu.W_v(x_v).detach() + (1 - w) * gmu.W_t(x_t).detach()):
            raise AssertionError("mix the candidates h_v = tanh(W_v x_v) and h_t = tanh(W_t x_t): the tanh is missing")
        assert _close(got, want), f"with w = {w}: the output should be w * h_v + (1 - w) * h_t"


@exercise
def check_weight_on_clean(weight_on_clean):
    """weight_on_clean(w_img (N,), damaged (N,)) -> (K,): the weight on the intact modality of each broken sample."""
    w_img = torch.tensor([0.9, 0.2, 0.7, 0.5, 0.1, 0.8, 0.4])
    damaged = torch.tensor([-1, 0, 1, 1, 0, -1, 0])
    want = torch.tensor([0.8, 0.7, 0.5, 0.9, 0.6])
    got = weight_on_clean(w_img, damaged)
    assert torch.is_tensor(got), f"return a tensor, got {type(got).__name__}"
    if got.shape == w_img.shape:
        raise AssertionError("keep only the samples with a broken modality (damaged 0 or 1), drop the intact ones (-1)")
    assert tuple(got.shape) == (5,), f"5 of these 7 samples have a broken modality: expected (5,), got {tuple(got.shape)}"
    if _close(got, w_img[damaged >= 0]):
        raise AssertionError("for a broken image (damaged 0) the intact modality is the text: its weight is 1 - w_img")
    if _close(got, 1 - w_img[damaged >= 0]):
        raise AssertionError("for a broken text (damaged 1) the intact modality is the image: its weight is w_img")
    assert _close(got, want), "per broken sample: 1 - w_img if the image is broken, w_img if the text is broken"
