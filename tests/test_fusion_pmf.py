"""course_lib.fusion.pmf: generated from notebooks/06_pmf.ipynb (drift: tests/test_export.py); PMF on small
random-init backbones (fast), checked against the backbones' own forward."""
import pytest
import torch
import torch.nn.functional as F
from transformers import BertModel, ViTModel

from course_lib.backbones import image_config, text_config
from course_lib.fusion.pmf import PMF, FullFineTune, _hidden, _layers, mapping
from course_lib.measure import saved_tensor_bytes

TINY = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}
B, T, C = 3, 7, 5


def backbones(seed=0):
    torch.manual_seed(seed)
    text = BertModel(text_config(**TINY), add_pooling_layer=False)
    return text, ViTModel(image_config(**TINY), add_pooling_layer=False)


def pmf(fusion_layer=1, seed=0, **lengths):
    return PMF(*backbones(seed), C, fusion_layer, **{"qp": 2, "qcp": 2, "fcp": 2, **lengths})


def make_batch():
    g = torch.Generator().manual_seed(0)
    mask = torch.arange(T)[None] < torch.tensor([[T], [4], [2]])
    text = torch.randint(5, 20, (B, T), generator=g).masked_fill(~mask, 0)
    return {"image": torch.rand(B, 3, 32, 32, generator=g), "text": text, "text_mask": mask,
            "label": torch.randint(C, (B,), generator=g)}


BATCH = make_batch()


@pytest.mark.parametrize("fusion_layer", [0, 1, 2])
def test_logits_shape(fusion_layer):
    assert pmf(fusion_layer)(BATCH).shape == (B, C)


def test_without_fusion_layers_it_is_the_two_backbones_and_their_heads():
    model = pmf(fusion_layer=2).eval()                   # L_f = L: nothing fuses, nothing but the heads trains
    text, image = model.backbones["text"], model.backbones["image"]
    t = text(input_ids=BATCH["text"], attention_mask=BATCH["text_mask"].long()).last_hidden_state[:, 0]
    v = image(pixel_values=BATCH["image"]).last_hidden_state[:, 0]
    expected = (model.heads["text"](t) + model.heads["image"](v)) / 2
    assert torch.allclose(model(BATCH), expected, atol=1e-5)


def test_only_prompts_mappings_and_heads_get_gradients():
    model = pmf(fusion_layer=0).train()
    F.cross_entropy(model(BATCH), BATCH["label"]).backward()
    for name, p in model.named_parameters():
        if name.startswith("backbones."):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0, name
    assert {name.split(".")[1] for name, _ in model.named_parameters() if name.startswith("prompts.")} == \
        {f"{m}_{k}" for m in ("text", "image") for k in ("qp", "qcp", "fcp")}      # FCP trains too
    assert 0 < model.trainable_share() < 1


def test_backbones_stay_in_eval_mode():
    model = pmf().train()
    assert model.heads.training and not any(m.training for m in model.backbones.modules())


@pytest.mark.parametrize("kind", ["qp", "qcp", "fcp"])
def test_a_prompt_length_may_be_zero(kind):
    model = pmf(**{kind: 0})
    F.cross_entropy(model(BATCH), BATCH["label"]).backward()
    assert model.prompts[f"text_{kind}"].numel() == 0


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="fusion_layer"):
        pmf(fusion_layer=3)
    with pytest.raises(ValueError, match="prompt lengths"):
        pmf(qp=-1)
    text, _ = backbones()
    with pytest.raises(ValueError, match="same depth"):
        PMF(text, ViTModel(image_config(**{**TINY, "num_hidden_layers": 3})), C, 1)


@pytest.mark.parametrize("change, match", [
    ({"image": torch.rand(B, 3, 28, 28)}, "image must be"),
    ({"image": torch.rand(B + 1, 3, 32, 32)}, "mismatched batch sizes"),
    ({"text": torch.zeros(B, 65, dtype=torch.long), "text_mask": torch.ones(B, 65, dtype=torch.bool)},
     "max_position_embeddings"),
    ({"text_mask": BATCH["text_mask"].long()}, "bool text_mask"),
])
def test_bad_batches_raise_a_clear_error(change, match):
    for model in (pmf(), FullFineTune(*backbones(), C)):
        with pytest.raises(ValueError, match=match):
            model({**BATCH, **change})


