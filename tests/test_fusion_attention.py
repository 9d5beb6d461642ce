"""course_lib.fusion.attention: generated from notebooks/03_attention_fusion.ipynb (drift: tests/test_export.py)."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.fusion.attention import Block, CoAttention, Merged, MultiHeadAttention, TextGuided, attention
from course_lib.models import FusionClassifier
from course_lib.train import fit
from course_lib.world import make_task

torch.manual_seed(0)
B, D = 4, 8
CELLS, CELL_MASK = torch.randn(B, 16, D), torch.ones(B, 16, dtype=torch.bool)
WORDS, WORD_MASK = torch.randn(B, 7, D), torch.arange(7)[None] < torch.tensor([[3], [7], [5], [1]])
TOKENS = (CELLS, CELL_MASK, WORDS, WORD_MASK)
FUSIONS = {"text-guided": lambda: TextGuided(D), "co-attention": lambda: CoAttention(D),
           "merged": lambda: Merged(D)}


def attention_reference(q, k, v, key_mask):
    """The equations, one query and one key at a time: q (T_q, d), k (T_k, d), v (T_k, d_v), key_mask (T_k,)."""
    out = torch.zeros(len(q), v.shape[1])
    for i in range(len(q)):
        s = torch.tensor([float(q[i] @ k[j]) / math.sqrt(q.shape[1]) if key_mask[j] else -math.inf
                          for j in range(len(k))])
        w = torch.exp(s - s.max())
        out[i] = (w / w.sum()) @ v
    return out


def copy_into_torch_mha(mha: MultiHeadAttention, heads: int) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(mha.W_q.in_features, heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mha.W_q.weight, mha.W_k.weight, mha.W_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([mha.W_q.bias, mha.W_k.bias, mha.W_v.bias]))
        ref.out_proj.weight.copy_(mha.W_o.weight)
        ref.out_proj.bias.copy_(mha.W_o.bias)
    return ref


def test_attention_matches_the_equations_and_torch():
    q, k, v = torch.randn(B, 3, D), torch.randn(B, 7, D), torch.randn(B, 7, 5)
    out, weights = attention(q, k, v, WORD_MASK[:, None, :])
    for b in range(B):
        assert torch.allclose(out[b], attention_reference(q[b], k[b], v[b], WORD_MASK[b]), atol=1e-5)
    torch_out = F.scaled_dot_product_attention(q, k, v, attn_mask=WORD_MASK[:, None, :])
    assert torch.allclose(out, torch_out, atol=1e-5)
    assert torch.allclose(weights.sum(-1), torch.ones(B, 3), atol=1e-6)
    assert torch.all(weights.masked_select(~WORD_MASK[:, None, :].expand_as(weights)) == 0)


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_multi_head_attention_matches_torch_with_copied_weights(heads):
    mha = MultiHeadAttention(D, heads)
    x_q, x_kv = torch.randn(B, 3, D), torch.randn(B, 7, D)
    ours = mha(x_q, x_kv, WORD_MASK)
    theirs, their_weights = copy_into_torch_mha(mha, heads)(x_q, x_kv, x_kv, key_padding_mask=~WORD_MASK,
                                                             average_attn_weights=False)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(mha.weights, their_weights, atol=1e-5)
    assert mha.weights.shape == (B, heads, 3, 7)


def test_padding_does_not_change_the_answer():
    """Adding padded keys (any values) leaves every output as it was."""
    mha = MultiHeadAttention(D, 2)
    x_q, x_kv = torch.randn(B, 3, D), torch.randn(B, 5, D)
    padded = torch.cat([x_kv, 100 * torch.randn(B, 4, D)], dim=1)
    mask = torch.arange(9)[None].expand(B, 9) < 5
    assert torch.allclose(mha(x_q, x_kv), mha(x_q, padded, mask), atol=1e-5)


def test_scale_is_one_over_sqrt_d():
    q, k = torch.ones(1, 1, 16), torch.stack([4 * torch.eye(16)[0], torch.zeros(16)])[None]  # scores 4/4 = 1 and 0
    _, w = attention(q, k, torch.randn(1, 2, 3))
    assert torch.allclose(w[0, 0], torch.tensor([math.e, 1.0]) / (math.e + 1), atol=1e-6)


@pytest.mark.parametrize("name", FUSIONS)
def test_fusion_shapes_weights_and_gradients(name):
    f = FUSIONS[name]()
    out = f(*TOKENS)
    assert out.shape == (B, f.out_dim)
    w = f.image_weights()
    assert w.shape == (B, 2, 16) and torch.all(w >= 0)
    assert torch.all(w.sum(-1) <= 1 + 1e-5)
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in f.parameters()), "a parameter gets no gradient"


@pytest.mark.parametrize("name", FUSIONS)
def test_fusions_ignore_padded_words(name):
    f = FUSIONS[name]().eval()
    words = WORDS.clone()
    words[~WORD_MASK] = 50.0                                         # garbage on the padding
    assert torch.allclose(f(*TOKENS), f(CELLS, CELL_MASK, words, WORD_MASK), atol=1e-5)


def test_text_guided_weights_sum_to_one_and_follow_the_question():
    f = TextGuided(D, heads=1)
    f(*TOKENS)
    assert torch.allclose(f.image_weights().sum(-1), torch.ones(B, 1), atol=1e-5)
    with torch.no_grad():
        f.pos.zero_()
        f.attn.W_k.weight.copy_(torch.eye(D)), f.attn.W_k.bias.zero_()
        f.attn.W_q.weight.copy_(10 * torch.eye(D)), f.attn.W_q.bias.zero_()
    cells = torch.zeros(1, 16, D)
    cells[0, 5] = torch.ones(D)                                      # cell 5 looks like the question
    f(cells, CELL_MASK[:1], torch.ones(1, 2, D), torch.ones(1, 2, dtype=torch.bool))
    assert f.image_weights()[0, 0].argmax() == 5 and f.image_weights()[0, 0, 5] > 0.9


def test_block_self_and_cross():
    x, ctx = torch.randn(B, 5, D), torch.randn(B, 7, D)
    assert Block(D, 2)(x, torch.ones(B, 5, dtype=torch.bool)).shape == (B, 5, D)
    assert Block(D, 2, cross=True)(x, None, ctx, WORD_MASK).shape == (B, 5, D)
    with pytest.raises(ValueError, match="cross-attention"):
        Block(D, 2, cross=True)(x, None)
    with pytest.raises(ValueError, match="self-attention"):
        Block(D, 2)(x, None, ctx, WORD_MASK)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, heads=3)
    mha = MultiHeadAttention(D, 2)
    with pytest.raises(ValueError, match="x_q must be"):
        mha(torch.randn(B, 3, D), torch.randn(B + 1, 7, D))
    with pytest.raises(ValueError, match="kv_mask"):
        mha(torch.randn(B, 3, D), torch.randn(B, 7, D), WORD_MASK[:, :5])
    q = torch.randn(B, 3, D)
    with pytest.raises(TypeError, match="bool"):
        attention(q, q, q, torch.ones(B, 1, 3))
    with pytest.raises(ValueError, match="broadcast"):
        attention(q, q, q, torch.ones(B, 2, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="no key"):
        attention(q, q, q, torch.zeros(B, 1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="attention needs"):
        attention(q, torch.randn(B, 3, D + 1), q)
    with pytest.raises(ValueError, match=r"\(B, 16, 8\)"):
        TextGuided(D)(CELLS[:, :9], CELL_MASK[:, :9], WORDS, WORD_MASK)
    with pytest.raises(ValueError):
        CoAttention(D)(CELLS, CELL_MASK, WORDS[:2], WORD_MASK[:2])


def test_deterministic_training_on_qa():
    data = make_task("qa", 64, seed=0, kinds="colour")

    def run():
        torch.manual_seed(0)
        model = FusionClassifier(TextGuided(64), 6, tokens=True)
        fit(model, data, epochs=1, show=False)
        return model.fusion.attn.W_q.weight.detach().clone()
    assert torch.equal(run(), run())
