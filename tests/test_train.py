import pytest
import torch

from course_lib.encoders import UnimodalClassifier
from course_lib.train import batches, evaluate, fit, predict
from course_lib.world import make_splits


@pytest.fixture(scope="module")
def splits():
    return make_splits("redundant", 256, 128, seed=0)


def _run(splits):
    torch.manual_seed(0)
    model = UnimodalClassifier("text", 4)
    history = fit(model, splits[0], splits[1], epochs=5, show=False)   # enough to learn at any COURSE_SEED
    return model, history


def test_fit_is_deterministic(splits):
    (m1, h1), (m2, h2) = _run(splits), _run(splits)
    assert h1.train_loss == h2.train_loss and h1.val_acc == h2.val_acc
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_fit_learns_and_history_has_one_entry_per_epoch(splits):
    model, history = _run(splits)
    assert len(history.train_loss) == len(history.val_acc) == 5
    assert history.train_loss[1] < history.train_loss[0]
    assert evaluate(model, splits[1]) == history.final_val_acc > 0.5


def test_predict_keeps_order_and_accepts_tensor_dicts(splits):
    model, _ = _run(splits)
    logits = predict(model, splits[1], batch_size=50)
    assert logits.shape == (128, 4)
    assert torch.allclose(logits[:10], predict(model, {k: v[:10] for k, v in splits[1].tensors().items()}), atol=1e-5)


def test_batches_cover_every_row_once():
    tensors = {"label": torch.arange(10), "x": torch.arange(10) * 2}
    seen = torch.cat([b["label"] for b in batches(tensors, 3, shuffle=True, generator=torch.Generator().manual_seed(1))])
    assert sorted(seen.tolist()) == list(range(10))
    assert all(torch.equal(b["x"], b["label"] * 2) for b in batches(tensors, 4, shuffle=True))


def test_fit_with_a_custom_loss_and_score(splits):
    seen = []

    def loss_fn(output, batch):                       # the batch comes along, so a loss may read any of its keys
        seen.append(sorted(batch))
        return torch.nn.functional.cross_entropy(output, batch["label"]) * 0.5

    torch.manual_seed(0)
    model = UnimodalClassifier("text", 4)
    history = fit(model, splits[0], splits[1], epochs=2, loss_fn=loss_fn, val_fn=lambda m, t: float(len(t["label"])),
                  show=False)
    assert history.val_acc == [128.0, 128.0] and history.train_acc == []     # no accuracy for a loss fit can't read
    assert "label" in seen[0] and "text" in seen[0]
    _, plain = _run(splits)
    assert history.train_loss[0] == pytest.approx(plain.train_loss[0] * 0.5, rel=1e-5)


def test_bad_input(splits):
    model = UnimodalClassifier("text", 4)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, splits[0], epochs=0)
    with pytest.raises(TypeError, match="label"):
        evaluate(model, {"text": torch.zeros(2, 3)})


def test_keep_best_puts_back_the_best_validation_epoch(splits):
    scores = iter([0.5, 0.9, 0.7, 0.6])
    kept = {}

    def val_fn(model, tensors):                        # a scripted score; remember the weights of the best epoch
        score = next(scores)
        if score == 0.9:
            kept.update({k: v.clone() for k, v in model.state_dict().items()})
        return score

    torch.manual_seed(0)
    model = UnimodalClassifier("text", 4)
    history = fit(model, splits[0], splits[1], epochs=4, val_fn=val_fn, keep_best=True, show=False)
    assert history.best_epoch == 2 and history.best_val_acc == 0.9 and len(history.val_acc) == 4
    assert all(torch.equal(v, kept[k]) for k, v in model.state_dict().items())


def test_patience_stops_after_that_many_epochs_without_a_better_score(splits):
    scores = iter([0.5, 0.8, 0.8, 0.7, 0.9, 0.95])
    torch.manual_seed(0)
    history = fit(UnimodalClassifier("text", 4), splits[0], splits[1], epochs=6, val_fn=lambda m, t: next(scores),
                  patience=2, show=False)
    assert history.val_acc == [0.5, 0.8, 0.8, 0.7] and history.best_epoch == 2  # ties do not count as better


def test_early_stopping_needs_validation_data(splits):
    with pytest.raises(ValueError, match="pass val="):
        fit(UnimodalClassifier("text", 4), splits[0], epochs=2, keep_best=True, show=False)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        fit(UnimodalClassifier("text", 4), splits[0], splits[1], epochs=2, patience=0, show=False)


def test_make_splits_with_a_validation_set_draws_three_independent_sets():
    train, val, test = make_splits("redundant", 64, 32, seed=0, n_val=16)
    assert (len(train), len(val), len(test)) == (64, 16, 32)
    assert not torch.equal(val.image[:16], train.image[:16]) and not torch.equal(val.image[:16], test.image[:16])
    assert torch.equal(test.image, make_splits("redundant", 64, 32, seed=0)[1].image)  # the test set does not move


def test_fit_stops_at_a_nan_loss_before_it_reaches_the_weights(splits):
    class TurnsNaN(UnimodalClassifier):
        """Finite logits for 6 steps, then NaN: 256 samples in batches of 64 are 4 steps an epoch."""
        calls = 0

        def forward(self, batch):
            self.calls += 1
            logits = super().forward(batch)
            return logits * float("nan") if self.calls > 6 else logits

    torch.manual_seed(0)
    model = TurnsNaN("text", 4)
    with pytest.raises(FloatingPointError, match=r"loss is nan at epoch 2, step 3 \(turns nan\)"):
        fit(model, splits[0], epochs=3, name="turns nan", show=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())
