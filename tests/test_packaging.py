"""pyproject.toml and environment.yml list the same packages with the same lower bounds, which admit Colab's versions
(.ci/colab-versions.txt) and are what CI tests; CI runs `make test`, then `make colab-test` on those versions."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
PINS = ROOT / ".ci" / "colab-versions.txt"
UNTESTED_FLOORS = {"torch"}         # Colab's 2.11: CI's closest is 2.13 (.ci/colab-versions.txt says why)


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


def colab_pins() -> dict:
    """{name: version} of every `name==version` line of .ci/colab-versions.txt."""
    return {name.lower(): v for name, v in re.findall(r"^([A-Za-z0-9_.-]+)==([\w.]+)", PINS.read_text(), re.M)}


def _release(version: str) -> tuple:
    return tuple(int(x) for x in re.match(r"\d+(?:\.\d+)*", version).group().split("."))


def test_lower_bounds_admit_colabs_versions_and_are_the_ones_colab_test_tests():
    reqs, pins = pyproject_requirements(), colab_pins()
    assert {"torch", "transformers", "numpy", "ipywidgets", "ipython", "matplotlib", "tqdm"} <= pins.keys()
    for name, pin in pins.items():
        if name in reqs:
            bound = _release(reqs[name])
            assert bound <= _release(pin), f"{name}>={reqs[name]} refuses {pin}, the version `make colab-test` tests"
            if name not in UNTESTED_FLOORS:
                assert _release(pin)[:len(bound)] == bound, f"{name}>={reqs[name]}: CI tests {pin}, not the bound"


def test_python_bound_is_dits_and_the_same_everywhere():
    """dit 2.3 requires Python >= 3.11."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert re.search(r"^\s+-\s+python>=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)
    assert "Python >= 3.11" in (ROOT / "README.md").read_text()


def test_the_pins_live_in_one_file_that_the_makefile_readme_and_ci_use():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^COLAB_PINS\s*:=\s*\.ci/colab-versions\.txt$", makefile, re.M)
    assert "-r $(COLAB_PINS)" in makefile and "--no-deps -e ." in makefile      # as the Colab setup cell installs it
    assert not re.search(r"==\d", makefile), "a version pinned in the Makefile: put it in .ci/colab-versions.txt"
    setup = (ROOT / "README.md").read_text().split("## Chapters")[0]
    missing = [f"{name} {v}" for name, v in colab_pins().items() if f"{name} {v}" not in setup]
    assert not missing, f"the README's setup section does not list {missing} (from .ci/colab-versions.txt)"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make colab-test" in ci and ci.index("make test") < ci.index("make colab-test")
