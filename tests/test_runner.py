import json

import pytest

from course_lib import runner


def _ledger(values, op=">=", threshold=10):
    return {"01_x": {"gap": {"op": op, "threshold": threshold, "unit": "points",
                             "quick": {"values": values, "worst": min(values), "mean": sum(values) / len(values),
                                       "sd": 0.0, "passed": min(values) >= threshold}}}}


def test_robust_table_counts_runs_held_and_flags_thin_margins():
    rows = runner.robust_table({"a": _ledger([14.0, 15.0]), "b": _ledger([9.0, 13.0])})
    (chapter, text, held, runs, worst, margin, spread), = rows
    assert (chapter, text, held, runs, worst) == ("01_x", "gap", 1, 2, 9.0)
    assert margin == pytest.approx(1.0) and spread > margin   # a margin narrower than the spread is thin


def test_robust_table_reads_the_upper_bound_worst_as_the_largest():
    rows = runner.robust_table({"a": _ledger([1.0, 4.0], op="<=", threshold=5)})
    assert rows[0][4] == 4.0 and rows[0][5] == pytest.approx(1.0)


def test_run_chapters_refuses_a_missing_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such.ipynb"):
        runner.run_chapters([tmp_path / "no_such.ipynb"], tmp_path / "claims.json")


def test_a_failing_chapter_fails_the_run_and_its_claims_reach_the_ledger(tmp_path, capsys):
    import nbformat
    cells = ["from course_lib import claim, setup\nsetup('98_runner_test')",
             "claim('one seed passes', [3.0, 4.0], '>=', 1)"]
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    for path, extra in ((good, []), (bad, ["assert False, 'this chapter fails'"])):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells + extra])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
    ledger = tmp_path / "claims.json"
    assert runner.run_chapters([good], ledger, seed=1)
    assert json.loads(ledger.read_text())["98_runner_test"]["one seed passes"]["quick"]["values"] == [3.0, 4.0]
    assert not runner.run_chapters([good, bad], ledger)
    out = capsys.readouterr().out
    assert "FAIL bad.ipynb" in out and "this chapter fails" in out and "chapters: 1 passed, 1 failed" in out


def test_nbval_wait_lengthens_the_wait_for_a_cells_outputs(monkeypatch):
    """nbval's internals the plugin leans on: IPyNbCell.__init__ sets output_timeout, runtest reads it."""
    import inspect
    from types import SimpleNamespace

    from nbval.plugin import IPyNbCell

    from course_lib import nbval_wait
    assert "self.output_timeout = 5" in inspect.getsource(IPyNbCell.__init__)     # (the plugin wraps, not copies)
    assert "timeout=self.output_timeout" in inspect.getsource(IPyNbCell.runtest)
    monkeypatch.setattr(IPyNbCell, "__init__", IPyNbCell.__init__)   # undone after the test
    nbval_wait.pytest_configure(None)
    nbval_wait.pytest_configure(None)                                   # twice: wrapped once
    monkeypatch.setattr(pytest.Item, "__init__", lambda self, name, parent: None)
    cell = IPyNbCell.__new__(IPyNbCell)
    parent = SimpleNamespace(parent=SimpleNamespace(config=SimpleNamespace(option=SimpleNamespace(color="no"))))
    IPyNbCell.__init__(cell, "Cell 0", parent, 0, None, {})
    assert cell.output_timeout == nbval_wait.OUTPUT_WAIT_S > 5
    assert runner.NBVAL[:2] == ["-p", "course_lib.nbval_wait"]
