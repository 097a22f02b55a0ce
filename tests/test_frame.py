"""The conversation frame: a follow-up is read against what the last answer was about."""

from __future__ import annotations

import pytest

from chatbot import PROJECT_ROOT
from chatbot.retrieval.frame import (
    Frame,
    looks_like_followup,
    mentioned_procedure,
    mentioned_topic,
    read_against,
)
from chatbot.retrieval.pages import load_knowledge


@pytest.fixture(scope="module")
def sections():
    return load_knowledge(PROJECT_ROOT / "knowledge").sections


NUMB_FACET = Frame(
    "facet_joint",
    "numbness",
    "facet-joint-what-to-expect.md#how-long-will-the-numbness-last-after-a-facet-joint-injection",
)
SHOWER = Frame("general", "shower", "bathing-and-injection-site-care.md#can-i-shower-after-my-injection")
DRIVE_MBB = Frame(
    "medial_branch_block",
    "driving",
    "medial-branch-block-aftercare.md#can-i-drive-home-after-a-medial-branch-block",
)


def test_every_section_has_a_topic(sections):
    assert sections and all(section.topic for section in sections)


def test_another_procedure_asks_the_same_question_for_it(sections):
    reading = read_against(
        "and for the trigger point one?", "how long will the numbness last", NUMB_FACET, sections
    )
    assert reading.how == "other procedure"
    assert reading.section == (
        "trigger-point-what-to-expect.md#how-long-does-the-numbness-last-after-a-trigger-point-injection"
    )


def test_a_new_topic_keeps_the_procedure(sections):
    reading = read_against("and can I work after?", "can I drive home", DRIVE_MBB, sections)
    assert reading.how == "other topic" and reading.procedure == "medial_branch_block"
    assert read_against("what about a bath?", "can I shower tonight", SHOWER, sections).how == "other topic"


def test_words_that_point_back_search_with_the_earlier_message(sections):
    reading = read_against("how long does that last?", "my face is red since the steroid", SHOWER, sections)
    assert reading.how == "about the last answer"
    assert reading.query == "my face is red since the steroid how long does that last?"


def test_a_clear_new_question_is_not_bent_by_the_frame(sections):
    message = "What happens during a trigger point injection and does it hurt a lot?"
    reading = read_against(message, "can I shower", SHOWER, sections)
    assert reading.how == "new question" and reading.query == message
    assert read_against("and a bath?", "", None, sections).how == "new question"  # no frame yet


@pytest.mark.parametrize(
    ("text", "procedure"),
    [
        ("and the mbb?", "medial_branch_block"),
        ("what about the facet ones", "facet_joint"),
        ("same for the trigger point shots?", "trigger_point"),
        ("and a bath?", None),
    ],
)
def test_procedures_are_recognised(text, procedure):
    assert mentioned_procedure(text) == procedure


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("what about a bath?", "bath"),
        ("and driving?", "driving"),
        ("can I go to the gym", "exercise"),
        ("and a glass of wine?", "alcohol"),
        ("how long does that last", None),
    ],
)
def test_topics_are_recognised(text, topic):
    assert mentioned_topic(text) == topic


def test_followups_are_told_from_new_questions():
    assert looks_like_followup("and a bath?") and looks_like_followup("how long does that last?")
    assert not looks_like_followup(
        "Can I take my usual blood pressure tablets on the morning of the injection?"
    )
