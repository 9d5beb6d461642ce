"""From a task's draw to tensors: rendering, the noise / missing / corrupt dials, `WorldData`, `collate`.

`make_task(name, n, seed)` is the entry point. The seed feeds three independent streams (content, noise,
missing/corrupt), so turning a dial never changes the clean samples underneath it, nor which samples the
other dial hits: a chapter can compare "clean" and "noisy" on exactly the same data.
"""
import inspect
import math
import numbers

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from ..config import run_seed
from .language import COLOURS, SHAPES, VOCAB
from .scenes import object_cells, render_scene
from .sounds import AUDIO_MIN_LEN, random_length, tone
from .tasks import TASKS

MODALITIES = ("image", "text", "audio")
KEYS = ("image", "text", "text_mask", "audio", "audio_mask", "label", "present", "corrupted")


def pad(seqs: list[torch.Tensor], value=0):
    """Pad along dim 0 to the longest: (B, Lmax, ...) and the bool mask (B, Lmax), True on real entries."""
    lengths = torch.tensor([len(s) for s in seqs])
    padded = pad_sequence(seqs, batch_first=True, padding_value=value)
    return padded, torch.arange(padded.shape[1])[None, :] < lengths[:, None]


def _trim(t: dict) -> dict:
    """Cut text / audio / bag columns that are padding in every row, so shapes are always the set's maxima."""
    for key, mask in (("text", "text_mask"), ("audio", "audio_mask"), ("image", "bag_mask")):
        if mask in t:
            longest = int(t[mask].sum(1).max())
            t[key], t[mask] = t[key][:, :longest], t[mask][:, :longest]
    return t


