"""pyproject.toml and environment.yml list the same packages with the same lower bounds; CI runs `make test`."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(req: str) -> tuple:
    name, bound = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:>=\s*([\w.]+))?", req).groups()
    return name.lower(), bound


def pyproject_requirements() -> dict:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_split(r) for r in reqs)


def environment_requirements() -> dict:
    deps = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    lines = re.findall(r"^\s+-\s+([^\s#]+)\s*$", deps, re.M)
    out = dict(_split(line) for line in lines)
    out = {CONDA_NAMES.get(k, k): v for k, v in out.items()}
    return {k: v for k, v in out.items() if k not in ("python", "pip")}


def test_environment_yml_matches_pyproject():
    assert environment_requirements() == pyproject_requirements()


def test_design_card_dependencies_are_declared():
    reqs = pyproject_requirements()
    for name in ["torch", "torchvision", "transformers", "jupyterlab", "matplotlib", "ipywidgets", "numpy",
                 "tqdm", "pytest", "nbval"]:
        assert name in reqs, name
    assert reqs["ipywidgets"].startswith("7."), "Colab ships ipywidgets 7.x: keep the lower bound at 7.7"


def test_ci_runs_make_test_which_runs_units_and_nbval_in_quick_mode():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*unit.*notebooks", makefile, re.M)
    assert "COURSE_QUICK=1" in makefile and "course_lib.runner test notebooks/*.ipynb" in makefile
    from course_lib import runner  # runs each chapter under nbval in quick mode; a failing one fails (test_runner)
    assert {"--nbval-lax", "--nbval-current-env"} <= set(runner.NBVAL)
    assert re.search(r'pip install (-q )?-e "\.\[dev\]"', makefile)
