"""Chapter 08's spot-the-bug checks: the stub is 'not attempted', the bug and its classic wrong fixes are caught."""
import pytest
import torch
import torch.nn as nn

from course_lib.exercises.ch08 import BuggyLowRank, check_factors_train, check_state_dict_roundtrip
from course_lib.fusion.tensor import LMF

CHECKS = [check_factors_train, check_state_dict_roundtrip]


class Stub(BuggyLowRank):               # what the notebook's stub cell holds
    def __init__(self, dims, d_out, rank):
        super().__init__(dims, d_out, rank)
        raise NotImplementedError


class ParameterListFix(BuggyLowRank):   # the solution: one line
    def __init__(self, dims, d_out, rank):
        super().__init__(dims, d_out, rank)
        self.factors = nn.ParameterList(self.factors)


class RequiresGradInAList(BuggyLowRank):  # wrong: autograd sees them, nn.Module does not
    def __init__(self, dims, d_out, rank):
        super().__init__(dims, d_out, rank)
        self.factors = [f.detach().clone().requires_grad_(True) for f in self.factors]


class RegisteredCopies(BuggyLowRank):   # wrong: registered, but forward still reads the list
    def __init__(self, dims, d_out, rank):
        super().__init__(dims, d_out, rank)
        for i, f in enumerate(self.factors):
            self.register_parameter(f"factor_{i}", nn.Parameter(f.detach().clone()))


class ModuleListFix(BuggyLowRank):      # wrong: a ModuleList holds modules
    def __init__(self, dims, d_out, rank):
        super().__init__(dims, d_out, rank)
        self.factors = nn.ModuleList(self.factors)


@pytest.mark.parametrize("check", CHECKS)
def test_untouched_stub_is_not_attempted(check, capsys):
    check(Stub)
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("right", [ParameterListFix, LMF])
def test_the_right_fix_passes(check, right, capsys):
    check(right)
    assert "correct!" in capsys.readouterr().out


def test_the_bug_is_real():
    model = BuggyLowRank((3, 4), 5, 2)
    assert [p.shape for p in model.parameters()] == [torch.Size([5])]      # the bias alone
    assert list(model.state_dict()) == ["bias"]
    assert model(torch.randn(2, 3), torch.randn(2, 4)).shape == (2, 5)   # and it runs without a word


@pytest.mark.parametrize("check,message", [(check_factors_train, "plain Python list"),
                                           (check_state_dict_roundtrip, "misses the factors")])
def test_the_buggy_class_fails_with_a_hint(check, message):
    with pytest.raises(AssertionError, match=message):
        check(BuggyLowRank)


@pytest.mark.parametrize("wrong,message", [(RequiresGradInAList, "requires_grad=True"),
                                           (RegisteredCopies, "forward still multiplies other tensors"),
                                           (ModuleListFix, "nn.ParameterList")])
def test_classic_wrong_fixes_are_caught(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_factors_train(wrong)


def test_the_roundtrip_catches_requires_grad_in_a_list():
    with pytest.raises(AssertionError, match="misses the factors"):
        check_state_dict_roundtrip(RequiresGradInAList)


# ---- exercises 2 and 3

def _drop(h, p, generator):
    keep = torch.rand(len(h), generator=generator) >= p
    return h * keep[:, None].to(h.dtype)


def test_drop_modality_passes_the_right_answer_and_catches_feature_dropout(capsys):
    from course_lib.exercises.ch08 import check_drop_modality
    check_drop_modality(lambda h, p, g: (_ for _ in ()).throw(NotImplementedError()))
    assert "not attempted yet" in capsys.readouterr().out
    check_drop_modality(_drop)
    assert "correct!" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="F.dropout"):
        check_drop_modality(lambda h, p, g: torch.nn.functional.dropout(h, p, training=True))
    with pytest.raises(AssertionError, match="30%"):
        check_drop_modality(lambda h, p, g: _drop(h, p / 2, g))


def test_missing_ceiling_accepts_the_formula_and_names_each_wrong_task(capsys):
    from course_lib.exercises.ch08 import check_missing_ceiling
    check_missing_ceiling(lambda task, p: 1.0 if task == "redundant" else 1 - p / 2)
    assert "correct!" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="redundant.*text alone states the colour"):
        check_missing_ceiling(lambda task, p: 1 - p)                    # a missing image: always wrong
    with pytest.raises(AssertionError, match="complementary.*2 classes, not 4"):
        check_missing_ceiling(lambda task, p: 1.0 if task == "redundant" else 1 - 3 * p / 4)   # down to chance
    with pytest.raises(AssertionError, match="synergy.*half the time"):
        check_missing_ceiling(lambda task, p: {"redundant": 1.0, "complementary": 1 - p / 2}.get(task, 1 - 3 * p / 4))
