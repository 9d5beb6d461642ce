from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from course_lib.text_ceiling import (CONTENT_WORDS, accuracy_by_kind, fill_by_count, fill_by_model,
                                     most_frequent_word, one_blank)
from course_lib.world import VOCAB
from course_lib.world.data import pad


def corpus(*sentences):
    """Sentences as the models see them: {"text": (N, L), "text_mask": (N, L)}."""
    text, mask = pad([torch.tensor(VOCAB.tokenize(s.split())) for s in sentences], VOCAB.pad_id)
    return {"text": text, "text_mask": mask}


def test_one_blank_masks_each_word_once_and_says_its_kind():
    c = corpus("the object is red .", "it is made of wood .")
    b = one_blank(c)
    assert len(b["target"]) == 5 + 6                                   # words only: no [CLS], [SEP], [PAD]
    assert ((b["text"] == VOCAB.mask_id).sum(1) == 1).all()
    restored = b["text"].clone()
    restored[torch.arange(len(restored)), b["position"]] = b["target"]
    assert {tuple(r.tolist()) for r in restored} == {tuple(r.tolist()) for r in c["text"]}
    words = [VOCAB.words[i] for i in b["target"].tolist()]
    assert [w for w, k in zip(words, b["content"].tolist()) if k] == ["red", "wood"]
    assert {"red", "circle", "small", "wood", "left"} <= set(CONTENT_WORDS) and "the" not in CONTENT_WORDS
    with pytest.raises(ValueError, match="text_mask"):
        one_blank({"text": c["text"], "text_mask": c["text_mask"][:, :3]})


def test_fill_by_count_takes_the_most_frequent_filler_then_backs_off():
    reference = one_blank(corpus(*["the object is red ."] * 3, "the object is blue .", "this thing looks green ."))
    asked = one_blank(corpus("the object is blue .", "the shape is red ."))
    guess = {VOCAB.decode(row): VOCAB.words[g] for row, g in zip(asked["text"], fill_by_count(reference, asked))}
    assert guess["[CLS] the object is [MASK] . [SEP]"] == "red"     # seen whole: red 3 times, blue once (blue is true)
    assert guess["[CLS] the shape is [MASK] . [SEP]"] == "red"      # unseen whole; between "is" and ".": red
    assert guess["[CLS] the [MASK] is red . [SEP]"] == "object"     # unseen whole; between "the" and "is": object
    assert guess["[CLS] the shape [MASK] red . [SEP]"] == "."       # nothing seen: the most frequent word
    assert VOCAB.words[most_frequent_word(reference)] == "."         # 5 times, once a sentence


def test_fill_by_count_falls_back_to_the_most_frequent_word():
    reference = one_blank(corpus(*["the object is red ."] * 2))
    asked = one_blank(corpus("there is a large cross ."))
    fallback = most_frequent_word(reference)
    guesses = fill_by_count(reference, asked)
    words = [VOCAB.words[i] for i in asked["target"].tolist()]
    assert guesses[words.index("cross")] == fallback                   # neighbours "large" and "." never seen


class Fixed(nn.Module):
    """A stand-in masked-language model that always prefers one word."""

    def __init__(self, word):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(len(VOCAB)))
        self.bias.data[VOCAB.index[word]] = 1.0

    def forward(self, input_ids, attention_mask):
        assert attention_mask.dtype == torch.long and attention_mask.shape == input_ids.shape
        return SimpleNamespace(logits=self.bias.expand(*input_ids.shape, -1))


def test_fill_by_model_reads_the_blank_and_accuracy_splits_by_kind():
    b = one_blank(corpus("the object is red .", "the object is blue ."))
    guesses = fill_by_model(Fixed("red"), b, batch_size=3)              # batches that split the rows
    assert guesses.tolist() == [VOCAB.index["red"]] * 10
    acc = accuracy_by_kind(guesses, b)
    assert acc == pytest.approx({"template": 0.0, "content": 0.5, "all": 0.1})
    right = b["target"].clone()
    assert accuracy_by_kind(right, b) == pytest.approx({"template": 1.0, "content": 1.0, "all": 1.0})
    with pytest.raises(ValueError, match="guesses"):
        accuracy_by_kind(guesses[:4], b)
