"""The families of chapters 05-07 on their own chapters' tasks, measured once and cached for chapters 08 and 09.

MMBT, PMF, MulT and ITM stand on pretrained backbones or their own tasks, so they cannot share chapter 08's bench;
each is trained with its chapter's recipe next to that chapter's baseline and measured with `measure_family`.
Training them takes minutes, so `cached_benches` keeps the rows in results/bench_cache.json under a hash of the
library code and backbone weights they depend on (`source_hash`). Only `python -m course_lib.cached_bench --rebuild`
(`make bench`) retrains them: a chapter that finds the cache stale warns and uses it, and a unit test fails while the
committed cache is stale. Every row keeps the predicted class of every test sample, and the seed and options of its
test set, so chapter 09 can remake the test set, latents included, and measure what the predictions carry.
"""
import ast
import copy
import hashlib
import io
import json
import sys
import tokenize
import warnings
from pathlib import Path

from .backbones import load_cell_tagger, load_image_backbone, load_text_backbone
from .compare import measure_family
from .config import exact_seeds, pick_device, seed_everything
from .fusion.coordinated import DualEncoder, Matcher, clip_loss
from .fusion.early_late import Concat
from .fusion.mmbt import MMBT, LateBaseline
from .fusion.mult import MulT
from .fusion.pmf import PMF
from .models import FusionClassifier
from .recipes import CLIP_PAIRS, ITM_PAIRS, MULT_SEQUENCE, PMF_SYNERGY
from .train import fit, predict
from .world import make_splits, make_task

LIB = Path(__file__).resolve().parent
CACHE = LIB.parent / "results" / "bench_cache.json"
DEPENDS = ("world", "fusion", "backbones.py", "cached_bench.py", "compare.py", "config.py", "encoders.py",
           "measure.py", "models.py", "recipes.py", "train.py",
           "../data/backbones")   # change one, and the cache is stale
HASHED = ("*.py", "*.json", "*.safetensors")  # in DEPENDS' folders: code, configs, weights (not .DS_Store, swap files)
TEST_SEED = 10_000   # the test set of make_splits(..., seed=0)
PROBE_SEED = 20_000  # a row's extra probe set


