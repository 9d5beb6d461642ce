"""The tasks: each draws the latent attributes, then the objects, the sentence and the pitch, and the label.

A task generator is `fn(rng, n, **options) -> Draw`; `TASKS` maps names to generators. Rendering pixels,
tokens and waveforms, and the noise/missing/corrupt dials, happen later in `data.make_task`, so a task's
code reads as its information structure and nothing else. Each docstring states that structure.
"""
import math
import numbers
from dataclasses import dataclass, field, replace

import numpy as np

from .language import (BAG_TEMPLATES, CLAIM_TEMPLATES, COLOURS, DESCRIBE_TEMPLATES, MATERIAL_TEMPLATES, MATERIALS,
                       PAIR_TEMPLATE, QA_TEMPLATES, SHAPES, SIZES, fill, pick)
from .scenes import random_objects, well_separated
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
    damage: dict = field(default_factory=dict)  # the task's own per-sample damage, as make_task dials:
    #                                             {"p_missing" | "p_corrupt": {modality: probability}}
    meta: list | None = None  # per sample, extra `WorldData.meta` entries that are not scalar latents
    tones: list | None = None  # per sample, a sequence of (pitch index, n_samples) tones played one after another;
    #                            None: one tone of `pitch` with a random length


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


DAMAGES = {"noise": "p_corrupt", "blank": "p_missing"}  # noisy's `damage` option -> the make_task dial it uses


def noisy(rng: np.random.Generator, n: int, p: float = 0.5, damage: str = "noise") -> Draw:
    """Noisy: `redundant`'s y = colour c (4 classes), stated by image and text, but one of them may be broken.

    With probability p, ONE of image / text (each with probability p/2) is damaged: replaced by pure noise
    (damage="noise", recorded in `corrupted`) or blanked (damage="blank", recorded in `present`). The task
    declares this as its own p_corrupt / p_missing dial, so make_task applies it with the usual machinery (and the
    same seed with p=0 gives the very same clean samples); latent `damaged`: -1 none, 0 image, 1 text.
    Every sample keeps an intact modality that reads y perfectly, so 100% stays reachable, but only by working out
    per sample which modality to trust (what a gate is for). Audio: a random pitch, no information.
    """
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"noisy: p must be a probability in [0, 1], got {p!r}")
    if damage not in DAMAGES:
        raise ValueError(f"noisy: unknown damage {damage!r}; valid: {', '.join(DAMAGES)}")
    draw = redundant(rng, n)
    return replace(draw, pitch=rng.integers(len(PITCHES_HZ), size=n), informative=("image", "text"),
                   damage={DAMAGES[damage]: {"image": p / 2, "text": p / 2}})


BAG_RULES = tuple(BAG_TEMPLATES)


