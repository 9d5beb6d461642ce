import torch

from course_lib import config


def test_quick_switch_controls_sizes(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert config.is_quick() and config.mode() == "quick"
    quick = config.sizes()
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert not config.is_quick() and config.mode() == "full"
    full = config.sizes()
    assert quick.n_train < full.n_train and quick.epochs <= full.epochs


def test_seed_everything_repeats_numbers():
    config.seed_everything(3)
    a = torch.randn(5)
    config.seed_everything(3)
    assert torch.equal(a, torch.randn(5))


def test_setup_prints_one_line_and_returns_device(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS", str(tmp_path / "claims.json"))
    device = config.setup("99_test_chapter", seed=1)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "99_test_chapter" in out[0] and "device:" in out[0] and "AMP:" in out[0]
    assert device == config.pick_device()
    assert config.current_chapter() == "99_test_chapter"


def test_amp_is_off_on_cpu():
    assert config.amp_dtype(torch.device("cpu")) is None
