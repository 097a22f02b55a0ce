"""How long ago? The project's one parser for times patients give (English and Spanish).

"3 days ago", "since friday", "more than 12 hours", "this morning", "hace 3 dias",
"desde ayer" -> hours. Used by triage (time since the injection against each expected
effect's window) and by the action server for the injection_time slot. Rough on purpose:
a few hours off does not change a level, and when a message gives several times the
longest recent one counts (when in doubt, the later point in time).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from chatbot.triage.text import normalise

_NUM_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "eighteen": 18, "twenty": 20, "thirty": 30,
    "couple": 2, "few": 3, "several": 4, "half": 0.5,
    # Spanish (accents are already off)
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15,
    "veinte": 20, "treinta": 30, "par": 2, "unos": 3, "unas": 3, "varios": 4, "varias": 4,
    "media": 0.5, "medio": 0.5,
}
_UNITS = {
    "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "h": 1, "hr": 1,
    "hrs": 1, "hour": 1, "hours": 1, "day": 24, "days": 24, "night": 24, "nights": 24,
    "wk": 168, "wks": 168, "week": 168, "weeks": 168, "mo": 720, "mos": 720, "month": 720,
    "months": 720, "yr": 8760, "yrs": 8760, "year": 8760, "years": 8760,
    "minuto": 1 / 60, "minutos": 1 / 60, "hora": 1, "horas": 1, "dia": 24, "dias": 24,
    "noche": 24, "noches": 24, "semana": 168, "semanas": 168, "mes": 720, "meses": 720,
    "ano": 8760, "anos": 8760,
}
_LONGER = frozenset({"more than", "over", "longer than", "past", "at least", "mas de"})
_NOT_SINCE = (  # "in 2 weeks", "every 4 hours", "up to 8 hours": not time since the injection
    "in|every|next|per|each|within|within the next|for the next|up to|en|cada|dentro de|proximos"
    "|proximas|hasta"
)
_DURATION_IN_TEXT = re.compile(
    rf"(?<![a-z0-9.,])(?:(?P<pre>{_NOT_SINCE}) )?"
    r"(?:(?P<q>more than|over|longer than|past|at least|almost|nearly|about|around|under"
    r"|less than|mas de|casi|como|alrededor de|menos de) )?(?:a |un |una )?"
    r"(?P<n>\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)) + r")"
    r"(?: of| de)? (?P<u>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")(?![a-z0-9])"
)
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "primer": 1, "segundo": 2, "tercer": 3, "tercero": 3, "cuarto": 4, "quinto": 5,
}
_ORDINAL_DAY = re.compile(  # "second day", "day 3", "4th day" (tokenised "4 th day"), "tercer dia"
    r"\b(?P<o>" + "|".join(_ORDINALS) + r")(?: full)? (?:day|night|dia|noche)\b"
    r"|\b(?:day|dia) (?P<d>\d{1,2})\b|\b(?P<n>\d{1,2}) (?:st|nd|rd|th) (?:day|night)\b"
)
# Phrases with a fixed distance in the past. "this morning" is 5 hours: one value for the
# whole project (the slot and the message use this same table).
FIXED_TIMES = (
    (re.compile(r"\b(?:day before yesterdays?|antier|anteayer|antes de ayer)\b"), 48.0),
    (re.compile(r"\b(?:yesterdays?|the day before|next day|following day|next morning|the day after|ayer"
                r"|al dia siguiente|el dia siguiente)\b"), 24.0),
    (re.compile(r"\b(?:last nights?|overnight|anoche|en la noche de ayer)\b"), 16.0),
    (re.compile(r"\b(?:this morning|esta manana|hoy en la manana|hoy por la manana)\b"), 5.0),
    (re.compile(r"\b(?:this afternoon|earlier today|todays?|hoy|esta tarde)\b"), 4.0),
    (re.compile(r"\b(?:this evening|tonight|esta noche)\b"), 2.0),
    (re.compile(r"\b(?:just now|right after|straight after|immediately after|just had|just got"
                r"|an hour ago|recien|hace un rato|hace poco)\b"), 0.5),
    (re.compile(r"\b(?:the other day|over the weekend|the weekend|at the weekend"
                r"|el fin de semana|el otro dia)\b"), 48.0),
    (re.compile(r"\b(?:last week|a week ago|la semana pasada)\b"), 168.0),
    (re.compile(r"\b(?:a week and a half|(?:una )?semana y media)\b"), 252.0),
    (re.compile(r"\b(?:last month|a month ago|el mes pasado)\b"), 720.0),
    (re.compile(r"\b(?:last year|a year ago|el ano pasado)\b"), 8760.0),
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS_ES = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
_WEEKDAY = re.compile(
    r"\b(?:since|last|on|was|were|(?:had|got|was|did|done|injected)(?: \w+){0,3} on) (?P<d>"
    + "|".join(WEEKDAYS) + r")\b"
    r"|\b(?:desde el|el) (?P<es>" + "|".join(_WEEKDAYS_ES) + r")(?: pasado)?\b"
)
_AGO = re.compile(r"\b(?:ago|hace)\b")
# "its monday now", "this morning (monday)": the writer's own today, for weekday sums.
_TODAY_IS = re.compile(
    r"\b(?:its|it is|today is|today|now|this morning|tonight|hoy es|hoy) (?P<d>" + "|".join(WEEKDAYS)
    + "|" + "|".join(_WEEKDAYS_ES) + r")\b|\b(?P<d2>" + "|".join(WEEKDAYS) + r") (?:now|today)\b"
)


def _writers_today(joined: str, today: _dt.date | None) -> _dt.date:
    today = today or _dt.date.today()
    found = _TODAY_IS.search(joined)
    if not found:
        return today
    name = found["d"] or found["d2"]
    index = WEEKDAYS.index(name) if name in WEEKDAYS else _WEEKDAYS_ES.index(name)
    return today - _dt.timedelta(days=(today.weekday() - index) % 7)
# A time said about what is expected ("it can take 3-4 days to kick in", "till it kicks in
# after a week"), or how long an old episode lasted ("which lasted over a week"), is no
# time since the injection.
_NOT_SINCE_CUES = frozenset({
    "lasted", "lasting", "duro", "took", "tomo",
    "will", "ill", "itll", "youll", "gonna", "going", "till", "until", "expect", "expected",
    "supposed", "should", "usually", "normally", "typically", "takes", "take", "might", "may",
    "could", "would", "hope", "hoping", "kick", "kicks", "wait", "tarda",
    "tardara", "puede", "deberia", "hasta",
})
_PROCEDURE_WORD = re.compile(
    r"\b(?:(?:inj|ing|iny)ect\w*|injecton\w*|inyecci\w*|shots?|jabs?|blocks?|procedures?"
    r"|epidurals?|facets?|rfa|ablation|tpis?|mbb|bloqueos?|piquetes?|procedimientos?|pusieron"
    r"|hicieron)\b"
)
_BOUNDARY = re.compile(r"[.!?;:]|\bbut\b|\bpero\b")


_CLAUSE_REACH = 240  # characters each side: enough for a clause, and keeps this linear


def _clause_around(joined: str, start: int, end: int) -> tuple[str, str]:
    """The words of the clause before and after a time phrase at [start, end)."""
    before = joined[max(0, start - _CLAUSE_REACH) : start]
    cut = max((m.end() for m in _BOUNDARY.finditer(before)), default=0)
    after = joined[end : end + _CLAUSE_REACH]
    stop = next((m.start() for m in _BOUNDARY.finditer(after)), len(after))
    return before[cut:], after[:stop]


def _is_future(before: str) -> bool:
    words = before.split()[-6:]
    for index, word in enumerate(words):
        if word in _NOT_SINCE_CUES:
            ongoing = word in ("lasted", "lasting") and index and words[index - 1] in ("has", "have", "been")
            if not ongoing:  # "it has lasted 14 hours" is still going on
                return True
    return False


@dataclass(frozen=True)
class Said:
    hours: float | None  # the longest recent time the message gives
    only_old: bool  # it gives times, but all older than the catalogue's "History after"


_IN_AS_FOR = frozenset({
    "slept", "sleep", "eaten", "peed", "pooped", "been", "gone", "had", "walked", "worked", "weed",
    "urinated", "ate", "left", "moved", "drank", "pee",
})


def _in_means_for(joined: str, found: re.Match[str]) -> bool:
    """"I haven't slept in 9 days": here "in" means "for", a time since the injection."""
    if found["pre"] != "in":
        return False
    before = joined[: found.start()].split()[-1:]
    return bool(before) and before[0] in _IN_AS_FOR


@dataclass(frozen=True)
class _Time:
    hours: float
    of_injection: bool  # said in the same clause as the injection ("had my shot today")


def _times(joined: str, today: _dt.date | None) -> list[_Time]:
    found_times: list[tuple[float, int, int]] = []
    for found in _DURATION_IN_TEXT.finditer(joined):
        if found["pre"] and not _in_means_for(joined, found):
            continue
        raw = found["n"]
        hours = float(raw.replace(",", ".")) if raw[0].isdigit() else _NUM_WORDS[raw]
        hours *= _UNITS[found["u"]]
        hours = hours + 0.5 if found["q"] in _LONGER else hours  # "more than 12 hours" > 12
        found_times.append((hours, found.start(), found.end()))
    for found in _ORDINAL_DAY.finditer(joined):
        day = _ORDINALS[found["o"]] if found["o"] else int(found["d"] or found["n"])
        found_times.append((max(0, day - 1) * 24.0 + 12.0, found.start(), found.end()))  # mid-day
    for regex, hours in FIXED_TIMES:
        for found in regex.finditer(joined):
            found_times.append((hours, found.start(), found.end()))
    writers_today = _writers_today(joined, today)
    for found in _WEEKDAY.finditer(joined):
        index = WEEKDAYS.index(found["d"]) if found["d"] else _WEEKDAYS_ES.index(found["es"])
        days = (writers_today.weekday() - index) % 7 or 7
        found_times.append((days * 24.0, found.start(), found.end()))
    times = []
    for hours, start, end in found_times:
        before, after = _clause_around(joined, start, end)
        if _is_future(before):
            continue
        # Said with the injection: "had 3 facet injections today", "my epidural 2 days ago",
        # "yesterday's block" -- the procedure word right next to the time.
        near = " ".join(before.split()[-4:] + after.split()[:3])
        times.append(_Time(hours, bool(_PROCEDURE_WORD.search(near))))
    return times


def times_in(joined: str, today: _dt.date | None = None) -> list[float]:
    """Every time in token text, as hours in the past (times about the future left out)."""
    return [time.hours for time in _times(joined, today)]


def message_hours(joined: str, history_after: float, today: _dt.date | None = None) -> Said:
    """Hours since the injection as the message says it ("3 days ago", "since friday").

    A time said with the injection ("had 3 facet injections today, same as 2 weeks ago")
    dates it: the most recent such time counts, and if all are old, the message is about
    old history. Otherwise the longest recent time counts (when in doubt, the later point
    in time)."""
    times = _times(joined, today)
    dated = [time.hours for time in times if time.of_injection]
    if dated:  # the injection's own date decides; "today I am 65% recovered" does not
        recent_dated = [hours for hours in dated if hours <= history_after]
        return Said(min(recent_dated), False) if recent_dated else Said(None, True)
    recent = [time.hours for time in times if time.hours <= history_after]
    return Said(max(recent) if recent else None, bool(times) and not recent)


def hours_ago(text: str, now: _dt.datetime | None = None) -> float | None:
    """Hours between the moment a patient describes ("yesterday", "2 days ago", "hace 3
    dias") and `now`, or None if no time is understood."""
    joined = " ".join(normalise(text))
    today = (now or _dt.datetime.now()).date()
    times = times_in(joined, today)
    return max(times) if times else None


def has_ago(joined: str) -> bool:
    return bool(_AGO.search(joined))


# Dates, not durations: "3 days ago", "yesterday", "on monday", "last year" place a story in
# time; "for 3 months", "fine one minute", "the next day" do not.
_DATE_PHRASE = re.compile(
    r"\b(?:yesterdays?|last nights?|this morning|this afternoon|earlier today|today|tonight"
    r"|this evening|last week|last month|last year|ayer|anoche|esta manana|hoy|esta tarde"
    r"|la semana pasada|el mes pasado|el ano pasado|antier|anteayer)\b"
)


def dates_in(joined: str, today: _dt.date | None = None) -> list[float]:
    """Hours ago of the dates in token text (durations and story-relative times left out)."""
    hours: list[float] = []
    for found in _DURATION_IN_TEXT.finditer(joined):
        ago = joined[found.end() : found.end() + 4] == " ago"
        hace = joined[max(0, found.start() - 5) : found.start()] == "hace "
        if found["pre"] or not (ago or hace):
            continue
        raw = found["n"]
        value = float(raw.replace(",", ".")) if raw[0].isdigit() else _NUM_WORDS[raw]
        hours.append(value * _UNITS[found["u"]])
    for found in _DATE_PHRASE.finditer(joined):
        hours.append(next(value for regex, value in FIXED_TIMES if regex.search(found.group())))
    writers_today = _writers_today(joined, today)
    for found in _WEEKDAY.finditer(joined):
        index = WEEKDAYS.index(found["d"]) if found["d"] else _WEEKDAYS_ES.index(found["es"])
        hours.append(((writers_today.weekday() - index) % 7 or 7) * 24.0)
    return hours
