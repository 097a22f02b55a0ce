"""Turn a patient's "when" ("yesterday", "2 days ago", "this morning") into hours ago.

Standard library only. Rough on purpose: the answer feeds the triage time window, where
being a few hours off does not change the level.
"""

from __future__ import annotations

import re
from datetime import datetime

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "couple of": 2, "few": 3,
}
_UNIT_HOURS = {"minute": 1 / 60, "hour": 1, "hr": 1, "day": 24, "week": 168, "month": 720}
_AGO = re.compile(
    r"\b(?P<n>\d+(?:\.\d+)?|a couple of|couple of|a few|few|an?|one|two|three|four|five|six"
    r"|seven|eight|nine|ten|eleven|twelve)\s+(?P<unit>minute|hour|hr|day|week|month)s?\s+ago\b"
)
_FIXED = {
    "just now": 0.5, "an hour ago": 1, "this morning": 4, "earlier today": 3, "today": 2,
    "tonight": 1, "last night": 14, "yesterday": 24, "the day before yesterday": 48,
    "last week": 168, "a week ago": 168,
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def hours_ago(text: str, now: datetime | None = None) -> float | None:
    """Hours between the described moment and `now`, or None if not understood."""
    lowered = " ".join(text.lower().split())
    match = _AGO.search(lowered)
    if match:
        raw = match["n"].removeprefix("a ").strip() if match["n"] != "a" else "a"
        count = float(raw) if raw[0].isdigit() else _NUMBER_WORDS.get(raw, 1)
        return float(count * _UNIT_HOURS[match["unit"]])
    for phrase in sorted(_FIXED, key=len, reverse=True):
        if re.search(rf"\b{phrase}\b", lowered):
            return float(_FIXED[phrase])
    for index, day in enumerate(_WEEKDAYS):
        if re.search(rf"\b{day}\b", lowered):
            today = (now or datetime.now()).weekday()
            days_back = (today - index) % 7 or 7
            return days_back * 24.0
    return None
