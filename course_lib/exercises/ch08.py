"""Checks for the exercises of notebooks/08_compare_and_choose.ipynb: spot the bug in a low-rank fusion.

`BuggyLowRank` is LMF (fusion/tensor.py) with its per-modality factors kept in a plain Python list. A list is
invisible to `nn.Module`: the factors never reach `parameters()` (so the optimizer never steps them), nor
`state_dict()` (so a checkpoint reloads without them), nor `.to(device)`. The model still runs and even learns,
through its encoders and bias, so nothing crashes: the fusion just stays a fixed random projection.

The bug is real. MultiBench (github.com/pliang279/MultiBench, `fusions/common_fusions.py`, class
`LowRankTensorFusion`, lines 304-310 at commit 49f9be2, Jan 2024) appends each modality's factor, an
`nn.Parameter` of shape (rank, d_m + 1, d_out), to a plain list `self.factors = []`, and its forward
(lines 329-339) multiplies the inputs by those list entries. Its `fusion_weights` and `fusion_bias` (lines
312-314) are parameters followed by `.to(device)`, which on a CUDA machine returns a plain copy: there they drop
out of `parameters()` as well. The library's `train` (`training_structures/Supervised_Learning.py`, line 122)
builds its optimizer from `model.parameters()`, so with `LowRankTensorFusion` (`examples/affect/affect_lrf.py`,
`examples/*/*_low_rank_tensor.py`, all on `.cuda()`) none of the fusion's own weights ever train. (Its
checkpoints pickle the whole module, list included, so reloading keeps the untrained factors; a `state_dict`
checkpoint, the usual kind, would lose them.)
"""
import functools
import io
import math

import torch
import torch.nn as nn

from . import exercise
from ..fusion.tensor import LMF, append_one, lmf_params
from ..pid import bayes_accuracy
from ..world import make_task

DIMS, D_OUT, RANK = (3, 4), 5, 2


class BuggyLowRank(LMF):
    """LMF(dims, d_out, rank) with the bug: `factors` is a plain list. Everything but `__init__` is LMF's."""

    def __init__(self, dims, d_out: int, rank: int):
        nn.Module.__init__(self)   # not LMF.__init__, which registers the factors properly
        self.dims, self.out_dim, self.rank = tuple(dims), d_out, rank
        self.factors = [nn.Parameter(torch.randn(rank, d + 1, d_out) / math.sqrt(d + 1)) for d in self.dims]
        self.bias = nn.Parameter(torch.zeros(d_out))


def _build(fixed_cls):
    """fixed_cls(DIMS, D_OUT, RANK), turning the classic nn.ModuleList mistake into a hint."""
    try:
        return fixed_cls(DIMS, D_OUT, RANK)
    except TypeError as e:
        if "is not a Module subclass" in str(e):
            raise AssertionError("nn.ModuleList holds modules; a list of tensors to train is an nn.ParameterList"
                                 ) from e
        raise


def _hidden_tensors(model: nn.Module) -> list:
    """Tensors in plain lists/tuples/dicts among the model's attributes, which nn.Module does not see."""
    found = []
    for value in vars(model).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        found += [t for t in items if torch.is_tensor(t)]
    return found


def _factors(model: nn.Module) -> list:
    """The registered parameters shaped like the factors (rank, d_m + 1, d_out), in registration order."""
    shapes = [(RANK, d + 1, D_OUT) for d in DIMS]
    return [p for p in model.parameters() if tuple(p.shape) in shapes]


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(8, d, generator=g) for d in DIMS]


def _check_registered(model: nn.Module):
    """The factors and the bias are parameters, the right number of them, and in the state dict."""
    want = lmf_params(DIMS, D_OUT, RANK)
    got = sum(p.numel() for p in model.parameters())
    if got < want:
        hidden = [t for t in _hidden_tensors(model) if not any(t is p for p in model.parameters())]
        if hidden and not any(isinstance(t, nn.Parameter) for t in hidden) and any(t.requires_grad for t in hidden):
            raise AssertionError("requires_grad=True lets autograd reach the factors, but nn.Module still cannot "
                                 "see them in a plain list: they are not in parameters() (so the optimizer never "
                                 "steps them) nor in state_dict(). Register them: nn.ParameterList")
        raise AssertionError(f"parameters() holds {got} numbers, LMF{(DIMS, D_OUT, RANK)} has {want}: the factors "
                             "sit in a plain Python list, which nn.Module does not look into. Hold them in an "
                             "nn.ParameterList (or register each with register_parameter)")
    assert got == want, f"parameters() holds {got} numbers; LMF{(DIMS, D_OUT, RANK)} has {want}"
    assert len(_factors(model)) == len(DIMS), \
        f"expected {len(DIMS)} registered factors of shapes {[(RANK, d + 1, D_OUT) for d in DIMS]}"
    saved = sum(t.numel() for t in model.state_dict().values())
    assert saved >= want, f"state_dict() holds {saved} numbers, fewer than the {want} parameters"


