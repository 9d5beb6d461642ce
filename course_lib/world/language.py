"""The world's language: a fixed word list, the `Vocabulary` that maps words to ids, and the sentence templates.

The word list is frozen: pretrained text backbones are shipped against these ids, so new words may only ever be
appended at the end. Ids 0..4 are BERT-style special tokens; a tokenised sentence is `[CLS] w1 ... wn [SEP]`.
"""
import numpy as np

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")

COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = ("small", "large")
MATERIALS = ("wood", "metal")
POSITIONS = ("left", "right", "top", "bottom", "above", "below", "middle")
QUANTIFIERS = ("any", "most", "all", "no", "none", "one", "two", "three", "four", "many", "how")
QUESTION_WORDS = ("what", "which", "where", "is", "are", "does", "do")
FUNCTION_WORDS = ("a", "an", "the", "there", "it", "this", "that", "of", "and", "or", "in", "on", "to", "made",
                  "looks", "picture", "image", "object", "objects", "thing", "shape", "colour", "sound", "high",
                  "low", "pitch", "true", "false", "yes", "no", "shows", "has", "material")
# Spare words for later chapters (comparisons, relations, perception verbs): cheap now, impossible to add mid-course.
EXTRA_WORDS = ("not", "both", "same", "different", "more", "than", "with", "at", "next", "size", "number",
               "see", "hear", "can")
PUNCTUATION = ("?", ".")

CATEGORIES = (COLOURS, SHAPES, SIZES, MATERIALS, POSITIONS, QUANTIFIERS, QUESTION_WORDS, FUNCTION_WORDS,
              EXTRA_WORDS, PUNCTUATION)


class Vocabulary:
    """Word <-> id table: the special tokens, then every category's words in order (first occurrence wins)."""

    def __init__(self):
        words = list(SPECIALS)
        for category in CATEGORIES:
            words += [w for w in category if w not in words]  # "no" is both a quantifier and an answer
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.pad_id, self.cls_id, self.sep_id, self.mask_id, self.unk_id = range(len(SPECIALS))
        self.n_special = len(SPECIALS)

    def __len__(self):
        return len(self.words)

    def encode(self, words: list[str]) -> list[int]:
        """Words -> ids; an unknown word becomes [UNK]. Adds no [CLS]/[SEP] (see `tokenize`)."""
        return [self.index.get(w, self.unk_id) for w in words]

    def decode(self, ids) -> str:
        """Ids (list, array or tensor) -> space-joined words, skipping [PAD]."""
        return " ".join(self.words[int(i)] for i in ids if int(i) != self.pad_id)

    def tokenize(self, words: list[str]) -> list[int]:
        """A sentence as the models see it: `[CLS] w1 ... wn [SEP]`."""
        return [self.cls_id] + self.encode(words) + [self.sep_id]

    def __repr__(self):
        return f"Vocabulary({len(self)} tokens, {self.n_special} special)"


VOCAB = Vocabulary()

# ---- sentence templates: one tuple per task; `{slot}` is filled with a word, everything else is literal ----

DESCRIBE_TEMPLATES = (  # redundant: a truthful description of the one object
    "there is a {size} {colour} {shape} .",
    "a {colour} {shape} on the {side} .",
    "the picture shows a {colour} {shape} .",
    "the {shape} is {colour} .",
    "this image has a {size} {colour} {shape} in it .",
)
MATERIAL_TEMPLATES = (  # complementary: the material, which no picture shows
    "it is made of {material} .",
    "the object is made of {material} .",
    "this thing is made of {material} .",
    "the material is {material} .",
)
CLAIM_TEMPLATES = (  # synergy: a colour claim that may or may not be true of the picture
    "the object is {colour} .",
    "this thing looks {colour} .",
    "the shape in the picture is {colour} .",
)
BAG_TEMPLATES = {  # bag: one question per rule
    "any": "is any object {colour} ?",
    "most": "are most objects {colour} ?",
}
QA_TEMPLATES = {  # qa: one question per kind, about the object(s) its shape words pick out
    "colour": "what colour is the {shape} ?",
    "left_of": "is the {shape_a} left of the {shape_b} ?",
}
PAIR_TEMPLATE = "a {size} {colour} {shape} ."  # pairs: every attribute named, so a hard negative can change any
ALL_TEMPLATES = (DESCRIBE_TEMPLATES + MATERIAL_TEMPLATES + CLAIM_TEMPLATES + tuple(BAG_TEMPLATES.values())
                 + tuple(QA_TEMPLATES.values()) + (PAIR_TEMPLATE,))


def fill(template: str, **slots: str) -> list[str]:
    """`fill("the {shape} is {colour} .", shape="circle", colour="red")` -> ['the', 'circle', 'is', 'red', '.']."""
    return template.format(**slots).split()


def pick(rng: np.random.Generator, templates: tuple) -> str:
    """One template, uniformly at random."""
    return templates[int(rng.integers(len(templates)))]
