"""cached_bench.py: the cache of chapters 05-07's rows is read back, rebuilt when the code changes, fresh, and
remakes its test sets."""
import json

import pytest
import torch

import course_lib.cached_bench as cached_bench


def test_cached_benches_read_back_warn_when_stale_and_rebuild_only_when_asked(tmp_path, monkeypatch):
    calls = []

    def fake_bench(device):
        calls.append(device)
        return [{"chapter": "07", "task": "sequence", "family": "MulT", "accuracy": 1.0}]

    monkeypatch.setattr(cached_bench, "BENCHES", {"07": fake_bench})
    path = tmp_path / "cache.json"
    with pytest.raises(FileNotFoundError, match="make bench"):
        cached_bench.cached_benches("cpu", path=path)                                    # no cache: no silent training
    first = cached_bench.cached_benches("cpu", path=path, rebuild=True)
    assert len(calls) == 1 and [p.name for p in tmp_path.iterdir()] == ["cache.json"]  # no .tmp left behind
    assert cached_bench.cached_benches("cpu", path=path) == first and len(calls) == 1      # read back, not rerun
    saved = path.read_text()
    monkeypatch.setattr(cached_bench, "source_hash", lambda: "another library")
    with pytest.warns(UserWarning, match="make bench"):
        assert cached_bench.cached_benches("cpu", path=path) == first                    # stale: used, and said so
    assert len(calls) == 1 and path.read_text() == saved                                   # not retrained, not rewritten
    cached_bench.cached_benches("cpu", path=path, rebuild=True)
    assert len(calls) == 2 and json.loads(path.read_text())["key"] == "another library"


@pytest.fixture
def lib(tmp_path, monkeypatch):
    """A library of one module and one folder of weights, for source_hash."""
    (tmp_path / "lib" / "pkg").mkdir(parents=True)
    (tmp_path / "lib" / "a.py").write_text('"""A module."""\nx = 1  # one\n')
    (tmp_path / "lib" / "pkg" / "config.json").write_text('{"d": 4}\n')
    (tmp_path / "lib" / "pkg" / "model.safetensors").write_bytes(b"\x00\x01\r\n")
    monkeypatch.setattr(cached_bench, "LIB", tmp_path / "lib")
    monkeypatch.setattr(cached_bench, "DEPENDS", ("a.py", "pkg"))
    return tmp_path / "lib"


def test_source_hash_follows_code_configs_and_weights(lib):
    before = cached_bench.source_hash()
    for f, new in [("a.py", '"""A module."""\nx = 2  # one\n'), ("pkg/config.json", '{"d": 8}\n'),
                   ("pkg/model.safetensors", b"\x00\x01\n")]:             # weights are bytes: no CRLF fix there
        old = (lib / f).read_bytes()
        (lib / f).write_bytes(new.encode() if isinstance(new, str) else new)
        assert cached_bench.source_hash() != before, f
        (lib / f).write_bytes(old)
    (lib / "pkg" / "new.py").write_text("y = 1\n")
    assert cached_bench.source_hash() != before                              # a new module in a folder counts


def test_source_hash_ignores_what_cannot_change_a_result(lib):
    before = cached_bench.source_hash()
    (lib / "a.py").write_bytes(b'"""A module, documented better."""\r\n\r\nx = 1   # one, explained\r\n')
    (lib / "pkg" / "config.json").write_bytes(b'{"d": 4}\r\n')                # a CRLF checkout
    for junk in (".DS_Store", ".a.py.swp", "a.py~", "._a.py", "notes.txt"):    # Finder, vim, emacs, macOS, notes
        (lib / "pkg" / junk).write_bytes(b"\xff\xfe junk")
    (lib / "pkg" / "__pycache__").mkdir()
    (lib / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00")
    assert cached_bench.source_hash() == before


def test_code_drops_docstrings_and_comments_only():
    code = cached_bench._code
    src = 'def f(s="# no comment"):\n    """Doc, é."""; return s  # yes\n\nclass C:\n    """Doc."""\n    x = "kept"\n'
    assert code(src) == 'def f(s="# no comment"):\n    ; return s\nclass C:\n    x = "kept"'
    assert code("x = 1\n") != code("x = 2\n")


def test_the_committed_bench_cache_is_fresh():
    cache = json.loads(cached_bench.CACHE.read_text())
    assert cache["key"] == cached_bench.source_hash(), ("results/bench_cache.json was built from other library code: rebuild it "
                                           "with `make bench` (a few minutes) and commit it")
    assert {row["chapter"] for row in cache["rows"]} == {"05", "06", "07"}


@pytest.mark.parametrize("course_seed", ["0", "3"])
def test_the_cached_predictions_remake_their_test_sets(monkeypatch, course_seed):
    """Chapter 09 remakes each cached row's test set (and probe) from its seed: the stored accuracy must follow, at
    any COURSE_SEED (the cache holds one set of seeds)."""
    monkeypatch.setenv("COURSE_SEED", course_seed)
    rows = json.loads(cached_bench.CACHE.read_text())["rows"]
    for row in rows:
        test = cached_bench.test_set(row)
        assert (torch.tensor(row["predictions"]) == test.label).float().mean().item() == pytest.approx(row["accuracy"])
        if "probe" in row:
            probe = cached_bench.probe_set(row)
            assert (probe.latents["k"] == 3).all() and len(probe) == 6000
    assert sum("probe" in row for row in rows) == 2                                      # MulT and its baseline
