"""Checks for the exercises of notebooks/02_gated_fusion.ipynb."""
import torch
import torch.nn as nn

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


GMU_WEIGHTS = ("W_v", "W_t", "W_z")


@exercise
def check_saturated_gate(stops_learning):
    """stops_learning() -> the set of the GMU's weights, among "W_v", "W_t", "W_z", whose gradient (nearly) vanishes
    when the gate is saturated at z = 1 for every sample and feature."""
    guess = stops_learning()
    assert isinstance(guess, (set, frozenset)) and guess <= set(GMU_WEIGHTS), \
        f"return a set of names among {GMU_WEIGHTS}, got {guess!r}"
    torch.manual_seed(0)
    gmu = GMU(6, 4, 5)
    with torch.no_grad():
        gmu.W_z.weight.fill_(3.0)                 # positive inputs below: W_z [x_v; x_t] >= 3, z = 1 to 4 decimals
    x_v, x_t = torch.rand(32, 6) + 1, torch.rand(32, 4) + 1
    assert gmu.gate(x_v, x_t).min() > 0.9999
    (gmu(x_v, x_t) - torch.randn(32, 5)).pow(2).sum().backward()
    grad = {name: getattr(gmu, name).weight.grad.abs().max().item() for name in GMU_WEIGHTS}
    dead = {name for name, g in grad.items() if g < 1e-4}
    measured = ", ".join(f"{name} {grad[name]:.1e}" for name in GMU_WEIGHTS)
    if "W_t" not in guess:
        raise AssertionError(f"largest gradients: {measured}. h_t enters h as (1 - z) * h_t: at z = 1 it is multiplied "
                             "by 0, and so is every gradient that flows back into W_t")
    if "W_z" not in guess:
        raise AssertionError(f"largest gradients: {measured}. The gate's own weights: what is the slope of the sigmoid, "
                             "sigma'(s) = sigma(s) (1 - sigma(s)), where sigma(s) = 1?")
    assert guess == dead, f"largest gradients: {measured}: the image's candidate is copied through whole"


class ReferenceIAFF(nn.Module):
    """iAFF as the reference implementation writes it (Dai et al.'s open-aff, aff_pytorch/aff_net/fusion.py, copied
    into many projects), on cells (B, N, D): each 1 x 1 convolution becomes a Linear over D, BatchNorm is dropped,
    and the global branch averages over the N cells. The forward is theirs, line for line."""

    def __init__(self, d, r=4):
        super().__init__()
        def bottleneck():
            return nn.Sequential(nn.Linear(d, d // r), nn.ReLU(), nn.Linear(d // r, d))
        self.local_att, self.global_att = bottleneck(), bottleneck()
        self.local_att2, self.global_att2 = bottleneck(), bottleneck()
        self.sigmoid = nn.Sigmoid()

    def forward(self, x, residual):
        xa = x + residual
        xl = self.local_att(xa)
        xg = self.global_att(xa.mean(1, keepdim=True))
        xlg = xl + xg
        wei = self.sigmoid(xlg)
        xi = x * wei + residual * (1 - wei)

        xl2 = self.local_att2(xi)
        xg2 = self.global_att(xi.mean(1, keepdim=True))
        xlg2 = xl2 + xg2
        wei2 = self.sigmoid(xlg2)
        xo = x * wei2 + residual * (1 - wei2)
        return xo


def _iaff(m, x, y, second_input="xi", second_global="global_att2", out="xy"):
    """iAFF with the reference's layers; the keywords rebuild the classic wrong versions."""
    def gate(local, glob, s):
        return torch.sigmoid(local(s) + glob(s.mean(1, keepdim=True)))
    w = gate(m.local_att, m.global_att, x + y)
    xi = x * w + y * (1 - w)
    w2 = gate(m.local_att2, getattr(m, second_global), xi if second_input == "xi" else x + y)
    return x * w2 + y * (1 - w2) if out == "xy" else xi * w2 + y * (1 - w2)


@exercise
def check_iaff(iaff_forward):
    """iaff_forward(m: ReferenceIAFF, x (B, N, D), y (B, N, D)) -> (B, N, D): iAFF as the paper defines it."""
    torch.manual_seed(0)
    m = ReferenceIAFF(8)
    x, y = torch.randn(3, 5, 8), torch.randn(3, 5, 8)
    got = iaff_forward(m, x, y)
    assert torch.is_tensor(got) and got.shape == x.shape, f"expected a {tuple(x.shape)} tensor, got {got!r}"
    if _close(got, m(x, y).detach()):
        raise AssertionError("that is the reference's forward, bug included: which global branch does its second "
                             "stage call? Look for a layer that is built and never used")
    if _close(got, _iaff(m, x, y, second_input="x + y").detach()):
        raise AssertionError("the second gate reads the first fusion's output xi, not x + y again: that is what makes "
                             "it iterative")
    if _close(got, _iaff(m, x, y, out="xi").detach()):
        raise AssertionError("the second gate mixes the inputs x and y, as the first does, not xi and y")
    assert _close(got, _iaff(m, x, y).detach()), \
        "xi = x * w + y * (1 - w) with w from (local_att, global_att) on x + y; then the same with (local_att2, " \
        "global_att2) on xi, mixing x and y again"
    assert got.requires_grad, "your output has no graph: build it from m's layers and do not detach it"
    m.zero_grad()
    got.sum().backward()
    silent = [name for name, p in m.named_parameters() if p.grad is None or not p.grad.any()]
    assert not silent, f"these parameters get no gradient from your output: {silent}"
