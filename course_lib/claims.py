"""The claims ledger: every sentence a chapter asserts, with the number measured in each mode.

A chapter states a claim with one call, `claim(text, value, op, threshold)`: it prints the numbers, records
them under the chapter and the mode (quick/full) in `results/claims.json`, then asserts. `setup()` starts a
chapter by forgetting its claims in the current mode, so the ledger holds what the last run of each mode said. `python -m
course_lib.claims` prints every claim as one table; `--readme` writes the full-mode table into README.md.
"""
import json
import operator
import os
import sys
from pathlib import Path

from .config import current_chapter, mode

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- claims:start -->", "<!-- claims:end -->"


def results_path() -> Path:
    """`$COURSE_RESULTS` if set, else results/claims.json in the repository (the working directory if not a clone)."""
    if os.environ.get("COURSE_RESULTS"):
        return Path(os.environ["COURSE_RESULTS"])
    root = ROOT if (ROOT / "pyproject.toml").exists() else Path.cwd()
    return root / "results" / "claims.json"


def load() -> dict:
    path = results_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _save(ledger: dict) -> None:
    path = results_path()
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


def claim(text: str, value: float, op: str, threshold: float, *, unit: str = "", chapter: str | None = None) -> None:
    """Assert `value op threshold`, print it, and record it in the ledger under the chapter and mode.

    Example: `claim("late fusion on synergy is within 5 points of chance", gap, "<=", 5, unit="points")`.
    """
    if op not in OPS:
        raise ValueError(f"unknown comparison {op!r}; use one of {sorted(OPS)}")
    chapter = chapter or current_chapter()
    if not chapter:
        raise ValueError("no chapter: call course_lib.setup('NN_name') first or pass chapter=")
    value = float(value)
    passed = bool(OPS[op](value, threshold))
    ledger = load()
    entry = ledger.setdefault(chapter, {}).setdefault(text, {})
    entry.update(op=op, threshold=threshold, unit=unit)
    entry[mode()] = {"value": round(value, 4), "passed": passed}
    _save(ledger)
    mark = "PASS" if passed else "FAIL"
    print(f"[{mark}] {text}: {value:.3g} {op} {threshold:g}{(' ' + unit) if unit else ''} ({mode()} mode)")
    assert passed, f"claim failed: {text}: measured {value:.4g}, expected {op} {threshold:g} {unit}"


def rows(ledger: dict | None = None) -> list:
    """One row per claim: (chapter, text, 'op threshold unit', quick value, full value)."""
    ledger = load() if ledger is None else ledger
    out = []
    for chapter in sorted(ledger):
        for text, e in ledger[chapter].items():
            fmt = lambda m: f"{e[m]['value']:.3g}" + ("" if e[m]["passed"] else " FAIL") if m in e else "-"
            out.append((chapter, text, f"{e['op']} {e['threshold']:g} {e['unit']}".strip(), fmt("quick"), fmt("full")))
    return out


def markdown(ledger: dict | None = None) -> str:
    lines = ["| chapter | claim | threshold | quick | full |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {t} | {th} | {q} | {f} |" for c, t, th, q, f in rows(ledger)]
    return "\n".join(lines)


def write_readme(readme: Path = ROOT / "README.md") -> None:
    """Replace the block between the claims markers in README.md with the current table."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block")
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(f"{head}{README_START}\n{markdown()}\n{README_END}{tail}")


if __name__ == "__main__":
    if "--readme" in sys.argv:
        write_readme()
    print(markdown())
