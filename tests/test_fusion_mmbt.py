"""course_lib.fusion.mmbt: generated from notebooks/05_mmbt.ipynb (drift: tests/test_export.py)."""
import pytest
import torch
from transformers import BertModel

from course_lib.backbones import text_config
from course_lib.encoders import ImageEncoder
from course_lib.fusion.mmbt import POOL_GRID, ImageTokens, LateBaseline, MMBT
from course_lib.world import VOCAB, make_task

DATA = make_task("qa", 6, seed=0)                                # two question kinds: sentences of two lengths
BATCH = DATA.tensors()
H = 32


def small_bert(**overrides):
    torch.manual_seed(0)
    config = text_config(hidden_size=H, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, **overrides)
    return BertModel(config, add_pooling_layer=False).eval()


def mmbt(n_tokens=3, **overrides):
    torch.manual_seed(0)
    return MMBT(small_bert(**overrides), ImageEncoder(), n_classes=6, n_tokens=n_tokens).eval()


@pytest.mark.parametrize("n_tokens", sorted(POOL_GRID))
def test_image_tokens_average_the_cells_of_each_region(n_tokens):
    tokens = ImageTokens(ImageEncoder(), n_tokens, H)
    cells = tokens.encoder.net(BATCH["image"])                           # (B, D, 4, 4)
    rows, cols = POOL_GRID[n_tokens]
    span = lambda i, n: slice(4 * i // n, -(-4 * (i + 1) // n))         # adaptive pooling: floor start, ceil end
    by_hand = torch.stack([cells[:, :, span(r, rows), span(c, cols)].mean((2, 3))
                           for r in range(rows) for c in range(cols)], dim=1)   # (B, N, D), row-major
    assert torch.allclose(tokens(BATCH["image"]), tokens.proj(by_hand), atol=1e-5)


def test_input_layout_segments_positions_and_mask():
    model, N = mmbt(3), 3
    inputs = model.inputs(BATCH)
    T = BATCH["text"].shape[1] - 1                                        # the text's own [CLS] is dropped
    B = len(BATCH["text"])
    assert inputs["inputs_embeds"].shape == (B, N + 2 + T, H)
    assert inputs["token_type_ids"][0].tolist() == [0] * (N + 2) + [1] * T
    assert inputs["position_ids"][0].tolist() == list(range(N + 2)) + list(range(T))
    assert torch.equal(inputs["attention_mask"][:, N + 2:].bool(), BATCH["text_mask"][:, 1:])
    assert inputs["attention_mask"][:, :N + 2].bool().all()
    words = model.bert.embeddings.word_embeddings.weight
    assert torch.equal(inputs["inputs_embeds"][:, 0], words[VOCAB.cls_id].expand(B, -1))
    assert torch.equal(inputs["inputs_embeds"][:, N + 1], words[VOCAB.sep_id].expand(B, -1))
    assert torch.equal(inputs["inputs_embeds"][:, N + 2:], words[BATCH["text"][:, 1:]])


def test_bert_embeds_image_tokens_with_its_own_position_segment_and_layernorm():
    """The transformers internals the chapter relies on: inputs_embeds + position + segment, then LayerNorm."""
    model = mmbt(3)
    inputs = model.inputs(BATCH)
    e = model.bert.embeddings
    want = e.LayerNorm(inputs["inputs_embeds"] + e.position_embeddings(inputs["position_ids"])
                       + e.token_type_embeddings(inputs["token_type_ids"]))
    got = e(inputs_embeds=inputs["inputs_embeds"], token_type_ids=inputs["token_type_ids"],
            position_ids=inputs["position_ids"])
    assert torch.allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("n_tokens", [1, 3, 8])
def test_logits_shape_and_padding_does_not_matter(n_tokens):
    model = mmbt(n_tokens)
    logits = model(BATCH)
    assert logits.shape == (len(BATCH["label"]), 6)
    padded = dict(BATCH, text=BATCH["text"].masked_fill(~BATCH["text_mask"], VOCAB.words.index("red")))
    assert (~BATCH["text_mask"]).any(), "the test needs some padding"
    assert torch.allclose(model(padded), logits, atol=1e-5)


def test_gradients_reach_bert_and_the_projection_but_not_a_frozen_cnn():
    model = mmbt(3).train()
    model.image.encoder.requires_grad_(False)
    model(BATCH).sum().backward()
    assert all(p.grad is None for p in model.image.encoder.parameters())
    assert model.image.proj.weight.grad.abs().sum() > 0
    assert model.bert.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0


def test_same_seed_same_logits():
    assert torch.equal(mmbt(3)(BATCH), mmbt(3)(BATCH))


def test_attentions_need_eager_attention():
    model = mmbt(3, attn_implementation="eager")
    weights = model.attentions(BATCH)
    S = 3 + 2 + BATCH["text"].shape[1] - 1
    assert weights.shape == (2, len(BATCH["label"]), 2, S, S)
    assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]), atol=1e-5)
    with pytest.raises(RuntimeError, match="eager"):
        mmbt(3, attn_implementation="sdpa").attentions(BATCH)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n_tokens"):
        ImageTokens(ImageEncoder(), 5, H)
    model = mmbt(3)
    with pytest.raises(ValueError, match="batch sizes"):
        model(dict(BATCH, image=BATCH["image"][:2]))
    long = torch.full((2, 80), VOCAB.words.index("red"))
    long[:, 0] = VOCAB.cls_id
    with pytest.raises(ValueError, match="positions"):
        model(dict(BATCH, image=BATCH["image"][:2], text=long, text_mask=torch.ones_like(long, dtype=torch.bool)))


