"""Each trained experiment's recipe, written once: the chapter that teaches it and chapter 08's cached bench
(`cached_bench`) both read it, so the bench's rows are the chapter's runs, not a retyped copy of them."""
from dataclasses import dataclass, field

from .world import make_splits


@dataclass(frozen=True)
class Recipe:
    """Sizes of the task's draws (train, validation, test), the task's options, and how to fit on them."""
    task: str
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    lr: float
    batch_size: int
    options: dict = field(default_factory=dict)  # make_task keywords of every draw

    def splits(self, seed: int = 0, **options) -> tuple:
        """(train, val, test) at `seed`, each seed a draw of its own; `options` add to or override the recipe's."""
        return make_splits(self.task, self.n_train, self.n_test, seed=seed, n_val=self.n_val,
                           **{**self.options, **options})

    @property
    def fit_options(self) -> dict:
        """The keywords `fit` takes from the recipe: epochs, lr, batch_size."""
        return {"epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size}


# Chapter 06: PMF on synergy. Learning rate, batch and epochs chosen on validation curves (section 4 of the chapter);
# the epoch best on validation is kept.
PMF_SYNERGY = Recipe("synergy", n_train=1000, n_val=500, n_test=2000, epochs=20, lr=6e-3, batch_size=8)

# Chapter 07. A dual encoder trained with a contrastive loss on true one-object pairs (the model ITM starts from);
# its image-text matching head, trained on pairs with half of the captions negatives (`negatives=` says which
# kind); MulT and its pooled baseline on unaligned sequences, the epoch best on validation kept.
CLIP_PAIRS = Recipe("pairs", n_train=2000, n_val=500, n_test=500, epochs=25, lr=3e-3, batch_size=64,
                    options={"captions": 1, "p_negative": 0.0})
ITM_PAIRS = Recipe("pairs", n_train=4000, n_val=500, n_test=4000, epochs=15, lr=1e-3, batch_size=64,
                   options={"captions": 2, "p_negative": 0.5})
MULT_SEQUENCE = Recipe("sequence", n_train=3000, n_val=500, n_test=2000, epochs=15, lr=3e-3, batch_size=64)
