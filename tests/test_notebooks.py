"""Notebook hygiene, read as JSON: what a reader on GitHub or Colab meets must be clean and complete."""
import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from course_lib import colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ABSOLUTE = re.compile(r"(/work/|/root/|/home/\w|/tmp/\w|/Users/\w|[A-Z]:\\\\Users)")
HEX = re.compile(r"0x[0-9a-f]{6,}")


def src(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def load(path):
    return json.loads(path.read_text())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def outputs_text(cell) -> str:
    return json.dumps(cell.get("outputs", []))


def test_the_first_chapters_exist():
    names = [p.name for p in NOTEBOOKS]
    assert "00_why_fuse.ipynb" in names and "01_early_late_hybrid.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_hygiene(path):
    nb = load(path)
    cells = code_cells(nb)
    text = "\n".join(src(c) for c in nb["cells"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    counts = [c["execution_count"] for c in cells]
    assert all(counts) and counts == sorted(counts), "commit a full top-to-bottom run (`make full`)"
    for c in cells:
        assert not any(o["output_type"] == "error" for o in c["outputs"]), src(c)[:80]
        assert not ABSOLUTE.search(outputs_text(c)), f"absolute path in the output of: {src(c)[:80]}"
        assert not HEX.search(outputs_text(c)), f"memory address in the output of: {src(c)[:80]}"
    assert not ABSOLUTE.search(text), "absolute path in the source"
    assert "mode: full" in outputs_text(cells[1]), "committed outputs must come from a full-mode run"
    assert re.search(r"^\s*claim\(", text, re.M), "every chapter states its lesson through the claims ledger"
    assert "ipywidgets" in text and "interactive(" in text, "every chapter has an ipywidgets explorer"
    assert src(cells[0]) == colab.setup_cell(), "the first code cell must be the Colab setup cell (`make colab`)"
    for heading in ["Idea", "Math", "Build", "Train", "Look", "Claim", "Exercises", "Summary"]:
        assert re.search(rf"^#+ .*{heading}", text, re.M), f"missing the {heading} section of the chapter arc"


def exercises(nb):
    """{n: (check cell source, solution source)} from '# Check exercise n' cells and 'Solution to exercise n'."""
    checks, solutions = {}, {}
    for c in nb["cells"]:
        s = src(c)
        if c["cell_type"] == "code" and (m := re.match(r"# Check exercise (\d+)", s)):
            checks[int(m.group(1))] = s
        if c["cell_type"] == "markdown" and (m := re.search(r"Solution to exercise (\d+)", s)):
            solutions[int(m.group(1))] = re.search(r"```python\n(.*?)```", s, re.S).group(1)
    return checks, solutions


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_stub_check_and_solution(path):
    nb = load(path)
    checks, solutions = exercises(nb)
    stubs = [m for c in code_cells(nb) if (m := re.match(r"# Exercise (\d+)", src(c)))]
    assert len(checks) >= 3, "at least 3 exercises with check cells"
    assert set(checks) == set(solutions) == {int(m.group(1)) for m in stubs}
    for n in checks:
        assert "not attempted yet" in outputs_text(next(c for c in code_cells(nb) if src(c) == checks[n]))


SOLVED = [(p, n) for p in NOTEBOOKS for n in sorted(exercises(load(p))[0])]


@pytest.mark.parametrize("path,n", SOLVED, ids=lambda x: x.stem if isinstance(x, Path) else str(x))
def test_solution_passes_its_check(path, n, monkeypatch, tmp_path):
    """Run the chapter's imports cell, the hidden solution, then the check cell: it must say 'correct!'."""
    monkeypatch.chdir(path.parent)
    monkeypatch.setenv("COURSE_RESULTS", str(tmp_path / "claims.json"))  # leave the real ledger alone
    nb = load(path)
    checks, solutions = exercises(nb)
    namespace = {}
    out = io.StringIO()
    with redirect_stdout(out):
        exec(src(code_cells(nb)[1]), namespace)
        exec(solutions[n], namespace)
        exec(checks[n], namespace)
    assert "correct!" in out.getvalue(), out.getvalue()