def test_late_baseline_averages_two_unimodal_decisions():
    torch.manual_seed(0)
    late = LateBaseline(small_bert(), ImageEncoder(), n_classes=6, n_tokens=3).eval()
    scores = late(BATCH)
    text = late.bert(input_ids=BATCH["text"], attention_mask=BATCH["text_mask"].long()).last_hidden_state[:, 0]
    probs = (late.text_head(text).softmax(-1) + late.image_head(late.image(BATCH["image"]).mean(1)).softmax(-1)) / 2
    assert torch.allclose(scores.exp(), probs, atol=1e-5)


def test_special_ids_come_from_the_arguments():
    """A real tokenizer numbers [CLS] and [SEP] its own way (here 7 and 8): MMBT must use those, not the world's."""
    torch.manual_seed(0)
    model = MMBT(small_bert(), ImageEncoder(), n_classes=6, n_tokens=3, cls_id=7, sep_id=8).eval()
    batch = dict(BATCH, text=BATCH["text"].clone())
    batch["text"][:, 0] = 7
    inputs, words = model.inputs(batch), model.bert.embeddings.word_embeddings.weight
    assert torch.equal(inputs["inputs_embeds"][:, 0], words[7].expand(len(batch["text"]), -1))
    assert torch.equal(inputs["inputs_embeds"][:, 3 + 1], words[8].expand(len(batch["text"]), -1))
    assert torch.equal(inputs["inputs_embeds"][:, 3 + 2:], words[batch["text"][:, 1:]])


def test_a_text_that_does_not_start_with_cls_is_refused_by_row():
    model = mmbt(3)
    bad = dict(BATCH, text=BATCH["text"].clone())
    bad["text"][2, 0] = VOCAB.words.index("red")
    with pytest.raises(ValueError, match=r"text row 2 of the batch starts with id \d+, not \[CLS\] \(id 1\)"):
        model(bad)
    with pytest.raises(ValueError, match="not \\[CLS\\]"):               # the world's ids on another tokenizer's text
        MMBT(small_bert(), ImageEncoder(), n_classes=6, cls_id=7, sep_id=8)(BATCH)


def test_special_ids_outside_the_vocabulary_are_refused():
    with pytest.raises(ValueError, match="vocabulary of 90"):
        MMBT(small_bert(), ImageEncoder(), n_classes=6, cls_id=101, sep_id=102)   # bert-base's ids, world's BERT
