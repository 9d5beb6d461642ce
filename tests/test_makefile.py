"""The Makefile's venv step, run for real in a temporary folder (`make -C`), with a stand-in `python3` so that it is
fast and offline: a half-made .venv (what a failed `python3 -m venv` leaves: bin/python, no pip) is made again, a
working one is kept, and a failing `python3 -m venv` says what to install."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
PIP_WORKS = '#!/bin/sh\necho "pip 0 (a stand-in)"\n'
NO_PIP = '#!/bin/sh\necho "No module named pip" >&2\nexit 1\n'


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(folder), "-f", str(ROOT / "Makefile"), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def python3(tmp_path):
    """`python3 -m venv DIR` that makes DIR/bin/python with a working `-m pip --version`, and logs its calls."""
    python = _script(tmp_path / "tools" / "python", PIP_WORKS)
    return _script(tmp_path / "tools" / "python3",
                   f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\nmkdir -p "$3/bin" && cp "{python}" "$3/bin/python"\n')


def test_a_half_made_venv_is_made_again(tmp_path, python3):
    _script(tmp_path / ".venv" / "bin" / "python", NO_PIP)
    (tmp_path / ".venv" / "left-over").touch()
    result = _make(tmp_path, "venv", f"PYTHON3={python3}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text() == "-m venv .venv\n" and not (tmp_path / ".venv" / "left-over").exists()
    assert subprocess.run([tmp_path / ".venv" / "bin" / "python", "-m", "pip", "--version"]).returncode == 0


def test_a_working_venv_is_kept(tmp_path, python3):
    _script(tmp_path / ".venv" / "bin" / "python", PIP_WORKS)
    (tmp_path / ".venv" / "installed-packages").touch()
    assert _make(tmp_path, "venv", f"PYTHON3={python3}").returncode == 0
    assert not (tmp_path / "calls").exists() and (tmp_path / ".venv" / "installed-packages").exists()


def test_a_failing_venv_module_says_what_to_install(tmp_path):
    debian = _script(tmp_path / "tools" / "python3", '#!/bin/sh\necho "ensurepip is not available" >&2\nexit 1\n')
    result = _make(tmp_path, "venv", f"PYTHON3={debian}")
    assert result.returncode != 0 and "sudo apt install python3-venv" in result.stderr


@pytest.mark.parametrize("target", ["lab", "test", "colab-test"])
def test_every_venv_is_made_by_that_step(tmp_path, target):
    """`make -n` prints the recipes without running them: each target's venv comes from the checked step."""
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "colab-versions.txt").touch()
    (tmp_path / "course_lib").mkdir()
    shutil.copy(ROOT / "course_lib" / "colab.py", tmp_path / "course_lib")
    venv = ".venv-colab" if target == "colab-test" else ".venv"
    result = _make(tmp_path, "-n", target)
    assert result.returncode == 0, result.stderr
    assert f"{venv}/bin/python -m pip --version >/dev/null 2>&1 || {{ rm -rf {venv} && python3 -m venv {venv}; }}" \
        in result.stdout
