"""What the text alone can restore: masked words one blank at a time, split by what kind of word they are (appendix A).

A masked-language model's accuracy mixes two kinds of words. *Template words* ("there", "is", "made", ".") follow
from the grammar around them; *content words* (a colour, a shape, a size, a material, a place) say what a picture
shows or what a thing is made of, and the rest of the sentence rarely tells them. So each kind gets its own score,
next to two computed references:
- the best input-free guess: always the corpus's most frequent word;
- the text-only ceiling, estimated by counting: for each sentence with one blank, the filler seen most often in the
  same blanked sentence in a large draw of the world's sentences (the Bayes rule for "which word, given every other
  word", estimated; backing off to the two neighbours for a blanked sentence the draw never shows).
(Not in backbones.py: the cached bench hashes that file, and nothing here changes a trained row.)
"""
from collections import Counter, defaultdict

import torch

from .world import VOCAB
from .world.language import COLOURS, MATERIALS, POSITIONS, SHAPES, SIZES

CONTENT_WORDS = COLOURS + SHAPES + SIZES + MATERIALS + POSITIONS   # what a picture shows or a thing is made of
KINDS = ("template", "content")


def one_blank(corpus: dict) -> dict:
    """Every word of every sentence masked on its own: corpus {"text": (N, L), "text_mask": (N, L)} ->
    {"text": (M, L) with one [MASK] per row, "text_mask": (M, L), "position": (M,), "target": (M,) word ids,
    "content": (M,) bool}, M the number of words (special tokens are never masked)."""
    text, mask = corpus["text"], corpus["text_mask"]
    if text.shape != mask.shape:
        raise ValueError(f"one_blank: text {tuple(text.shape)} and text_mask {tuple(mask.shape)} differ in shape")
    row, position = (mask & (text >= VOCAB.n_special)).nonzero(as_tuple=True)
    blanked = text[row].clone()
    blanked[torch.arange(len(row)), position] = VOCAB.mask_id
    target = text[row, position]
    content_ids = torch.tensor(VOCAB.encode(list(CONTENT_WORDS)))
    return {"text": blanked, "text_mask": mask[row], "position": position, "target": target,
            "content": torch.isin(target, content_ids)}


def most_frequent_word(blanks: dict) -> int:
    """The input-free guess: the id of the word masked most often in `blanks` (from `one_blank`)."""
    return Counter(blanks["target"].tolist()).most_common(1)[0][0]


def fill_by_count(reference: dict, blanks: dict) -> torch.Tensor:
    """The text-only ceiling's rule, counted on `reference` (a large draw, from `one_blank`): for each row of `blanks`,
    the filler most often seen in the same blanked sentence; else the one most often seen between the same two
    neighbours; else the most frequent word. -> (M,) word ids."""
    whole, neighbours = defaultdict(Counter), defaultdict(Counter)
    context = lambda row, t: (row[t - 1], row[t + 1])              # [CLS] and [SEP] frame every word
    for row, t, y in zip(reference["text"].tolist(), reference["position"].tolist(), reference["target"].tolist()):
        whole[tuple(row)][y] += 1
        neighbours[context(row, t)][y] += 1
    fallback = most_frequent_word(reference)
    guesses = []
    for row, t in zip(blanks["text"].tolist(), blanks["position"].tolist()):
        seen = whole.get(tuple(row)) or neighbours.get(context(row, t))
        guesses.append(seen.most_common(1)[0][0] if seen else fallback)
    return torch.tensor(guesses)


@torch.no_grad()
def fill_by_model(model, blanks: dict, batch_size: int = 2048) -> torch.Tensor:
    """A `BertForMaskedLM`'s best word at each row's blank -> (M,) word ids."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(blanks["target"]), batch_size):
        ids, mask = (blanks[k][i:i + batch_size].to(device) for k in ("text", "text_mask"))
        logits = model(input_ids=ids, attention_mask=mask.long()).logits          # (b, L, V)
        out.append(logits[torch.arange(len(ids)), blanks["position"][i:i + batch_size]].argmax(-1).cpu())
    return torch.cat(out)


def accuracy_by_kind(guesses: torch.Tensor, blanks: dict) -> dict:
    """{"template": share right, "content": share right, "all": share right} of guesses (M,) against `blanks`."""
    if guesses.shape != blanks["target"].shape:
        raise ValueError(f"accuracy_by_kind: {tuple(guesses.shape)} guesses for {len(blanks['target'])} blanks")
    right = (guesses == blanks["target"]).float()
    return {"template": right[~blanks["content"]].mean().item(), "content": right[blanks["content"]].mean().item(),
            "all": right.mean().item()}
