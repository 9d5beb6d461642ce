"""Run chapters in quick mode under nbval, several at a time, and the robustness run over seeds and threads.

`python -m course_lib.runner test notebooks/*.ipynb` is `make test`'s chapter half: two chapters at a time, each on
one torch thread (a quick chapter runs about as fast on one thread as on two, so this nearly halves the wall
time), each writing its claims to a ledger of its own (two processes never write one file), merged at the end
into the run's ledger. It prints each chapter's time and the output of any that failed, and exits non-zero then.

`python -m course_lib.runner robust` is `make robust`: every chapter in quick mode at COURSE_SEED = 1, 2, 3, each
with 1 and with 2 torch threads (another thread count changes the floating-point order, as another machine does),
then one line per claim: how many runs held, the worst value, and whether its margin over the threshold is
wider than its spread across runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import claims

ROOT = Path(__file__).resolve().parents[1]
NBVAL = ["-p", "course_lib.nbval_wait", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=1200"]
ROBUST_SEEDS, ROBUST_THREADS = (1, 2, 3), (1, 2)


def run_one(notebook: Path, ledger: Path, *, seed: int, threads: int) -> tuple:
    """One chapter under nbval in quick mode -> (notebook, seconds, passed, output)."""
    env = {**os.environ, "COURSE_QUICK": "1", "COURSE_PROGRESS": "0", "COURSE_SEED": str(seed),
           "COURSE_RESULTS": str(ledger), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NBVAL, str(notebook)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    return notebook, time.perf_counter() - start, done.returncode == 0, done.stdout + done.stderr


def run_chapters(notebooks, ledger: Path, *, seed: int = 0, threads: int = 1, jobs: int = 2) -> bool:
    """Every notebook in quick mode, `jobs` at a time; their claims merged into `ledger`. True when all passed."""
    notebooks = [Path(nb) for nb in notebooks]
    missing = [str(nb) for nb in notebooks if not nb.exists()]
    if missing:
        raise FileNotFoundError(f"no such notebook(s): {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = lambda nb: run_one(nb, Path(tmp) / f"{nb.stem}.json", seed=seed, threads=threads)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = []
            for nb, seconds, passed, output in pool.map(work, notebooks):
                print(f"{'ok  ' if passed else 'FAIL'} {nb.name} ({seconds:.0f} s, quick, seed {seed}, "
                      f"{threads} thread{'s' if threads > 1 else ''})", flush=True)
                results.append((nb, passed, output))
        for part in sorted(Path(tmp).glob("*.json")):
            claims.record(part, ledger)  # each part holds one chapter, restated whole by its run
    for nb, passed, output in results:
        if not passed:
            print(f"\n===== {nb.name} failed =====\n{output[-6000:]}")
    n_failed = sum(not passed for _, passed, _ in results)
    print(f"chapters: {len(results) - n_failed} passed, {n_failed} failed")
    return n_failed == 0


def robust_table(ledgers: dict) -> list:
    """{run name: ledger} -> one row per claim: (chapter, text, held, runs, worst, margin, spread)."""
    out = {}
    for ledger in ledgers.values():
        for chapter, entries in ledger.items():
            for text, e in entries.items():
                if "quick" in e:
                    out.setdefault((chapter, text), []).append((e, e["quick"]))
    rows = []
    for (chapter, text), runs in sorted(out.items()):
        op, threshold = runs[0][0]["op"], runs[0][0]["threshold"]
        every = [v for _, r in runs for v in r.get("values", [r.get("value")])]
        worst = min(every) if op.startswith(">") else max(every)
        margin = abs(worst - threshold)
        spread = statistics.stdev(every) if len(every) > 1 else 0.0
        rows.append((chapter, text, sum(r["passed"] for _, r in runs), len(runs), worst, margin, spread))
    return rows


def robust(notebooks, out: Path) -> bool:
    """The chapters at every (seed, threads) of the robustness run; prints and returns whether every claim held."""
    ledgers, ok = {}, True
    for threads in ROBUST_THREADS:
        for seed in ROBUST_SEEDS:
            ledger = out / f"seed{seed}-threads{threads}.json"
            ledger.unlink(missing_ok=True)
            ok &= run_chapters(notebooks, ledger, seed=seed, threads=threads, jobs=2 if threads == 1 else 1)
            ledgers[ledger.stem] = claims.load(ledger)
    rows = robust_table(ledgers)
    lines = [f"robustness run: seeds {ROBUST_SEEDS} x threads {ROBUST_THREADS}, quick mode",
             "| chapter | claim | runs held | worst value | margin | spread (sd) |", "|---|---|---|---|---|---|"]
    lines += [f"| {c} | {t} | {h}/{n} | {w:.3g} | {m:.3g}{'' if m > s else ' (thin)'} | {s:.2g} |"
              for c, t, h, n, w, m, s in rows]
    report = "\n".join(lines)
    (out / "report.md").write_text(report + "\n")
    print(report)
    held = all(h == n for _, _, h, n, *_ in rows)
    print(f"\n{sum(h == n for _, _, h, n, *_ in rows)} of {len(rows)} claims held in every run; report in {out}/report.md")
    return ok and held


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("test", "robust"))
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.command == "test":
        seed = int(os.environ.get("COURSE_SEED", "0") or 0)
        return 0 if run_chapters(notebooks, claims.results_path(), seed=seed, threads=args.threads,
                                 jobs=args.jobs) else 1
    out = ROOT / "results" / "local" / "robust"
    out.mkdir(parents=True, exist_ok=True)
    return 0 if robust(notebooks, out) else 1


if __name__ == "__main__":
    sys.exit(main())
