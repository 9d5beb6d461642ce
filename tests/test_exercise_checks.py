"""The exercise checks: an untouched stub is 'not attempted', a right answer passes, a classic wrong one is caught."""
import inspect
import json
import math
import textwrap
from pathlib import Path

import pytest
import torch

from course_lib.exercises.ch01 import check_abstaining_mean, check_late_complementary
from course_lib.exercises.ch02 import ReferenceIAFF, _iaff, check_iaff, check_saturated_gate
from course_lib.exercises.ch03 import check_crossover, check_masked_softmax, check_self_attend
from course_lib.exercises.ch04 import check_break_even_rank, check_pairs_task, check_tensor_fusion, check_tfn_flops
from course_lib.exercises.ch05 import check_image_share, check_layout, check_mmbt_mask
from course_lib.exercises.ch06 import check_message, check_pmf_params, check_untrained
from course_lib.exercises.chA import (check_bert_params, check_colour_blank_ceilings, check_mask_share,
                                      check_restored)
from course_lib.exercises.ch07 import check_clip_loss, check_recall_at_1, check_uniform_infonce
from course_lib.exercises.ch09 import check_and_pid, check_conditional_mi, check_synergy_task
from course_lib.world import VOCAB


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [check_late_complementary, check_saturated_gate, check_iaff,
                                   check_masked_softmax, check_self_attend, check_crossover,
                                   check_tensor_fusion, check_break_even_rank, check_tfn_flops, check_pairs_task,
                                   check_layout, check_mmbt_mask, check_image_share,
                                   check_pmf_params, check_message, check_untrained,
                                   check_bert_params, check_mask_share, check_restored, check_colour_blank_ceilings,
                                   check_clip_loss, check_uniform_infonce, check_recall_at_1,
                                   check_conditional_mi, check_and_pid, check_synergy_task, check_abstaining_mean])
def test_untouched_stub_is_not_attempted(check, capsys):
    check(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_masked_softmax_catches_masking_after_the_softmax(capsys):
    with pytest.raises(AssertionError, match="after the softmax"):
        check_masked_softmax(lambda s, m: s.softmax(-1) * m)
    check_masked_softmax(lambda s, m: s.masked_fill(~m, float("-inf")).softmax(-1))
    assert "correct!" in capsys.readouterr().out


def test_self_attend_catches_the_seeds_call_and_the_half_transpose(capsys):
    with pytest.raises(AssertionError, match="seed's call"):
        check_self_attend(lambda mha, x: mha(x, x, x)[0])
    with pytest.raises(AssertionError, match="not out"):
        check_self_attend(lambda mha, x: mha(*[x.transpose(0, 1)] * 3)[0])
    check_self_attend(lambda mha, x: mha(*[x.transpose(0, 1)] * 3)[0].transpose(0, 1))
    assert "correct!" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,hint", [(1, "every linear layer"), (2, "MLP is a linear layer"), (6, "2D wide"),
                                        (8, "two"), (5, "you said")])
