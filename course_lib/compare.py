"""Chapter 08's bench: every fusion family of chapters 01-04 on the same data, the same encoders, the same loop.

- `FAMILIES`: name -> `Family(chapter, label, build)`, `build(n_classes, d=64) -> nn.Module` (a FusionClassifier
  on fresh image and text encoders, so two families differ only in their fusion).
- `train_family`: one family built from a seed and fitted on a training set (the same start every call).
- `measure_family`: what a model costs: trainable parameters, FLOPs per sample, latency, bytes saved for backward.
- `compare`: every family on one task -> `Row`s (accuracy and costs), same seed and data for all.
- `robustness`: a trained model's accuracy as a modality goes missing or gets noisier at test time.
- `cached_benches`: the families of chapters 05-07 (MMBT, PMF, MulT, each against its baseline) on their chapters'
  tasks, too slow to retrain in every run: measured once, cached in results/bench_cache.json under a hash of the
  library code they depend on, rebuilt by `python -m course_lib.compare --rebuild` (a test fails when it is stale).
"""
import copy
import hashlib
import json
import math
import numbers
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbones import load_image_backbone, load_text_backbone, pretrain_cells
from .config import pick_device, seed_everything
from .fusion.attention import CoAttention, Merged, TextGuided
from .fusion.early_late import Concat, LateFusion, check_features
from .fusion.gated import GMU
from .fusion.mmbt import MMBT, LateBaseline
from .fusion.mult import MulT
from .fusion.pmf import PMF
from .fusion.tensor import LMF, TFN, BilinearPool, Projected
from .measure import count_flops, count_parameters, latency, peak_memory, saved_tensor_bytes
from .models import FusionClassifier, mlp
from .train import evaluate, fit, predict, progress
from .world import make_splits, make_task

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


def train_family(name: str, train, *, epochs: int, seed: int = 0, device=None, d: int = 64, show: bool = True,
                 **fit_kwargs) -> nn.Module:
    """Family `name` built with seed `seed` and fitted on `train` (a WorldData): the same start for every call."""
    seed_everything(seed)
    model = build(name, train.n_classes, d)
    fit(model, train, epochs=epochs, seed=seed, device=device or pick_device(), name=FAMILIES[name].label,
        show=show, **fit_kwargs)
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
    model: nn.Module | None = field(compare=False, default=None, repr=False)


def compare(task: str, families=None, *, n_train: int, n_test: int, epochs: int, seed: int = 0, device=None,
            d: int = 64, modality_dropout: dict | None = None, measure_batch: int = 64, show: bool = True,
            **fit_kwargs) -> list[Row]:
    """Train every family (default: all of FAMILIES, in its order) on `task` and measure it -> one Row each.

    Every family sees the same train and test sets (seeds `seed` and `seed + 10_000`, as `make_splits`), the same
    initial seed and the same batch order. modality_dropout ({modality: p}) trains on data where each sample's
    modality is missing with probability p (see `robustness`); the test set stays clean. Costs are measured on
    the first `measure_batch` test samples. Each Row keeps its trained model in `.model`.
    """
    names = _check_names(families)
    train = make_task(task, n_train, seed, p_missing=modality_dropout)
    test = make_task(task, n_test, seed + 10_000)
    batch = {k: v[:measure_batch] for k, v in test.tensors().items()}
    rows = []
    for name in progress(names, desc=f"compare on {task}", **({} if show else {"disable": True})):
        start = time.perf_counter()
        model = train_family(name, train, epochs=epochs, seed=seed, device=device, d=d, show=show, **fit_kwargs)
        seconds = time.perf_counter() - start
        rows.append(Row(name, FAMILIES[name].chapter, evaluate(model, test), train_seconds=seconds, model=model,
                        **measure_family(model, batch)))
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


# ---- chapters 05-07: each family on its own chapter's task, with its own backbones, measured once and cached

LIB = Path(__file__).resolve().parent
CACHE = LIB.parent / "results" / "bench_cache.json"
DEPENDS = ("world", "fusion", "backbones.py", "compare.py", "config.py", "encoders.py", "measure.py", "models.py",
           "train.py", "../data/backbones")        # what a cached number depends on: change one, the cache is stale


def source_hash() -> str:
    """A hash of every file in DEPENDS, the pretrained backbones' weights included (not of torch's version: a cache
    built under another torch differs in the last digits, not in what it shows)."""
    files = sorted(f for name in DEPENDS for f in ([LIB / name] if (LIB / name).is_file() else (LIB / name).rglob("*"))
                   if f.is_file() and "__pycache__" not in f.parts)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.resolve().relative_to(LIB.parent).as_posix().encode() + f.read_bytes())
    return digest.hexdigest()[:16]