@pytest.mark.parametrize("fusion_layer", [0, 1, 2])
def test_padding_is_ignored(fusion_layer):
    model = pmf(fusion_layer).eval()
    other = BATCH["text"].masked_fill(~BATCH["text_mask"], 7)       # different ids under the padding
    assert not torch.equal(other, BATCH["text"])
    assert torch.allclose(model(BATCH), model({**BATCH, "text": other}), atol=1e-6)


def test_saved_memory_falls_as_fusion_starts_later_and_stays_below_fine_tuning():
    saved = [saved_tensor_bytes(pmf(l).train(), BATCH) for l in range(3)]
    assert saved[0] > saved[1] > saved[2] > 0                         # the heads alone still save their input
    full = saved_tensor_bytes(FullFineTune(*backbones(), C).train(), BATCH)
    assert saved[1] < full                                            # one fusion layer of two


def test_same_seed_same_logits():
    assert torch.equal(pmf(seed=1)(BATCH), pmf(seed=1)(BATCH))
    assert not torch.equal(pmf(seed=1)(BATCH), pmf(seed=2)(BATCH))


def test_full_fine_tune_trains_everything():
    model = FullFineTune(*backbones(), C).train()
    assert model(BATCH).shape == (B, C)
    F.cross_entropy(model(BATCH), BATCH["label"]).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_one_fusion_layer_places_prompts_and_messages_as_the_equations_say():
    """L_f = L - 1, unrolled by hand: query stage [h; QCP; QP] -> mapped QP outputs; fusion stage [h; FCP; message]."""
    model = pmf(fusion_layer=1, qp=2, qcp=3, fcp=1).eval()
    text, image = model.backbones["text"], model.backbones["image"]
    keep = BATCH["text_mask"]
    with torch.no_grad():
        h = {"text": text(input_ids=BATCH["text"], attention_mask=keep.long(), output_hidden_states=True).hidden_states[1],
             "image": image(pixel_values=BATCH["image"], output_hidden_states=True).hidden_states[1]}
        layer = {"text": _layers(text)[1], "image": _layers(image)[1]}

        def run(m, x):                      # the mask written out here, not taken from the module under test
            if m == "image":
                return _hidden(layer[m](x))
            visible = torch.cat([keep, keep.new_ones(B, x.shape[1] - T)], 1)
            return _hidden(layer[m](x, (~visible)[:, None, None, :].float() * torch.finfo(torch.float).min))

        p = lambda m, kind: model.prompts[f"{m}_{kind}"][0].expand(B, -1, -1)
        message = {}
        for m, o in (("text", "image"), ("image", "text")):
            n = h[m].shape[1]
            message[o] = model.maps[0][m](run(m, torch.cat([h[m], p(m, "qcp"), p(m, "qp")], 1))[:, n + 3:n + 5])
        new = {m: run(m, torch.cat([h[m], p(m, "fcp"), message[m]], 1))[:, :h[m].shape[1]] for m in h}
        want = (model.heads["text"](new["text"][:, 0]) + model.heads["image"](image.layernorm(new["image"])[:, 0])) / 2
        assert torch.allclose(model(BATCH), want, atol=1e-5)


def test_a_frozen_linear_keeps_its_weight_but_not_its_input():
    layer, x = torch.nn.Linear(8, 8), torch.randn(5, 8, requires_grad=True)
    trainable = saved_tensor_bytes(layer, x)
    frozen = saved_tensor_bytes(layer.requires_grad_(False), x)
    assert frozen == layer.weight.nbytes and trainable == frozen + x.nbytes


def test_the_mapping_hands_over_a_normalised_message():
    """However quiet the query prompts' outputs, the message joins the other stream at the scale of its tokens."""
    torch.manual_seed(0)
    message = mapping(16, 8, 12)(0.01 * torch.randn(4, 5, 16))
    assert message.shape == (4, 5, 12)
    assert torch.allclose(message.mean(-1), torch.zeros(4, 5), atol=1e-5)
    assert torch.allclose(message.std(-1, unbiased=False), torch.ones(4, 5), atol=1e-2)
