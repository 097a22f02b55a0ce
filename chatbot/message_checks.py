"""Plain checks on a patient's message text. Standard library only (also runs in Rasa)."""

from __future__ import annotations

import re


def has_readable_text(message: str) -> bool:
    """False for empty, whitespace, emoji-only or punctuation-only messages."""
    return bool(re.search(r"[^\W_]", message))


def questions_in(message: str) -> str | None:
    """The sentences that end in a question mark, if any."""
    asked = [s.strip() for s in re.findall(r"[^.!?\n]*\?", message) if re.search(r"\w", s)]
    return " ".join(asked) or None


_QUESTION_START = re.compile(
    r"^\s*(?:how|what|when|can|could|is|are|should|do|does|will|would|why|which|where|may|am)\b",
    re.IGNORECASE,
)


def asked_part(message: str) -> str | None:
    """The question in a message that also says something ("I had a facet injection this
    morning. How long will the numbness last?"), if there is one."""
    asked = questions_in(message)
    if asked:
        return asked
    sentences = [s.strip() for s in re.split(r"(?<=[.!;])\s+|\s+-\s+|\n+", message) if s.strip()]
    questions = [s for s in sentences if _QUESTION_START.match(s)]
    return " ".join(questions) or None


# The words that stop a form. The classifier's stop_form is believed only when one of
# them is there: "asap" or "any time" answering "when should the nurse call?" must never
# drop a call-back request (chatbot.rasa_server.guards.StopOnlyWhenSaid).
_STOP_WORDS = re.compile(
    r"\b(stop|cancel+(ed)?|quit|never\s?mind|forget (it|that|about it)|not now|no,? thanks?( you)?"
    r"|don'?t (call|want|bother|need)|do not (call|want|need)|changed my mind|pause|leave it"
    r"|no more|end (it|this|the)|exit"
    r"|cancela(r)?|olv[ií]d(alo|elo)|no,? gracias|no quiero|parar|det[eé]n(er)?|ya no)\b",
    re.IGNORECASE,
)


def says_stop(text: str) -> bool:
    """ "stop", "cancel the call back", "no thanks", "olvídalo": yes; "asap", "after 3": no."""
    return bool(_STOP_WORDS.search(text or ""))


# A typed "no" to a check question: "no i can pee fine", "nope", "not really". Never
# when the patient goes on to say "but": that may be the red flag itself.
_TYPED_NO = re.compile(
    r"^\s*(no+|nope|nah|not really|not at all|none( of (that|those|them|these))?|neither|negative"
    r"|no,? (i'?m|it'?s|its) (fine|ok|okay)|nada|ninguno|ninguna)\b",
    re.IGNORECASE,
)
_BUT = re.compile(r"\b(but|however|except|although|though|pero|sino|aunque)\b", re.IGNORECASE)


def typed_no(text: str) -> bool:
    """ "no i can pee fine its not getting worse": yes; "no but my legs give way": no."""
    return bool(_TYPED_NO.match(text or "")) and not _BUT.search(text or "")