class WorldData(Dataset):
    """A whole synthetic dataset, held as padded tensors (N = number of samples).

    image (N, 3, 32, 32) float32, or (N, Kmax, 3, 32, 32) with bag_mask (N, Kmax) for bags;
    text (N, L) long padded with [PAD], text_mask (N, L); audio (N, A) float32, audio_mask (N, A);
    label (N,) long; present (N, 3) bool for (image, text, audio); corrupted (N,) long, -1 none / 0 / 1 / 2.
    Also: task, n_classes, class_names, chance, informative, meta (per-sample dicts), latents (name -> (N,)).
    """

    def __init__(self, task: str, tensors: dict, meta: list, latents: dict, class_names: list,
                 informative: tuple, options: dict | None = None):
        self.task, self.meta, self.latents, self.options = task, meta, latents, options or {}
        self.class_names, self.informative, self.n_classes = list(class_names), tuple(informative), len(class_names)
        self.bag_mask = tensors.get("bag_mask")
        for key in KEYS:
            setattr(self, key, tensors[key])
        counts = torch.bincount(self.label, minlength=self.n_classes)
        self.chance = float(counts.max()) / len(self.label)

    def tensors(self) -> dict:
        """The padded whole-set tensors, keyed like `collate`'s output (move them to the device once)."""
        t = {key: getattr(self, key) for key in KEYS}
        if self.bag_mask is not None:
            t["bag_mask"] = self.bag_mask
        return t

    def __len__(self):
        return len(self.label)

    def __getitem__(self, i: int) -> dict:
        """One sample, unpadded: text (L_i,), audio (A_i,), image (3, 32, 32) or (K_i, 3, 32, 32), and label."""
        image = self.image[i]
        if self.bag_mask is not None:
            image = image[: int(self.bag_mask[i].sum())]
        return {"image": image, "text": self.text[i, : int(self.text_mask[i].sum())],
                "audio": self.audio[i, : int(self.audio_mask[i].sum())], "label": self.label[i],
                "present": self.present[i], "corrupted": self.corrupted[i]}

    def subset(self, indices) -> "WorldData":
        """The samples at `indices` (list, array or tensor), as a new WorldData."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        t = _trim({key: v[idx] for key, v in self.tensors().items()})
        latents = {k: v[idx] for k, v in self.latents.items()}
        return WorldData(self.task, t, [self.meta[i] for i in idx.tolist()], latents, self.class_names,
                         self.informative, self.options)

    def __repr__(self):
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return (f"WorldData(task={self.task!r}{opts}, n={len(self)}, classes={self.n_classes} "
                f"{self.class_names}, chance={self.chance:.3f})")


def collate(samples: list[dict]) -> dict:
    """Batch `WorldData[i]` dicts: pad text with [PAD], audio with zeros, bags with empty images; add the masks."""
    if not samples:
        raise ValueError("collate needs at least one sample, got an empty list")
    batch = {key: torch.stack([s[key] for s in samples]) for key in ("label", "present", "corrupted")}
    batch["text"], batch["text_mask"] = pad([s["text"] for s in samples], VOCAB.pad_id)
    batch["audio"], batch["audio_mask"] = pad([s["audio"] for s in samples], 0.0)
    if samples[0]["image"].dim() == 4:
        batch["image"], batch["bag_mask"] = pad([s["image"] for s in samples], 0.0)
    else:
        batch["image"] = torch.stack([s["image"] for s in samples])
    return batch


def _check_dial(name: str, dial, is_probability) -> dict:
    """Validate a dial dict {modality: level}; `is_probability(modality)` says whether the level must be <= 1."""
    dial = dict(dial or {})
    for m, v in dial.items():
        if m not in MODALITIES:
            raise ValueError(f"{name}: unknown modality {m!r}; valid modalities: {', '.join(MODALITIES)}")
        # isfinite first: a NaN slips past `v < 0` and `v > 1`, and would silently ruin every sample
        if not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0 or (is_probability(m) and v > 1):
            kind = "a probability in [0, 1]" if is_probability(m) else "a finite non-negative number"
            raise ValueError(f"{name}[{m!r}] must be {kind}, got {v!r}")
    return dial


def _render(draw, rng: np.random.Generator) -> dict:
    """Pixels, tokens and waveforms for every sample of a task draw, as padded tensors."""
    n, k = len(draw.label), torch.tensor([len(scenes) for scenes in draw.scenes])
    image = np.zeros((n, int(k.max()), 3, 32, 32), dtype=np.float32)  # filled in place: no copies of a big array
    for i, scenes in enumerate(draw.scenes):
        for j, objs in enumerate(scenes):
            image[i, j] = render_scene(objs)
    t = {"image": torch.from_numpy(image if draw.is_bag else image[:, 0])}
    if draw.is_bag:
        t["bag_mask"] = torch.arange(int(k.max()))[None, :] < k[:, None]
    t["text"], t["text_mask"] = pad([torch.tensor(VOCAB.tokenize(w)) for w in draw.words], VOCAB.pad_id)
    if draw.tones is None:
        waves = [torch.from_numpy(tone(int(p), random_length(rng), rng)) for p in draw.pitch]
    else:  # a sequence of tones, one after another
        waves = [torch.from_numpy(np.concatenate([tone(p, length, rng) for p, length in seq])) for seq in draw.tones]
    t["audio"], t["audio_mask"] = pad(waves, 0.0)
    t["label"] = torch.as_tensor(draw.label, dtype=torch.long)
    t["present"] = torch.ones(n, len(MODALITIES), dtype=torch.bool)
    t["corrupted"] = torch.full((n,), -1, dtype=torch.long)
    return t


def _word_slots(text_mask: np.ndarray) -> np.ndarray:
    """Where the words are: the mask minus [CLS] (first) and [SEP] (last real token). (N, L) bool."""
    slots = text_mask.copy()
    slots[:, 0] = False
    slots[np.arange(len(slots)), text_mask.sum(1) - 1] = False
    return slots


def _apply_noise(t: dict, noise: dict, rng: np.random.Generator):
    """Gaussian pixel noise (clipped), random word swaps, Gaussian audio noise; padding stays untouched."""
    image, text, audio = t["image"].numpy(), t["text"].numpy(), t["audio"].numpy()  # views: edits hit the tensors
    if noise.get("image"):
        real = t["bag_mask"].numpy()[..., None, None, None] if "bag_mask" in t else True
        image[:] = np.where(real, np.clip(image + rng.normal(0, noise["image"], image.shape), 0, 1), 0)
    if noise.get("text"):
        hit = _word_slots(t["text_mask"].numpy()) & (rng.random(text.shape) < noise["text"])
        text[hit] = rng.integers(VOCAB.n_special, len(VOCAB), size=int(hit.sum()))
    if noise.get("audio"):
        audio += rng.normal(0, noise["audio"], audio.shape).astype(np.float32) * t["audio_mask"].numpy()


def _events(task: str, damage: dict, p_missing: dict, p_corrupt: dict) -> tuple[list, int]:
    """The possible per-sample events (kind, modality, probability): the task's own damage first, so the user's
    dials never move it, then the dials. Also returns how many are the task's. A dial may not repeat one of them."""
    own, user = [], []
    for kind, name, dial in (("missing", "p_missing", p_missing), ("corrupted", "p_corrupt", p_corrupt)):
        task_dial = damage.get(name, {})
        clash = sorted(set(dial) & set(task_dial))
        if clash:
            raise ValueError(f"task {task!r} already sets {name} for {clash} itself (from its options); "
                             f"leave {clash} out of {name}")
        own += [(kind, m, p) for m, p in task_dial.items()]
        user += [(kind, m, p) for m, p in dial.items()]
    total, by_task = sum(p for *_, p in own + user), sum(p for *_, p in own)
    if total > 1 + 1e-9:
        raise ValueError(f"p_missing and p_corrupt sum to {total:.3f} > 1"
                         + (f" (task {task!r} itself takes {by_task:.3f})" if own else "")
                         + ": at most one modality is missing or corrupted per sample")
    return own + user, len(own)


