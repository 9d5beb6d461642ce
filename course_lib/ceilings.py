"""The `trimodal` task's exact ceilings (the best accuracy any rule of a given form can reach), and what a trained
model's decision is made of (`interaction_shares`: main effects, pairwise and three-way terms).

The task's label is a function of three levels (4 x 4 x 4 = 64 cells, each equally likely; cells with a score of 0
are redrawn, so they drop out). A rule's form decides what it can express:
- unimodal: any function of one modality's level;
- additive: sign(f_i(x_i) + f_t(x_t) + f_a(x_a)) for any per-modality functions (not only the levels' values);
- pairwise: sign(g_it(x_i, x_t) + g_ia(x_i, x_a) + g_ta(x_t, x_a)) for any functions of pairs.
A model that beats the pairwise ceiling must use the three-way interaction. The additive and pairwise ceilings are
small integer programs (one binary "this cell is right" per cell, a big-M margin constraint each), solved exactly
with scipy's `milp`. (Outside world/: the cached bench hashes world/ whole, and a ceiling changes no trained row.)
"""
import contextlib
import itertools
import os
import sys

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from .world.tasks import TRIMODAL_LEVELS, trimodal_score

FORMS = {"additive": ((0,), (1,), (2,)), "pairwise": ((0, 1), (0, 2), (1, 2))}


def trimodal_cells(w_uni: float = 1.0, w_bi: float = 0.0, w_tri: float = 3.0) -> list:
    """The decided cells: [((img_level, txt_level, aud_level), label 0/1)], level indices 0..3."""
    out = []
    for cell in itertools.product(range(len(TRIMODAL_LEVELS)), repeat=3):
        score = trimodal_score(*TRIMODAL_LEVELS[list(cell)], w_uni, w_bi, w_tri)
        if abs(score) > 1e-9:
            out.append((cell, int(score > 0)))
    return out


def unimodal_ceiling(cells: list) -> float:
    """The best accuracy of a function of one modality: each level votes its majority label."""
    best = 0.0
    for m in range(3):
        right = 0
        for level in range(len(TRIMODAL_LEVELS)):
            labels = [y for cell, y in cells if cell[m] == level]
            right += max(labels.count(0), labels.count(1))
        best = max(best, right / len(cells))
    return best


@contextlib.contextmanager
def _silent_fd1():
    """Point file descriptor 1 at /dev/null meanwhile: HiGHS (behind scipy's milp) prints debug lines from C there,
    past sys.stdout, and a notebook would show them."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def form_ceiling(cells: list, form: str) -> float:
    """The best accuracy over the cells of a rule of `form` ('additive' or 'pairwise'), exactly.

    Variables: one value per (group, levels) table entry and a bias, in [-100, 100], and z_c in {0, 1} per cell;
    constraint y_c * score_c >= 1 - 1000 (1 - z_c) with y_c = +-1; maximise the number of cells with z_c = 1.
    """
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; use one of {sorted(FORMS)}")
    groups = FORMS[form]
    entry = {(g, lv): i for i, (g, lv) in enumerate((g, lv) for g in groups
                                                     for lv in itertools.product(range(len(TRIMODAL_LEVELS)), repeat=len(g)))}
    n_vars, n_cells, big = len(entry) + 1, len(cells), 1000.0
    A = np.zeros((n_cells, n_vars + n_cells))
    for c, (cell, label) in enumerate(cells):
        y = 1.0 if label else -1.0
        for g in groups:
            A[c, entry[g, tuple(cell[j] for j in g)]] = y
        A[c, n_vars - 1] = y                         # the bias
        A[c, n_vars + c] = -big
    objective = np.concatenate([np.zeros(n_vars), -np.ones(n_cells)])
    bounds = Bounds(np.r_[np.full(n_vars, -100.0), np.zeros(n_cells)], np.r_[np.full(n_vars, 100.0), np.ones(n_cells)])
    with _silent_fd1():
        result = milp(objective, constraints=LinearConstraint(A, 1 - big, np.inf),
                      integrality=np.r_[np.zeros(n_vars), np.ones(n_cells)], bounds=bounds)
    if not result.success:
        raise RuntimeError(f"the {form} ceiling's integer program did not solve: {result.message}")
    return round(-result.fun) / n_cells


def trimodal_ceilings(w_uni: float = 1.0, w_bi: float = 0.0, w_tri: float = 3.0) -> dict:
    """{'unimodal', 'additive', 'pairwise'}: the exact best accuracy of each form of rule on `trimodal`."""
    cells = trimodal_cells(w_uni, w_bi, w_tri)
    return {"unimodal": unimodal_ceiling(cells), **{form: form_ceiling(cells, form) for form in FORMS}}


def interaction_shares(table: np.ndarray) -> dict:
    """How a function of three levels splits into main effects, pairwise and three-way terms: {1, 2, 3} -> share.

    table (L1, L2, L3): the function's value at every cell of levels (for example a model's logit difference averaged
    over the test samples of each cell), every cell equally likely. The functional ANOVA (Hoeffding) decomposition
    writes it as f = f_0 + sum_m f_m + sum_{m<n} f_mn + f_123, each term averaging to 0 over any one of its own
    levels; the terms are orthogonal, so their variances add up to the table's. Returns each order's share of that
    variance (0 for a constant table). Unique, unlike the blocks of one trained tensor, whose parts can trade off.
    """
    f = np.asarray(table, dtype=float)
    if f.ndim != 3 or not np.all(np.isfinite(f)):
        raise ValueError(f"interaction_shares needs a finite (L1, L2, L3) table; got shape {f.shape}"
                         f"{'' if f.ndim != 3 else ' with NaN or inf'}")
    centred = f - f.mean()
    mains = [centred.mean(axis=tuple(j for j in range(3) if j != m), keepdims=True) for m in range(3)]
    pairs = [centred.mean(axis=k, keepdims=True) - mains[i] - mains[j] for i, j, k in ((0, 1, 2), (0, 2, 1), (1, 2, 0))]
    three = centred - sum(mains) - sum(pairs)
    variance = {1: sum(np.broadcast_to(t, f.shape).var() for t in mains),
                2: sum(np.broadcast_to(t, f.shape).var() for t in pairs), 3: three.var()}
    total = centred.var()
    return {order: float(v / total) if total > 0 else 0.0 for order, v in variance.items()}
