import pytest
import torch
import torch.nn as nn

from course_lib.measure import (auroc, count_flops, count_parameters, latency, peak_memory, recall_at_k,
                               saved_tensor_bytes)


def test_count_parameters_trainable_and_frozen():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    assert count_parameters(model) == 4 * 3 + 3 + 3 * 2 + 2
    model[0].requires_grad_(False)
    assert count_parameters(model) == 3 * 2 + 2
    assert count_parameters(model, trainable_only=False) == 23


def test_flops_of_a_linear_layer_are_2_m_n_k():
    layer = nn.Linear(16, 8, bias=False)
    assert count_flops(layer, torch.randn(5, 16)) == 2 * 5 * 16 * 8


def test_latency_is_positive_and_checks_repeats():
    assert latency(torch.matmul, torch.randn(32, 32), torch.randn(32, 32), repeats=3) > 0
    with pytest.raises(ValueError, match="repeats"):
        latency(torch.matmul, torch.randn(2, 2), torch.randn(2, 2), repeats=0)


def test_latency_runs_backward_only_with_grad():
    layer = nn.Linear(8, 8)

    def step():
        layer.zero_grad()
        layer(torch.randn(4, 8)).sum().backward()

    with pytest.raises(RuntimeError, match="grad"):
        latency(step, repeats=1)        # inference timing builds no graph: backward must fail
    assert latency(step, repeats=2, grad=True) > 0 and layer.weight.grad is not None


def test_saved_bytes_grow_with_batch_and_vanish_without_grad():
    layer = nn.Linear(64, 64)
    small = saved_tensor_bytes(lambda: layer(torch.randn(8, 64)).relu().sum())
    large = saved_tensor_bytes(lambda: layer(torch.randn(80, 64)).relu().sum())
    assert large > small > 0
    layer.requires_grad_(False)
    assert saved_tensor_bytes(lambda: layer(torch.randn(8, 64)).sum()) == 0
    assert peak_memory(lambda: nn.Linear(4, 4)(torch.randn(2, 4)).sum())["saved_bytes"] > 0


def test_recall_at_k_on_hand_made_rankings():
    sim = torch.tensor([[0.9, 0.1, 0.5],      # query 0: ranking 0, 2, 1
                        [0.2, 0.3, 0.8],      # query 1: ranking 2, 1, 0
                        [0.4, 0.6, 0.5]])     # query 2: ranking 1, 2, 0
    right = torch.tensor([0, 1, 0])
    assert recall_at_k(sim, right, 1) == pytest.approx(1 / 3)
    assert recall_at_k(sim, right, 2) == pytest.approx(2 / 3)
    assert recall_at_k(sim, right, 3) == 1.0
    several = torch.tensor([[False, True, True], [True, False, False], [False, False, True]])
    assert recall_at_k(sim, several, 1) == 0.0 and recall_at_k(sim, several, 2) == pytest.approx(2 / 3)
    assert recall_at_k(torch.eye(50), torch.arange(50), 1) == 1.0          # a perfect model


def test_recall_at_k_of_random_scores_is_k_over_g():
    g = torch.Generator().manual_seed(0)
    sim = torch.rand(4000, 20, generator=g)
    assert abs(recall_at_k(sim, torch.zeros(4000, dtype=torch.long), 5) - 5 / 20) < 0.03


@pytest.mark.parametrize("sim,relevant,k,message", [
    (torch.rand(3), torch.tensor([0]), 1, "queries, gallery"),
    (torch.rand(3, 4), torch.tensor([0, 1, 2]), 0, "k must be"),
    (torch.rand(3, 4), torch.tensor([0, 1, 2]), 5, "k must be"),
    (torch.rand(3, 4), torch.tensor([0, 1]), 1, "one gallery index"),
    (torch.rand(3, 4), torch.tensor([0, 1, 4]), 1, "one gallery index"),
    (torch.rand(3, 4), torch.zeros(3, 3, dtype=torch.bool), 1, "mask like"),
    (torch.rand(2, 2), torch.tensor([[True, False], [False, False]]), 1, "at least one relevant"),
])
def test_recall_at_k_bad_input(sim, relevant, k, message):
    with pytest.raises(ValueError, match=message):
        recall_at_k(sim, relevant, k)


def test_auroc_on_a_case_computed_by_hand():
    """positives score 0.5, 0.9; negatives 0.5, 0.2. Pairs (+, -): (0.5, 0.5) tie = 1/2, (0.5, 0.2) = 1, (0.9, 0.5) = 1,
    (0.9, 0.2) = 1, so AUROC = 3.5 / 4. Ranks: 0.2 -> 1, the two 0.5 -> (2 + 3) / 2 = 2.5, 0.9 -> 4; R+ = 6.5,
    (6.5 - 2 * 3 / 2) / (2 * 2) = 0.875 again."""
    scores, labels = torch.tensor([0.5, 0.5, 0.2, 0.9]), torch.tensor([1, 0, 0, 1])
    assert auroc(scores, labels) == pytest.approx(0.875)
    assert auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])) == pytest.approx(0.75)
    assert auroc(torch.ones(6), torch.tensor([0, 1, 0, 1, 1, 0])) == 0.5                  # all tied: chance
    assert auroc(-scores, labels) == pytest.approx(1 - 0.875)                             # reversed ranking
    assert auroc(torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 1, 1])) == 1.0


def test_auroc_equals_the_pairwise_definition_with_many_ties():
    g = torch.Generator().manual_seed(0)
    scores, labels = torch.randint(0, 5, (300,), generator=g).float(), torch.randint(0, 2, (300,), generator=g)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairwise = ((pos[:, None] > neg[None]).double() + 0.5 * (pos[:, None] == neg[None]).double()).mean().item()
    assert auroc(scores, labels) == pytest.approx(pairwise, abs=1e-12)
    assert auroc(scores.exp() * 3 - 1, labels) == pytest.approx(pairwise, abs=1e-12)     # any increasing map: same


@pytest.mark.parametrize("scores,labels,message", [
    (torch.rand(4), torch.tensor([1, 1, 1, 1]), "both classes"),
    (torch.rand(4), torch.tensor([0, 1, 2, 1]), "labels in"),
    (torch.rand(3), torch.tensor([0, 1, 0, 1]), "shapes"),
    (torch.tensor([0.1, float("nan")]), torch.tensor([0, 1]), "NaN")])
def test_auroc_bad_input(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        auroc(scores, labels)