def test_crossover_catches_each_miscount(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_crossover(lambda D: wrong * D)


def test_crossover_accepts_4D(capsys):
    check_crossover(lambda D: 4 * D)
    assert "correct!" in capsys.readouterr().out


# ---- chapters 01 and 02


@pytest.mark.parametrize("guess,hint", [({"mean": 0.5, "vote": 0.75}, "peaks at the truth"),
                                        ({"mean": 1.0, "vote": 0.5}, "Count the four cases"),
                                        ({"mean": 1.0, "vote": 0.25}, "Count the four cases"),
                                        ({"mean": 1.0, "vote": 1.0}, "without a single vote"),
                                        ({"mean": 100, "vote": 75}, "share in")])
def test_late_complementary_catches_the_classic_predictions(guess, hint):
    with pytest.raises(AssertionError, match=hint):
        check_late_complementary(lambda: guess)


def test_late_complementary_accepts_the_derivation(capsys):
    check_late_complementary(lambda: {"mean": 1.0, "vote": 0.75})
    assert "correct!" in capsys.readouterr().out


@pytest.mark.parametrize("guess,hint", [({"W_t"}, "slope of the sigmoid"), ({"W_z"}, "multiplied by 0"),
                                        ({"W_v"}, "multiplied by 0"), ({"W_v", "W_t", "W_z"}, "copied through"),
                                        ({"W_q"}, "set of names")])
def test_saturated_gate_catches_the_classic_answers(guess, hint):
    with pytest.raises(AssertionError, match=hint):
        check_saturated_gate(lambda: guess)


def test_saturated_gate_accepts_the_two_dead_weights(capsys):
    check_saturated_gate(lambda: {"W_t", "W_z"})
    assert "correct!" in capsys.readouterr().out


def test_reference_iaff_leaves_global_att2_untrained():
    m = ReferenceIAFF(8)
    m(torch.randn(2, 3, 8), torch.randn(2, 3, 8)).sum().backward()
    silent = {name.split(".")[0] for name, p in m.named_parameters() if p.grad is None}
    assert silent == {"global_att2"}


@pytest.mark.parametrize("wrong,hint", [(lambda m, x, y: m(x, y), "reference's forward"),
                                        (lambda m, x, y: _iaff(m, x, y, second_input="x + y"), "iterative"),
                                        (lambda m, x, y: _iaff(m, x, y, out="xi"), "not xi and y"),
                                        (lambda m, x, y: _iaff(m, x, y).detach(), "no graph")])
def test_iaff_catches_the_bug_and_the_wrong_fixes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_iaff(wrong)


def test_iaff_accepts_the_paper(capsys):
    check_iaff(_iaff)
    assert "correct!" in capsys.readouterr().out


def test_chapter_02_shows_the_reference_forward_as_it_runs():
    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "02_gated_fusion.ipynb").read_text())
    shown = "".join(next("".join(c["source"]) for c in nb["cells"] if "**Exercise 3 (debug).**" in "".join(c["source"])))
    assert textwrap.dedent(inspect.getsource(ReferenceIAFF.forward)) in shown


# ---- chapter 04



def test_tensor_fusion_catches_the_missing_ones(capsys):
    with pytest.raises(AssertionError, match="append a 1"):
        check_tensor_fusion(lambda a, b, c: torch.einsum("bj,bk,bl->bjkl", a, b, c))
    one = lambda h: torch.cat([h, torch.ones(h.shape[0], 1)], 1)
    check_tensor_fusion(lambda a, b, c: torch.einsum("bj,bk,bl->bjkl", one(a), one(b), one(c)))
    assert "correct!" in capsys.readouterr().out


def test_break_even_rank_catches_rounding_down(capsys):
    import math
    with pytest.raises(AssertionError, match="round up"):
        check_break_even_rank(lambda dims, d_out: math.prod(d + 1 for d in dims) // sum(d + 1 for d in dims)
                              - (math.prod(d + 1 for d in dims) % sum(d + 1 for d in dims) == 0))
    with pytest.raises(AssertionError, match="reaches TFN's size"):
        check_break_even_rank(lambda dims, d_out: math.ceil(math.prod(dims) / sum(dims)))   # forgot the appended 1
    check_break_even_rank(lambda dims, d_out: math.ceil(math.prod(d + 1 for d in dims) / sum(d + 1 for d in dims)))
    assert "correct!" in capsys.readouterr().out


def test_pairs_task_catches_an_additive_or_a_three_way_task(capsys):
    with pytest.raises(AssertionError, match="additive rule is already right on 100.0%"):
        check_pairs_task(lambda: (1, 0, 0))                       # a sum of the three values
    with pytest.raises(AssertionError, match="only 87.5%"):
        check_pairs_task(lambda: (0, 0, 1))                       # the chapter's three-way sign
    with pytest.raises(AssertionError, match="additive rule is already right on 100.0%"):
        check_pairs_task(lambda: (1, 1, 0))                       # pairs, but the sum decides every cell
    with pytest.raises(AssertionError, match="all three weights are 0"):
        check_pairs_task(lambda: (0, 0, 0))
    with pytest.raises(AssertionError, match="three finite numbers"):
        check_pairs_task(lambda: (0, 1))
    check_pairs_task(lambda: (0, 1, 0))                           # the solution: the pairs alone
    assert "correct!" in capsys.readouterr().out


def test_tfn_flops_catches_counting_multiply_adds_once():
    with pytest.raises(AssertionError, match="counts as 2"):
        check_tfn_flops(lambda dims, d_out, b: b * d_out * torch.tensor([d + 1 for d in dims]).prod().item())


# ---- appendix A



def test_bert_params_catches_a_missing_layernorm():
    def without_embedding_norm(V, P, H, L, F):
        return (V + P + 2) * H + L * (4 * (H * H + H) + 2 * H + (H * F + F) + (F * H + H) + 2 * H)
    with pytest.raises(AssertionError, match="parameters"):
        check_bert_params(without_embedding_norm)


