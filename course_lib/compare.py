"""Chapter 08's bench: every fusion family of chapters 01-04 on the same data, the same encoders, the same loop.

- `FAMILIES`: name -> `Family(chapter, label, build)`, `build(n_classes, d=64) -> nn.Module` (a FusionClassifier
  on fresh image and text encoders, so two families differ only in their fusion).
- `train_family`: one family built from a seed and fitted on a training set (the same start every call).
- `measure_family`: what a model costs: trainable parameters, FLOPs per sample, latency, bytes saved for backward.
- `compare`: every family on one task -> `Row`s (accuracy and costs), same seed and data for all.
- `robustness`: a trained model's accuracy as a modality goes missing or gets noisier at test time.

The families of chapters 05-07, on their own chapters' tasks, are measured once and cached: see `cached_bench.py`.
"""
import copy
import math
import numbers
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import pick_device, seed_everything
from .fusion.attention import CoAttention, Merged, TextGuided
from .fusion.early_late import Concat, LateFusion, check_features
from .fusion.gated import GMU
from .fusion.tensor import LMF, TFN, BilinearPool, Projected
from .measure import count_flops, count_parameters, latency, peak_memory, saved_tensor_bytes
from .models import FusionClassifier, mlp
from .train import evaluate, fit, progress
from .world import make_task

M2 = ("image", "text")      # the two modalities every family here fuses
KINDS = ("missing", "noise")


class LateHeads(nn.Module):
    """Late fusion trained end to end: one MLP head per modality (B, D) -> logits (B, C), then `LateFusion`.

    The same decision-level rule as `DecisionLevel` over separately fitted experts, but one module, so it goes
    through the same `fit` as every other family (use it with `FusionClassifier(..., head=None)`).
    """

    def __init__(self, dims, n_classes: int, hidden: int = 64, rule: str = "mean"):
        super().__init__()
        self.dims, self.out_dim = tuple(dims), n_classes
        self.heads = nn.ModuleList(mlp(d, hidden, n_classes) for d in self.dims)
        self.combine = LateFusion(rule)

    def forward(self, *hs):
        check_features(hs, self.dims)
        return self.combine(*[head(h) for head, h in zip(self.heads, hs)])   # (B, C)


@dataclass(frozen=True)
class Family:
    """One entry of the registry: the chapter that builds it, a label for tables, `build(n_classes, d=64)`."""
    chapter: str
    label: str
    build: object


def _classifier(make_fusion, **kwargs):
    return lambda n_classes, d=64: FusionClassifier(make_fusion(n_classes, d), n_classes, M2, d=d, **kwargs)


FAMILIES = {
    "late": Family("01", "late fusion", _classifier(lambda c, d: LateHeads((d, d), c), head=None)),
    "concat": Family("01", "concat + linear", _classifier(lambda c, d: Concat((d, d)))),
    "concat_mlp": Family("01", "concat + MLP", _classifier(lambda c, d: Concat((d, d)), head="mlp")),
    "gmu": Family("02", "GMU gate", _classifier(lambda c, d: GMU(d, d, d))),
    "text_guided": Family("03", "text-guided attention", _classifier(lambda c, d: TextGuided(d), tokens=True)),
    "co_attention": Family("03", "co-attention", _classifier(lambda c, d: CoAttention(d), tokens=True)),
    "merged": Family("03", "merged attention", _classifier(lambda c, d: Merged(d), tokens=True)),
    "bilinear": Family("04", "bilinear", _classifier(lambda c, d: BilinearPool((d, d)))),
    "tfn": Family("04", "TFN", _classifier(lambda c, d: Projected((d, d), TFN((8, 8), 32)))),
    "lmf": Family("04", "LMF r=4", _classifier(lambda c, d: Projected((d, d), LMF((8, 8), 32, 4)))),
}


def build(name: str, n_classes: int, d: int = 64) -> nn.Module:
    """A fresh model of family `name` (a key of FAMILIES), with a clear error for an unknown name."""
    return FAMILIES[_check_names([name])[0]].build(n_classes, d)


