"""Partial information decomposition (PID) of a label Y and two sources X1, X2, with the `dit` package.

I(Y; X1, X2) = R + U1 + U2 + S: redundancy (what either source alone tells), uniqueness (what only one tells) and
synergy (what only the two together tell). Two measures: "imin" (Williams and Beer 2010, I_min) and "broja"
(Bertschinger, Rauh, Olbrich, Jost and Ay 2014). Everything here is discrete: counts of (x1, x2, y) triples.
"""
import numpy as np
import dit
from dit.pid import PID_BROJA, PID_WB

MEASURES = {"imin": PID_WB, "broja": PID_BROJA}
ATOMS = {"R": ((0,), (1,)), "U1": ((0,),), "U2": ((1,),), "S": ((0, 1),)}  # dit's lattice nodes


def joint(x1, x2, y) -> dict:
    """The empirical joint distribution {(x1, x2, y): probability} of three equally long integer sequences."""
    x1, x2, y = (np.asarray(v) for v in (x1, x2, y))
    if not (len(x1) == len(x2) == len(y)) or len(y) == 0:
        raise ValueError(f"x1, x2 and y must be non-empty and equally long, got lengths {len(x1)}, {len(x2)}, {len(y)}")
    if not all(np.issubdtype(v.dtype, np.integer) for v in (x1, x2, y)):
        raise ValueError("x1, x2 and y must hold integers (discrete values)")
    triples, counts = np.unique(np.stack([x1, x2, y], 1), axis=0, return_counts=True)
    return {tuple(int(v) for v in t): c / len(y) for t, c in zip(triples, counts)}


def _check(pmf: dict) -> np.ndarray:
    """The probabilities of {(x1, x2, y): probability}, after checking they are a distribution over triples."""
    if not pmf or any(len(k) != 3 for k in pmf):
        raise ValueError("pmf must map (x1, x2, y) triples to probabilities")
    p = np.array(list(pmf.values()), dtype=float)
    if (p < 0).any() or abs(p.sum() - 1) > 1e-6:
        raise ValueError(f"probabilities must be non-negative and sum to 1, got sum {p.sum():.6f}")
    return p


def distribution(pmf: dict) -> dit.Distribution:
    """A `dit.Distribution` over (x1, x2, y) from {(x1, x2, y): probability}; the probabilities must sum to 1."""
    p = _check(pmf)
    return dit.Distribution(list(pmf), list(p / p.sum()))


def mutual_information(pmf: dict, sources=(0, 1)) -> float:
    """I(Y; X_sources) in bits, Y the last variable: (0,) for X1, (1,) for X2, (0, 1) for both."""
    return float(dit.shannon.mutual_information(distribution(pmf), list(sources), [2]))


def pid(pmf: dict, measure: str = "broja") -> dict:
    """{"R", "U1", "U2", "S", "I"} in bits for the joint distribution {(x1, x2, y): probability}."""
    if measure not in MEASURES:
        raise ValueError(f"unknown PID measure {measure!r}; choose one of {sorted(MEASURES)}")
    # BROJA by alternating divergence minimisation: deterministic, and exact where the default solver's random
    # restarts sometimes stop early (2 synergistic bits came out as 1.73)
    options = {"method": "admui"} if measure == "broja" else {}
    result = MEASURES[measure](distribution(pmf), [[0], [1]], [2], **options)
    out = {name: max(float(result.get_pi(node)), 0.0) for name, node in ATOMS.items()}  # clip solver noise below 0
    out["I"] = mutual_information(pmf)
    return out


def pid_of_samples(x1, x2, y, measure: str = "broja") -> dict:
    """`pid` of the empirical joint distribution of samples (x1, x2, y)."""
    return pid(joint(x1, x2, y), measure)


def builder_task(r: int, u: int, s: int) -> dict:
    """A task built from independent fair bits, with dials for its redundant, unique and synergistic parts.

    r bits appear in both sources; u bits in x1 only and u other bits in x2 only; for each of s bits, x1 holds a
    random key k and x2 holds k XOR bit. The label y is all those bits together: I(Y; X1, X2) = r + 2u + s bits,
    and the PID is R = r, U1 = U2 = u, S = s. Values are the bits packed into integers: {(x1, x2, y): probability}.
    """
    if not all(isinstance(v, (int, np.integer)) and v >= 0 for v in (r, u, s)) or r + u + s == 0 or r + 2 * u + 2 * s > 5:
        raise ValueError(f"r, u, s must be non-negative integers, not all 0, with r + 2u + 2s <= 5 (BROJA's solver grows fast); got {(r, u, s)}")
    n_bits = r + 2 * u + 2 * s                                   # the independent fair bits behind one sample
    pack = lambda bits: int(sum(int(b) << i for i, b in enumerate(bits)))
    pmf = {}
    for code in range(2 ** n_bits):
        bits = [(code >> i) & 1 for i in range(n_bits)]
        red, u1, u2, keys, secret = (bits[:r], bits[r:r + u], bits[r + u:r + 2 * u], bits[r + 2 * u:r + 2 * u + s],
                                     bits[r + 2 * u + s:])
        x1 = pack(red + u1 + keys)
        x2 = pack(red + u2 + [k ^ b for k, b in zip(keys, secret)])
        y = pack(red + u1 + u2 + secret)
        pmf[(x1, x2, y)] = pmf.get((x1, x2, y), 0.0) + 2.0 ** -n_bits
    return pmf


def _table(pmf: dict) -> np.ndarray:
    """The joint as an array p[x1, x2, y] (checked like `distribution`)."""
    _check(pmf)
    keys = np.array(list(pmf))
    table = np.zeros(keys.max(0) + 1)
    for k, p in pmf.items():
        table[k] += p
    return table


def bayes_accuracy(pmf: dict) -> float:
    """The best accuracy any function of (x1, x2) reaches: what a fusion that can model every interaction reaches."""
    return float(_table(pmf).max(-1).sum())


def late_fusion_accuracy(pmf: dict) -> float:
    """Accuracy of late fusion with ideal unimodal models: argmax_y p(y | x1) + p(y | x2), a tie broken at random
    (scored as its expectation, so relabelling the classes cannot change the score)."""
    p = _table(pmf)
    posterior = lambda marginal: marginal / np.maximum(marginal.sum(-1, keepdims=True), 1e-12)
    votes = posterior(p.sum(1))[:, None, :] + posterior(p.sum(0))[None, :, :]      # (X1, X2, Y)
    tied = np.isclose(votes, votes.max(-1, keepdims=True), rtol=0, atol=1e-9)     # every best y of each cell
    return float(((p * tied).sum(-1) / tied.sum(-1)).sum())
