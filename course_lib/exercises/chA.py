"""Checks for the exercises of notebooks/A_pretraining_backbones.ipynb."""
from types import SimpleNamespace

import numpy as np
import torch
from transformers import BertModel

from . import exercise
from ..backbones import text_config
from ..measure import count_parameters
from ..world import COLOURS, TASKS, VOCAB


@exercise
def check_bert_params(bert_params):
    """bert_params(V, P, H, L, F) == count_parameters(BertModel(...without pooler)) on a few configurations."""
    for V, P, H, L, F in [(50, 16, 8, 1, 16), (len(VOCAB), 64, 32, 2, 64), (100, 20, 12, 3, 24)]:
        config = text_config(vocab_size=V, max_position_embeddings=P, hidden_size=H, num_hidden_layers=L,
                             num_attention_heads=4, intermediate_size=F)
        want, got = count_parameters(BertModel(config, add_pooling_layer=False)), bert_params(V, P, H, L, F)
        assert got == want, f"V={V}, P={P}, H={H}, L={L}, F={F}: BertModel has {want:,} parameters, you said {got!r}"


def _sentences(n=4000, length=12, seed=0):
    """(n, length) ids: [CLS], random words, [SEP], then padding, with random lengths."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(VOCAB.n_special, len(VOCAB), (n, length), generator=g)
    ends = torch.randint(3, length, (n,), generator=g)
    ids[:, 0] = VOCAB.cls_id
    ids[torch.arange(n), ends] = VOCAB.sep_id
    return ids.masked_fill(torch.arange(length)[None] > ends[:, None], VOCAB.pad_id)


@exercise
def check_mask_share(mask_share):
    """mask_share(ids, p) -> (share of words chosen, share of chosen -> [MASK], share of chosen unchanged)."""
    for p in (0.15, 0.4):
        got = mask_share(_sentences(), p)
        assert len(got) == 3, f"return three numbers, got {got!r}"
        chosen, masked, kept = (float(x) for x in got)
        assert abs(chosen - p) < 0.02, (f"with p={p} about {p:.0%} of the words are chosen, you measured "
                                        f"{chosen:.1%} (count words only: ids >= VOCAB.n_special)")
        assert abs(masked - 0.8) < 0.03, f"about 80% of the chosen become [MASK], you measured {masked:.1%}"
        assert abs(kept - 0.1) < 0.03, (f"about 10% of the chosen stay unchanged, you measured {kept:.1%} (a random "
                                        f"word that happens to equal the original also counts)")


class _KnownAnswers:
    """A stand-in masked LM: at position t it always predicts word id n_special + 2 t."""

    def __call__(self, input_ids, **kwargs):
        B, T = input_ids.shape
        logits = torch.zeros(B, T, len(VOCAB))
        logits[:, torch.arange(T), VOCAB.n_special + 2 * torch.arange(T)] = 1.0
        return SimpleNamespace(logits=logits)


@exercise
def check_restored(restore):
    """restore(model, "words with one [MASK]") -> the word the model predicts at the [MASK]."""
    model = _KnownAnswers()
    for sentence in ("the object is [MASK] .", "[MASK] circle", "is the square left of the [MASK] ?"):
        t = sentence.split().index("[MASK]") + 1                        # + 1 for [CLS]
        want, got = VOCAB.words[VOCAB.n_special + 2 * t], restore(model, sentence)
        if got == VOCAB.words[VOCAB.n_special + 2 * (t - 1)]:
            raise AssertionError("off by one: the model sees [CLS] first, so the [MASK] is one position later")
        assert got == want, f"for {sentence!r} the model predicts {want!r} at the [MASK]; you returned {got!r}"


@exercise
def check_colour_blank_ceilings(colour_blank_ceilings):
    """colour_blank_ceilings() -> (best share of synergy's colour blanks restored from the text alone, ... with the
    picture too), each within 0.03 of what a 20,000-sentence draw measures."""
    latents = TASKS["synergy"](np.random.default_rng(7), 20_000).latents        # the draw's colours (no pictures)
    c_img, c_txt, colours = latents["c_img"], latents["c_txt"], range(len(COLOURS))
    text_only = max((c_txt == c).mean() for c in colours)                          # the template says nothing of it
    with_picture = sum(max(((c_img == a) & (c_txt == c)).mean() for c in colours) for a in colours)
    got = colour_blank_ceilings()
    assert len(got) == 2, f"return two numbers, (text only, with the picture), got {got!r}"
    said_text, said_picture = (float(x) for x in got)
    assert said_text > 0.1, ("a guess among four colours is right some of the time: the best text-only model guesses "
                             "the most frequent colour")
    assert abs(said_text - text_only) < 0.03, (f"text only: {said_text:.2f}, but the best guess from the text is right "
                                               f"{text_only:.1%} of the time. How is the claimed colour drawn?")
    assert said_picture < 0.9, ("the picture shows the object's colour, but the sentence is a claim: is it always "
                                "true?")
    assert abs(said_picture - with_picture) < 0.03, (f"with the picture: {said_picture:.2f}, but the best guess is "
                                                     f"right {with_picture:.1%} of the time. Which colour would you "
                                                     f"guess after seeing the picture, and how often is the claim "
                                                     f"true?")
