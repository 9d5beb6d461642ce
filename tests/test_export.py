"""Each fusion class exists once: written in its chapter, exported into course_lib. These fail on drift."""
import json

import pytest

from course_lib import export


def test_library_matches_the_notebooks():
    stale = export.drifted()
    assert not stale, f"out of date with their notebooks (run `make export`): {[p.name for p in stale]}"


def test_generated_modules_name_their_source():
    for path, src in export.all_modules().items():
        assert src.startswith('"""Generated from notebooks/') and "edit the notebook" in src


def _notebook(tmp_path, sources):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": [], "execution_count": None}
             for s in sources]
    path = tmp_path / "99_demo.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_export_takes_only_marked_cells_in_order(tmp_path):
    nb = _notebook(tmp_path, ["#| default_exp fusion.demo", "#| export\nimport torch", "x = 1  # not exported",
                              "#| export\nclass Demo:\n    pass"])
    [(path, src)] = export.exported_modules(nb).items()
    assert path.name == "demo.py" and path.parent.name == "fusion"
    assert "import torch" in src and "class Demo" in src and "x = 1" not in src
    assert src.index("import torch") < src.index("class Demo")


def test_a_second_default_exp_starts_a_second_module(tmp_path):
    nb = _notebook(tmp_path, ["#| default_exp fusion.one", "#| export\nclass A:\n    pass",
                              "#| default_exp fusion.two", "#| export\nclass B:\n    pass"])
    modules = {path.name: src for path, src in export.exported_modules(nb).items()}
    assert sorted(modules) == ["one.py", "two.py"]
    assert "class A" in modules["one.py"] and "class B" not in modules["one.py"] and "class B" in modules["two.py"]


def test_export_without_target_module_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="default_exp"):
        export.exported_modules(_notebook(tmp_path, ["#| export\nclass Demo:\n    pass"]))
