"""The diary itself: the score before the block, the block time and the entries, and
what the summary shows (percent relief from the score before the block)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chatbot.diary.clock import read_time
from chatbot.diary.scores import WORDS, read_score

RELIEF_MARK = 50  # the summary shows how long relief stayed at least this (percent)
CHECKPOINT_TOLERANCE = 0.25  # an entry within a quarter of a checkpoint's time covers it
MIN_TOLERANCE = timedelta(minutes=10)
_FILLER = (
    "my",
    "pain",
    "is",
    "was",
    "its",
    "it's",
    "it",
    "score",
    "about",
    "around",
    "a",
    "an",
    "now",
    "right",
    "at",
    "of",
    "out",
    "maybe",
    "like",
    "i",
    "think",
    "say",
    "roughly",
    # Spanish
    "ahora",
    "un",
    "una",
    "mi",
    "dolor",
    "es",
    "de",
    "como",
    "más",
    "menos",
)


@dataclass(frozen=True)
class Entry:
    at: datetime
    score: float
    activity: str = ""

    def to_slot(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "score": self.score, "activity": self.activity}

    @classmethod
    def from_slot(cls, value: dict[str, Any]) -> Entry:
        return cls(
            datetime.fromisoformat(value["at"]), float(value["score"]), str(value.get("activity") or "")
        )


@dataclass(frozen=True)
class Diary:
    baseline: float
    block_at: datetime
    entries: tuple[Entry, ...] = ()

    def relief(self, score: float) -> int | None:
        """Percent less pain than before the block (None when there was no pain then)."""
        if self.baseline <= 0:
            return None
        return round((self.baseline - score) / self.baseline * 100)

    def hours_after(self, at: datetime) -> float:
        return (at - self.block_at).total_seconds() / 3600

    def with_entry(self, entry: Entry) -> Diary:
        return Diary(self.baseline, self.block_at, tuple(sorted((*self.entries, entry), key=lambda e: e.at)))

    @classmethod
    def from_slots(cls, baseline: Any, block_time: Any, entries: Any) -> Diary | None:
        """The diary kept in the tracker, or None if it was never started (or is damaged:
        a damaged slot starts a new diary rather than showing wrong numbers)."""
        try:
            return cls(
                float(baseline),
                datetime.fromisoformat(str(block_time)),
                tuple(sorted((Entry.from_slot(e) for e in entries or []), key=lambda e: e.at)),
            )
        except (TypeError, ValueError, KeyError):
            return None


@dataclass(frozen=True)
class Reading:
    """What one message said, or why it could not be used (said back to the patient)."""

    value: Any = None
    problem: str | None = None


def read_block_time(text: str, now: datetime) -> Reading:
    reading = read_time(text, now)
    if reading.problem:
        return Reading(problem=reading.problem)
    if reading.at is None:
        return Reading(problem='I need a clock time for the block, roughly, like "10:30" or "an hour ago".')
    if now - reading.at > timedelta(hours=24):
        return Reading(problem="The diary is for the hours after a block done today. What time was it?")
    return Reading(reading.at)


# "took a tylenol at 4:40": a medicine and its own time, never the entry's score or time
# (second nurse trial: the entry was filed at the tablet's time, and "took 1 tylenol" was
# refused as a second score). Kept with the entry, as the clinic's diary page asks.
_MEDICINE = re.compile(
    r"[,;.]?\s*\b(?:took|taken|had|take|used|after)\s+(?:an?|one|two|three|some|my|\d+(?:\s*mg)?)?\s*"
    r"(?:extra strength\s+)?(?:tylenols?|acetaminophen|paracetamol|ibuprofen|advil|motrin|aleve|naproxen"
    r"|aspirin|oxycodone|percocet|norco|hydrocodone|tramadol|gabapentin"
    r"|pain ?(?:killers?|pills?|meds?|medicines?|medications?)|pills?|tablets?)\b(?:\s*\d+\s*mg)?"
    r"(?:\s*(?:at|around|about)\s*\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?"
    r"|\s+\d+\s*(?:min(?:ute)?s?|hours?|hrs?)\s+ago)?",
    re.IGNORECASE)


def read_entry(text: str, now: datetime, diary: Diary) -> Reading:
    """One entry: a score, the time (now unless written) and what the patient was doing;
    a medicine and when it was taken, if said, goes with what they were doing."""
    medicine_said = _MEDICINE.search(text)
    medicine = medicine_said.group().strip(" ,;.") if medicine_said else ""
    if medicine_said:
        text = text[:medicine_said.start()] + " " + text[medicine_said.end():]
    reading = read_time(text, now)
    if reading.problem:
        return Reading(problem=reading.problem)
    rest = reading.rest_of(text)
    score = read_score(rest)
    if not score.ok:
        return Reading(problem=score.problem)
    at = reading.at or now
    if at < diary.block_at:
        return Reading(
            problem=f"That is before the block ({diary.block_at:%H:%M}). What time was this score?"
        )
    value = score.score if score.score is not None else 0.0  # ok: a score was read
    doing = "; ".join(part for part in (_activity(rest), f"medicine: {medicine}" if medicine else "") if part)
    return Reading(Entry(at, float(value), doing))


def _activity(rest: str) -> str:
    """'3 after walking the dog' -> 'after walking the dog' (the score words taken out)."""
    words = [w for w in rest.replace(",", " ").replace("/", " ").split()]
    # "seven" is the score, not what the patient was doing.
    kept = [w for w in words if not any(ch.isdigit() for ch in w) and w.lower().strip(".!-") not in WORDS]
    while kept and kept[0].lower().strip(".!-") in _FILLER + ("10",):
        kept.pop(0)
    while kept and kept[-1].lower().strip(".!-") in _FILLER:
        kept.pop()
    return " ".join(kept).strip(" .!-")[:80]


@dataclass(frozen=True)
class Checkpoint:
    minutes: int
    at: datetime
    covered: bool  # an entry near this time exists
    passed: bool  # its time (and tolerance) is gone

    @property
    def label(self) -> str:
        return f"{self.minutes} min" if self.minutes < 60 else f"{self.minutes / 60:g} h"


def checkpoints(diary: Diary, now: datetime, minutes: tuple[int, ...]) -> list[Checkpoint]:
    out = []
    for offset in minutes:
        at = diary.block_at + timedelta(minutes=offset)
        tolerance = max(MIN_TOLERANCE, timedelta(minutes=offset * CHECKPOINT_TOLERANCE))
        covered = any(abs(entry.at - at) <= tolerance for entry in diary.entries)
        out.append(Checkpoint(offset, at, covered, now > at + tolerance))
    return out


@dataclass(frozen=True)
class Row:
    at: datetime
    hours_after: float
    score: float
    relief: int | None
    activity: str


@dataclass(frozen=True)
class Summary:
    rows: list[Row]
    best_relief: int | None
    best_hours: float | None
    relief_span: tuple[float, float] | None  # hours after the block, first..last at RELIEF_MARK+


def summarise(diary: Diary) -> Summary:
    rows = [
        Row(e.at, diary.hours_after(e.at), e.score, diary.relief(e.score), e.activity) for e in diary.entries
    ]
    scored = [row for row in rows if row.relief is not None]
    best = max(scored, key=lambda row: (row.relief, -row.hours_after), default=None)
    marked = [row.hours_after for row in scored if row.relief is not None and row.relief >= RELIEF_MARK]
    return Summary(
        rows,
        best.relief if best else None,
        best.hours_after if best else None,
        (min(marked), max(marked)) if marked else None,
    )
