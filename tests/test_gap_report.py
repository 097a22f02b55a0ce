"""`chatbot report gaps`: unanswered patient messages from the tracker store, grouped by
meaning, counted and ranked; patient text is the only personal data in the output."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chatbot.conversation_tokens import conversation_id
from chatbot.staff import gaps
from tests.conftest import REPO
from tests.fakes import BagOfWordsEncoder

ZONE = "America/New_York"
# The table Rasa's SQLTrackerStore creates (rasa/core/tracker_store.py, SQLEvent).
RASA_SCHEMA = """
CREATE TABLE events (
    id INTEGER NOT NULL PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
);
CREATE INDEX ix_events_sender_id ON events (sender_id);
"""


class Store:
    """Writes events the way Rasa's SQL tracker store does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.executescript(RASA_SCHEMA)
        self.clock = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.timezone.utc).timestamp()

    def add(self, sender: str, type_name: str, data: dict, intent=None, action=None, at=None) -> None:
        self.clock = at if at is not None else self.clock + 1
        self.db.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (sender, type_name, self.clock, intent, action,
             json.dumps({"event": type_name, "timestamp": self.clock, **data})),
        )
        self.db.commit()

    def turn(self, sender: str, text: str, intent: str, *replies: dict, at: float | None = None) -> None:
        self.add(sender, "user", {"text": text, "parse_data": {"intent": {"name": intent}},
                                  "input_channel": "channel-xyz", "metadata": {"name": "Jane Doe"}},
                 intent=intent, at=at)
        self.add(sender, "action", {"name": "action_answer_question"}, action="action_answer_question")
        for custom in replies:
            self.add(sender, "bot", {"text": "reply", "data": {"buttons": None, "custom": custom}})
        self.add(sender, "action", {"name": "action_listen"}, action="action_listen")


def answer(score: float) -> dict:
    return {"kind": "answer", "sources": [{"page": "p.md", "section": "s", "score": score}]}


NO_ANSWER = {"kind": "no_answer"}


@pytest.fixture()
def store(tmp_path) -> Store:
    store = Store(tmp_path / "tracker.db")
    s = store
    s.turn("alice@example.com", "can I drink alcohol after my injection?", "ask_medication", NO_ANSWER)
    s.turn("alice@example.com", "how long will the numbness last?", "ask_numbness", answer(0.81))
    s.turn("bob-555-0101", "can I drink alcohol tonight", "ask_medication", NO_ANSWER)
    # "I didn't understand" (no answer followed):
    s.turn("bob-555-0101", "<script>alert(1)</script> parking at the clinic", "nlu_fallback", {})
    s.turn("carol", "=HYPERLINK(\"http://x\") do you validate parking", "out_of_scope", NO_ANSWER)
    s.turn("carol", "can I drink some alcohol later", "ask_driving", answer(0.35))  # weak match
    s.turn("dave", "asdfgh", "nlu_fallback", {"kind": "unreadable"})
    s.turn("dave", "I can't breathe", "red_flag_emergency")  # escalated by a domain response
    s.add("dave", "bot", {"text": "Call 911 now", "data": {"custom": {"kind": "escalation"}}})
    # Outside the period: before it, and after it.
    s.turn("erin", "can I drink alcohol", "ask_medication", NO_ANSWER,
           at=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc).timestamp())
    s.turn("erin", "can I drink alcohol", "ask_medication", NO_ANSWER,
           at=dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc).timestamp())
    return store


def report_for(store: Store, weak_below: float = 0.5) -> gaps.GapReport:
    start, end = gaps.clinic_period("2026-11-01", "2026-11-30", ZONE)
    return gaps.build_report(f"sqlite:///{store.path}", start, end, BagOfWordsEncoder(), weak_below)


