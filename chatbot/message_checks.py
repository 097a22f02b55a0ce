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