def test_mask_share_catches_counting_special_tokens():
    from course_lib.backbones import mask_tokens

    def over_all_tokens(ids, p):
        inputs, labels = mask_tokens(ids, p)
        chosen = labels != -100
        return chosen.float().mean().item(), (inputs[chosen] == VOCAB.mask_id).float().mean().item(), \
            (inputs[chosen] == ids[chosen]).float().mean().item()
    with pytest.raises(AssertionError, match="words only"):
        check_mask_share(over_all_tokens)


def test_restore_catches_the_off_by_one(capsys):
    def forgot_cls(model, sentence):
        ids = torch.tensor([VOCAB.encode(sentence.split())])               # no [CLS]: every position shifts
        position = (ids[0] == VOCAB.mask_id).nonzero()[0, 0]
        return VOCAB.words[model(input_ids=ids).logits[0, position].argmax()]
    with pytest.raises(AssertionError, match="off by one"):
        check_restored(forgot_cls)

    def right(model, sentence):
        ids = torch.tensor([VOCAB.tokenize(sentence.split())])
        position = (ids[0] == VOCAB.mask_id).nonzero()[0, 0]
        return VOCAB.words[model(input_ids=ids).logits[0, position].argmax()]
    check_restored(right)
    assert "correct!" in capsys.readouterr().out


# ---- chapter 09



def test_conditional_mi_catches_nats_and_the_unconditional_answer():
    import math

    from course_lib.pid import mutual_information
    with pytest.raises(AssertionError, match="nats"):
        check_conditional_mi(lambda pmf: (mutual_information(pmf) - mutual_information(pmf, (1,))) * math.log(2))
    with pytest.raises(AssertionError, match="ignores X2"):
        check_conditional_mi(lambda pmf: mutual_information(pmf, (0,)))


def test_and_pid_catches_swapped_parts():
    with pytest.raises(AssertionError, match="should be"):
        check_and_pid(lambda: {"R": 0.5, "U1": 0.0, "U2": 0.0, "S": 0.311})


def test_synergy_task_rejects_a_task_late_fusion_solves(capsys):
    with pytest.raises(AssertionError, match="late fusion"):
        check_synergy_task(lambda: {(a, a, a): 1 / 3 for a in range(3)})
    with pytest.raises(AssertionError, match="0.073"):      # parity of a + b over 3 values: y = 0 at 5 of 9 cells
        check_synergy_task(lambda: {(a, b, (a + b) % 2): 1 / 9 for a in range(3) for b in range(3)})
    check_synergy_task(lambda: {(a, b, (a + b) % 3): 1 / 9 for a in range(3) for b in range(3)})
    assert "correct!" in capsys.readouterr().out


# ---- chapter 05

def test_layout_catches_positions_that_do_not_restart(capsys):
    with pytest.raises(AssertionError, match="restart"):
        check_layout(lambda N, T: ([0] * (N + 2) + [1] * T, list(range(N + 2 + T))))
    check_layout(lambda N, T: ([0] * (N + 2) + [1] * T, list(range(N + 2)) + list(range(T))))
    assert "correct!" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,hint", [
    (lambda n, m: torch.nn.functional.pad(m, (n + 2, 0)), "F.pad fills with 0"),
    (lambda n, m: torch.nn.functional.pad(m, (n, 0), value=1), "N \\+ 2 tokens long"),
    (lambda n, m: torch.ones(len(m), n + 2 + m.shape[1]), "padding must stay masked")])
