"""Is the clinic open now? Standard library only: the Rasa server uses it on every red flag.

Hours are a setting such as ``Mon-Fri 08:00-17:00; Sat 09:00-12:00`` in the clinic's
time zone. ``closed`` means never open (useful to test the after-hours reply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_RULE = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$"
)

# Patients often tell us it is after hours; believe them over the clock.
_SAYS_CLOSED = re.compile(
    r"\b(after[- ]?hours|out of hours|(clinic|office|surgery|practice)('s| is| are)? (closed|shut)"
    r"|closed (now|today|tonight|for the (day|night|weekend))|(they'?re|they are|it'?s|it is) closed"
    r"|(it'?s|it is|its) (the )?weekend|on the weekend|this weekend|weekend now"
    r"|(it'?s|it is|its) (late|night|nighttime|late at night|(saturday|sunday|friday)( night| evening)?)"
    r"|(saturday|sunday|friday) night|at night|tonight|overnight|middle of the night"
    r"|can'?t (reach|get hold of|get through to) (my|the|a) (doctor|clinic|office|nurse)"
    r"|no one (is )?answer(ing|s)|nobody (is )?answer(ing|s)"
    # Spanish
    r"|(la )?cl[ií]nica (est[aá] )?cerrada|est[aá]n? cerrad[oa]s?|es de noche|por la noche|esta noche"
    r"|(es )?fin de semana|madrugada|no contestan|no puedo (comunicarme|hablar) con (mi|el) m[eé]dico)\b",
    re.IGNORECASE,
)


class HoursError(ValueError):  # settings.py turns it into a SettingsError with the .env line
    """CLINIC_HOURS or CLINIC_TIMEZONE cannot be understood."""


@dataclass(frozen=True)
class OpeningRule:
    days: frozenset[int]
    opens: time
    closes_minutes: int  # minutes after midnight; 24:00 allowed


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise HoursError(f"{text!r} is not a time of day (use HH:MM, 00:00-24:00)")
    return hours * 60 + minutes


def parse_hours(spec: str) -> list[OpeningRule]:
    """Parse ``Mon-Fri 08:00-17:00; Sat 09:00-12:00``; ``closed`` gives no rules."""
    spec = spec.strip().lower()
    if spec in ("", "closed"):
        return []
    rules = []
    for part in (p.strip() for p in spec.split(";") if p.strip()):
        match = _RULE.match(part)
        if not match or match["first"] not in DAYS or (match["last"] or "mon") not in DAYS:
            raise HoursError(
                f"CLINIC_HOURS part {part!r} should look like 'Mon-Fri 08:00-17:00'"
            )
        first = DAYS.index(match["first"])
        last = DAYS.index(match["last"]) if match["last"] else first
        days = frozenset(range(first, last + 1)) if first <= last else frozenset(
            [*range(first, 7), *range(0, last + 1)]
        )
        opens = _minutes(match["open"])
        rules.append(OpeningRule(days, time(opens // 60, opens % 60), _minutes(match["close"])))
    return rules


def clinic_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"CLINIC_TIMEZONE={name!r} is not a known time zone") from None


def is_open(spec: str, timezone: str, now: datetime | None = None) -> bool:
    local = (now or datetime.now(tz=clinic_zone(timezone))).astimezone(clinic_zone(timezone))
    minute_of_day = local.hour * 60 + local.minute
    for rule in parse_hours(spec):
        opens = rule.opens.hour * 60 + rule.opens.minute
        if local.weekday() in rule.days and opens <= minute_of_day < rule.closes_minutes:
            return True
    return False


def says_clinic_closed(message: str) -> bool:
    """True when the patient tells us it is after hours or they can't reach the clinic."""
    return bool(_SAYS_CLOSED.search(message))
