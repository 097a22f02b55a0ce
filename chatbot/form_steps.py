"""What a form does with one message: keep the value, or say why not (the form then asks
its question again), or answer a question the patient asked in the middle.

Used by the diary's and the callback's validate_* actions; no Rasa here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chatbot.replies import Reply
from chatbot.reply_kinds import ReplyKind

_QUESTION_START = re.compile(
    r"^\s*(?:how|what|whats|what's|when|where|why|which|who|can|could|is|are|should|do|does"
    r"|will|would|may|am i|did|has|have)\b",
    re.IGNORECASE,
)


@dataclass
class Step:
    value: Any = None  # None: the slot stays empty and the form asks again
    replies: list[Reply] = field(default_factory=list)
    question: str | None = None  # a question to answer from the knowledge base first


def looks_like_question(text: str) -> bool:
    """ "can I take tylenol while I do this?" yes; "7", "about a 6?", "Maria" no."""
    words = re.findall(r"[A-Za-z']+", text or "")
    return (
        bool(_QUESTION_START.match(text or ""))
        and len(words) >= 3
        or ((text or "").rstrip().endswith("?") and len(words) >= 4)
    )


def keep(value: Any) -> Step:
    return Step(value)


def ask_again(problem: str) -> Step:
    return Step(None, [Reply(ReplyKind.RE_ASK, text=problem)])


def answer_first(question: str) -> Step:
    return Step(None, question=question)