def test_mmbt_mask_catches_the_padded_port_and_its_neighbours(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_mmbt_mask(wrong)


def test_mmbt_mask_accepts_the_fix(capsys):
    check_mmbt_mask(lambda n, m: torch.nn.functional.pad(m, (n + 2, 0), value=1))
    assert "correct!" in capsys.readouterr().out


def test_image_share_catches_counting_sep(capsys):
    with pytest.raises(AssertionError, match="SEP"):
        check_image_share(lambda attn, N: attn[-1, :, :, 0, 1:N + 2].sum(-1).mean())
    check_image_share(lambda attn, N: attn[-1, :, :, 0, 1:N + 1].sum(-1).mean())
    assert "correct!" in capsys.readouterr().out


# ---- chapter 06

def test_pmf_params_catches_one_modality_only(capsys):
    def one_side(L, L_f, M, D, hidden, C):
        n = L - L_f
        return n * 3 * M * D + n * (2 * D * hidden + hidden + 3 * D) + 2 * (D * C + C)
    with pytest.raises(AssertionError, match="PMF trains"):
        check_pmf_params(one_side)
    check_pmf_params(lambda L, L_f, M, D, hidden, C: 2 * (L - L_f) * (3 * M * D + 2 * D * hidden + hidden + 3 * D)
                     + 2 * (D * C + C))
    assert "correct!" in capsys.readouterr().out


def test_message_catches_taking_the_qcp_outputs(capsys):
    def qcp_outputs(layer, h, qcp, qp, g):
        B, T = h.shape[:2]
        x = torch.cat([h, qcp.expand(B, -1, -1), qp.expand(B, -1, -1)], dim=1)
        return g(layer(x)[:, T:T + len(qcp)])
    with pytest.raises(AssertionError, match="QP positions"):
        check_message(qcp_outputs)
    check_message(lambda layer, h, qcp, qp, g: g(layer(torch.cat(
        [h, qcp.expand(len(h), -1, -1), qp.expand(len(h), -1, -1)], 1))[:, h.shape[1] + len(qcp):]))
    assert "correct!" in capsys.readouterr().out


def test_untrained_catches_listing_the_frozen_backbones(capsys):
    def everything_without_grad(model, loss):
        loss.backward()
        return sorted(n for n, p in model.named_parameters() if p.grad is None)
    with pytest.raises(AssertionError, match="backbones"):
        check_untrained(everything_without_grad)
    def right(model, loss):
        loss.backward()
        return sorted(n for n, p in model.named_parameters() if not n.startswith("backbones.") and p.grad is None)
    check_untrained(right)
    assert "correct!" in capsys.readouterr().out


# ---- chapter 07


def test_clip_loss_catches_one_direction_and_the_sum(capsys):
    target = lambda s: torch.arange(len(s))
    rows = lambda s: torch.nn.functional.cross_entropy(s, target(s))
    with pytest.raises(AssertionError, match="one direction"):
        check_clip_loss(rows)
    with pytest.raises(AssertionError, match="summed"):
        check_clip_loss(lambda s: rows(s) + rows(s.T))
    check_clip_loss(lambda s: (rows(s) + rows(s.T)) / 2)
    assert "correct!" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,hint", [(math.log2, "nats"), (lambda B: 2 * math.log(B), "averages"),
                                        (lambda B: math.log(B - 1), "one of the B classes"), (lambda B: 1 / B, "chance"),
                                        (lambda B: B, "you said")])
def test_uniform_infonce_catches_the_classic_answers(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_uniform_infonce(wrong)


def test_uniform_infonce_accepts_log_B(capsys):
    check_uniform_infonce(math.log)
    assert "correct!" in capsys.readouterr().out


def test_recall_at_1_catches_the_diagonal_only_answer(capsys):
    with pytest.raises(AssertionError, match="share a caption"):
        check_recall_at_1(lambda sim, caption_of: (sim.argmax(1) == torch.arange(len(sim))).float().mean().item())
    check_recall_at_1(lambda sim, caption_of: (caption_of[sim.argmax(1)] == torch.arange(len(sim))).float().mean())
    assert "correct!" in capsys.readouterr().out


def test_abstaining_mean_catches_zero_logits_and_the_wrong_count(capsys):
    def kept_probs(logits, keep):
        return logits.softmax(-1) * keep[..., None]

    with pytest.raises(AssertionError, match="uniform vote"):
        check_abstaining_mean(lambda l, k: torch.where(k[..., None], l, torch.zeros(())).softmax(-1).mean(0))
    with pytest.raises(AssertionError, match="not by M"):
        check_abstaining_mean(lambda l, k: kept_probs(l, k).sum(0) / len(l))
    with pytest.raises(AssertionError, match="ValueError"):
        check_abstaining_mean(lambda l, k: kept_probs(l, k).sum(0) / k.sum(0)[:, None])


def test_colour_blank_ceilings_catch_the_classic_predictions(capsys):
    for wrong, hint in [((0.25, 1.0), "is it always"), ((0.0, 0.5), "some of the time"),
                        ((0.5, 0.5), "How is the claimed colour drawn"), ((0.25, 0.25), "Which colour would you")]:
        with pytest.raises(AssertionError, match=hint):
            check_colour_blank_ceilings(lambda: wrong)
    check_colour_blank_ceilings(lambda: (0.25, 0.5))
    assert "correct!" in capsys.readouterr().out
