from __future__ import annotations

import pytest
import yaml

from chatbot.answers import INTENT_TOPICS
from chatbot.retrieval.pages import TOPICS, PageError, load_knowledge, parse_page
from chatbot.settings import load_settings
from tests.fakes import page


def test_every_intent_hint_names_a_known_topic():
    hinted = {topic for topics in INTENT_TOPICS.values() for topic in topics}
    assert hinted <= TOPICS, hinted - TOPICS


def test_page_is_split_into_sections_by_heading():
    parsed = parse_page(
        page("Numbness", "facet_joint", {"How long?": "A few hours.", "Why?": "Numbing medicine."}),
        "numb.md",
    )
    assert [s.heading for s in parsed.sections] == ["How long?", "Why?"]
    assert parsed.sections[0].text == "A few hours."
    assert parsed.sections[0].id == "numb.md#how-long"
    assert parsed.sources == ("shared/sources/x.txt",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# No front matter\n## A\ntext\n", "missing front matter"),
        ("---\ntitle: [unclosed\n---\n## A\ntext\n", "not valid YAML"),
        ("---\nprocedure: general\nsources: [{file: a}]\n---\n## A\ntext\n", "needs a 'title'"),
        ("---\ntitle: T\nprocedure: knee\nsources: [{file: a}]\n---\n## A\nt\n", "'procedure'"),
        ("---\ntitle: T\nprocedure: general\n---\n## A\ntext\n", "cite at least one source"),
        ("---\ntitle: T\nprocedure: general\nsources: [{file: a}]\n---\n## Empty\n", "no '## Heading'"),
    ],
)
def test_broken_pages_are_reported_with_their_file(text, problem):
    with pytest.raises(PageError, match=problem) as error:
        parse_page(text, "broken.md")
    assert str(error.value).startswith("broken.md:")


def test_a_broken_page_is_skipped_not_fatal(tmp_path):
    (tmp_path / "good.md").write_text(page("Good", "general", {"Q?": "Answer."}))
    (tmp_path / "bad.md").write_text("no front matter")
    (tmp_path / "triage").mkdir()
    (tmp_path / "triage" / "red-flags.md").write_text("catalogue, not a page")
    knowledge = load_knowledge(tmp_path)
    assert [p.path for p in knowledge.pages] == ["good.md"]
    assert len(knowledge.problems) == 1 and knowledge.problems[0].startswith("bad.md")


def test_the_clinic_knowledge_base_is_complete_and_well_formed():
    knowledge_dir = load_settings().knowledge_dir
    knowledge = load_knowledge(knowledge_dir)
    assert knowledge.problems == []
    procedures = {p.procedure for p in knowledge.pages}
    assert procedures == {"facet_joint", "medial_branch_block", "trigger_point", "general"}
    topics = {t for p in knowledge.pages for t in p.topics}
    assert topics <= TOPICS, topics - TOPICS
    must_cover = {"numbness", "soreness", "relief", "driving", "bathing", "ice_heat", "medicines",
                  "diabetes", "infection", "when_to_call", "pain_diary", "side_effects",
                  "radiofrequency_ablation", "repeat_injections"}
    assert must_cover <= topics, must_cover - topics
    for parsed in knowledge.pages:
        raw = (knowledge_dir / parsed.path).read_text().split("---")[1]
        assert yaml.safe_load(raw)["last_reviewed"], parsed.path
        assert parsed.sources, parsed.path


def test_pages_never_dismiss_a_symptom():
    for parsed in load_knowledge(load_settings().knowledge_dir).pages:
        for section in parsed.sections:
            assert "nothing to worry" not in section.text.lower(), section.id
