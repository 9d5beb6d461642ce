import json
from pathlib import Path

import pytest
import torch

from course_lib import recipes
from course_lib.recipes import CLIP_PAIRS, ITM_PAIRS, MULT_SEQUENCE, Recipe
from course_lib.world import make_splits

ROOT = Path(__file__).resolve().parents[1]


def test_splits_follow_the_recipe_and_its_options():
    r = Recipe("pairs", n_train=12, n_val=6, n_test=8, epochs=1, lr=1e-3, batch_size=4,
               options={"captions": 2, "p_negative": 0.5})
    train, val, test = r.splits(seed=3)
    assert (len(train), len(val), len(test)) == (12, 6, 8)
    assert torch.equal(train.latents["image_id"], torch.arange(12) // 2)            # the recipe's options ...
    same = make_splits("pairs", 12, 8, seed=3, n_val=6, captions=2, p_negative=0.5)
    assert all(torch.equal(a.image, b.image) and torch.equal(a.text, b.text) for a, b in zip((train, val, test), same))
    hard, random = r.splits(seed=3)[0], r.splits(seed=3, negatives="random")[0]     # ... and an override
    assert set(random.latents["differs"].tolist()) == {-1, 3}                      # 3: RANDOM_NEGATIVE
    assert {0, 1, 2} & set(hard.latents["differs"].tolist()) and 3 not in hard.latents["differs"]
    assert r.fit_options == {"epochs": 1, "lr": 1e-3, "batch_size": 4}
    with pytest.raises(Exception):
        r.epochs = 2                                                                 # a recipe cannot drift


def _recipe_names(path: Path) -> set:
    """The recipes.* names a file's code reads (import from course_lib.recipes)."""
    text = path.read_text()
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code")
    names = set()
    for line in text.splitlines():
        if "from course_lib.recipes import" in line or "from .recipes import" in line:
            names |= {n.strip().split(" as ")[0] for n in line.split("import", 1)[1].split(",")}
    return names


@pytest.mark.parametrize("notebook, names", [("06_pmf", {"PMF_SYNERGY"}),
                                             ("07_coordinated_and_sequence", {"CLIP_PAIRS", "ITM_PAIRS", "MULT_SEQUENCE"})])
def test_the_chapter_and_the_bench_read_the_same_recipes(notebook, names):
    chapter = _recipe_names(ROOT / "notebooks" / f"{notebook}.ipynb")
    bench = _recipe_names(ROOT / "course_lib" / "cached_bench.py")
    assert names <= chapter and names <= bench, (chapter, bench)
    assert all(isinstance(getattr(recipes, n), Recipe) for n in names)
    assert CLIP_PAIRS.options["p_negative"] == 0.0 and ITM_PAIRS.options["p_negative"] == 0.5  # true pairs; half
    assert min(r.n_val for r in (CLIP_PAIRS, ITM_PAIRS, MULT_SEQUENCE)) > 0                 # epochs chosen on val