def bag(rng: np.random.Generator, n: int, rule: str = "any", k_min: int = 3, k_max: int = 12) -> Draw:
    """Bag: K frames (K uniform in k_min..k_max), each showing one of two objects, and a question about colour X.

    Think of the frames of a short clip: every frame shows one of the same two objects, so the *set* of distinct
    frames never tells how often each appears. rule="any", "is any object X ?": a rare object in 1 or 2 frames (a weak
    signal a mean-pool dilutes) among frames of object Z; the rare one is X in positives and a third colour W in
    negatives, so the frames alone (always two colours, one rare) say nothing without the question. rule="most",
    "are most objects X ?": positives show X in more than K/2 frames but not all, negatives in at least 1 and at most
    K/2: both objects appear in every bag, so only the proportion answers. Balanced y. The label needs the text (which
    colour) and the frames (how often). Audio: none. Latents: `x_colour`, `z_colour`, `count_x` (frames of X), `k`.
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
    w_shift = rng.integers(1, len(COLOURS) - 1, size=n)                            # any: a third colour, not X, not Z
    w_colour = np.array([[c for c in range(len(COLOURS)) if c not in (x, z)][s - 1]
                         for x, z, s in zip(x_colour, z_colour, w_shift)])
    count = np.empty(n, dtype=np.int64)
    scenes, words = [], []
    for i in range(n):
        ki, yi = int(k[i]), int(label[i])
        if rule == "any":
            n_first = rng.integers(1, min(2, ki) + 1)                   # the rare object: X if yes, W if no
            count[i] = n_first if yi else 0
            first = x_colour[i] if yi else w_colour[i]
        else:
            n_first = count[i] = rng.integers(ki // 2 + 1, ki) if yi else rng.integers(1, ki // 2 + 1)
            first = x_colour[i]
        a_obj, z_obj = random_objects(rng, 1, colours=[first]), random_objects(rng, 1, colours=[z_colour[i]])
        is_first = rng.permutation(np.arange(ki) < n_first)
        scenes.append([a_obj if a else z_obj for a in is_first])
        words.append(fill(BAG_TEMPLATES[rule], colour=COLOURS[x_colour[i]]))
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=label,
                latents={"x_colour": x_colour, "z_colour": z_colour, "count_x": count, "k": k}, class_names=["no", "yes"],
                informative=("image", "text"), is_bag=True)


QA_KINDS = tuple(QA_TEMPLATES)  # ("colour", "left_of"): latent `kind` indexes this
NO = len(COLOURS)  # qa's label space: the colours, then "no", "yes"
MIN_DX = 4  # pixels between a left_of pair's x centres, so "left of" is never a judgement call


def _place(rng: np.random.Generator, shapes, colours, pair) -> list:
    """`random_objects`, redrawn until no placement gave up and, for a left_of `pair` (j, l), |x_j - x_l| >= MIN_DX."""
    while True:
        objs = random_objects(rng, len(shapes), shapes=shapes, colours=colours)
        if well_separated(objs) and (pair is None or abs(objs[pair[0]].x - objs[pair[1]].x) >= MIN_DX):
            return objs


def qa(rng: np.random.Generator, n: int, k: int = 3, kinds=QA_KINDS) -> Draw:
    """QA: a scene of k objects, all different shapes and all different colours, and a question about one of them.

    "what colour is the {shape} ?" -> its colour; "is the {shape_a} left of the {shape_b} ?" -> no / yes, by x
    centre (at least MIN_DX apart; yes and no balanced). The kinds in `kinds` (a selection of QA_KINDS, or one
    name) are mixed uniformly; one label space, 6 classes: the 4 colours, "no", "yes". The text alone says what is
    asked, not the answer (for its question it is at chance); the image alone does not say which object. And since
    a scene's colours are all different, a pooled "which colours are present" summary cannot bind colour to shape
    (it can only rule out the 4 - k absent colours): the model must find the named object.
    Attention ground truth: latent `target` indexes meta["objects"] (the asked object; shape_a for left_of),
    meta["targets"] lists every object the question names; latents `kind`, `target_colour`, `target_x`.
    Audio: a random pitch, no information.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not kinds or not set(kinds) <= set(QA_KINDS):
        raise ValueError(f"qa: kinds must be a non-empty selection of {', '.join(QA_KINDS)}; got {kinds!r}")
    if not isinstance(k, (int, np.integer)) or not 2 <= k <= len(SHAPES):
        raise ValueError(f"qa: k must be an integer in 2..{len(SHAPES)} (one object per shape), got {k!r}")
    kind = rng.choice(sorted(QA_KINDS.index(q) for q in set(kinds)), size=n)
    yes = rng.integers(2, size=n)
    shapes, colours = (rng.permuted(np.tile(np.arange(m), (n, 1)), axis=1)[:, :k] for m in (len(SHAPES), len(COLOURS)))
    pairs = rng.permuted(np.tile(np.arange(k), (n, 1)), axis=1)[:, :2]  # the asked object, and left_of's reference
    label, target = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    scenes, words, meta = [], [], []
    for i in range(n):
        a, b = (int(j) for j in pairs[i])
        objs = _place(rng, shapes[i], colours[i], (a, b) if kind[i] else None)
        if kind[i] == 0:
            label[i], targets = objs[a].colour, [a]
            words.append(fill(QA_TEMPLATES["colour"], shape=SHAPES[objs[a].shape]))
        else:
            if (objs[a].x < objs[b].x) != yes[i]:  # name the pair in the order that makes the drawn answer true
                a, b = b, a
            label[i], targets = NO + yes[i], [a, b]
            words.append(fill(QA_TEMPLATES["left_of"], shape_a=SHAPES[objs[a].shape], shape_b=SHAPES[objs[b].shape]))
        target[i] = a
        scenes.append([objs])
        meta.append({"targets": targets})
    asked = [scene[0][j] for scene, j in zip(scenes, target)]
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=label,
                latents={"kind": kind, "target": target, "target_colour": np.array([o.colour for o in asked]),
                         "target_x": np.array([o.x for o in asked])},
                class_names=list(COLOURS) + ["no", "yes"], informative=("image", "text"), meta=meta)


