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
