from __future__ import annotations

import pytest

from chatbot.retrieval.index import refresh_index
from tests.fakes import DIM, BagOfWordsEncoder, page


@pytest.fixture()
def kb(tmp_path):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "numb.md").write_text(page("Numbness", "facet_joint", {
        "How long does numbness last?": "Numbness from the numbing medicine wears off in hours.",
    }))
    (knowledge / "drive.md").write_text(page("Driving", "trigger_point", {
        "Can I drive home?": "Ask someone to drive you home after the injection.",
    }, topics="[driving]"))
    return knowledge, tmp_path / "index"


def test_search_finds_the_matching_section(kb):
    index, report = refresh_index(*kb, BagOfWordsEncoder(), DIM)
    assert sorted(report.embedded_pages) == ["drive.md", "numb.md"]
    results = index.search("how long does the numbness last", k=2)
    assert results[0].section.page == "numb.md"
    assert results[0].as_dict().keys() == {"page", "title", "section", "text", "score"}


def test_restart_loads_the_saved_index_without_embedding(kb):
    refresh_index(*kb, BagOfWordsEncoder(), DIM)
    encoder = BagOfWordsEncoder()
    index, report = refresh_index(*kb, encoder, DIM)
    assert encoder.encoded == [] and not report.changed
    assert index.search("drive home", k=1)[0].section.page == "drive.md"


def test_only_a_changed_page_is_embedded_again(kb):
    knowledge, index_dir = kb
    refresh_index(knowledge, index_dir, BagOfWordsEncoder(), DIM)
    (knowledge / "drive.md").write_text(page("Driving", "trigger_point", {
        "Can I drive home?": "Wait until the next day before you drive a car.",
    }, topics="[driving]"))
    (knowledge / "numb.md").unlink()
    encoder = BagOfWordsEncoder()
    index, report = refresh_index(knowledge, index_dir, encoder, DIM)
    assert report.embedded_pages == ["drive.md"] and report.removed_pages == ["numb.md"]
    assert len(encoder.encoded) == 2 and "next day" in encoder.encoded[0]  # heading+text, heading
    assert [s.page for s in index.sections] == ["drive.md"]


def test_a_corrupt_index_is_rebuilt(kb):
    knowledge, index_dir = kb
    refresh_index(knowledge, index_dir, BagOfWordsEncoder(), DIM)
    (index_dir / "index.faiss").write_bytes(b"garbage")
    index, report = refresh_index(knowledge, index_dir, BagOfWordsEncoder(), DIM)
    assert sorted(report.embedded_pages) == ["drive.md", "numb.md"]
    assert index.search("numbness", k=1)[0].section.page == "numb.md"


def test_procedure_hint_prefers_that_procedures_pages(kb):
    index, _ = refresh_index(*kb, BagOfWordsEncoder(), DIM)
    results = index.search("how long after the injection", k=2, procedure="trigger_point")
    assert results[0].section.procedure == "trigger_point"
    assert results[0].rank_score >= results[1].rank_score


def test_empty_query_returns_nothing(kb):
    index, _ = refresh_index(*kb, BagOfWordsEncoder(), DIM)
    assert index.search("   ", k=3) == []
