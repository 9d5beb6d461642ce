"""Open-in-Colab badges and the Colab setup cell, both derived from the repository URL in pyproject.toml.

`python -m course_lib.colab` rewrites the README's Colab links and the first code cell of every notebook;
a test fails when either disagrees with what this module derives.
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL_MARK = "# Colab setup"
COLAB_LACKS = ("dit>=2.3",)  # the course's dependencies that Colab does not preinstall (small, pure Python)


def repo_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    match = re.search(r'^Repository\s*=\s*"([^"]+)"', pyproject.read_text(), re.M)
    if not match:
        raise ValueError(f"{pyproject} has no [project.urls] Repository entry")
    return match.group(1).rstrip("/")


def colab_url(notebook: str, branch: str = "main") -> str:
    """https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/NAME.ipynb"""
    owner_repo = repo_url().split("github.com/", 1)[1]
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/notebooks/{notebook}"


def badge(notebook: str) -> str:
    return f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def setup_cell() -> str:
    """The first code cell of every chapter: installs the course on Colab, does nothing anywhere else.

    Colab already has torch, torchvision, transformers, ipywidgets: `--no-deps` keeps them as they are; what it lacks
    (COLAB_LACKS) is installed by name.
    """
    return f'''{CELL_MARK}: on Google Colab, fetch the course and install it (torch & co. stay as Colab has them).
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "{repo_url()}.git", "/content/course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "/content/course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {", ".join(f'"{p}"' for p in COLAB_LACKS)}], check=True)
    sys.path.insert(0, "/content/course")
    os.chdir("/content/course/notebooks")'''


def _code_cells(nb: dict) -> list:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def has_setup_cell(nb_path: Path) -> bool:
    cells = _code_cells(json.loads(Path(nb_path).read_text()))
    return bool(cells) and "".join(cells[0]["source"]) == setup_cell()


def write_setup_cell(nb_path: Path) -> None:
    """Put the current setup cell first among the code cells (replacing an older one)."""
    nb = json.loads(Path(nb_path).read_text())
    cells = _code_cells(nb)
    if cells and "".join(cells[0]["source"]).startswith(CELL_MARK):
        cells[0]["source"] = setup_cell().splitlines(keepends=True)
    else:
        raise ValueError(f"{nb_path}: the first code cell is not the Colab setup cell")
    Path(nb_path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/[^/\s]+/notebooks/")


def write_readme(readme: Path = ROOT / "README.md") -> None:
    """Point every Colab link in the README at the current repository URL."""
    prefix = colab_url("")
    readme.write_text(COLAB_LINK.sub(prefix, readme.read_text()))


if __name__ == "__main__":
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if not has_setup_cell(nb):
            write_setup_cell(nb)
            print(f"updated the Colab cell of {nb.name}")
    write_readme()
