"""The diary form's steps: the score before the block, the block time, each entry."""

from __future__ import annotations

from datetime import datetime

from chatbot.diary.diary import Diary, read_block_time, read_entry
from chatbot.diary.scores import read_score
from chatbot.form_steps import Step, answer_first, ask_again, keep, looks_like_question


def baseline_step(text: str) -> Step:
    if looks_like_question(text):
        return answer_first(text)
    reading = read_score(text)
    if reading.score is None:
        return ask_again(reading.problem or "")
    # Whole scores are kept as 7, not 7.0: the next question says "Noted: 7/10".
    return keep(int(reading.score) if reading.score.is_integer() else reading.score)


def block_time_step(text: str, now: datetime) -> Step:
    kept = _stored_time(text)
    if kept is not None:  # the slot's own value, validated again by the entry form
        return keep(kept.isoformat())
    if looks_like_question(text):
        return answer_first(text)
    reading = read_block_time(text, now)
    return keep(reading.value.isoformat()) if reading.value else ask_again(reading.problem or "")


def _stored_time(text: str) -> datetime | None:
    """A block time this form already stored (ISO 8601 with its time zone), or None.
    Read as a patient's words it would be misread: "...T23:05:00-05:00" holds "05:00"."""
    try:
        stored = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return stored if stored.tzinfo is not None and "T" in text else None


def entry_step(text: str, now: datetime, diary: Diary | None) -> Step:
    """An entry is kept as a dict for the slot; the action adds it to the diary."""
    if diary is None:
        return ask_again("Your diary needs the score before the block and the block time first.")
    if looks_like_question(text):
        return answer_first(text)
    if is_request_to_add(text):
        return Step(None)  # "add an entry": the form asks for the score
    reading = read_entry(text, now, diary)
    return keep(reading.value.to_slot()) if reading.value else ask_again(reading.problem or "")


def is_request_to_add(text: str) -> bool:
    """ "/add_diary_entry", "add an entry", "new entry": a request, not an entry."""
    lowered = (text or "").lower().strip()
    return lowered.startswith("/") or (
        not any(ch.isdigit() for ch in lowered)
        and ("entry" in lowered or lowered.startswith(("add", "log", "record")))
    )
