"""course_lib.pid: PID helpers on distributions with known answers, the task builder, the ideal fusions, bad input."""
import math

import numpy as np
import pytest

from course_lib.pid import (bayes_accuracy, builder_task, distribution, joint, late_fusion_accuracy,
                            mutual_information, pid, pid_of_samples)

XOR = {(a, b, a ^ b): 0.25 for a in (0, 1) for b in (0, 1)}
COPY = {(a, a, a): 0.5 for a in (0, 1)}
AND = {(a, b, a & b): 0.25 for a in (0, 1) for b in (0, 1)}
TWO_BITS = {(a, b, 2 * a + b): 0.25 for a in (0, 1) for b in (0, 1)}


def close(result, R, U1, U2, S, tol=1e-3):
    return all(abs(result[k] - v) < tol for k, v in zip(("R", "U1", "U2", "S"), (R, U1, U2, S)))


@pytest.mark.parametrize("measure", ["imin", "broja"])
def test_textbook_cases(measure):
    assert close(pid(XOR, measure), 0, 0, 0, 1)
    assert close(pid(COPY, measure), 1, 0, 0, 0)
    h = lambda p: -p * math.log2(p) - (1 - p) * math.log2(1 - p)
    r_and = h(0.25) - 0.5                                                       # I(Y; X1) = h(1/4) - 1/2
    assert close(pid(AND, measure), r_and, 0, 0, 0.5)
    assert abs(pid(AND, measure)["I"] - h(0.25)) < 1e-9


def test_the_measures_disagree_on_two_bits():
    assert close(pid(TWO_BITS, "broja"), 0, 1, 1, 0)
    assert close(pid(TWO_BITS, "imin"), 1, 0, 0, 1)


def test_mutual_information_and_the_pid_equations():
    p = {(0, 0, 0): 0.3, (0, 1, 1): 0.2, (1, 0, 1): 0.1, (1, 1, 0): 0.15, (2, 1, 1): 0.25}
    r = pid(p, "broja")
    assert abs(r["R"] + r["U1"] + r["U2"] + r["S"] - r["I"]) < 1e-3
    assert abs(r["R"] + r["U1"] - mutual_information(p, (0,))) < 1e-3
    assert abs(r["R"] + r["U2"] - mutual_information(p, (1,))) < 1e-3
    assert mutual_information(XOR, (0,)) == pytest.approx(0, abs=1e-12) and mutual_information(XOR) == pytest.approx(1)


def test_joint_counts_samples():
    x1, x2 = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    assert joint(x1, x2, x1 ^ x2) == XOR
    rng = np.random.default_rng(0)
    a, b = rng.integers(2, size=4000), rng.integers(2, size=4000)
    assert close(pid_of_samples(a, b, a ^ b), 0, 0, 0, 1, tol=0.01)


@pytest.mark.parametrize("r,u,s", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (1, 0, 2)])
def test_builder_task_has_the_dialled_pid(r, u, s):
    task = builder_task(r, u, s)
    assert abs(sum(task.values()) - 1) < 1e-12
    assert close(pid(task), r, u, u, s, tol=0.01)
    assert bayes_accuracy(task) == pytest.approx(1.0)
    assert late_fusion_accuracy(task) == pytest.approx(0.5 ** s)      # each synergistic bit is a coin flip


def test_late_fusion_accuracy_on_known_tasks():
    assert late_fusion_accuracy(COPY) == pytest.approx(1.0) and late_fusion_accuracy(XOR) == pytest.approx(0.5)
    # AND's cell (1, 1) is a tie (votes 1 and 1): broken at random it scores half its mass, 1/8
    assert bayes_accuracy(AND) == pytest.approx(1.0) and late_fusion_accuracy(AND) == pytest.approx(0.875)


def test_late_fusion_accuracy_does_not_depend_on_the_labels_names():
    parity = {(a, b, (a + b) % 2): 1 / 9 for a in range(3) for b in range(3)}   # y = 0 at 5 of the 9 cells
    swapped = {(a, b, 1 - y): p for (a, b, y), p in parity.items()}
    assert late_fusion_accuracy(parity) == pytest.approx(late_fusion_accuracy(swapped)) == pytest.approx(2 / 3)


@pytest.mark.parametrize("call,error,message", [
    (lambda: distribution({(0, 0, 0): 0.5, (1, 1, 1): 0.4}), ValueError, "sum to 1"),
    (lambda: distribution({(0, 0, 0): 1.2, (1, 1, 1): -0.2}), ValueError, "non-negative"),
    (lambda: distribution({(0, 0): 1.0}), ValueError, "triples"),
    (lambda: joint([0, 1], [0, 1, 1], [0, 1]), ValueError, "equally long"),
    (lambda: joint([], [], []), ValueError, "non-empty"),
    (lambda: joint([0.5, 1.0], [0, 1], [0, 1]), ValueError, "integers"),
    (lambda: pid(XOR, "mmi"), ValueError, "imin"),
    (lambda: pid({(0, 0, 0): 0.5, (1, 1, 1): 0.6}), ValueError, "sum to 1"),
    (lambda: builder_task(0, 0, 0), ValueError, "not all 0"),
    (lambda: builder_task(1, 2, 1), ValueError, "<= 5"),
    (lambda: builder_task(0.5, 0, 1), ValueError, "integers"),
])
def test_bad_input_raises(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_pid_is_deterministic_and_leaves_the_random_state_alone():
    """BROJA's solver restarts from random points: pid fixes them, and leaves the caller's numpy state alone."""
    xor = {(a, b, a ^ b): 0.25 for a in (0, 1) for b in (0, 1)}
    results = []
    for seed in (1, 2):
        np.random.seed(seed)
        before = np.random.get_state()[1].copy()
        results.append(pid(xor, "broja"))
        assert np.array_equal(np.random.get_state()[1], before)
    assert results[0] == results[1]
