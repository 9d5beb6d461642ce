"""compare.py: the registry, the measurements, the bench's determinism, robustness curves, bad input."""
import pytest
import torch

from course_lib.compare import FAMILIES, build, compare, measure_family, robustness, table, train_family
from course_lib.fusion.tensor import lmf_params
from course_lib.measure import count_parameters
from course_lib.world import make_task


@pytest.fixture(scope="module")
def batch():
    return make_task("redundant", 16, seed=3).tensors()


def test_registry_covers_chapters_01_to_04_in_order():
    assert list(FAMILIES)[:3] == ["late", "concat", "concat_mlp"]
    chapters = [f.chapter for f in FAMILIES.values()]
    assert chapters == sorted(chapters) and set(chapters) == {"01", "02", "03", "04"}
    assert {"gmu", "text_guided", "bilinear", "tfn", "lmf"} <= set(FAMILIES)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_gives_logits_on_a_real_batch(name, batch):
    torch.manual_seed(0)
    model = build(name, 4)
    logits = model(batch)
    assert logits.shape == (16, 4) and torch.isfinite(logits).all()
    logits.logsumexp(-1).sum().backward()        # every family trains end to end: the encoders get gradients
    assert model.encoders["image"].net[0].weight.grad is not None
    assert model.encoders["text"].embed.weight.grad is not None


def test_measure_family_is_consistent_and_leaves_the_model_alone(batch):
    torch.manual_seed(0)
    model = build("lmf", 4).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cost = measure_family(model, batch, repeats=2)
    assert cost["params"] == count_parameters(model)
    # the fusion + head: two projections 64 -> 8, LMF((8, 8), 32, rank 4), the linear head 32 -> 4
    assert cost["fusion_params"] == 2 * (64 * 8 + 8) + lmf_params((8, 8), 32, 4) + 32 * 4 + 4
    assert cost["flops"] > cost["fusion_flops"] > 0
    assert cost["latency_cpu"] > 0 and cost["saved_bytes"] > 0
    if not torch.cuda.is_available():
        assert cost["latency_cuda"] is None and cost["cuda_peak_bytes"] is None
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert measure_family(model, batch, repeats=2)["saved_bytes"] == cost["saved_bytes"]
    # a bigger fusion costs more: co-attention against concat
    small, big = (measure_family(build(n, 4), batch, repeats=1) for n in ("concat", "co_attention"))
    assert big["fusion_params"] > small["fusion_params"] and big["fusion_flops"] > small["fusion_flops"]
    assert big["saved_bytes"] > small["saved_bytes"]


def test_compare_is_deterministic_and_keeps_the_given_order():
    kwargs = dict(n_train=64, n_test=32, epochs=1, show=False, measure_batch=8)
    first = compare("synergy", ["lmf", "concat"], **kwargs)
    second = compare("synergy", ["lmf", "concat"], **kwargs)
    assert [r.name for r in first] == ["lmf", "concat"]
    assert first == second                          # same seed, same rows (timings aside)
    for a, b in zip(first, second):                 # ... because the trained weights are the same
        assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert "LMF r=4" in table(first) and "concat + linear" in table(first)


def test_compare_keeps_the_epoch_best_on_validation():
    rows = compare("synergy", ["concat"], n_train=64, n_test=32, epochs=4, n_val=32, patience=1, show=False,
                   measure_batch=8)
    history = rows[0].model.history
    assert rows[0].best_epoch == history.best_epoch and 1 <= history.best_epoch <= len(history.val_acc) <= 4
    assert history.best_val_acc == max(history.val_acc)           # the kept epoch is the best one seen
    fixed = compare("synergy", ["concat"], n_train=64, n_test=32, epochs=2, show=False, measure_batch=8)
    assert fixed[0].best_epoch is None and len(fixed[0].model.history.val_acc) == 0
    with pytest.raises(ValueError, match="validation set"):
        compare("synergy", ["concat"], n_train=8, n_test=8, epochs=1, patience=2)


def test_compare_defaults_to_the_whole_registry_in_order():
    rows = compare("redundant", n_train=16, n_test=8, epochs=1, show=False, measure_batch=4)
    assert [r.name for r in rows] == list(FAMILIES)
    assert all(0 <= r.accuracy <= 1 and r.params > 0 for r in rows)


@pytest.fixture(scope="module")
def synergy_model():
    train = make_task("synergy", 1500, seed=0)
    return train_family("concat_mlp", train, epochs=8, show=False)


def test_robustness_level_zero_is_the_clean_test_set(synergy_model):
    clean = make_task("synergy", 300, seed=10_000)
    from course_lib.train import evaluate
    acc = evaluate(synergy_model, clean)
    assert acc > 0.9, f"the fixture should solve synergy, got {acc:.3f}"
    for kind in ("missing", "noise"):
        assert robustness(synergy_model, "synergy", 300, modality="image", kind=kind, levels=[0])[0] == acc


def test_a_missing_image_sends_synergy_to_chance(synergy_model):
    accs = robustness(synergy_model, "synergy", 400, modality="image", kind="missing", levels=[0, 0.5, 1.0])
    assert accs[0] > accs[1] > accs[2]
    assert abs(accs[2] - 0.5) < 0.1, f"without the image synergy is a coin flip, got {accs[2]:.3f}"
    both = robustness({"a": synergy_model, "b": synergy_model}, "synergy", 400, modality="image", kind="missing",
                      levels=[0, 0.5, 1.0])
    assert both == {"a": accs, "b": accs}


@pytest.mark.parametrize("call,error,message", [
    (lambda: build("concatenate", 2), KeyError, "known: late, concat"),
    (lambda: compare("synergy", [], n_train=8, n_test=8, epochs=1), ValueError, "no families"),
    (lambda: compare("synergy", ["gmu", "attention"], n_train=8, n_test=8, epochs=1), KeyError, "'attention'"),
    (lambda: measure_family(build("concat", 2), {"image": torch.zeros(1, 3, 32, 32)}), ValueError, "'label'"),
])
def test_bad_families_and_batches(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("kwargs,message", [
    (dict(modality="image", kind="blur", levels=[0]), "unknown kind 'blur'"),
    (dict(modality="image", kind="missing", levels=[0, 1.5]), r"probabilities in \[0, 1\], got \[1.5\]"),
    (dict(modality="image", kind="missing", levels=[-0.1]), r"probabilities in \[0, 1\]"),
    (dict(modality="image", kind="noise", levels=[-1]), "non-negative"),
    (dict(modality="image", kind="noise", levels=[]), "levels is empty"),
    (dict(modality="smell", kind="noise", levels=[0.1]), "unknown modality 'smell'"),
])
def test_robustness_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        robustness(build("concat", 2), "synergy", 8, **kwargs)


def test_robustness_wants_models():
    with pytest.raises(TypeError, match="nn.Module"):
        robustness({}, "synergy", 8, modality="image", kind="noise", levels=[0.1])


def test_table_shows_gpu_latency_only_when_measured():
    from course_lib.compare import Row
    row = dict(name="concat", chapter="01", accuracy=0.5, params=10, fusion_params=2, flops=100.0, fusion_flops=4.0,
               saved_bytes=2048, latency_cpu=0.002)
    assert "GPU ms" not in table([Row(**row)])
    with_gpu = table([Row(**row, latency_cuda=0.0005)])
    assert "GPU ms" in with_gpu and "0.50" in with_gpu.splitlines()[1]