def _pick_events(events: list, n: int, rng: np.random.Generator) -> np.ndarray:
    """Per sample, which event happens (an index into `events`; len(events): none), with their probabilities."""
    edges = np.cumsum([p for *_, p in events])
    return np.searchsorted(edges, rng.random(n), side="right")


def _apply_drops(t: dict, meta: list, events: list, which: np.ndarray, rng: np.random.Generator):
    """Make sample i's event `events[which[i]]` happen: its modality goes missing or is replaced by pure noise."""
    image, text, tmask = t["image"].numpy(), t["text"].numpy(), t["text_mask"].numpy()
    audio, amask = t["audio"].numpy(), t["audio_mask"].numpy()
    slots = _word_slots(tmask)
    for i in np.flatnonzero(which < len(events)):
        kind, m, _ = events[which[i]]
        meta[i][kind] = m
        if kind == "missing":
            t["present"][i, MODALITIES.index(m)] = False
            if m == "image":
                image[i] = 0
            elif m == "text":
                text[i], tmask[i] = VOCAB.pad_id, False
                text[i, :2], tmask[i, :2] = (VOCAB.cls_id, VOCAB.sep_id), True
            else:
                audio[i], amask[i] = 0, False
                amask[i, :AUDIO_MIN_LEN] = True
        else:
            t["corrupted"][i] = MODALITIES.index(m)
            if m == "image":
                real = t["bag_mask"][i].numpy()[:, None, None, None] if "bag_mask" in t else True
                image[i] = rng.random(image[i].shape) * real
            elif m == "text":
                text[i, slots[i]] = rng.integers(VOCAB.n_special, len(VOCAB), size=int(slots[i].sum()))
            else:
                audio[i] = rng.normal(0, 0.8, audio[i].shape) * amask[i]