def test_gaps_are_found_grouped_and_ranked(store):
    report = report_for(store)
    assert report.patient_messages == 8
    reasons = sorted((m.text, m.reason) for g in report.groups for m in g.messages)
    assert reasons == [
        ("<script>alert(1)</script> parking at the clinic", "not understood"),
        ("=HYPERLINK(\"http://x\") do you validate parking", "no answer"),
        ("can I drink alcohol after my injection?", "no answer"),
        ("can I drink alcohol tonight", "no answer"),
        ("can I drink some alcohol later", "weak match"),
    ]
    top = report.groups[0]
    assert top.rank == 1 and top.count == 3 and top.patients == 3
    assert all("alcohol" in m.text for m in top.messages)
    assert top.reasons == {"no answer": 2, "weak match": 1}
    assert [g.rank for g in report.groups] == list(range(1, len(report.groups) + 1))


def test_weak_matches_can_be_left_out(store):
    texts = [m.text for g in report_for(store, weak_below=0).groups for m in g.messages]
    assert "can I drink some alcohol later" not in texts


def test_patient_text_is_the_only_personal_data_in_every_output(store, tmp_path):
    report = report_for(store)
    csv_path, html_path = tmp_path / "gaps.csv", tmp_path / "gaps.html"
    csv_path.write_text(gaps.to_csv(report), encoding="utf-8")
    html_path.write_text(gaps.to_html(report), encoding="utf-8")
    outputs = {"table": gaps.format_table(report), "csv": csv_path.read_text(), "html": html_path.read_text()}
    for name, text in outputs.items():
        for secret in ("alice@example.com", "bob-555-0101", "carol", "Jane Doe", "channel-xyz"):
            assert secret not in text, (name, secret)
    rows = list(csv.DictReader(csv_path.open()))
    assert {row["patient"] for row in rows} == {
        gaps.hash_sender(s) for s in ("alice@example.com", "bob-555-0101", "carol")}
    assert all(len(row["patient"]) == 12 for row in rows)
    # Patient text cannot run as a spreadsheet formula or as HTML.
    assert any(row["message"].startswith("'=HYPERLINK") for row in rows)
    assert "<script>" not in outputs["html"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in outputs["html"]


def test_the_period_is_in_clinic_days(store):
    start, end = gaps.clinic_period("2026-11-10", "2026-11-10", ZONE)
    assert start.isoformat() == "2026-11-10T00:00:00-05:00" and end - start == dt.timedelta(days=1)
    with pytest.raises(gaps.GapError, match="before --since"):
        gaps.clinic_period("2026-11-10", "2026-11-01", ZONE)
    with pytest.raises(gaps.GapError, match="YYYY-MM-DD"):
        gaps.clinic_period("10/11/2026", None, ZONE)


def test_a_missing_database_and_an_unreachable_url_give_clear_errors(tmp_path):
    with pytest.raises(gaps.GapError, match="no tracker database"):
        gaps.read_events(f"sqlite:///{tmp_path / 'none.db'}", 0, 1)
    with pytest.raises(gaps.GapError) as error:
        gaps.read_events("postgresql://rasa:s3cret@127.0.0.1:1/rasa", 0, 1)
    assert "s3cret" not in str(error.value)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatbot", "report", "gaps", *args],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, **env},
                          timeout=300)