def _check_names(names) -> list:
    names = list(FAMILIES) if names is None else [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError(f"no families to compare; choose some of: {', '.join(FAMILIES)}")
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise KeyError(f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; known: {', '.join(FAMILIES)}")
    return names


def measure_family(model: nn.Module, batch: dict, *, repeats: int = 10) -> dict:
    """What `model` costs on `batch` (a dict of tensors with 'label', B samples), measured with `measure.py`.

    params: trainable parameters; fusion_params: those of the fusion and head alone (the encoders are shared).
    flops / fusion_flops: FLOPs per sample of one inference call, whole model / fusion and head alone (torch's
    counter counts matrix products and convolutions, the GRU's included, not elementwise products: the bilinear
    outer product of pooled vectors and the gates' multiplications are free to it). latency_cpu /
    latency_cuda: median seconds of one inference call on the whole batch (latency_cuda None without CUDA).
    saved_bytes: bytes autograd keeps for backward in one training step on the batch (CPU), cuda_peak_bytes the
    peak CUDA memory of that step (None without CUDA). The model is measured on copies; it is not changed.
    """
    if "label" not in batch or not torch.is_tensor(batch["label"]) or len(batch["label"]) == 0:
        raise ValueError(f"batch must be a non-empty dict of tensors with a 'label' key, got keys {sorted(batch)}")
    B = len(batch["label"])
    cpu = copy.deepcopy(model).cpu().eval()
    x = {k: v.cpu().clone() if torch.is_tensor(v) else v for k, v in batch.items()}   # own storage: a view of a
    #                                                            whole set would count the whole set as saved
    fusion = [cpu.fusion, cpu.head] if isinstance(cpu, FusionClassifier) else [cpu]
    out = {"params": count_parameters(model), "fusion_params": sum(count_parameters(m) for m in fusion),
           "flops": count_flops(cpu, x) / B, "fusion_flops": _fusion_flops(cpu, x) / B,
           "latency_cpu": latency(cpu, x, repeats=repeats), "latency_cuda": None, "cuda_peak_bytes": None}
    cpu.train()
    out["saved_bytes"] = saved_tensor_bytes(lambda: F.cross_entropy(cpu(x), x["label"]))
    if torch.cuda.is_available():
        gpu = copy.deepcopy(model).cuda()
        xg = {k: v.cuda() if torch.is_tensor(v) else v for k, v in x.items()}
        out["cuda_peak_bytes"] = peak_memory(lambda: F.cross_entropy(gpu(xg), xg["label"]).backward())[
            "cuda_peak_bytes"]
        out["latency_cuda"] = latency(gpu.eval(), xg, repeats=repeats)
    return out


def _fusion_flops(model: nn.Module, batch: dict) -> int:
    """FLOPs of the fusion and head alone (the encoders' share left out); a model that is not a FusionClassifier
    counts whole."""
    if not isinstance(model, FusionClassifier):
        return count_flops(model, batch)
    with torch.no_grad():
        hs = model.features(batch)
    return count_flops(lambda: model.head(model.fusion(*hs)))


def train_family(name: str, train, val=None, *, epochs: int, seed: int = 0, device=None, d: int = 64,
                 show: bool = True, **fit_kwargs) -> nn.Module:
    """Family `name` built with seed `seed` and fitted on `train` (a WorldData), with `val` for early stopping
    (`fit`'s keep_best / patience): the same start for every call. The History is kept as `model.history`."""
    seed_everything(seed)
    model = build(name, train.n_classes, d)
    model.history = fit(model, train, val, epochs=epochs, seed=seed, device=device or pick_device(),
                        name=FAMILIES[name].label, show=show, **fit_kwargs)
    return model


@dataclass
class Row:
    """One family's line of the comparison. Equality ignores the timings and the model (timings vary run to run)."""
    name: str
    chapter: str
    accuracy: float
    params: int
    fusion_params: int
    flops: float
    fusion_flops: float
    saved_bytes: int
    latency_cpu: float = field(compare=False)
    latency_cuda: float | None = field(compare=False, default=None)
    cuda_peak_bytes: int | None = field(compare=False, default=None)
    train_seconds: float = field(compare=False, default=0.0)
    best_epoch: int | None = None            # the epoch kept on validation (None: trained the fixed epochs)
    model: nn.Module | None = field(compare=False, default=None, repr=False)


def compare(task: str, families=None, *, n_train: int, n_test: int, epochs: int, seed: int = 0, device=None,
            d: int = 64, modality_dropout: dict | None = None, measure_batch: int = 64, show: bool = True,
            n_val: int = 0, patience: int | None = None, **fit_kwargs) -> list[Row]:
    """Train every family (default: all of FAMILIES, in its order) on `task` and measure it -> one Row each.

    Every family sees the same train, validation and test sets (seeds `seed`, `seed + 20_000` and `seed + 10_000`,
    as `make_splits`), the same initial seed and the same batch order. With n_val > 0 each keeps its epoch best on
    the validation set, and with `patience` stops after that many epochs without a better one; `epochs` is then a
    cap. modality_dropout ({modality: p}) trains on data where each sample's modality is missing with probability
    p (see `robustness`); validation and test sets stay clean. Costs are measured on the first `measure_batch`
    test samples. Each Row keeps its trained model in `.model`.
    """
    names = _check_names(families)
    if n_val < 0 or (patience is not None and not n_val):
        raise ValueError(f"early stopping needs a validation set: n_val={n_val}, patience={patience}")
    train = make_task(task, n_train, seed, p_missing=modality_dropout)
    val = make_task(task, n_val, seed + 20_000) if n_val else None
    test = make_task(task, n_test, seed + 10_000)
    if n_val:
        fit_kwargs = {"keep_best": True, "patience": patience, **fit_kwargs}
    batch = {k: v[:measure_batch] for k, v in test.tensors().items()}
    rows = []
    for name in progress(names, desc=f"compare on {task}", **({} if show else {"disable": True})):
        start = time.perf_counter()
        model = train_family(name, train, val, epochs=epochs, seed=seed, device=device, d=d, show=show,
                             **fit_kwargs)
        seconds = time.perf_counter() - start
        rows.append(Row(name, FAMILIES[name].chapter, evaluate(model, test), train_seconds=seconds,
                        best_epoch=model.history.best_epoch, model=model, **measure_family(model, batch)))
    return rows


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table: accuracy, parameters (all / fusion + head), FLOPs per sample (all /
    fusion + head), CPU milliseconds per batch (and GPU milliseconds when measured), KiB saved for backward,
    training seconds."""
    gpu = any(r.latency_cuda is not None for r in rows)
    lines = [f"{'family':>22} | ch | accuracy | params (fusion) | kFLOP/sample (fusion) | CPU ms |"
             + (" GPU ms |" if gpu else "") + " saved KiB | train s"]
    for r in rows:
        lines.append(f"{FAMILIES[r.name].label:>22} | {r.chapter} | {r.accuracy:8.1%} | "
                     f"{r.params:7d} ({r.fusion_params:5d}) | {r.flops / 1e3:9.1f} ({r.fusion_flops / 1e3:8.1f}) | "
                     f"{1e3 * r.latency_cpu:6.2f} |" + (f" {1e3 * (r.latency_cuda or 0):6.2f} |" if gpu else "")
                     + f" {r.saved_bytes / 1024:9.0f} | {r.train_seconds:7.1f}")
    return "\n".join(lines)


def robustness(model, task: str, n_test: int, *, modality: str, kind: str, levels, seed: int = 0,
               device=None):
    """Accuracy of a trained `model` at each level of damage to `modality` at test time (one float per level).

    model: one nn.Module -> a list of accuracies; or a dict {name: nn.Module} -> {name: list}, every model on the
    same test sets (each made once). kind="missing": the level is the probability that a sample's modality is
    missing (`make_task`'s p_missing: a blank picture, "[CLS] [SEP]" text, silence). kind="noise": the level is
    `make_task`'s noise (pixel-noise std, per-word swap probability, audio-noise std). The test sets are the
    world's own, seed `seed + 10_000` as `make_splits`: level 0 is the clean test set, and the world's separate
    noise/missing streams make the damage nested (a sample missing at level p is missing at every higher level).

    Modality dropout in training is the same dial at training time (`compare(..., modality_dropout=...)` or
    `make_task(..., p_missing=...)`). Dropping a modality in the data is dropping its features: a missing
    modality is a constant input, so its encoder emits one constant vector h_missing for every such sample,
    exactly what feature-level modality dropout substitutes for h_m; and it is the very signal the model then
    meets at test time, so nothing differs between train and test but how often it happens.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    levels = list(levels)
    if not levels:
        raise ValueError("levels is empty: give at least one level, e.g. [0, 0.5, 1]")
    bad = [lv for lv in levels if not isinstance(lv, numbers.Real) or math.isnan(lv) or lv < 0
           or (kind == "missing" and lv > 1)]
    if bad:
        want = "probabilities in [0, 1]" if kind == "missing" else "non-negative numbers"
        raise ValueError(f"{kind} levels must be {want}, got {bad}")
    models = model if isinstance(model, dict) else {"": model}
    if not models or not all(isinstance(m, nn.Module) for m in models.values()):
        raise TypeError(f"model must be an nn.Module or a non-empty dict of them, got {type(model).__name__}")
    dial = "p_missing" if kind == "missing" else "noise"
    accs = {name: [] for name in models}
    for lv in progress(levels, desc=f"{modality} {kind}", leave=False):
        test = make_task(task, n_test, seed + 10_000, **{dial: {modality: lv}})
        for name, m in models.items():
            accs[name].append(evaluate(m, test, device=device or next(m.parameters()).device))
    return accs if isinstance(model, dict) else accs[""]
