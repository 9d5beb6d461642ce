"""Each trained experiment's recipe, written once: the chapter that teaches it and chapter 08's cached bench
(`cached_bench`) both read it, so the bench's rows are the chapter's runs, not a retyped copy of them."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """Sizes of the task's draws (train, validation, test) and how to fit on them."""
    task: str
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    lr: float
    batch_size: int


# Chapter 06: PMF on synergy. Learning rate, batch and epochs chosen on validation curves (section 4 of the chapter);
# the epoch best on validation is kept.
PMF_SYNERGY = Recipe("synergy", n_train=1000, n_val=500, n_test=2000, epochs=20, lr=6e-3, batch_size=8)
