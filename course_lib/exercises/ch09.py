"""Checks for the exercises of notebooks/09_measuring_interactions.ipynb."""
from . import exercise
from ..pid import bayes_accuracy, builder_task, late_fusion_accuracy, mutual_information, pid


@exercise
def check_conditional_mi(conditional_mi):
    """conditional_mi(pmf) == I(Y; X1 | X2) = I(Y; X1, X2) - I(Y; X2) in bits (dit's mutual informations)."""
    cases = [{(a, b, a | b): 0.25 for a in (0, 1) for b in (0, 1)},
             {(0, 0, 0): 0.4, (0, 1, 1): 0.1, (1, 0, 1): 0.3, (2, 1, 0): 0.2},
             {(a, b, (a * b) % 3): 1 / 9 for a in range(3) for b in range(3)}]
    for pmf in cases:
        got, want = conditional_mi(pmf), mutual_information(pmf) - mutual_information(pmf, (1,))
        if abs(got - want / 1.4426950408889634) < 1e-6 and want > 0:
            raise AssertionError("that is in nats: use log2 for bits")
        if abs(got - mutual_information(pmf, (0,))) < 1e-6 and abs(got - want) > 1e-6:
            raise AssertionError("that is I(Y; X1), which ignores X2: condition on x2")
        assert abs(got - want) < 1e-6, f"I(Y; X1 | X2) of {pmf}: {want:.4f} bits, you said {got!r}"


@exercise
def check_and_pid(and_pid):
    """and_pid() == the I_min PID of AND, to 3 decimals."""
    AND = {(a, b, a & b): 0.25 for a in (0, 1) for b in (0, 1)}
    want, got = pid(AND, "imin"), and_pid()
    assert isinstance(got, dict) and set(got) >= {"R", "U1", "U2", "S"}, f"return a dict with R, U1, U2, S; got {got!r}"
    for k in ("R", "U1", "U2", "S"):
        assert abs(got[k] - want[k]) < 2e-3, f"{k} should be {want[k]:.3f} bits, you said {got[k]}"


@exercise
def check_synergy_task(my_task):
    """my_task(): late fusion <= 55%, Bayes >= 95%, synergy >= 0.5 bits, >= 3 values per source, not builder_task."""
    pmf = my_task()
    assert isinstance(pmf, dict) and pmf, f"return a dict {{(x1, x2, y): p}}, got {pmf!r}"
    if any(pmf == builder_task(0, 0, s) for s in (1, 2)):
        raise AssertionError("build your own task, not builder_task's")
    assert min(len({k[0] for k in pmf}), len({k[1] for k in pmf})) >= 3, "give each source at least 3 values"
    late, best, parts = late_fusion_accuracy(pmf), bayes_accuracy(pmf), pid(pmf)
    alone = [mutual_information(pmf, (i,)) for i in (0, 1)]
    assert late <= 0.55, (f"late fusion still gets {late:.0%}: each source alone tells {alone[0]:.3f} and "
                          f"{alone[1]:.3f} bits about the label; make p(y | x1) and p(y | x2) the same for every value")
    assert best >= 0.95, f"even the best fusion gets only {best:.0%}: make the label a function of (x1, x2)"
    assert parts["S"] >= 0.5, f"only {parts['S']:.2f} bits of synergy"
