"""cached_bench.py: the cache of chapters 05-07's rows is read back, rebuilt when the code changes, fresh, and
remakes its test sets."""
import json

import pytest
import torch

import course_lib.cached_bench as cached_bench


def test_cached_benches_read_back_and_rebuild_when_the_code_changes(tmp_path, monkeypatch):
    calls = []

    def fake_bench(device):
        calls.append(device)
        return [{"chapter": "07", "task": "sequence", "family": "MulT", "accuracy": 1.0}]

    monkeypatch.setattr(cached_bench, "BENCHES", {"07": fake_bench})
    path = tmp_path / "cache.json"
    first = cached_bench.cached_benches("cpu", path=path)
    assert cached_bench.cached_benches("cpu", path=path) == first and len(calls) == 1      # read back, not rerun
    monkeypatch.setattr(cached_bench, "source_hash", lambda: "another library")
    cached_bench.cached_benches("cpu", path=path)
    assert len(calls) == 2                                                                 # stale: rebuilt


def test_source_hash_follows_the_library_files(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(cached_bench, "LIB", tmp_path / "lib")
    monkeypatch.setattr(cached_bench, "DEPENDS", ("a.py",))
    before = cached_bench.source_hash()
    (tmp_path / "lib" / "a.py").write_text("x = 2\n")
    assert cached_bench.source_hash() != before


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
