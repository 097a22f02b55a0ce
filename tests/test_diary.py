"""The pain diary: scores and times as patients type them, entries, relief, the summary."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chatbot.diary import replies
from chatbot.diary.clock import read_time
from chatbot.diary.diary import Diary, Entry, checkpoints, read_block_time, read_entry, summarise
from chatbot.diary.flow import baseline_step, block_time_step, entry_step
from chatbot.diary.scores import read_score

NOW = datetime(2026, 12, 1, 15, 20)
CHECKS = (30, 60, 120, 240, 360, 480)


@pytest.mark.parametrize(("text", "score"), [
    ("7", 7), ("seven", 7), ("Seven!", 7), ("7/10", 7), ("7 / 10", 7), ("7 out of 10", 7),
    ("about a 6", 6), ("a 6 i think", 6), ("pain is 3 now", 3), ("score 5", 5), ("5.5", 5.5),
    ("6-7", 6.5), ("its a 6-7 right now", 6.5), ("3 or 4", 3.5), ("no pain", 0),
    ("I have no pain at all", 0), ("pain free!", 0), ("zero", 0), ("0", 0), ("10/10", 10),
    ("worst ever", 10), ("the worst pain imaginable", 10), ("ten", 10), ("2 walking", 2),
])
def test_scores_patients_write(text, score):
    reading = read_score(text)
    assert reading.ok and reading.score == score


@pytest.mark.parametrize(("text", "problem"), [
    ("11", "go from 0 to 10"), ("-1", "go from 0 to 10"), ("15/10", "go from 0 to 10"),
    ("banana", "couldn't find a pain score"), ("", "couldn't find"), ("2 or 8", "more than one"),
    ("no pain sitting but 4 walking", "more than one"), ("it was 3 then 6", "more than one"),
])
def test_unreadable_or_impossible_scores_are_re_asked_never_guessed(text, problem):
    reading = read_score(text)
    assert reading.score is None and problem in (reading.problem or "")


@pytest.mark.parametrize(("text", "hour", "minute"), [
    ("now", 15, 20), ("right now", 15, 20), ("at 2pm", 14, 0), ("2 PM", 14, 0), ("14:30", 14, 30),
    ("2.30 pm", 14, 30), ("at noon", 12, 0), ("20 minutes ago", 15, 0), ("an hour ago", 14, 20),
    ("half an hour ago", 14, 50), ("2 and a half hours ago", 12, 50), ("1.5 hours ago", 13, 50),
    ("at 3", 15, 0), ("10:15", 10, 15), ("9am", 9, 0), ("about 10am", 10, 0),
    ("a couple of hours ago", 13, 20),
])
def test_times_patients_write(text, hour, minute):
    reading = read_time(text, NOW)
    assert reading.problem is None and (reading.at.hour, reading.at.minute) == (hour, minute)


@pytest.mark.parametrize("text", ["at 4pm", "6 pm", "13:00pm"])
def test_future_or_impossible_times_are_re_asked(text):
    reading = read_time(text, NOW)
    assert reading.at is None and reading.problem


def test_block_time_needs_a_clock_time_and_today():
    assert read_block_time("this morning", NOW).problem
    assert read_block_time("30 hours ago", NOW).problem
    assert read_block_time("9:15", NOW).value == NOW.replace(hour=9, minute=15, second=0, microsecond=0)


def diary() -> Diary:
    return Diary(8, NOW.replace(hour=9, minute=0, second=0, microsecond=0))


def test_an_entry_reads_score_time_and_activity():
    entry = read_entry("2 at 11:30, walking the dog", NOW, diary()).value
    assert (entry.score, entry.at.hour, entry.at.minute, entry.activity) == (2, 11, 30, "walking the dog")
    assert read_entry("3", NOW, diary()).value.at == NOW  # no time written: now
    assert read_entry("4 after bending", NOW, diary()).value.activity == "after bending"


def test_an_entry_before_the_block_is_re_asked():
    assert "before the block" in read_entry("2 at 8am", NOW, diary()).problem


def test_relief_best_and_how_long_half_relief_lasted():
    d = diary()
    for hour, score in ((9.5, 2), (10, 1), (11, 3), (13, 6), (15, 8)):
        d = d.with_entry(Entry(d.block_at + timedelta(hours=hour - 9), score))
    summary = summarise(d)
    assert [row.relief for row in summary.rows] == [75, 88, 62, 25, 0]
    assert summary.best_relief == 88 and summary.best_hours == 1
    assert summary.relief_span == (0.5, 2)


def test_no_pain_before_the_block_means_no_percentages():
    d = Diary(0, NOW.replace(hour=9)).with_entry(Entry(NOW, 0))
    assert summarise(d).rows[0].relief is None and summarise(d).best_relief is None


def test_checkpoints_left_are_those_not_covered_and_not_passed():
    d = diary().with_entry(Entry(NOW.replace(hour=9, minute=35), 2))
    now = NOW.replace(hour=10, minute=50)
    left = [c.minutes for c in checkpoints(d, now, CHECKS) if not c.covered and not c.passed]
    assert left == [120, 240, 360, 480]  # 30 min covered; 1 h passed unrecorded


def test_summary_table_never_says_what_the_result_qualifies_for():
    d = diary().with_entry(Entry(NOW.replace(hour=9, minute=30), 1, "walking"))
    reply = replies.summary(d)
    assert "88%" in reply.text and "doctor" in reply.text
    for word in ("qualif", "eligible", "ablation", "80%", "success", "failed"):
        assert word not in reply.text.lower()
    payload = reply.payload()
    assert payload["kind"] == "diary_summary"
    assert payload["rows"] == [{"time": "09:30", "after": "30 min", "score": 1, "relief": 88,
                                "activity": "walking"}]


def test_started_reply_lists_the_useful_times_and_admits_no_reminders():
    text = replies.started(diary(), NOW.replace(hour=9, minute=10), CHECKS).text
    assert "30 min after (09:30)" in text and "8 h after (17:00)" in text
    assert "can't send reminders" in text


def test_form_steps_keep_values_re_ask_or_answer_a_question():
    assert baseline_step("about a 7").value == 7
    step = baseline_step("twelve")
    assert step.value is None and step.replies[0].kind == "re_ask"
    step = baseline_step("can I take 2 tylenol while I do this?")
    assert step.value is None and step.question  # answered from the pages, never read as a 2
    assert block_time_step("10:15", NOW).value.startswith("2026-12-01T10:15")
    assert entry_step("add an entry", NOW, diary()).value is None
    assert entry_step("add an entry", NOW, diary()).replies == []  # the form just asks
    assert entry_step("3 at 2pm", NOW, diary()).value["score"] == 3
    assert entry_step("3", NOW, None).replies[0].kind == "re_ask"


@pytest.mark.parametrize("stored", ["2026-12-01T23:05:00-05:00", "2026-12-02T09:00:00-05:00"])
@pytest.mark.parametrize("hour", [0, 10, 23])
def test_the_stored_block_time_validated_again_is_kept_as_it_is(stored, hour):
    """The entry form validates the block-time slot again; its ISO text holds "05:00",
    which must not be read as a clock time (just after midnight that was refused)."""
    from zoneinfo import ZoneInfo

    now = datetime(2026, 12, 2, hour, 5, tzinfo=ZoneInfo("America/New_York"))
    step = block_time_step(stored, now)
    assert step.value == stored and step.replies == []


def test_a_damaged_diary_slot_starts_again_instead_of_showing_wrong_numbers():
    assert Diary.from_slots("seven", "2026-12-01T09:00", []) is None
    assert Diary.from_slots(7, "yesterday", []) is None
    assert Diary.from_slots(7, "2026-12-01T09:00", [{"score": 3}]) is None
    assert Diary.from_slots(7, "2026-12-01T09:00", None).entries == ()


@pytest.mark.parametrize(("text", "score", "activity"), [
    ("seven", 7, ""), ("about a 7", 7, ""), ("four after walking", 4, "after walking"),
    ("ahora un cinco", 5, ""), ("dolor 6 caminando", 6, "caminando"),
])
def test_a_score_in_words_is_never_saved_as_the_activity(text, score, activity):
    block = NOW - timedelta(hours=1)
    reading = read_entry(text, NOW, Diary(7, block))
    assert reading.value is not None and reading.value.score == score
    assert reading.value.activity == activity


def test_a_corrected_block_time_says_what_changed():
    block = NOW - timedelta(hours=2)
    diary = Diary(7, block, (Entry(NOW - timedelta(minutes=90), 3.0, ""),))
    later = Diary(7, NOW - timedelta(hours=1), diary.entries)
    assert f"{later.block_at:%H:%M}" in replies.block_time_changed(later).text
    assert "1 of your entries are now before the block" in replies.block_time_changed(later).text
    assert "now before the block" not in replies.block_time_changed(diary).text


@pytest.mark.parametrize(("text", "hour", "minute"), [
    ("9:30pm", 21, 30), ("9:30 last night", 21, 30), ("at 11", 23, 0), ("10:15", 22, 15),
    ("yesterday at 9pm", 21, 0),
])
def test_a_time_said_after_midnight_is_last_night(text, hour, minute):
    # Found in a patient trial: "9:30pm" said at 1am was refused as "later than now".
    one_am = datetime(2026, 12, 3, 1, 3)
    reading = read_time(text, one_am)
    assert reading.at == datetime(2026, 12, 2, hour, minute)


@pytest.mark.parametrize("text", ["1:30 this afternoon", "noon"])
def test_a_time_later_today_or_long_ago_is_still_asked_again(text):
    reading = read_time(text, datetime(2026, 12, 3, 1, 3))
    assert reading.at is None and "later than now" in reading.problem


@pytest.mark.parametrize(("text", "hour", "minute"), [
    ("11:45 PM, before midnight", 23, 45), ("11:45", 23, 45), ("no, 23:45", 23, 45)])
def test_a_block_just_before_midnight_is_read_as_said(text, hour, minute):
    # Found in a patient trial at 01:20: "11:45 PM, before midnight" was stored as 00:00.
    reading = read_time(text, datetime(2026, 12, 3, 1, 20))
    assert reading.at == datetime(2026, 12, 2, hour, minute)


@pytest.mark.parametrize(("message", "activity"), [
    ("2 now, bending to load the dishwasher, took a tylenol at 4:40",
     "bending to load the dishwasher; medicine: took a tylenol at 4:40"),
    ("2 now, bending to load the dishwasher. took 1 tylenol",
     "bending to load the dishwasher; medicine: took 1 tylenol"),
])
def test_a_medicine_and_its_time_are_kept_with_the_entry_never_taken_as_its_time_or_score(message, activity):
    """Found by the second nurse trial: the entry was filed at the tablet's time (04:40, not
    now), and "took 1 tylenol" was refused as a second number. The clinic's diary page asks
    patients to note any pain medicine and when."""
    from zoneinfo import ZoneInfo

    now = datetime(2026, 12, 3, 4, 56, tzinfo=ZoneInfo("America/New_York"))
    reading = read_entry(message, now, Diary(8.0, now - timedelta(minutes=50), ()))
    assert reading.problem is None
    assert (reading.value.at, reading.value.score, reading.value.activity) == (now, 2.0, activity)
