"""The claims ledger: every sentence a chapter asserts, with the numbers measured in each mode.

A chapter states a claim with one call, `claim(text, values, op, threshold)`. `values` is one number for a quantity
that does not depend on the seed (a parameter count, an equality check), or one number per seed for a measurement
(`[acc_gap(s) for s in seeds()]`). The claim holds when every seed passes: the worst seed is what is asserted
(the one statistic of the course, stated in the README). The call prints the worst value, mean ± sd and the
per-seed values, records them under the chapter and the mode (quick/full), then asserts.

The ledger is `$COURSE_RESULTS` when set, else the ignored `results/local/claims.json`, so ordinary runs
(`make test`, a learner's) leave tracked files alone; `make full` writes the committed `results/claims.json` and
`make claims` copies the last quick run's values into it and into the README's table. `setup()` starts a chapter
by forgetting its claims in the current mode, so a ledger holds what the last run of each mode said.
"""
import json
import math
import operator
import os
import statistics
import sys
from pathlib import Path

from .config import current_chapter, mode

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- claims:start -->", "<!-- claims:end -->"
COMMITTED = ROOT / "results" / "claims.json"


def results_path() -> Path:
    """`$COURSE_RESULTS` if set, else results/local/claims.json in the repository (ignored by git)."""
    if os.environ.get("COURSE_RESULTS"):
        return Path(os.environ["COURSE_RESULTS"])
    root = ROOT if (ROOT / "pyproject.toml").exists() else Path.cwd()
    return root / "results" / "local" / "claims.json"


def load(path: Path | None = None) -> dict:
    path = Path(path) if path else results_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _save(ledger: dict, path: Path | None = None) -> None:
    path = Path(path) if path else results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ledger, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    tmp.replace(path)


def begin(chapter: str) -> None:
    """Forget the chapter's claims in the current mode: a run restates them all, so renamed claims do not linger."""
    ledger = load()
    entries = ledger.get(chapter, {})
    if not any(mode() in e for e in entries.values()):
        return
    for text in list(entries):
        entries[text].pop(mode(), None)
        if "quick" not in entries[text] and "full" not in entries[text]:
            del entries[text]
    _save(ledger)


