"""The repository URL lives in pyproject.toml; README badges and notebook setup cells derive from it."""
import re
from pathlib import Path

from course_lib import colab

ROOT = Path(__file__).resolve().parents[1]


def test_every_chapter_has_its_badge_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert colab.badge(nb.name) in readme, f"README lacks the Colab badge of {nb.name} (`make colab`)"
    for link in re.findall(r"https://colab\.research\.google\.com/github/\S+?\.ipynb", readme):
        name = link.rsplit("/", 1)[1]
        assert link == colab.colab_url(name) and (ROOT / "notebooks" / name).exists(), link


def test_setup_cell_is_quiet_idempotent_and_colab_only():
    cell = colab.setup_cell()
    assert colab.repo_url() + ".git" in cell
    assert 'if "google.colab" in sys.modules:' in cell
    assert "--no-deps" in cell and "torch" not in cell.split("pip", 1)[1].split("\n")[0]
    assert "os.path.isdir" in cell  # a second run does not clone again
    namespace = {}
    exec(cell, namespace)  # outside Colab it does nothing
    assert "subprocess" not in namespace


def test_what_colab_lacks_is_a_declared_dependency_and_never_torch():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for requirement in colab.COLAB_LACKS:
        assert f'"{requirement}"' in pyproject, requirement
        assert not re.match(r"(torch|torchvision|transformers|ipywidgets)\b", requirement)
        assert f'"{requirement}"' in colab.setup_cell()