def _check_forward_uses_registered(model: nn.Module):
    """Forward computes LMF with the registered factors, and they get gradients."""
    hs, factors = _inputs(), _factors(model)
    out = model(*hs)
    assert torch.is_tensor(out) and tuple(out.shape) == (8, D_OUT), f"expected logits (8, {D_OUT}), got {out!r}"
    out.square().mean().backward()
    stale = [i for i, W in enumerate(factors) if W.grad is None or not W.grad.abs().sum() > 0]
    if stale:
        raise AssertionError(f"registered factor(s) {stale} get no gradient: forward still multiplies other "
                             "tensors (the old plain list?). Keep ONE set of factors, the registered one, and "
                             "use it in forward")
    per_modality = [torch.einsum("bj,rjo->rbo", append_one(h), W) for h, W in zip(hs, factors)]
    bias = [p for p in model.parameters() if tuple(p.shape) == (D_OUT,)]
    want = math.prod(per_modality).sum(0) + (bias[0] if bias else 0)
    assert torch.allclose(out, want, atol=1e-5), "forward no longer computes sum_i prod_m (W_m^(i) [h_m; 1]) + b"


@exercise
def check_factors_train(fixed_cls):
    """fixed_cls(dims, d_out, rank): the factors are parameters, in the state dict, get gradients and train."""
    torch.manual_seed(0)
    model = _build(fixed_cls)
    _check_registered(model)
    _check_forward_uses_registered(model)
    before = [W.detach().clone() for W in _factors(model)]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    hs, target = _inputs(1), torch.randn(8, D_OUT, generator=torch.Generator().manual_seed(2))
    for _ in range(5):
        optimizer.zero_grad()
        (model(*hs) - target).square().mean().backward()
        optimizer.step()
    moved = [not torch.equal(b, W) for b, W in zip(before, _factors(model))]
    assert all(moved), f"after 5 optimizer steps the factors changed: {moved} (expected all True)"


@exercise
def check_state_dict_roundtrip(fixed_cls):
    """A fresh fixed_cls loaded from another's saved state dict computes exactly what the other does."""
    torch.manual_seed(0)
    a = _build(fixed_cls)
    torch.manual_seed(1)
    b = _build(fixed_cls)
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    b.load_state_dict(torch.load(buffer, weights_only=True))
    hs = _inputs()
    with torch.no_grad():
        same = torch.allclose(a(*hs), b(*hs), atol=1e-6)
    assert same, ("the reloaded model computes something else: the checkpoint misses the factors, so they come "
                  "back as fresh random numbers. Only registered parameters and buffers are saved: nn.ParameterList")


@exercise
def check_drop_modality(drop_modality):
    """drop_modality(h (B, D), p, generator) zeroes whole rows (samples) with probability p, leaves the rest as is."""
    h = torch.randn(4000, 16, generator=torch.Generator().manual_seed(0)) + 3.0
    out = drop_modality(h, 0.3, torch.Generator().manual_seed(1))
    assert torch.is_tensor(out) and out.shape == h.shape, f"expected a tensor of shape {tuple(h.shape)}, got {out!r}"
    zero_rows, kept_rows = (out == 0).all(1), (out == h).all(1)
    if not (zero_rows | kept_rows).all():
        if ((out == 0) | torch.isclose(out, h / 0.7)).all():
            raise AssertionError("that is F.dropout: it drops single features and rescales the rest. Modality "
                                 "dropout removes a sample's whole modality, and leaves kept samples unscaled")
        raise AssertionError("every row must be either all zeros (the modality dropped) or exactly the input")
    share = zero_rows.float().mean().item()
    assert abs(share - 0.3) < 0.03, f"with p = 0.3 about 30% of the samples should lose the modality, got {share:.1%}"
    assert torch.equal(drop_modality(h, 0.0, torch.Generator().manual_seed(1)), h), "p = 0 must change nothing"
    assert (drop_modality(h, 1.0, torch.Generator().manual_seed(1)) == 0).all(), "p = 1 must drop every sample"


# the latent each modality shows, per task: the Bayes ceiling is computed from these and the label
SHOWN = {"redundant": ("colour", "colour"), "complementary": ("b_img", "b_txt"), "synergy": ("c_img", "c_txt")}


@functools.lru_cache
def missing_image_bayes(task, p, n=3000, seed=0):
    """The best accuracy of any model on `task` when each test image is missing with probability p, measured on a
    draw of n samples: a missing image shows one more value of its latent, and each cell votes its majority."""
    data = make_task(task, n, seed=seed, p_missing={"image": p})
    shown_img, shown_txt = (data.latents[name] for name in SHOWN[task])
    shown_img = torch.where(data.present[:, 0], shown_img, shown_img.max() + 1)
    cells = {}
    for key in zip(shown_img.tolist(), shown_txt.tolist(), data.label.tolist()):
        cells[key] = cells.get(key, 0) + 1 / n
    return bayes_accuracy(cells)


@exercise
def check_missing_ceiling(missing_image_ceiling):
    """missing_image_ceiling(task, p) -> the best accuracy any model can reach on `task` (redundant, complementary,
    synergy) when each test image is missing with probability p."""
    hints = {"redundant": "the text alone states the colour: nothing is lost with the image",
             "complementary": "with the image gone the text still gives its bit: the label is down to 2 classes, not 4",
             "synergy": "with the image gone the text's colour says nothing, but a guess between 2 classes is right "
                        "half the time"}
    for task in SHOWN:
        for p in (0.4, 1.0):
            got = missing_image_ceiling(task, p)
            assert isinstance(got, (int, float)) and 0 <= got <= 1, f"give an accuracy in [0, 1], got {got!r}"
            measured = missing_image_bayes(task, p)
            assert abs(got - measured) <= 0.03, \
                f"{task}, p = {p}: the Bayes ceiling measures {measured:.3f}, you said {got:.3f}. {hints[task]}"


