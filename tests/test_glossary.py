import pytest

from course_lib.glossary import GLOSSARY, term, terms_markdown


def test_seed_terms_have_their_chinese_names():
    assert term("early fusion")[0] == "早期融合"
    assert term("Low-rank")[0] == "低秩"
    for name in ["late fusion", "hybrid fusion", "gated fusion", "attention", "bilinear pooling",
                 "tensor fusion network", "low-rank multimodal fusion", "prompt"]:
        assert term(name)[0]


def test_every_entry_has_a_chinese_name_and_a_meaning():
    for name, (zh, meaning) in GLOSSARY.items():
        assert name == name.lower() and zh and len(meaning) > 10


def test_unknown_term_suggests_close_ones():
    with pytest.raises(KeyError, match="did you mean"):
        term("erly fusion")


def test_markdown_table():
    rows = terms_markdown("early fusion", "late fusion").splitlines()
    assert len(rows) == 4 and "晚期融合" in rows[3]
