"""What a decision that adds one score per modality can reach on `synergy`, exactly (chapters 01, 05).

Late fusion that averages two heads' probabilities, and a linear head on a concatenation, both decide by
"f(image) + g(text) > t": an additive rule. On `synergy` such a rule cannot be right everywhere, but it can beat
chance by far, so chance is not their ceiling; this is. (Outside world/, as ceilings.py is: the cached bench hashes
world/ whole, and a ceiling changes no trained row.)
"""
import itertools


def synergy_additive_ceiling(n_colours: int = 4) -> float:
    """The best accuracy on `synergy` of any rule "true iff f(c_img) + g(c_txt) > t", exactly.

    Cells (image colour a, text colour b): P(a, a) = 1 / (2 n), all true; P(a, b != a) = 1 / (2 n (n - 1)), all
    false. For a fixed order of the text colours by g, such a rule says "true" on the first k_a of them for each
    image colour a, with any k_a (f(a) sets it); so every rule is one (order, k) and the search is exhaustive.
    """
    p_true, p_false = 1 / (2 * n_colours), 1 / (2 * n_colours * (n_colours - 1))
    best = 0.0
    for order in itertools.permutations(range(n_colours)):
        for ks in itertools.product(range(n_colours + 1), repeat=n_colours):
            says_true = {(a, b) for a, k in enumerate(ks) for b in order[:k]}
            acc = sum(p_true for a in range(n_colours) if (a, a) in says_true) + sum(
                p_false for a in range(n_colours) for b in range(n_colours) if a != b and (a, b) not in says_true)
            best = max(best, acc)
    return best
