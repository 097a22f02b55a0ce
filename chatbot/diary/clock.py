"""When: "now", "at 2pm", "14:30", "2.30 pm", "noon", "20 minutes ago", "an hour ago".

Times in the diary are clock times on the patient's day (the clinic's time zone). A time
that cannot be read, or that is later than now, is re-asked rather than guessed: the
doctor reads relief against hours since the block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_NUM = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty five": 45,
    "couple of": 2,
    "a couple of": 2,
    "half an": 0.5,
}
_AGO = re.compile(
    r"\b(?P<n>\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUM, key=len, reverse=True)) + r")"
    r"(?P<half> and a half)?\s*(?P<u>minutes?|mins?|hours?|hrs?|h)\s+ago\b"
)
_HALF_HOUR_AGO = re.compile(r"\bhalf an hour ago\b")
_CLOCK = re.compile(
    r"\b(?:at\s+|@\s*|around\s+|about\s+)?(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d))?\s*"
    r"(?P<ap>a\.?m\.?|p\.?m\.?)(?![a-z])"
    r"|\b(?:at\s+|@\s*|around\s+|about\s+)?(?P<h24>[01]?\d|2[0-3])[:.](?P<m24>[0-5]\d)\b"
    r"|\bat\s+(?P<hbare>[1-9]|1[0-2])\b(?![:.]\d|\s*(?:/|out of)\s*10)"
)
_NAMED = re.compile(r"\b(?:at\s+)?(?P<name>noon|midday|midnight)\b")
_NOW = re.compile(r"\b(?:right now|just now|now|currently|at the moment)\b")
FUTURE_GRACE = timedelta(minutes=10)  # a clock a few minutes fast is not the future
# "9:30pm" said at 1am is last night: a clock time later than now is taken on the day
# before when that is this recent (the diary's hours), or when the patient says so.
DAY_BEFORE_WITHIN = timedelta(hours=12)
_YESTERDAY = re.compile(r"\b(?:yesterday|last night|last evening|anoche|ayer)\b")
_TODAY = re.compile(
    r"\b(?:today|this (?:morning|afternoon|evening)|tonight|hoy|esta (?:mañana|tarde|noche))\b")


@dataclass(frozen=True)
class TimeReading:
    at: datetime | None  # None: no time in the text (the caller may default to now)
    span: tuple[int, int] | None = None  # where the time was written, to take it out
    problem: str | None = None

    def rest_of(self, text: str) -> str:
        """The text with the time taken out ("3 at 2pm walking" -> "3  walking")."""
        if self.span is None:
            return text
        return text[: self.span[0]] + " " + text[self.span[1] :]


def read_time(text: str, now: datetime) -> TimeReading:
    """The first time written in `text`, on `now`'s day (or the day before: "last night",
    or a clock time later than now that was at most DAY_BEFORE_WITHIN ago), never later
    than now."""
    lowered = (text or "").lower()
    reading = _read_time(lowered, now)
    if reading.at is not None and _YESTERDAY.search(lowered) and reading.at.date() == now.date() \
            and reading.span is not None and not _AGO.search(lowered):
        return TimeReading(reading.at - timedelta(days=1), reading.span)
    if reading.problem and reading.span is not None and not _TODAY.search(lowered):
        end_of_yesterday = (now - timedelta(days=1)).replace(hour=23, minute=59, second=59, microsecond=0)
        earlier = _read_time(lowered, end_of_yesterday)  # the same words, on the day before
        if earlier.at is not None and (_YESTERDAY.search(lowered) or now - earlier.at <= DAY_BEFORE_WITHIN):
            return earlier
    return reading


def _read_time(lowered: str, now: datetime) -> TimeReading:
    found = _HALF_HOUR_AGO.search(lowered)
    if found:
        return TimeReading(now - timedelta(minutes=30), found.span())
    found = _AGO.search(lowered)
    if found:
        raw = found["n"]
        amount = float(raw.replace(",", ".")) if raw[0].isdigit() else float(_NUM[raw])
        amount += 0.5 if found["half"] else 0.0
        minutes = amount if found["u"].startswith("m") else amount * 60
        return TimeReading(now - timedelta(minutes=minutes), found.span())
    found = _CLOCK.search(lowered)  # before "noon"/"midnight": "11:45 PM, before midnight" is 23:45
    if found:
        if found["h"] is not None:
            hour, minute = int(found["h"]), int(found["m"] or 0)
            if hour > 12 or hour == 0:
                return TimeReading(None, found.span(), 'I couldn\'t read that time. Try "2:30pm" or "14:30".')
            hour = hour % 12 + (12 if found["ap"].startswith("p") else 0)
            return _on_day(now, hour, minute, found.span())
        if found["h24"] is not None:
            hour, minute = int(found["h24"]), int(found["m24"])
            if hour <= 12:  # "2:30" without am/pm: the latest such time not in the future
                return _latest_of(now, [(hour % 12, minute), (hour % 12 + 12, minute)], found.span())
            return _on_day(now, hour, minute, found.span())
        hour = int(found["hbare"])
        return _latest_of(now, [(hour % 12, 0), (hour % 12 + 12, 0)], found.span())
    found = _NAMED.search(lowered)
    if found:
        hour = 0 if found["name"] == "midnight" else 12
        return _on_day(now, hour, 0, found.span())
    found = _NOW.search(lowered)
    if found:
        return TimeReading(now, found.span())
    return TimeReading(None)


def _on_day(now: datetime, hour: int, minute: int, span: tuple[int, int]) -> TimeReading:
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at > now + FUTURE_GRACE:
        return TimeReading(
            None, span, f"{at:%H:%M} is later than now ({now:%H:%M}). Which time did you mean?"
        )
    return TimeReading(at, span)


def _latest_of(now: datetime, choices: list[tuple[int, int]], span: tuple[int, int]) -> TimeReading:
    past = [
        at
        for at in (now.replace(hour=h, minute=m, second=0, microsecond=0) for h, m in choices)
        if at <= now + FUTURE_GRACE
    ]
    if not past:
        return TimeReading(None, span, "That time is later than now. Which time did you mean?")
    return TimeReading(max(past), span)