TRIMODAL_LEVELS = np.array([-1.0, -1 / 3, 1 / 3, 1.0])  # a modality's level index 0..3 -> its value x_m


def trimodal_score(x_img, x_txt, x_aud, w_uni: float = 1.0, w_bi: float = 0.0, w_tri: float = 3.0):
    """s = w_uni (x_i + x_t + x_a) + w_bi (x_i x_t + x_i x_a + x_t x_a) + w_tri x_i x_t x_a, element-wise."""
    return (w_uni * (x_img + x_txt + x_aud) + w_bi * (x_img * x_txt + x_img * x_aud + x_txt * x_aud)
            + w_tri * x_img * x_txt * x_aud)


def trimodal(rng: np.random.Generator, n: int, w_uni: float = 1.0, w_bi: float = 0.0, w_tri: float = 3.0) -> Draw:
    """Trimodal: y = 1 iff s > 0, with s = `trimodal_score` of one value per modality and three weight dials.

    Each modality carries one level x_m in TRIMODAL_LEVELS (-1, -1/3, 1/3, 1), drawn independently and uniformly:
    image, the shape of its one object (circle, square, triangle, cross; colour and size are distractors); text, the
    colour named by a claim sentence; audio, the pitch (low to high). w_uni weighs the unimodal terms, w_bi the
    pairwise products, w_tri the three-way product x_i x_t x_a, which only the three together reveal. Samples with
    s = 0 are redrawn, so every label is decided. Latents: `img_level`, `txt_level`, `aud_level` (indices 0..3).
    """
    weights = (w_uni, w_bi, w_tri)
    if not all(isinstance(w, numbers.Real) and math.isfinite(w) for w in weights) or not any(weights):
        raise ValueError(f"trimodal: w_uni, w_bi, w_tri must be finite numbers, not all 0; got {weights}")
    levels = rng.integers(len(TRIMODAL_LEVELS), size=(3, n))
    while True:
        score = trimodal_score(*TRIMODAL_LEVELS[levels], *weights)
        tie = np.abs(score) < 1e-9
        if not tie.any():
            break
        levels[:, tie] = rng.integers(len(TRIMODAL_LEVELS), size=(3, int(tie.sum())))
    img, txt, aud = levels
    scenes = [[random_objects(rng, 1, shapes=[s])] for s in img]
    words = [fill(pick(rng, CLAIM_TEMPLATES), colour=COLOURS[c]) for c in txt]
    label = (score > 0).astype(np.int64)
    return Draw(scenes, words, pitch=aud.copy(), label=label,
                latents={"img_level": img, "txt_level": txt, "aud_level": aud}, class_names=["s < 0", "s > 0"],
                informative=ALL_MODALITIES)


HIGH = len(PITCHES_HZ) - 1  # sequence: the tone whose word is asked for


