"""Hot reload: a changed, added or deleted page reaches the assistant without a restart,
only changed pages are embedded again, and a broken page never takes an answer away."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
import uuid

import pytest

from chatbot.answers import Turn
from chatbot.ops.launcher import isolated_stack
from chatbot.retrieval.service import KnowledgeService
from chatbot.settings import load_settings
from tests.conftest import REPO, post
from tests.fakes import DIM, BagOfWordsEncoder, page


class FakeEmbedder(BagOfWordsEncoder):
    dimension = DIM


class FailingEmbedder(FakeEmbedder):
    fail = False

    def encode(self, texts):
        if self.fail:
            raise RuntimeError("model crashed")
        return super().encode(texts)


NUMB = page("Numbness", "facet_joint", {
    "How long does numbness last?": "Numbness from the numbing medicine wears off in hours.",
})
DRIVE = page("Driving", "trigger_point", {
    "Can I drive home?": "Ask someone to drive you home after the injection.",
}, topics="[driving]")
ALCOHOL = page("Alcohol", "general", {
    "Can I drink alcohol after my injection?": "Skip alcohol on the day of your injection.",
}, topics="[medicines]")


@pytest.fixture()
def kb(tmp_path):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "numb.md").write_text(NUMB)
    (knowledge / "drive.md").write_text(DRIVE)
    settings = dataclasses.replace(load_settings(), knowledge_dir=knowledge, index_dir=tmp_path / "index")
    return knowledge, settings


def make(settings, embedder=None) -> tuple[KnowledgeService, FakeEmbedder]:
    embedder = embedder or FakeEmbedder()
    return KnowledgeService(settings, embedder=embedder, reload_interval=0), embedder


def best(assistant: KnowledgeService, question: str) -> str:
    return assistant.search(question, k=1)[0].section.page


def test_nothing_changed_means_no_reload_and_no_embedding(kb):
    _, settings = kb
    assistant, embedder = make(settings)
    embedder.encoded.clear()
    assert assistant.maybe_reload() is False and embedder.encoded == []


def test_an_added_page_is_answered_and_only_it_is_embedded(kb):
    knowledge, settings = kb
    assistant, embedder = make(settings)
    embedder.encoded.clear()
    (knowledge / "alcohol.md").write_text(ALCOHOL)
    assert assistant.maybe_reload() is True
    # Two vectors per section: heading with text, and the heading alone (a patient question).
    assert embedder.encoded == [
        "Can I drink alcohol after my injection?\nSkip alcohol on the day of your injection.",
        "Can I drink alcohol after my injection?"]
    assert best(assistant, "can I drink alcohol") == "alcohol.md"


def test_a_changed_and_a_deleted_page_reach_the_assistant(kb):
    knowledge, settings = kb
    assistant, embedder = make(settings)
    embedder.encoded.clear()
    (knowledge / "drive.md").write_text(DRIVE.replace("Ask someone to drive", "Wait a day, then drive"))
    (knowledge / "numb.md").unlink()
    assert assistant.maybe_reload() is True
    assert len(embedder.encoded) == 2 and "Wait a day" in embedder.encoded[0]
    assert [s.page for s in assistant.index.sections] == ["drive.md"]
    assert "Wait a day" in assistant.search("drive home", k=1)[0].section.text


def test_the_next_reply_uses_the_new_page(kb):
    knowledge, settings = kb
    settings = dataclasses.replace(settings, min_answer_score=0.3)
    assistant, _ = make(settings)
    (knowledge / "alcohol.md").write_text(ALCOHOL)
    replies = assistant.reply(Turn("can I drink alcohol after my injection?", intent=None))
    assert replies[0].kind == "answer" and replies[0].sources[0]["page"] == "alcohol.md"


def test_a_broken_page_is_logged_and_its_last_good_version_keeps_serving(kb, caplog):
    knowledge, settings = kb
    assistant, embedder = make(settings)
    embedder.encoded.clear()
    (knowledge / "drive.md").write_text(DRIVE.replace("procedure: trigger_point", "procedure: knee")
                                        .replace("Ask someone", "BROKEN EDIT"))
    with caplog.at_level(logging.ERROR, logger="chatbot.retrieval.service"):
        assert assistant.maybe_reload() is True
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "drive.md" in record.getMessage() and "'procedure'" in record.getMessage()
    assert "last good version keeps serving" in record.getMessage()
    assert embedder.encoded == []
    result = assistant.search("can I drive home", k=1)[0]
    assert result.section.page == "drive.md" and "Ask someone" in result.section.text

    # Still the last good version after a restart; the fixed page replaces it.
    restarted, _ = make(settings)
    assert "Ask someone" in restarted.search("can I drive home", k=1)[0].section.text
    (knowledge / "drive.md").write_text(DRIVE.replace("Ask someone", "Fixed: ask someone"))
    assert restarted.maybe_reload() is True
    assert "Fixed" in restarted.search("can I drive home", k=1)[0].section.text


@pytest.mark.parametrize(("edit", "named"), [
    (lambda text: text.replace("topics: [driving]", "topics: [driving, activty]"), "unknown topic 'activty'"),
    (lambda text: text.replace("## Can I drive home?\n", "## Can I drive home?\nTopic: walking\n\n"),
     "the topic 'walking'"),
    (lambda text: text.replace("after the injection.", "after the injection. <p>Advertisement</p>"), "HTML"),
    (lambda text: text.replace("after the injection.", "after the injection, it is nothing to worry about."),
     "nothing to worry about"),
    (lambda text: text.replace("after the injection.", "after the injection. Call 1-800-555-0199."),
     "not one of the clinic's numbers"),
    (lambda text: text.replace("after the injection.", "after the injection. Call Lakeview Spine Center."),
     "names another organisation"),
])
def test_an_edit_kb_check_refuses_never_reaches_patients(kb, caplog, edit, named):
    """Found by the nurse trial: a published page edited with a wrong topic (and a test
    marker) reached patients at once, while kb check refused it and the log said nothing."""
    knowledge, settings = kb
    assistant, _ = make(settings)
    (knowledge / "drive.md").write_text(edit(DRIVE).replace("Ask someone", "TEST MARKER ask someone"))
    with caplog.at_level(logging.ERROR, logger="chatbot.retrieval.service"):
        assistant.maybe_reload()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(named in e and "last good version keeps serving" in e for e in errors), errors
    served = assistant.search("can I drive home", k=1)[0].section.text
    assert "TEST MARKER" not in served and "Ask someone" in served


def test_a_new_page_that_is_broken_is_skipped(kb, caplog):
    knowledge, settings = kb
    assistant, _ = make(settings)
    (knowledge / "alcohol.md").write_text("no front matter at all")
    with caplog.at_level(logging.ERROR, logger="chatbot.retrieval.service"):
        assistant.maybe_reload()
    assert "alcohol.md:1: missing front matter" in caplog.text
    assert {s.page for s in assistant.index.sections} == {"numb.md", "drive.md"}


def test_a_failing_reload_keeps_the_old_index(kb, caplog):
    knowledge, settings = kb
    embedder = FailingEmbedder()
    assistant, _ = make(settings, embedder)
    embedder.fail = True
    (knowledge / "alcohol.md").write_text(ALCOHOL)
    with caplog.at_level(logging.ERROR, logger="chatbot.retrieval.service"):
        assert assistant.maybe_reload() is False
    assert "Reloading the knowledge base failed" in caplog.text
    embedder.fail = False
    assert best(assistant, "drive home") == "drive.md"
    assert "alcohol.md" not in {s.page for s in assistant.index.sections}


def test_a_draft_is_not_served_until_published(kb):
    knowledge, settings = kb
    assistant, _ = make(settings)
    draft = ALCOHOL.replace("last_reviewed", "draft: true\nlast_reviewed")
    (knowledge / "alcohol.md").write_text(draft)
    assistant.maybe_reload()
    assert "alcohol.md" not in {s.page for s in assistant.index.sections}
    (knowledge / "alcohol.md").write_text(draft.replace("draft: true", "draft: false"))
    assistant.maybe_reload()
    assert best(assistant, "can I drink alcohol") == "alcohol.md"


def test_looks_at_the_folder_at_most_once_per_interval(kb):
    knowledge, settings = kb
    assistant = KnowledgeService(settings, embedder=FakeEmbedder(), reload_interval=60)
    (knowledge / "alcohol.md").write_text(ALCOHOL)
    assert assistant.maybe_reload() is False
    assert assistant.maybe_reload(force=True) is True


# ---------------------------------------------------------------- the real servers


def _sources(replies: list[dict]) -> list[dict]:
    return [s for r in replies if r.get("custom", {}).get("kind") == "answer" for s in r["custom"]["sources"]]


def _texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if "text" in r)


# A question no page answers yet (the knowledge base has no sauna section), so the new
# page is the best match once it is served, whatever the retriever.
NEW_PAGE = """---
title: Saunas after an injection
procedure: general
topics: [bathing]
sources:
  - file: 000_90cd99ead456f89b.txt