TEST_SEED = 10_000   # the test set of make_splits(..., seed=0)


def _rows(chapter: str, task: str, models: dict, train, test, test_seed: int, device, **fit_kwargs) -> list[dict]:
    """Fit each model of {label: build} (built after seeding 0) on `train`; one row each: accuracy, costs, and the
    predicted class of every test sample, in order (`make_task(task, len(predictions), test_seed)` remakes the test
    set, latents included, so chapter 09 can measure what the predictions carry)."""
    batch = {k: v[:64] for k, v in test.tensors().items()}
    rows = []
    for label, make in models.items():
        seed_everything(0)
        model = make()
        fit(model, train, device=device, name=label, **fit_kwargs)
        cost = measure_family(model, batch, repeats=5)
        predictions = predict(model, test).argmax(-1)
        rows.append({"chapter": chapter, "task": task, "family": label,
                     "accuracy": (predictions == test.label).float().mean().item(),
                     **{k: cost[k] for k in ("params", "flops", "saved_bytes", "latency_cpu")},
                     "test_seed": test_seed, "predictions": predictions.tolist()})
    return rows


def _bench_mmbt(device) -> list[dict]:
    """Chapter 05's recipe on synergy: a pretrained cell CNN under the course's BERT (dropout off), 3 image tokens."""
    no_dropout = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    tagger, _ = pretrain_cells(make_task("qa", 10_000, seed=123, kinds="colour"), 20, device=device, show=False)
    cnn = tagger.encoder.requires_grad_(False)
    train, test = make_splits("synergy", 1500, 1000, seed=0)
    return _rows("05", "synergy", {"MMBT, N = 3": lambda: MMBT(load_text_backbone(**no_dropout), cnn, 2, 3),
                                   "late fusion, same encoders": lambda: LateBaseline(load_text_backbone(**no_dropout),
                                                                                      cnn, 2, n_tokens=16)},
                 train, test, TEST_SEED, device, epochs=6, lr=3e-4, batch_size=32)


def _bench_pmf(device) -> list[dict]:
    """Chapter 06's recipe on synergy: the course's frozen BERT and ViT, prompts of length 8."""
    train, test = make_splits("synergy", 1000, 1000, seed=0)
    pmf = lambda fusion_layer: lambda: PMF(load_text_backbone(), load_image_backbone(), 2, fusion_layer, 8, 8, 8)
    depth = load_text_backbone().config.num_hidden_layers
    return _rows("06", "synergy", {"PMF, L_f = 1, M = 8": pmf(1), "frozen, no fusion (L_f = L)": pmf(depth)},
                 train, test, TEST_SEED, device, epochs=10, lr=3e-3, batch_size=64)


def _bench_mult(device, d: int = 64) -> list[dict]:
    """Chapter 07's recipe on sequence: the shared text and audio encoders, averaged and concatenated, or MulT."""
    train, test = make_splits("sequence", 3000, 1000, seed=0)
    modalities = ("text", "audio")
    return _rows("07", "sequence", {
        "mean-pool + concat": lambda: FusionClassifier(Concat((d, d)), 4, modalities, d=d, head="mlp"),
        "MulT": lambda: FusionClassifier(MulT(d), 4, modalities, d=d, head="mlp", tokens=True)},
        train, test, TEST_SEED, device, epochs=12)


BENCHES = {"05": _bench_mmbt, "06": _bench_pmf, "07": _bench_mult}


def cached_benches(device=None, *, path: Path = CACHE, rebuild: bool = False) -> list[dict]:
    """Rows (chapter, task, family, accuracy, params, flops, saved_bytes, latency_cpu, test_seed, predictions) for
    the families of chapters 05-07 and their baselines, read from `path` when it was built from the current library code (source_hash),
    else trained, measured and saved again (a few minutes on a CPU). Latency is the building machine's."""
    path = Path(path)
    cache = json.loads(path.read_text()) if path.exists() else {}
    if rebuild or cache.get("key") != source_hash():
        rows = [row for bench in BENCHES.values() for row in bench(device or pick_device())]
        cache = {"key": source_hash(), "rows": rows}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache, indent=1) + "\n")
    return cache["rows"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--rebuild"]:
        sys.exit("usage: python -m course_lib.compare --rebuild   (retrains chapters 05-07's families, a few minutes)")
    for row in cached_benches(rebuild=True):
        print(row)
