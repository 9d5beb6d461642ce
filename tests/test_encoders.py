import pytest
import torch

from course_lib.encoders import (AudioEncoder, ImageEncoder, TextEncoder, UnimodalClassifier, encode, encode_bag,
                                 encode_tokens, make_encoders, masked_mean)
from course_lib.world import VOCAB, make_task


@pytest.fixture(scope="module")
def batch():
    return {k: v[:6] for k, v in make_task("redundant", 6, seed=0).tensors().items()}


def test_shapes(batch):
    torch.manual_seed(0)
    img, txt, aud = ImageEncoder(), TextEncoder(), AudioEncoder()
    assert img.tokens(batch["image"]).shape == (6, 16, 64) and img(batch["image"]).shape == (6, 64)
    tokens = txt.tokens(batch["text"], batch["text_mask"])
    assert tokens.shape == (*batch["text"].shape, 64)
    assert (tokens[~batch["text_mask"]] == 0).all(), "padding positions of the GRU output must be zero"
    frames, frame_mask = aud.tokens(batch["audio"], batch["audio_mask"])
    lengths = batch["audio_mask"].sum(1)
    assert torch.equal(frame_mask.sum(1), (lengths + 15) // 16)
    assert aud(batch["audio"], batch["audio_mask"]).shape == (6, 64)


def test_text_encoder_ignores_padding():
    torch.manual_seed(0)
    txt = TextEncoder().eval()
    ids = torch.tensor([VOCAB.encode(["[CLS]", "a", "red", "circle", "[SEP]"])])
    mask = torch.ones_like(ids, dtype=torch.bool)
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
    padded_mask = torch.cat([mask, torch.zeros(1, 4, dtype=torch.bool)], 1)
    assert torch.allclose(txt(ids, mask), txt(padded, padded_mask), atol=1e-6)


def test_text_encoder_refuses_all_padding_rows(batch):
    # it used to pool such a row to zeros; a missing text in the world keeps [CLS] [SEP] and encodes as usual
    mask = batch["text_mask"].clone()
    mask[[1, 4]] = False
    with pytest.raises(ValueError, match=r"text rows \[1, 4\] are all padding"):
        TextEncoder()(batch["text"], mask)
    with pytest.raises(ValueError, match=r"text rows \[1, 4\] are all padding"):
        encode_tokens(make_encoders(modalities=("text",)), dict(batch, text_mask=mask))
    missing = make_task("redundant", 6, seed=0, p_missing={"text": 1.0}).tensors()
    assert TextEncoder()(missing["text"], missing["text_mask"]).shape == (6, 64)


def test_masked_mean_ignores_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    assert masked_mean(x, torch.tensor([[True, True, False]])).item() == 2.0


def test_bag_encoding_matches_items_and_zeroes_padding():
    torch.manual_seed(0)
    data = make_task("bag", 3, seed=0, k_min=3, k_max=5)
    t = data.tensors()
    enc = ImageEncoder().eval()
    out = encode_bag(enc, t["image"], t["bag_mask"])
    assert out.shape == (*t["bag_mask"].shape, 64)
    assert torch.allclose(out[0, 0], enc(t["image"][0, :1])[0], atol=1e-6)
    assert (out[~t["bag_mask"]] == 0).all()


def test_bad_input_is_named(batch):
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        ImageEncoder()(torch.randn(2, 32, 32))
    with pytest.raises(ValueError, match="same shape"):
        TextEncoder()(batch["text"], batch["text_mask"][:, :-1])
    with pytest.raises(ValueError, match="unknown modalities"):
        make_encoders(modalities=("image", "smell"))
    with pytest.raises(KeyError, match="needs the audio modality"):
        encode(make_encoders(modalities=("audio",)), {"image": batch["image"]})
    with pytest.raises(ValueError, match="disagree on the batch size"):
        encode(make_encoders(modalities=("image", "text")),
               {"image": batch["image"][:2], "text": batch["text"], "text_mask": batch["text_mask"]})


def test_unimodal_classifier_reads_only_its_modality(batch):
    torch.manual_seed(0)
    model = UnimodalClassifier("text", 4)
    only_text = {k: batch[k] for k in ("text", "text_mask")}
    assert torch.equal(model(batch), model(only_text))


def test_encode_tokens_gives_tokens_with_masks(batch):
    torch.manual_seed(0)
    out = encode_tokens(make_encoders(), batch)
    (cells, m_img), (words, m_txt), (frames, m_aud) = out["image"], out["text"], out["audio"]
    assert cells.shape == (6, 16, 64) and m_img.all()
    assert words.shape[:2] == m_txt.shape and torch.equal(m_txt, batch["text_mask"])
    assert frames.shape[:2] == m_aud.shape
    with pytest.raises(ValueError, match="disagree on the batch size"):
        encode_tokens(make_encoders(modalities=("image", "text")),
                      {"image": batch["image"][:2], "text": batch["text"], "text_mask": batch["text_mask"]})