def sequence(rng: np.random.Generator, n: int, k_min: int = 3, k_max: int = 5) -> Draw:
    """Sequence: k tones play one after another while k colour words are said, one word per tone, in order.

    Audio: k tones of equal length (60..140 samples each, drawn per sample, so the audio's rate differs from the
    text's), exactly one at the HIGH pitch, the others lower. Text: the k colour words, "red blue green .". y = the
    colour said while the HIGH tone sounds (4 classes). Text alone knows the words but not which one; audio alone
    knows when, not what: the label needs the two sequences aligned. Image: a random object, no information.
    Latents: `k`, `target_pos` (the HIGH tone's place, 0..k-1), `tone_len`, and `colours`: the words' colour ids
    as one base-4 number, the first word the lowest digit (with `k`, the whole sentence).
    """
    if not isinstance(k_min, (int, np.integer)) or not 2 <= k_min <= k_max <= 8:
        raise ValueError(f"sequence: need 2 <= k_min <= k_max <= 8, got k_min={k_min!r}, k_max={k_max!r}")
    k = rng.integers(k_min, k_max + 1, size=n)
    target_pos, tone_len = rng.integers(0, k), rng.integers(60, 141, size=n)
    words, tones, label, code = [], [], np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for i in range(n):
        colours = rng.integers(len(COLOURS), size=k[i])
        code[i] = colours @ len(COLOURS) ** np.arange(k[i])
        pitches = rng.integers(HIGH, size=k[i])                            # lower tones ...
        pitches[target_pos[i]] = HIGH                                     # ... and one high one
        words.append([COLOURS[c] for c in colours] + ["."])
        tones.append([(int(p), int(tone_len[i])) for p in pitches])
        label[i] = colours[target_pos[i]]
    scenes = [[random_objects(rng, 1)] for _ in range(n)]
    return Draw(scenes, words, pitch=np.full(n, HIGH), label=label,
                latents={"k": k, "target_pos": target_pos, "tone_len": tone_len, "colours": code},
                class_names=list(COLOURS), informative=("text", "audio"), tones=tones,
                meta=[{"tones": [p for p, _ in t]} for t in tones])


PAIR_ATTRIBUTES = ("shape", "colour", "size")  # pairs: what a hard negative changes (latent `differs`)
RANDOM_NEGATIVE = len(PAIR_ATTRIBUTES)         # pairs: `differs` of a random negative (another object's caption)


