"""The exercise checks: an untouched stub is 'not attempted', a right answer passes, a classic wrong one is caught."""
import pytest
import torch

from course_lib.exercises.ch03 import check_mass_on_target, check_masked_softmax, check_split_heads


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [check_masked_softmax, check_split_heads, check_mass_on_target])
def test_untouched_stub_is_not_attempted(check, capsys):
    check(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_masked_softmax_catches_masking_after_the_softmax(capsys):
    with pytest.raises(AssertionError, match="after the softmax"):
        check_masked_softmax(lambda s, m: s.softmax(-1) * m)
    check_masked_softmax(lambda s, m: s.masked_fill(~m, float("-inf")).softmax(-1))
    assert "correct!" in capsys.readouterr().out


def test_split_heads_catches_the_plain_view(capsys):
    with pytest.raises(AssertionError, match="mixes tokens"):
        check_split_heads(lambda x, h: x.view(x.shape[0], h, x.shape[1], -1))
    check_split_heads(lambda x, h: x.view(*x.shape[:2], h, -1).transpose(1, 2))
    assert "correct!" in capsys.readouterr().out


def test_mass_on_target_catches_the_complement(capsys):
    with pytest.raises(AssertionError, match="off"):
        check_mass_on_target(lambda w, t: (w * ~t).sum(-1))
    check_mass_on_target(lambda w, t: (w * t).sum(-1))
    assert "correct!" in capsys.readouterr().out