def _code(source: str) -> str:
    """Python source less what cannot change a result: docstrings, comments, blank lines, trailing spaces, CRLF.
    Found with ast and tokenize, whose positions agree from Python 3.8 on (the key is the same on every Python)."""
    lines = source.replace("\r\n", "\n").split("\n")
    spans = [(t.start, t.end) for t in tokenize.generate_tokens(io.StringIO(source).readline)
             if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            doc = body[0]   # ast counts columns in UTF-8 bytes, tokenize in characters
            col = lambda row, byte: len(lines[row - 1].encode()[:byte].decode())
            spans.append(((doc.lineno, col(doc.lineno, doc.col_offset)),
                          (doc.end_lineno, col(doc.end_lineno, doc.end_col_offset))))
    for (r0, c0), (r1, c1) in sorted(spans, reverse=True):       # cut from the end, so earlier positions hold
        lines[r0 - 1:r1] = [lines[r0 - 1][:c0] + lines[r1 - 1][c1:]]
    return "\n".join(line.rstrip() for line in lines if line.strip())


def source_hash() -> str:
    """A hash of the code in DEPENDS (as `_code` reads it), the backbones' configs and weights included; not of
    torch's version: a cache built under another torch differs in the last digits, not in what it shows."""
    files = sorted({f for name in DEPENDS
                    for f in ([LIB / name] if (LIB / name).is_file() else
                              (g for pattern in HASHED for g in (LIB / name).rglob(pattern)))
                    if f.is_file() and not f.name.startswith(".")})   # no ._x.py (macOS), .#x.py (emacs)
    digest = hashlib.sha256()
    for f in files:
        data = f.read_bytes()
        if f.suffix == ".py":
            data = _code(data.decode()).encode()
        elif f.suffix == ".json":
            data = data.replace(b"\r\n", b"\n")
        digest.update(f.resolve().relative_to(LIB.parent).as_posix().encode() + data)
    return digest.hexdigest()[:16]


def _row(chapter: str, label: str, model, test, test_seed: int, probe=None) -> dict:
    """One trained model's row: accuracy and costs on `test` (drawn with `test_seed`), and the predicted class of
    every test sample, in order (`make_task(task, len(predictions), test_seed, **test_options)` remakes the test set).
    probe: a WorldData drawn with PROBE_SEED whose predictions the row keeps too, as {"seed", "options",
    "predictions"}."""
    cost = measure_family(model, {k: v[:64] for k, v in test.tensors().items()}, repeats=5)
    predictions = predict(model, test).argmax(-1)
    row = {"chapter": chapter, "task": test.task, "family": label,
           "accuracy": (predictions == test.label).float().mean().item(),
           **{k: cost[k] for k in ("params", "flops", "saved_bytes", "latency_cpu")},
           "test_seed": test_seed, "test_options": test.options, "predictions": predictions.tolist()}
    if probe is not None:
        row["probe"] = {"seed": PROBE_SEED, "options": probe.options,
                        "predictions": predict(model, probe).argmax(-1).tolist()}
    return row


def _rows(chapter: str, models: dict, train, test, device, probe=None, val=None, **fit_kwargs) -> list[dict]:
    """Fit each model of {label: build} (built after seeding 0) on `train` (validated on `val`); one `_row` each."""
    rows = []
    for label, make in models.items():
        seed_everything(0)
        model = make()
        fit(model, train, val, device=device, name=label, **fit_kwargs)
        rows.append(_row(chapter, label, model, test, TEST_SEED, probe))
    return rows


def _bench_mmbt(device) -> list[dict]:
    """Chapter 05's recipe on synergy: the shipped cell CNN under the course's BERT (dropout off), 3 image tokens."""
    no_dropout = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    cnn = load_cell_tagger().encoder.requires_grad_(False)
    train, test = make_splits("synergy", 1500, 1000, seed=0)
    return _rows("05", {"MMBT, N = 3": lambda: MMBT(load_text_backbone(**no_dropout), cnn, 2, 3),
                        "late fusion, same encoders": lambda: LateBaseline(load_text_backbone(**no_dropout), cnn, 2,
                                                                           n_tokens=16)},
                 train, test, device, epochs=6, lr=3e-4, batch_size=32)


def _bench_pmf(device) -> list[dict]:
    """Chapter 06's recipe (`recipes.PMF_SYNERGY`) at its seed 0: the course's frozen BERT and ViT, prompts of
    length 8, the epoch best on validation kept."""
    r = PMF_SYNERGY
    train, val, test = make_splits(r.task, r.n_train, r.n_test, seed=0, n_val=r.n_val)
    pmf = lambda fusion_layer: lambda: PMF(load_text_backbone(), load_image_backbone(), 2, fusion_layer, 8, 8, 8)
    depth = load_text_backbone().config.num_hidden_layers
    return _rows("06", {"PMF, L_f = 1, M = 8": pmf(1), "frozen, no fusion (L_f = L)": pmf(depth)},
                 train, test, device, val=val, epochs=r.epochs, lr=r.lr, batch_size=r.batch_size, keep_best=True)


def _bench_mult(device, d: int = 64) -> list[dict]:
    """Chapter 07's recipe (`recipes.MULT_SEQUENCE`) at its seed 0: the shared text and audio encoders, averaged and
    concatenated, or MulT (absolute positions), the epoch best on validation kept. The probe holds sequences of
    k = 3 only, few enough joint values (3 places x 4^3 sentences) for chapter 09 to count."""
    r = MULT_SEQUENCE
    train, val, _ = r.splits(seed=0)
    probe = make_task(r.task, 6000, PROBE_SEED, k_min=3, k_max=3)
    modalities = ("text", "audio")
    return _rows("07", {
        "mean-pool + concat": lambda: FusionClassifier(Concat((d, d)), 4, modalities, d=d, head="mlp"),
        "MulT": lambda: FusionClassifier(MulT(d), 4, modalities, d=d, head="mlp", tokens=True)},
        train, make_task(r.task, r.n_test, TEST_SEED), device, probe=probe, val=val, keep_best=True, **r.fit_options)


def _bench_itm(device, d: int = 64) -> list[dict]:
    """Chapter 07's image-text matching at its seed 0: a dual encoder trained with CLIP's loss (`recipes.CLIP_PAIRS`),
    then an ITM head fine-tuned on it twice (`recipes.ITM_PAIRS`, the epoch best on validation kept), with random
    and with hard (one-attribute) negatives; both tested on hard negatives."""
    train = CLIP_PAIRS.splits(seed=0)[0]
    seed_everything(0)
    clip = DualEncoder(d)
    fit(clip, train, loss_fn=clip_loss, device=device, name="CLIP", **CLIP_PAIRS.fit_options)
    r = ITM_PAIRS
    test = make_task(r.task, r.n_test, TEST_SEED, **r.options, negatives="hard")
    rows = []
    for kind in ("random", "hard"):
        train, val, _ = r.splits(seed=0, negatives=kind)
        seed_everything(0)
        matcher = Matcher(copy.deepcopy(clip))
        fit(matcher, train, val, device=device, name=f"ITM, {kind} negatives", keep_best=True, **r.fit_options)
        rows.append(_row("07", f"ITM, {kind} negatives", matcher, test, TEST_SEED))
    return rows


BENCHES = {"05": _bench_mmbt, "06": _bench_pmf, "07": _bench_mult, "07 ITM": _bench_itm}


def cached_benches(device=None, *, path: Path = CACHE, rebuild: bool = False) -> list[dict]:
    """Rows (chapter, task, family, accuracy, params, flops, saved_bytes, latency_cpu, test_seed, test_options,
    predictions, and for some a probe) for the families of chapters 05-07 and their baselines, read from `path`.
    rebuild: train and measure them again (a few minutes on a CPU) and save them (what `make bench` does). Without
    it, a cache built from other library code (source_hash) is still used, with a warning: rebuilding is `make
    bench`'s job, not a chapter's. Latency is the building machine's."""
    path = Path(path)
    if rebuild:
        with exact_seeds():  # the cache is one set of seeds, whatever COURSE_SEED the run has
            rows = [row for bench in BENCHES.values() for row in bench(device or pick_device())]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")          # write, then rename: never a half-written cache
        tmp.write_text(json.dumps({"key": source_hash(), "rows": rows}, indent=1) + "\n")
        tmp.replace(path)
        return rows
    if not path.exists():
        raise FileNotFoundError(f"no {path}: build it with `make bench` (retrains chapters 05-07's families, "
                                f"about 2 minutes)")
    cache = json.loads(path.read_text())
    if cache.get("key") != source_hash():
        warnings.warn(f"{path.name} was built from other library code than this one: its rows may not be what the "
                      f"current code gives. Rebuild it with `make bench` (about 2 minutes).", stacklevel=2)
    return cache["rows"]


def test_set(row: dict):
    """The test set a cached row was scored on, remade exactly (its stored seed, whatever COURSE_SEED says)."""
    with exact_seeds():
        return make_task(row["task"], len(row["predictions"]), row["test_seed"], **row["test_options"])


def probe_set(row: dict):
    """A row's probe set (MulT's k = 3 sequences), remade exactly."""
    probe = row["probe"]
    with exact_seeds():
        return make_task(row["task"], len(probe["predictions"]), probe["seed"], **probe["options"])


if __name__ == "__main__":
    if sys.argv[1:] != ["--rebuild"]:
        sys.exit("usage: python -m course_lib.cached_bench --rebuild   (retrains chapters 05-07's families, minutes)")
    for row in cached_benches(rebuild=True):
        print({k: v for k, v in row.items() if k not in ("predictions", "probe")})