def test_cli_over_a_tracker_url_writes_table_csv_and_html(store, tmp_path):
    result = run_cli("--since", "2026-11-01", "--until", "2026-11-30", "--csv", str(tmp_path / "g.csv"),
                     "--html", str(tmp_path / "g.html"),
                     env={"TRACKER_DB_URL": f"sqlite:///{store.path}", "CLINIC_TIMEZONE": ZONE})
    assert result.returncode == 0, result.stderr
    assert "5 of 8 patient messages, from 3 patients" in result.stdout
    lines = result.stdout.splitlines()
    # The clinic's pages answer the alcohol question now (the medicines page): it is marked
    # so and listed after the open gaps (second nurse trial), though it was asked most.
    alcohol = next(i for i, line in enumerate(lines) if "alcohol" in line and line.split()[1:3] == ["3", "3"])
    assert lines[alcohol + 1].strip().startswith("ANSWERED NOW by medicines-and-blood-thinners.md")
    assert lines[2].split()[0] == "1" and "alcohol" not in lines[2]
    assert (tmp_path / "g.csv").exists() and (tmp_path / "g.html").exists()
    assert "Answered now" in (tmp_path / "g.html").read_text()

    missing = run_cli(env={"TRACKER_DB_URL": f"sqlite:///{tmp_path / 'nope.db'}"})
    assert missing.returncode == 1 and "no tracker database" in missing.stderr
    assert "Traceback" not in missing.stderr


# ---------------------------------------------------------------- the real servers


@pytest.mark.e2e
def test_gap_report_over_a_scripted_conversation(chat, stack, tmp_path):
    """Patients talk to the real Rasa + action servers; the report reads Rasa's own store."""
    senders = {name: f"gaps-{name}-{uuid.uuid4().hex[:6]}" for name in ("a", "b", "c")}
    script = [
        ("a", "can I bring my dog to the appointment?"),
        ("a", "how long will the numbness last after my facet joint injection?"),
        ("b", "is my service dog allowed in the clinic?"),
        ("c", "do you validate parking at the clinic?"),
        ("c", "where can I park my car when I come to the clinic?"),
    ]
    kinds = {}
    for name, text in script:
        replies = chat(senders[name], text)
        kinds[text] = [r["custom"]["kind"] for r in replies if "custom" in r]
    assert "answer" in kinds["how long will the numbness last after my facet joint injection?"]

    csv_path = tmp_path / "gaps.csv"
    result = run_cli("--csv", str(csv_path), env={"TRACKER_DB": str(stack.settings.tracker_db)})
    assert result.returncode == 0, result.stderr
    # The tracker store keys conversations by the id inside each token.
    secret = stack.conversation_secret()
    ours = {gaps.hash_sender(conversation_id(stack.token_for(s), secret)) for s in senders.values()}
    rows = [row for row in csv.DictReader(csv_path.open()) if row["patient"] in ours]
    reported = {row["message"] for row in rows}
    assert "how long will the numbness last after my facet joint injection?" not in reported
    for text, reply_kinds in kinds.items():
        if "no_answer" in reply_kinds:
            assert text in reported, (text, rows)
    assert "can I bring my dog to the appointment?" in reported
    group = {row["message"]: row["group"] for row in rows}
    dogs = [text for text in group if "dog" in text]
    assert len({group[text] for text in dogs}) == 1, rows  # same meaning, same group
    for name in senders.values():
        token = stack.token_for(name)
        for secret_text in (token, token.split(".")[0]):
            assert secret_text not in csv_path.read_text() and secret_text not in result.stdout


