"""Notebook hygiene, read as JSON: what a reader on GitHub or Colab meets must be clean and complete."""
import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from course_lib import colab
from course_lib.execute import (WIDGET_CHECK, WIDGET_CHECK_TAG, WIDGET_STATE, WIDGET_VIEW, hide_widget_checks,
                                progress_bar_text, settle_progress_bars)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ABSOLUTE = re.compile(r"(/work/|/root/|/home/\w|/tmp/\w|/Users/\w|[A-Z]:\\\\Users)")
HEX = re.compile(r"0x[0-9a-f]{6,}")
TQDM_TIMING = re.compile(r"\| \d+/\d+ \[[^\]]*(it/s|s/it)")  # tqdm's own frame: '| 0/12 [00:00<?, ?it/s]'


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
        assert not any(o["output_type"] == "execute_result" and "image/png" in o.get("data", {}) for o in c["outputs"]), \
            f"a figure returned as the cell's value is drawn twice (end the cell with plt.show()): {src(c)[-80:]}"
    assert not ABSOLUTE.search(text), "absolute path in the source"
    assert "mode: full" in outputs_text(cells[1]), "committed outputs must come from a full-mode run"
    assert re.search(r"^\s*claim\(", text, re.M), "every chapter states its lesson through the claims ledger"
    assert "ipywidgets" in text and "interactive(" in text, "every chapter has an ipywidgets explorer"
    assert src(cells[0]) == colab.setup_cell(), "the first code cell must be the Colab setup cell (`make colab`)"
    for heading in ["Idea", "Math", "Build", "Train", "Look", "Claim", "Exercises", "Summary", "References"]:
        assert re.search(rf"^#+ .*{heading}", text, re.M), f"missing the {heading} section of the chapter arc"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_explorer_checks_are_collapsed_out_of_the_learners_way(path):
    """A cell that moves an explorer's controls (sets a widget's .value) is a check for CI: it says so in its first
    line, and it is collapsed and tagged, so a learner reads the lesson, not the test."""
    moving = [c for c in code_cells(load(path)) if re.search(r"\.value\s*=", src(c))]
    assert moving, "every chapter checks that its explorer follows its controls"
    for c in moving:
        assert WIDGET_CHECK.match(src(c)), f"start the check cell with '# Move the ... as a learner would': {src(c)[:60]}"
        assert c["metadata"].get("jupyter", {}) == {"source_hidden": True, "outputs_hidden": True}, src(c)[:60]
        assert WIDGET_CHECK_TAG in c["metadata"].get("tags", []), src(c)[:60]


def test_hide_widget_checks_collapses_only_check_cells():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# Move the slider as a learner would: ...\nx = 1"),
                                         nbformat.v4.new_code_cell("# the lesson\nx = 2"),
                                         nbformat.v4.new_markdown_cell("# Move the slider as a learner would")])
    assert hide_widget_checks(nb) == 1 and hide_widget_checks(nb) == 0            # idempotent
    check, lesson, prose = nb.cells
    assert check.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert check.metadata["tags"] == [WIDGET_CHECK_TAG]
    assert "jupyter" not in lesson.metadata and "jupyter" not in prose.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_progress_bars_show_their_final_state(path):
    """GitHub shows a bar's text/plain, not its widget: it must be the final state, never the first '0%| 0/12' frame."""
    nb = load(path)
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    views = [o["data"] for c in code_cells(nb) for o in c["outputs"] if WIDGET_VIEW in o.get("data", {})]
    for data in views:
        shown = "".join(data["text/plain"])
        assert not TQDM_TIMING.search(shown), f"unsettled progress bar {shown!r}: run `make full`"
        final = progress_bar_text(state, data[WIDGET_VIEW]["model_id"])
        assert final is None or shown == final, f"progress bar {shown!r} is not its final state {final!r}"


def _bar(model_id, label, value, total, info):
    """One tqdm.auto bar's widget models, as notebook metadata holds them: an HBox of label, progress, info."""
    parts = {"l": ("HTMLModel", {"value": label}), "p": ("FloatProgressModel", {"value": value, "max": total}),
             "r": ("HTMLModel", {"value": info})}
    models = {model_id + k: {"model_name": name, "state": st} for k, (name, st) in parts.items()}
    models[model_id] = {"model_name": "HBoxModel", "state": {"children": [f"IPY_MODEL_{model_id}{k}" for k in parts]}}
    return models


def test_settle_progress_bars_draws_final_states_and_leaves_other_widgets_alone():
    s = "\u2007"  # tqdm pads widget labels with figure spaces
    state = {**_bar("done", f"seed&#x27;s{s}form:{s}{s}92%", 12.0, 12.0,  # leave=False: label stuck at 11/12
                    f"{s}11/12{s}[00:10&lt;00:01,{s}{s}1.10it/s,{s}loss=0.000,{s}val=1.000]"),
             **_bar("early", f"GMU:{s}{s}58%", 7.0, 12.0,  # stopped early
                    f"{s}7/12{s}[00:07&lt;00:05,{s}{s}1.05s/it,{s}loss=0.512,{s}val=0.643]"),
             **_bar("plain", f"pretrain:{s}100%", 3.0, 3.0, f"{s}3/3{s}[00:01&lt;00:00,{s}{s}2.00it/s]"),
             "slider": {"model_name": "IntSliderModel", "state": {"value": 3}}}
    first = {name: f"{name}:   0%|          | 0/12 [00:00<?, ?it/s]" for name in ["done", "early", "plain"]}
    first["slider"] = "IntSlider(value=3)"
    nb = {"metadata": {"widgets": {WIDGET_STATE: {"state": state}}},
          "cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {
              WIDGET_VIEW: {"model_id": name}, "text/plain": text}} for name, text in first.items()]}]}
    assert settle_progress_bars(nb) == 3
    shown = [o["data"]["text/plain"] for o in nb["cells"][0]["outputs"]]
    assert shown == ["seed's form: 100%|██████████| 12/12 [loss=0.000, val=1.000]",
                     "GMU:  58%|█████▊    | 7/12 [loss=0.512, val=0.643]",
                     "pretrain: 100%|██████████| 3/3",
                     "IntSlider(value=3)"]
    assert settle_progress_bars(nb) == 0, "settling twice changes nothing"


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
