"""The tasks: each draws the latent attributes, then the objects, the sentence and the pitch, and the label.

A task generator is `fn(rng, n, **options) -> Draw`; `TASKS` maps names to generators. Rendering pixels,
tokens and waveforms, and the noise/missing/corrupt dials, happen later in `data.make_task`, so a task's
code reads as its information structure and nothing else. Each docstring states that structure.
"""
from dataclasses import dataclass

import numpy as np

from .language import (BAG_TEMPLATES, CLAIM_TEMPLATES, COLOURS, DESCRIBE_TEMPLATES, MATERIAL_TEMPLATES, MATERIALS,
                       SHAPES, SIZES, fill, pick)
from .scenes import random_objects
from .sounds import PITCHES_HZ

ALL_MODALITIES = ("image", "text", "audio")


@dataclass
class Draw:
    """What a task generator returns, for N samples."""
    scenes: list          # per sample, a list of scenes (one, or K for a bag); a scene is a list of SceneObject
    words: list           # per sample, the clean sentence as a list of words
    pitch: np.ndarray     # (N,) index into PITCHES_HZ
    label: np.ndarray     # (N,)
    latents: dict         # name -> (N,) int array: the task's discrete latent variables
    class_names: list
    informative: tuple    # the modalities that carry information about the label
    is_bag: bool = False


def redundant(rng: np.random.Generator, n: int) -> Draw:
    """Redundant: y = colour c of the single object (4 classes), and every modality states c.

    Image: the object's colour. Text: a truthful description naming the colour. Audio: pitch index = c.
    Any one modality alone reads the label perfectly; fusing adds nothing but robustness.
    """
    colour = rng.integers(len(COLOURS), size=n)
    scenes, words = [], []
    for c in colour:
        obj = random_objects(rng, 1, colours=[c])[0]
        side = "left" if obj.x < 16 else "right"
        words.append(fill(pick(rng, DESCRIBE_TEMPLATES), size=SIZES[obj.size], colour=COLOURS[c],
                          shape=SHAPES[obj.shape], side=side))
        scenes.append([[obj]])
    return Draw(scenes, words, pitch=colour.copy(), label=colour.copy(), latents={"colour": colour},
                class_names=list(COLOURS), informative=ALL_MODALITIES)


def complementary(rng: np.random.Generator, n: int) -> Draw:
    """Complementary: y = 2 * b_img + b_txt (4 classes), each bit visible in only one modality.

    Image: b_img = the shape (circle 0, square 1); colour, size and position are distractors.
    Text: b_txt = the material (wood 0, metal 1), which no picture shows. Audio: a random pitch, no information.
    Image alone or text alone caps at 50% accuracy; only both together reach 100%.
    """
    b_img, b_txt = rng.integers(2, size=n), rng.integers(2, size=n)
    shape_of = (SHAPES.index("circle"), SHAPES.index("square"))
    scenes, words = [], []
    for bi, bt in zip(b_img, b_txt):
        scenes.append([random_objects(rng, 1, shapes=[shape_of[bi]])])
        words.append(fill(pick(rng, MATERIAL_TEMPLATES), material=MATERIALS[bt]))
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=2 * b_img + b_txt,
                latents={"b_img": b_img, "b_txt": b_txt},
                class_names=["wooden circle", "metal circle", "wooden square", "metal square"],
                informative=("image", "text"))


def synergy(rng: np.random.Generator, n: int) -> Draw:
    """Synergy: "is this statement true of this picture?" y = 1 iff the text's colour c_txt = the image's c_img.

    c_img is uniform over 4; with probability 1/2 c_txt = c_img (y = 1), else c_txt is uniform over the other 3.
    Then c_img alone and c_txt alone are each uniform whatever y is: either modality alone is at chance, and all
    the information is in their interaction. Audio: a random pitch, no information.
    """
    c_img, label = rng.integers(len(COLOURS), size=n), rng.integers(2, size=n)
    shift = rng.integers(1, len(COLOURS), size=n)  # a nonzero shift mod 4 = uniform over the other 3 colours
    c_txt = np.where(label == 1, c_img, (c_img + shift) % len(COLOURS))
    scenes = [[random_objects(rng, 1, colours=[c])] for c in c_img]
    words = [fill(pick(rng, CLAIM_TEMPLATES), colour=COLOURS[c]) for c in c_txt]
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=label,
                latents={"c_img": c_img, "c_txt": c_txt}, class_names=["false", "true"],
                informative=("image", "text"))


BAG_RULES = tuple(BAG_TEMPLATES)


def bag(rng: np.random.Generator, n: int, rule: str = "any", k_min: int = 3, k_max: int = 12) -> Draw:
    """Bag: K images (K uniform in k_min..k_max), one object each, and a question about colour X. Balanced y.

    rule="any", "is any object X ?": positives hold exactly 1 or 2 X items (a weak signal a mean-pool dilutes),
    negatives hold none. rule="most", "are most objects X ?": positives hold more than K/2 X items but at least
    one other, negatives at least 1 and at most K/2 (so neither "is there any X" nor "is there any non-X"
    answers it: only the proportion does). The other items all share one other colour Z (so the set of colours
    present says nothing about the count); shapes are random. The label needs the text (which colour) and the images (how many). Audio: none.
    """
    if rule not in BAG_RULES:
        raise ValueError(f"unknown bag rule {rule!r}; valid rules: {', '.join(BAG_RULES)}")
    if not 1 <= k_min <= k_max:
        raise ValueError(f"need 1 <= k_min <= k_max, got k_min={k_min}, k_max={k_max}")
    if rule == "most" and k_min < 3:
        raise ValueError("rule 'most' needs k_min >= 3 (a positive holds between K/2 and K-1 X items)")
    k = rng.integers(k_min, k_max + 1, size=n)
    x_colour, label = rng.integers(len(COLOURS), size=n), rng.integers(2, size=n)
    z_colour = (x_colour + rng.integers(1, len(COLOURS), size=n)) % len(COLOURS)  # the one other colour
    count = np.empty(n, dtype=np.int64)
    scenes, words = [], []
    for i in range(n):
        ki, yi = int(k[i]), int(label[i])
        if rule == "any":
            count[i] = rng.integers(1, min(2, ki) + 1) if yi else 0
        else:
            count[i] = rng.integers(ki // 2 + 1, ki) if yi else rng.integers(1, ki // 2 + 1)
        colours = rng.permutation(np.concatenate([np.full(count[i], x_colour[i]), np.full(ki - count[i], z_colour[i])]))
        scenes.append([random_objects(rng, 1, colours=[c]) for c in colours])
        words.append(fill(BAG_TEMPLATES[rule], colour=COLOURS[x_colour[i]]))
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=label,
                latents={"x_colour": x_colour, "z_colour": z_colour, "count_x": count, "k": k}, class_names=["no", "yes"],
                informative=("image", "text"), is_bag=True)


TASKS = {"redundant": redundant, "complementary": complementary, "synergy": synergy, "bag": bag}
