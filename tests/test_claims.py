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
    assert entry["quick"] == {"value": 12.5, "passed": True}
    assert entry["full"] == {"value": 14.0, "passed": True}
    assert "[PASS] fusion beats text: 12.5 >= 10 points" in capsys.readouterr().out
    assert claims.rows()[0] == ("01_x", "fusion beats text", ">= 10 points", "12.5", "14")


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
