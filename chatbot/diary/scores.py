"""A pain score, 0 to 10, from what a patient types: "7", "seven", "7/10", "about a 6",
"no pain", "worst ever". Anything else is a clear re-ask, never a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass

WORDS = {
    "zero": 0,
    "nil": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    # Spanish: the diary is kept from Spanish words too ("ahora un cinco").
    "cero": 0,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
}
_NO_PAIN = re.compile(
    r"\b(?:no pain|pain[- ]free|not sore|no discomfort|nothing at all|none at all"
    r"|doesn'?t hurt(?: at all)?|does not hurt|not hurting|gone completely)\b"
)
_WORST = re.compile(
    r"\b(?:worst (?:ever|possible|imaginable|pain)|worst i'?ve (?:ever )?had|unbearable"
    r"|excruciating|the worst)\b"
)
_OUT_OF_TEN = re.compile(r"\s*(?:/|out of|outta|of)\s*10\b")
_NUMBER = re.compile(r"(?<![\d.:])-?\d+(?:[.,]\d+)?(?![\d:]|\s*(?:am|pm|a\.m|p\.m)\b)")
_RANGE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:-|to|or|/)\s*(\d+(?:\.\d+)?)(?![\d.])")
RE_ASK = 'Please send one number from 0 (no pain) to 10 (the worst), like "4".'


@dataclass(frozen=True)
class ScoreReading:
    score: float | None
    problem: str | None = None  # why it could not be read: said back to the patient

    @property
    def ok(self) -> bool:
        return self.score is not None


def _words_to_digits(text: str) -> str:
    return re.sub(r"\b(" + "|".join(WORDS) + r")\b", lambda m: str(WORDS[m.group(1)]), text)


def read_score(text: str) -> ScoreReading:
    """The score in `text` (times already taken out by the caller, if any)."""
    lowered = " " + (text or "").lower().strip() + " "
    digits = _OUT_OF_TEN.sub("", _words_to_digits(lowered))
    said = {float(found.replace(",", ".")) for found in _NUMBER.findall(digits)}
    for phrase, value in ((_NO_PAIN, 0.0), (_WORST, 10.0)):
        if phrase.search(lowered):
            # "no pain sitting but 4 walking": two scores, so ask for one
            return (
                ScoreReading(value)
                if said <= {value}
                else ScoreReading(None, f"I read more than one score there. {RE_ASK}")
            )
    ranged = _RANGE.search(digits)
    if ranged:
        low, high = sorted(float(value) for value in ranged.groups())
        if high - low <= 1 and low >= 0 and high <= 10:
            return ScoreReading((low + high) / 2)
        return ScoreReading(None, f"I read more than one score there. {RE_ASK}")
    numbers = [float(found.replace(",", ".")) for found in _NUMBER.findall(digits)]
    if not numbers:
        return ScoreReading(None, f"I couldn't find a pain score in that. {RE_ASK}")
    if len(set(numbers)) > 1:
        return ScoreReading(None, f"I read more than one number there. {RE_ASK}")
    score = numbers[0]
    if not 0 <= score <= 10:
        return ScoreReading(None, f"Pain scores go from 0 to 10, and I read {score:g}. {RE_ASK}")
    return ScoreReading(score)
