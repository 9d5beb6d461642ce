"""Checks for the exercises of notebooks/06_pmf.ipynb."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import BertModel, ViTModel

from . import exercise
from ..backbones import image_config, text_config
from ..fusion.pmf import PMF
from ..measure import count_parameters


def _tiny_pmf(L, L_f, M, D, hidden, C, seed=0):
    torch.manual_seed(seed)
    size = {"num_hidden_layers": L, "hidden_size": D, "num_attention_heads": 2, "intermediate_size": 2 * D}
    text = BertModel(text_config(**size), add_pooling_layer=False)
    image = ViTModel(image_config(**size), add_pooling_layer=False)
    return PMF(text, image, C, L_f, qp=M, qcp=M, fcp=M, mapping_hidden=hidden)


@exercise
def check_pmf_params(pmf_params):
    """pmf_params(L, L_f, M, D, hidden, C) == count_parameters(PMF(...)) on a few configurations."""
    for L, L_f, M, D, hidden, C in [(2, 0, 2, 8, 4, 3), (3, 1, 4, 16, 8, 2), (2, 2, 3, 8, 4, 5), (4, 3, 1, 8, 6, 4)]:
        want, got = count_parameters(_tiny_pmf(L, L_f, M, D, hidden, C)), pmf_params(L, L_f, M, D, hidden, C)
        assert got == want, (f"L={L}, L_f={L_f}, M={M}, D={D}, hidden={hidden}, C={C}: PMF trains {want:,} "
                             f"parameters, you said {got!r}" + (" (L_f = L: only the two heads train)"
                                                                if L_f == L else ""))


@exercise
def check_message(message):
    """message(layer, h, qcp, qp, g) -> g(layer([h; QCP; QP]) at the QP positions): (B, M, D)."""
    g_ = torch.Generator().manual_seed(0)
    B, T, M, D = 2, 5, 3, 4
    h, qcp, qp = torch.randn(B, T, D, generator=g_), torch.randn(M, D, generator=g_), torch.randn(M, D, generator=g_)
    mix = torch.randn(T + 2 * M, T + 2 * M, generator=g_).softmax(-1)        # a "layer" that mixes positions
    layer = lambda x: mix[:x.shape[1], :x.shape[1]] @ x
    g = nn.Linear(D, D)
    x = torch.cat([h, qcp.expand(B, -1, -1), qp.expand(B, -1, -1)], dim=1)
    want = g(layer(x)[:, T + M:])
    got = message(layer, h, qcp, qp, g)
    assert tuple(got.shape) == (B, M, D), f"expected shape {(B, M, D)} (B, M, D), got {tuple(got.shape)}"
    assert torch.allclose(got, want, atol=1e-5), (
        "the message differs: run the layer once on [h; QCP; QP] (in that order), keep the last M outputs (the QP "
        "positions, not the QCP ones), then apply g")


@exercise
def check_untrained(untrained):
    """untrained(model, loss) -> sorted names of non-backbone parameters without a gradient after loss.backward()."""
    batch = {"image": torch.rand(2, 3, 32, 32), "text": torch.tensor([[1, 5, 9, 2], [1, 6, 2, 0]]),
             "text_mask": torch.tensor([[True] * 4, [True, True, True, False]]), "label": torch.tensor([0, 1])}
    model = _tiny_pmf(2, 1, 2, 8, 4, 2)
    for name in ("text_fcp", "image_fcp"):
        model.prompts[name].requires_grad_(False)                   # the reference implementation's bug
    got = untrained(model, F.cross_entropy(model(batch), batch["label"]))
    want = ["prompts.image_fcp", "prompts.text_fcp"]
    assert list(got) == want, (f"expected {want}, got {got!r}: look only outside 'backbones.' (those are frozen on "
                               f"purpose) for parameters whose .grad is still None after backward")