last_reviewed: 2026-11-21
---

# Saunas after an injection

## Can I use a sauna after my injection?

Topic: bath

Please wait two days before you use a sauna or a steam room after your injection. {marker}
Heat and sweat can irritate the needle spots while they heal, and the numbing medicine can
make you dizzy in the heat on the first day. After two days, a short sauna is usually fine
unless your doctor told you otherwise. If the needle spots are red or sore, wait longer
and ask the clinic.
"""


@pytest.mark.e2e
def test_hot_reload_in_the_running_action_server(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    index = tmp_path / "index"
    settings = load_settings()
    if (settings.index_dir / "manifest.json").exists():
        shutil.copytree(settings.index_dir, index)  # start warm, like a running clinic
    settings = dataclasses.replace(settings, knowledge_dir=knowledge, index_dir=index)
    stack = isolated_stack(tmp_path / "stack", settings, CLINIC_HOURS="Mon-Sun 00:00-24:00")
    patient = f"reload-{uuid.uuid4().hex[:8]}"
    question = "can I use a sauna after my injection?"

    def ask(text: str) -> list[dict]:
        payload = {"sender": stack.token_for(patient), "message": text}
        status, body = post(stack.rasa_url, json.dumps(payload).encode())
        assert status == 200, body
        return json.loads(body)

    with stack:
        before = ask(question)
        assert not any(s["page"] == "saunas-after-an-injection.md" for s in _sources(before)), before

        page = knowledge / "saunas-after-an-injection.md"
        page.write_text(NEW_PAGE.format(marker="Version one."))
        time.sleep(1.2)  # the assistant looks at the folder at most once a second
        added = ask(question)
        assert _sources(added)[0]["page"] == page.name, added
        assert "Version one." in _texts(added)

        page.write_text(NEW_PAGE.format(marker="Version two.").replace("procedure: general",
                                                                          "procedure: knee"))
        time.sleep(1.2)
        still = ask(question)
        assert _sources(still)[0]["page"] == page.name, still
        assert "Version one." in _texts(still) and "Version two." not in _texts(still)
        log = (stack.log_dir / "actions.log").read_text()
        assert f"embedded {page.name}, removed -" in log  # only the new page was embedded
        # The file, the line of the bad field and the fix (issue 19: every page problem has a line).
        error = f"ERROR    chatbot.retrieval.service  - Knowledge page skipped: {page.name}:"
        assert error in log and "'procedure' is 'knee'. Fix: use one of" in log

        page.unlink()
        time.sleep(1.2)
        gone = ask(question)
        assert not any(s["page"] == page.name for s in _sources(gone)), gone