def test_crisis_conversations_come_first_with_no_words_and_check_questions_show_their_origin(tmp_path):
    from chatbot.staff.safety_events import find_safety_events

    s = Store(tmp_path / "tracker.db")
    s.turn("frank", "I've been saving up my pills, no point any more", "red_flag_self_harm",
           {"kind": "escalation", "level": "emergency", "topic": "self_harm"})
    s.turn("gina", "something feels off down below since the shot", "triage_check",
           {"kind": "check", "check": "check-bladder-legs"})
    s.turn("gina", "/check_no", "check_no", answer(0.8))
    s.turn("hank", "i feel hot and a bit shivery", "triage_check", {"kind": "check", "check": "check-fever"})
    s.turn("hank", "/check_yes", "check_yes", {"kind": "escalation", "level": "urgent"})
    s.turn("ivy", "my legs feel weird", "triage_check", {"kind": "check", "check": "check-bladder-legs"})
    s.turn("ivy", "can I drive tomorrow?", "ask_driving", answer(0.8))
    start, end = gaps.clinic_period("2026-11-01", "2026-11-30", ZONE)
    events = gaps.read_events(f"sqlite:///{s.path}", start.timestamp(), end.timestamp())
    crises, checks = find_safety_events(events, end.timestamp())
    assert [c.patient for c in crises] == [gaps.hash_sender("frank")]
    assert [(c.check, c.answer, c.origin) for c in checks] == [
        ("check-bladder-legs", "no", "something feels off down below since the shot"),
        ("check-fever", "yes", "i feel hot and a bit shivery"),
        ("check-bladder-legs", "new message", "my legs feel weird"),
    ]
    report = gaps.GapReport(start, end, [], 7, crises, checks)
    table = gaps.format_table(report)
    assert table.startswith("FIRST: 1 conversation(s) got the crisis reply")
    assert "saving" not in table and "frank" not in table  # the crisis is never quoted
    assert "check-fever" in table and "yes" in table
    # Answers to a check question and the messages that raised one are not knowledge gaps.
    found, _total = gaps.find_gaps(events, end.timestamp(), 0.5)
    assert not found


def test_answers_to_a_form_are_never_gaps_and_personal_details_are_masked(tmp_path):
    store = Store(tmp_path / "tracker.db")
    form_question = {"kind": "form_question", "form": "callback"}
    store.turn("fran", "can a nurse call me", "request_callback", form_question)
    store.turn("fran", "Maria Lopez", "nlu_fallback", form_question)  # the name asked for
    store.turn("fran", "after 3pm is best", "out_of_scope", {"kind": "callback_received"})
    store.turn("fran", "12", "add_diary_entry", {"kind": "re_ask"}, form_question)
    store.turn("gus", "I'm Gus Brown, can I fly after my block? call 617-555-0123 or gus@example.org",
               "out_of_scope", NO_ANSWER)
    texts = [m.text for g in report_for(store).groups for m in g.messages]
    assert texts == ["I'm [name], can I fly after my block? call [number] or [email]"]


def test_report_files_are_named_after_the_days_they_cover(store, tmp_path):
    env = {"TRACKER_DB_URL": f"sqlite:///{store.path}", "CLINIC_TIMEZONE": ZONE}
    result = run_cli("--since", "2026-11-01", "--until", "2026-11-30", "--csv", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.glob("gaps-*.csv")] == ["gaps-2026-11-01_to_2026-11-30.csv"]


def test_groups_the_pages_answer_now_are_marked_and_listed_last():
    def message(text: str) -> gaps.GapMessage:
        return gaps.GapMessage(text, "p1", 1.0, "no answer", None, None)

    groups = [gaps.GapGroup([message("a"), message("a")], "can I have a massage?", rank=1),
              gaps.GapGroup([message("b")], "where do I park?", rank=2)]
    page = "massage.md › Can I get a massage?"
    marked = gaps.mark_answered_now(groups, lambda q: page if "massage" in q else "")
    assert [(g.rank, g.typical, g.answered_now) for g in marked] == [
        (1, "where do I park?", ""), (2, "can I have a massage?", page)]


def test_an_answered_question_is_not_a_gap_whatever_the_intent(tmp_path):
    """Found by the nurse trial: "is walking ok after my medial branch block?" topped the
    report as "not understood" (the intent classifier's fallback) though the patient got the
    right answer every time."""
    store = Store(tmp_path / "tracker.db")
    store.turn("gina", "is walking ok after my medial branch block?", "nlu_fallback", answer(0.83))
    store.turn("hank", "can I bring my dog to the clinic", "nlu_fallback")  # no answer followed
    found, total = gaps.find_gaps(gaps.read_events(f"sqlite:///{store.path}", 0, 4e9), 4e9, 0.66)
    assert total == 2 and [(g.text, g.reason) for g in found] == [("can I bring my dog to the clinic",
                                                                    "not understood")]