def _as_values(values) -> list:
    """One float per seed from a number, a list / tuple, a NumPy array or a tensor; finite, at least one."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    values = [values] if isinstance(values, (int, float)) else list(values)
    if not values:
        raise ValueError("a claim needs at least one measured value")
    out = [float(v) for v in values]
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"a claim's values must be finite numbers, got {out}")
    return out


def summary(values: list, op: str) -> dict:
    """worst (the value asserted: the seed nearest to failing), mean, sd (0 for one value) and the values."""
    worst = min(values) if op in (">", ">=") else max(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"worst": round(worst, 4), "mean": round(statistics.fmean(values), 4), "sd": round(sd, 4),
            "values": [round(v, 4) for v in values]}


def claim(text: str, values, op: str, threshold: float, *, unit: str = "", chapter: str | None = None) -> None:
    """Assert that every seed's value satisfies `value op threshold`; print and record the claim.

    values: one number, or one per seed. Example, over the chapter's seeds:
    `claim("late fusion on synergy is within 5 points of chance", [gap[s] for s in SEEDS], "<=", 5, unit="points")`.
    """
    if op not in OPS:
        raise ValueError(f"unknown comparison {op!r}; use one of {sorted(OPS)}")
    chapter = chapter or current_chapter()
    if not chapter:
        raise ValueError("no chapter: call course_lib.setup('NN_name') first or pass chapter=")
    stats = summary(_as_values(values), op)
    passed = bool(OPS[op](stats["worst"], threshold))
    ledger = load()
    entry = ledger.setdefault(chapter, {}).setdefault(text, {})
    entry.update(op=op, threshold=threshold, unit=unit)
    entry[mode()] = {**stats, "passed": passed}
    _save(ledger)
    unit_ = f" {unit}" if unit else ""
    print(f"[{'PASS' if passed else 'FAIL'}] {text}: {describe(stats)}{unit_}; needs {op} {threshold:g}{unit_}"
          f" ({mode()} mode)")
    assert passed, f"claim failed: {text}: worst seed {stats['worst']:.4g}, expected {op} {threshold:g}{unit_}"


def points(values, minus=None, *, centre=None) -> list:
    """Per seed, in percentage points: a - b for two equally long lists of accuracies in [0, 1] (`minus`), or
    |a - centre| for one list and a level (`centre`, e.g. chance). Example: `points([0.91, 0.88], [0.5, 0.52])`
    -> [41.0, 36.0]."""
    values = _as_values(values)
    if (minus is None) == (centre is None):
        raise ValueError("points needs exactly one of minus= (a list to subtract) or centre= (a level)")
    if centre is not None:
        return [100 * abs(a - centre) for a in values]
    minus = _as_values(minus)
    if len(minus) != len(values):
        raise ValueError(f"points needs one value per seed on both sides, got {len(values)} and {len(minus)}")
    return [100 * (a - b) for a, b in zip(values, minus)]


def describe(stats: dict) -> str:
    """'12.5' for one value; 'worst 11.2 (mean 12.5 ± 1.3; 11.2, 12.9, 13.4)' over seeds."""
    if len(stats["values"]) == 1:
        return f"{stats['worst']:.3g}"
    each = ", ".join(f"{v:.3g}" for v in stats["values"])
    return f"worst {stats['worst']:.3g} (mean {stats['mean']:.3g} ± {stats['sd']:.2g}; {each})"


def seed_table(results: dict, scale: float = 100, unit: str = "%") -> str:
    """{name: one value per seed} -> one line each: 'name: mean ± sd (per seed: a, b, c)', values times `scale`.

    Example: `print(seed_table({"GMU": [0.81, 0.84, 0.80], "concat + MLP": [0.77, 0.78, 0.75]}))`.
    """
    width = max(map(len, map(str, results)))
    lines = []
    for name, values in results.items():
        v = [x * scale for x in _as_values(values)]
        stats = summary(v, ">=")
        lines.append(f"{name!s:>{width}}: {stats['mean']:5.1f} ± {stats['sd']:3.1f}{unit}   (per seed: "
                     + ", ".join(f"{x:.1f}" for x in v) + ")")
    return "\n".join(lines)


def _cell(result: dict | None) -> str:
    """A table cell: 'worst (mean ± sd, n seeds)', or the one value; '-' when not run in that mode."""
    if result is None:
        return "-"
    if "values" not in result:  # an entry from before the ledger kept seeds
        result = {"worst": result["value"], "values": [result["value"]], "passed": result["passed"]}
    n = len(result["values"])
    text = f"{result['worst']:.3g}" if n == 1 else f"{result['worst']:.3g} ({result['mean']:.3g} ± {result['sd']:.2g}, n={n})"
    return text + ("" if result["passed"] else " FAIL")


def rows(ledger: dict | None = None) -> list:
    """One row per claim: (chapter, text, 'op threshold unit', quick cell, full cell)."""
    ledger = load() if ledger is None else ledger
    return [(chapter, text, f"{e['op']} {e['threshold']:g} {e['unit']}".strip(), _cell(e.get("quick")),
             _cell(e.get("full"))) for chapter in sorted(ledger) for text, e in ledger[chapter].items()]


def markdown(ledger: dict | None = None) -> str:
    lines = ["| chapter | claim | threshold | quick: worst seed (mean ± sd) | full: worst seed (mean ± sd) |",
             "|---|---|---|---|---|"]
    lines += [f"| {c} | {t} | {th} | {q} | {f} |" for c, t, th, q, f in rows(ledger)]
    return "\n".join(lines)


def record(source: Path, target: Path = COMMITTED, run_mode: str = "quick") -> None:
    """Copy every `run_mode` result of the ledger `source` (a run's) into `target` (default: the committed one).

    A chapter in `source` restates all its claims of that mode, so the target's other claims of that mode go.
    """
    if run_mode not in ("quick", "full"):
        raise ValueError(f"run_mode must be 'quick' or 'full', got {run_mode!r}")
    other = "full" if run_mode == "quick" else "quick"
    runs, ledger = load(source), load(target)
    for chapter, entries in runs.items():
        if not any(run_mode in e for e in entries.values()):
            continue
        kept = ledger.setdefault(chapter, {})
        for text in [t for t, e in kept.items() if run_mode in e]:
            kept[text].pop(run_mode)
            if other not in kept[text]:
                del kept[text]
        for text, e in entries.items():
            if run_mode in e:
                kept.setdefault(text, {}).update(op=e["op"], threshold=e["threshold"], unit=e["unit"],
                                                 **{run_mode: e[run_mode]})
    _save(ledger, target)


def write_readme(readme: Path = ROOT / "README.md", ledger: dict | None = None) -> None:
    """Replace the block between the claims markers in README.md with the table of `ledger` (default: committed)."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block")
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    table = markdown(load(COMMITTED) if ledger is None else ledger)
    readme.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}")


if __name__ == "__main__":
    # --record-quick / --record-full LEDGER: copy a run's values into the committed ledger; --readme: README's table
    for flag, run_mode in (("--record-quick", "quick"), ("--record-full", "full")):
        if flag in sys.argv:
            record(Path(sys.argv[sys.argv.index(flag) + 1]), run_mode=run_mode)
    if "--readme" in sys.argv:
        write_readme()
    print(markdown(load(COMMITTED)))
