"""Notebook cells -> library modules, and the check that the two agree (one source of truth per fusion class).

A chapter names its module in a cell starting `#| default_exp fusion.early_late`; every code cell whose
first line is `#| export` is written, in order, into `course_lib/fusion/early_late.py` under a banner naming
the notebook. A later `#| default_exp` cell sends the cells after it to another module (a chapter that builds
two families). `python -m course_lib.export` regenerates every module; `--check` lists the ones that drifted.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = ROOT / "course_lib"


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def exported_modules(nb_path: Path) -> dict:
    """{module file path: generated source} for one notebook (empty when it exports nothing)."""
    nb_path = Path(nb_path)
    cells = [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]
    module, chunks = None, {}
    for cell in cells:
        first, _, body = _source(cell).partition("\n")
        if first.startswith("#| default_exp "):
            module = first.split(maxsplit=2)[2].strip()
        elif first.strip() == "#| export":
            if module is None:
                raise ValueError(f"{nb_path.name} has an '#| export' cell before any '#| default_exp <module>' cell")
            chunks.setdefault(module, []).append(body.strip("\n"))
    banner = (f'"""Generated from notebooks/{nb_path.name} -- edit the notebook, then run `make export`.\n\n'
              f'Each class here is built step by step, with its math, in that chapter.\n"""')
    return {PACKAGE / Path(*name.split(".")).with_suffix(".py"): banner + "\n" + "\n\n\n".join(body) + "\n"
            for name, body in chunks.items()}


def all_modules(notebooks: Path = NOTEBOOKS) -> dict:
    out = {}
    for nb in sorted(Path(notebooks).glob("*.ipynb")):
        for path, src in exported_modules(nb).items():
            if path in out:
                raise ValueError(f"two notebooks export into {path}")
            out[path] = src
    return out


def drifted(notebooks: Path = NOTEBOOKS) -> list:
    """Modules whose file differs from what their notebook exports."""
    return [p for p, src in all_modules(notebooks).items() if not p.exists() or p.read_text() != src]


def write_all(notebooks: Path = NOTEBOOKS) -> list:
    written = []
    for path, src in all_modules(notebooks).items():
        if not path.exists() or path.read_text() != src:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(src)
            written.append(path)
    return written


if __name__ == "__main__":
    if "--check" in sys.argv:
        bad = drifted()
        for p in bad:
            print(f"out of date: {p.relative_to(ROOT)} (run `make export`)")
        sys.exit(1 if bad else 0)
    for p in write_all():
        print(f"wrote {p.relative_to(ROOT)}")