def make_task(name: str, n: int, seed: int = 0, *, noise: dict | None = None, p_missing: dict | None = None,
              p_corrupt: dict | None = None, **task_kwargs) -> WorldData:
    """Generate n samples of a task (see `tasks.TASKS`), optionally degraded by the dials.

    noise: {modality: level}: image pixel-noise std, text per-word swap probability, audio noise std.
    p_missing / p_corrupt: {modality: probability} that a sample's modality is missing (zeros / "[CLS] [SEP]" /
    silence) or replaced by pure noise. Example: make_task("synergy", 2000, noise={"image": 0.2}).
    A task may damage samples itself (`noisy`): it declares its own p_missing / p_corrupt, applied here with (and
    before) the user's, which may not name the same modality again; the latent `damaged` records which modality the
    task's damage hit (-1 none).
    """
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    options = list(inspect.signature(TASKS[name]).parameters)[2:]  # after (rng, n)
    unknown = sorted(set(task_kwargs) - set(options))
    if unknown:
        raise ValueError(f"task {name!r} has no option(s) {unknown}; its options: {options or 'none'}")
    noise = _check_dial("noise", noise, lambda m: m == "text")
    p_missing = _check_dial("p_missing", p_missing, lambda m: True)
    p_corrupt = _check_dial("p_corrupt", p_corrupt, lambda m: True)
    seed = run_seed(seed)  # COURSE_SEED shifts every draw (config.run_seed)
    content_rng, noise_rng, drop_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))

    draw = TASKS[name](content_rng, int(n), **task_kwargs)
    events, n_own = _events(name, draw.damage, p_missing, p_corrupt)
    which = _pick_events(events, n, drop_rng)
    if draw.damage:  # the task's latent: the modality its own damage hit; -1 for none or a user dial's event
        hit = [MODALITIES.index(m) for _, m, _ in events[:n_own]]
        draw.latents["damaged"] = np.array(hit + [-1] * (len(events) - n_own + 1))[which]
    t = _render(draw, content_rng)
    meta = [{"objects": [o.to_dict() for objs in draw.scenes[i] for o in objs], "sentence": " ".join(draw.words[i]),
             "pitch": int(draw.pitch[i]), "label": int(draw.label[i]), "missing": None, "corrupted": None,
             **{k: int(v[i]) for k, v in draw.latents.items()}, **(draw.meta[i] if draw.meta else {})}
            for i in range(n)]
    _apply_noise(t, noise, noise_rng)
    _apply_drops(t, meta, events, which, drop_rng)
    latents = {k: torch.as_tensor(v, dtype=torch.long) for k, v in draw.latents.items()}
    return WorldData(name, _trim(t), meta, latents, draw.class_names, draw.informative, task_kwargs)


def cell_targets(data: WorldData, i, grid: int = 4) -> torch.Tensor:
    """Where attention should go: the grid cells that sample i's asked object (`meta[i]["target"]`) touches.

    i: an index -> bool (grid * grid,); a sequence of indices -> (len(i), grid * grid). Cells are flattened
    row-major, the order of `feature_map.flatten(2)` for a (B, C, grid, grid) map (see `scenes.object_cells`).
    Only for tasks that name a target object (`qa`).
    """
    if "target" not in data.meta[0]:
        raise ValueError(f"task {data.task!r} names no target object; cell_targets needs one that does, e.g. 'qa'")
    rows = [object_cells(data.meta[j]["objects"][data.meta[j]["target"]], grid).ravel()
            for j in np.atleast_1d(np.asarray(i)).tolist()]
    cells = torch.from_numpy(np.stack(rows))
    return cells if np.ndim(i) else cells[0]


def cell_attributes(data: WorldData, grid: int = 4) -> torch.Tensor:
    """What each grid cell holds: (N, grid * grid, S + C) multi-hot, the shapes then the colours of every object
    that touches the cell (rows all zero on background). The labels `backbones.pretrain_cells` trains on.
    """
    if data.tensors()["image"].dim() != 4:
        raise ValueError(f"cell_attributes needs one picture per sample; task {data.task!r} has bags of pictures")
    out = torch.zeros(len(data), grid * grid, len(SHAPES) + len(COLOURS))
    for i, m in enumerate(data.meta):
        for o in m["objects"]:
            cells = torch.from_numpy(object_cells(o, grid).ravel())
            out[i, cells, o["shape_id"]] = 1
            out[i, cells, len(SHAPES) + o["colour_id"]] = 1
    return out


def make_splits(name: str, n_train: int, n_test: int, seed: int = 0, *, n_val: int = 0, **kwargs) -> tuple:
    """Independent train and test sets (seeds `seed` and `seed + 10_000`); kwargs go to `make_task`.

    With `n_val`, also a validation set (seed `seed + 20_000`), returned as (train, val, test): epochs and
    settings are chosen on it, and the test set is scored once, at the end.
    """
    train, test = make_task(name, n_train, seed, **kwargs), make_task(name, n_test, seed + 10_000, **kwargs)
    if not n_val:
        return train, test
    return train, make_task(name, n_val, seed + 20_000, **kwargs), test
