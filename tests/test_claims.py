import json

import pytest

from course_lib import claims, config


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "claims.json"
    monkeypatch.setenv("COURSE_RESULTS", str(path))
    return path


def test_claim_records_value_by_chapter_and_mode(ledger, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_QUICK", "1")
    claims.claim("fusion beats text", 12.5, ">=", 10, unit="points", chapter="01_x")
    monkeypatch.setenv("COURSE_QUICK", "0")
    claims.claim("fusion beats text", 14.0, ">=", 10, unit="points", chapter="01_x")
    data = json.loads(ledger.read_text())
    entry = data["01_x"]["fusion beats text"]
    assert entry["quick"] == {"worst": 12.5, "mean": 12.5, "sd": 0.0, "values": [12.5], "passed": True}
    assert entry["full"]["values"] == [14.0] and entry["full"]["passed"]
    assert "[PASS] fusion beats text: 12.5 points; needs >= 10 points" in capsys.readouterr().out
    assert claims.rows()[0] == ("01_x", "fusion beats text", ">= 10 points", "12.5", "14")


def test_per_seed_values_assert_on_the_worst_seed(ledger, capsys):
    claims.claim("gap over seeds", [12.0, 10.5, 14.0], ">=", 10, unit="points", chapter="01_x")
    out = capsys.readouterr().out
    assert "worst 10.5 (mean 12.2 ± 1.8; 12, 10.5, 14)" in out
    result = next(iter(json.loads(ledger.read_text())["01_x"].values()))["full" if not config.is_quick() else "quick"]
    assert result["values"] == [12.0, 10.5, 14.0] and result["worst"] == 10.5 and result["sd"] == pytest.approx(1.7559, abs=1e-3)
    with pytest.raises(AssertionError, match="worst seed 9.5"):  # the mean (12.5) passes; one seed does not
        claims.claim("one seed fails", [14.0, 9.5, 14.0], ">=", 10, chapter="01_x")
    with pytest.raises(AssertionError, match="worst seed 6"):    # for an upper bound the worst is the largest
        claims.claim("near chance", [1.0, 6.0], "<=", 5, chapter="01_x")


def test_claim_values_must_be_finite_and_present(ledger):
    with pytest.raises(ValueError, match="finite"):
        claims.claim("nan gap", [1.0, float("nan")], ">=", 0, chapter="01_x")
    with pytest.raises(ValueError, match="at least one"):
        claims.claim("no runs", [], ">=", 0, chapter="01_x")


def test_ordinary_runs_leave_the_committed_ledger_alone(monkeypatch):
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    assert claims.results_path() != claims.COMMITTED and "local" in claims.results_path().parts


def test_record_quick_copies_a_runs_quick_values_and_drops_renamed_ones(tmp_path, monkeypatch):
    run, committed = tmp_path / "run.json", tmp_path / "committed.json"
    monkeypatch.setenv("COURSE_QUICK", "0")
    monkeypatch.setenv("COURSE_RESULTS", str(committed))
    claims.claim("kept", 3, ">", 0, chapter="02_x")
    monkeypatch.setenv("COURSE_QUICK", "1")
    claims.claim("renamed since", 1, ">", 0, chapter="02_x")
    monkeypatch.setenv("COURSE_RESULTS", str(run))
    claims.claim("kept", [2, 2.5], ">", 0, chapter="02_x")
    claims.record(run, committed)
    entries = json.loads(committed.read_text())["02_x"]
    assert list(entries) == ["kept"] and entries["kept"]["quick"]["values"] == [2, 2.5]
    assert entries["kept"]["full"]["values"] == [3]


def test_failed_claim_is_recorded_then_raises(ledger):
    with pytest.raises(AssertionError, match="late fusion near chance"):
        claims.claim("late fusion near chance", 9.0, "<=", 5, chapter="01_x")
    assert json.loads(ledger.read_text())["01_x"]["late fusion near chance"]["full" if not config.is_quick()
                                                                             else "quick"]["passed"] is False


def test_bad_comparison_and_missing_chapter(ledger, monkeypatch):
    with pytest.raises(ValueError, match="unknown comparison"):
        claims.claim("x", 1, "=>", 0, chapter="01_x")
    monkeypatch.setitem(config._CURRENT_CHAPTER, "name", None)
    with pytest.raises(ValueError, match="no chapter"):
        claims.claim("x", 1, ">", 0)


def test_markdown_table_lists_every_claim(ledger):
    claims.claim("a", 1, ">", 0, chapter="00_a")
    claims.claim("b", 0.2, "<", 1, chapter="01_b")
    table = claims.markdown().splitlines()
    assert table[0].startswith("| chapter | claim") and len(table) == 4


def test_begin_forgets_the_chapters_claims_in_this_mode_only(ledger, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "0")
    claims.claim("kept in quick", 1, ">", 0, chapter="02_x")
    claims.claim("renamed since", 1, ">", 0, chapter="02_x")
    monkeypatch.setenv("COURSE_QUICK", "1")
    claims.claim("kept in quick", 2, ">", 0, chapter="02_x")
    monkeypatch.setenv("COURSE_QUICK", "0")
    claims.begin("02_x")
    entries = json.loads(ledger.read_text())["02_x"]
    assert list(entries) == ["kept in quick"] and "full" not in entries["kept in quick"]


def test_seed_table_prints_mean_sd_and_every_seed():
    table = claims.seed_table({"GMU": [0.80, 0.84], "concat": [0.75]}).splitlines()
    assert table[0] == "   GMU:  82.0 ± 2.8%   (per seed: 80.0, 84.0)"
    assert table[1] == "concat:  75.0 ± 0.0%   (per seed: 75.0)"


def test_record_full_leaves_quick_values_alone(tmp_path, monkeypatch):
    run, committed = tmp_path / "run.json", tmp_path / "committed.json"
    monkeypatch.setenv("COURSE_RESULTS", str(committed))
    monkeypatch.setenv("COURSE_QUICK", "1")
    claims.claim("gap", [1.0, 2.0], ">", 0, chapter="03_x")
    monkeypatch.setenv("COURSE_QUICK", "0")
    monkeypatch.setenv("COURSE_RESULTS", str(run))
    claims.claim("gap", [3.0, 4.0, 5.0], ">", 0, chapter="03_x")
    claims.record(run, committed, run_mode="full")
    entry = json.loads(committed.read_text())["03_x"]["gap"]
    assert entry["quick"]["values"] == [1.0, 2.0] and entry["full"]["values"] == [3.0, 4.0, 5.0]
    with pytest.raises(ValueError, match="run_mode"):
        claims.record(run, committed, run_mode="fast")


def test_points_are_per_seed_differences_in_points():
    assert claims.points([0.91, 0.88], [0.5, 0.52]) == pytest.approx([41.0, 36.0])
    assert claims.points([0.47, 0.56], centre=0.5) == pytest.approx([3.0, 6.0])


@pytest.mark.parametrize("kwargs, message", [({}, "exactly one"), ({"minus": [0.5], "centre": 0.5}, "exactly one"),
                                             ({"minus": [0.5]}, "one value per seed")])
def test_points_refuses_ambiguous_or_mismatched_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        claims.points([0.9, 0.8], **kwargs)