def pairs(rng: np.random.Generator, n: int, captions: int = 3, p_negative: float = 0.5,
          negatives: str = "hard", objects: int = 1) -> Draw:
    """Pairs: image-caption pairs for retrieval and image-text matching; y = 1 iff the caption is true of the image.

    Rows come in groups of `captions` rows sharing one picture (latent `image_id`); each row's caption is a true
    description of the picture, or, with probability p_negative, a negative: negatives="hard" keeps the sentence
    and changes one attribute (shape, colour or size; latent `differs` = its index into PAIR_ATTRIBUTES);
    negatives="random" describes another random object that differs in at least one attribute (`differs` =
    RANDOM_NEGATIVE), the easy negatives of an in-batch shuffle. `differs` is -1 on true captions. Latents `object`
    and `caption`: the picture's and the caption's (shape, colour, size) as one number, (shape * 4 + colour) * 2 + size.
    objects=2 draws two objects of different shapes per picture, named in one sentence in the order of their shapes
    ("a small red circle and a large blue cross ."): 384 distinct true captions instead of 32, a retrieval gallery in
    which one wrong attribute of either object is a miss. A hard negative changes one attribute of one of the two;
    there are no `object` and `caption` latents.
    Audio: a random pitch, no information.
    """
    if not isinstance(captions, (int, np.integer)) or captions < 1:
        raise ValueError(f"pairs: captions must be a positive integer, got {captions!r}")
    if not 0 <= p_negative <= 1:
        raise ValueError(f"pairs: p_negative must be in [0, 1], got {p_negative!r}")
    if negatives not in ("hard", "random"):
        raise ValueError(f"pairs: negatives must be 'hard' or 'random', got {negatives!r}")
    if objects not in (1, 2):
        raise ValueError(f"pairs: objects must be 1 or 2, got {objects!r}")
    if objects == 2:
        return _two_object_pairs(rng, n, captions, p_negative, negatives)
    image_id = np.arange(n) // captions
    objects = [random_objects(rng, 1)[0] for _ in range(image_id[-1] + 1)]
    options = (SHAPES, COLOURS, SIZES)
    scenes, words, differs, codes = [], [], np.full(n, -1), np.empty((n, 2), dtype=np.int64)
    code = lambda attrs: (attrs[0] * len(COLOURS) + attrs[1]) * len(SIZES) + attrs[2]
    for i in range(n):
        obj = objects[image_id[i]]
        told = [obj.shape, obj.colour, obj.size]
        negative = rng.random() < p_negative
        if negative and negatives == "hard":
            differs[i] = rng.integers(len(PAIR_ATTRIBUTES))
            told[differs[i]] = (told[differs[i]] + rng.integers(1, len(options[differs[i]]))) % len(options[differs[i]])
        elif negative:
            differs[i], true = RANDOM_NEGATIVE, told
            while told == true:
                other = random_objects(rng, 1)[0]
                told = [other.shape, other.colour, other.size]
        words.append(fill(PAIR_TEMPLATE, size=SIZES[told[2]], colour=COLOURS[told[1]], shape=SHAPES[told[0]]))
        codes[i] = code([obj.shape, obj.colour, obj.size]), code(told)
        scenes.append([[obj]])
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=(differs == -1).astype(np.int64),
                latents={"image_id": image_id, "differs": differs, "object": codes[:, 0], "caption": codes[:, 1]},
                class_names=["mismatch", "match"],
                informative=("image", "text"))


def _two_objects(rng: np.random.Generator) -> list:
    """Two well-separated objects of two different shapes, in the order of their shapes."""
    return _place(rng, np.sort(rng.permutation(len(SHAPES))[:2]), None, None)


def _two_object_pairs(rng: np.random.Generator, n: int, captions: int, p_negative: float, negatives: str) -> Draw:
    """`pairs` with objects=2 (see there)."""
    options = (SHAPES, COLOURS, SIZES)
    image_id = np.arange(n) // captions
    pictures = [_two_objects(rng) for _ in range(image_id[-1] + 1)]
    scenes, words, differs = [], [], np.full(n, -1)
    for i in range(n):
        objs = pictures[image_id[i]]
        truth = [[o.shape, o.colour, o.size] for o in objs]
        told = [list(t) for t in truth]
        negative = rng.random() < p_negative
        if negative and negatives == "hard":
            which, differs[i] = rng.integers(2), rng.integers(len(PAIR_ATTRIBUTES))
            a = differs[i]
            told[which][a] = (told[which][a] + rng.integers(1, len(options[a]))) % len(options[a])
        elif negative:
            differs[i] = RANDOM_NEGATIVE
            while told == truth:
                told = [[o.shape, o.colour, o.size] for o in _two_objects(rng)]
        words.append([w for t, end in zip(told, ("and", ".")) for w in
                      fill(PAIR_TEMPLATE[:-1] + end, size=SIZES[t[2]], colour=COLOURS[t[1]], shape=SHAPES[t[0]])])
        scenes.append([objs])
    return Draw(scenes, words, pitch=rng.integers(len(PITCHES_HZ), size=n), label=(differs == -1).astype(np.int64),
                latents={"image_id": image_id, "differs": differs}, class_names=["mismatch", "match"],
                informative=("image", "text"))


TASKS = {"redundant": redundant, "complementary": complementary, "synergy": synergy, "bag": bag, "noisy": noisy,
         "qa": qa, "trimodal": trimodal, "sequence": sequence, "pairs": pairs}
