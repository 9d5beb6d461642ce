import contextlib

import pytest
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


def test_course_seed_shifts_every_seed_and_exact_seeds_undoes_it(monkeypatch):
    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert config.run_seed(5) == 5
    monkeypatch.setenv("COURSE_SEED", "2")
    assert config.run_seed(5) == 5 + 2 * config.SEED_STRIDE
    with config.exact_seeds():
        assert config.run_seed(5) == 5
    assert config.run_seed(5) == 5 + 2 * config.SEED_STRIDE
    monkeypatch.setenv("COURSE_SEED", "one")
    with pytest.raises(ValueError, match="COURSE_SEED must be an integer, got 'one'"):
        config.run_seed(0)


def test_course_seed_changes_the_draw_and_the_initial_weights(monkeypatch):
    from course_lib import make_task
    monkeypatch.delenv("COURSE_SEED", raising=False)
    base = make_task("synergy", 20, seed=0).image
    config.seed_everything(0)
    w0 = torch.randn(3)
    monkeypatch.setenv("COURSE_SEED", "1")
    assert not torch.equal(base, make_task("synergy", 20, seed=0).image)
    config.seed_everything(0)
    assert not torch.equal(w0, torch.randn(3))
    with config.exact_seeds():
        assert torch.equal(base, make_task("synergy", 20, seed=0).image)


def test_seeds_per_mode(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert config.seeds() == [0, 1]
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert config.seeds() == [0, 1, 2] and config.seeds(full=5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="at least one seed"):
        config.seeds(quick=0)


def _gpu(monkeypatch, capability):
    """Pretend this machine has a CUDA GPU of the given compute capability (the tests run without one)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)


@pytest.mark.parametrize("capability,dtype", [((7, 5), torch.float16),    # T4: is_bf16_supported() says True
                                              ((7, 0), torch.float16),    # V100
                                              ((8, 0), torch.bfloat16),   # A100
                                              ((9, 0), torch.bfloat16)])  # H100
def test_amp_is_bf16_only_where_the_gpu_has_it_natively(monkeypatch, capability, dtype):
    _gpu(monkeypatch, capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # counts emulation: not to be trusted
    assert config.amp_dtype(torch.device("cuda")) is dtype
    assert config.amp_dtype(torch.device("mps")) is None


def test_autocast_is_a_no_op_where_amp_is_off():
    assert isinstance(config.autocast(torch.device("cpu")), contextlib.nullcontext)
    assert isinstance(config.autocast(torch.device("mps")), contextlib.nullcontext)  # never torch.autocast("mps")


def test_course_device_forces_the_device(monkeypatch):
    _gpu(monkeypatch, (7, 5))
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert config.pick_device().type == "cuda"
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert config.pick_device().type == "cpu"
    monkeypatch.setenv("COURSE_DEVICE", " CUDA ")
    assert config.pick_device().type == "cuda"


def test_course_device_must_name_an_available_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("COURSE_DEVICE", "gpu")
    with pytest.raises(ValueError, match=r"COURSE_DEVICE='gpu' is not a device.*cuda, mps, cpu"):
        config.pick_device()
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="COURSE_DEVICE='cuda'.*no cuda device"):
        config.pick_device()
