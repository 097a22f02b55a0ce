"""Cut a message into the windows the learned screen reads. Standard library only.

A chat message is read whole. A long story is read a few clauses at a time, so that what
happened years ago, what has passed and what is happening now are judged where they are
said; the message's score is the highest of its windows. Clauses end at sentence marks
and, inside a long run-on sentence, before "but", "then", "now", "since" and time words
(English and Spanish). Training (training/triage_screen) and serving cut messages with
this same function, so the model is always read the way it was taught.
"""

from __future__ import annotations

import re

# A message up to this many words is one window: most chat messages.
WHOLE_MESSAGE_WORDS = 60
# A window of a long message holds whole clauses up to about this many words...
WINDOW_WORDS = 45
# ...and a clause longer than this is cut at its clause words.
LONG_CLAUSE_WORDS = 25
# The most windows read of one message (the start and the end are kept).
MAX_WINDOWS = 24

_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\n+|(?<=[.!?])(?=[A-Z¿¡])")
_CLAUSE_WORDS = re.compile(
    r"\s+(?=(?:but|then|now|since|although|though|however|anyway|yesterday|today|tonight|"
    r"this morning|last night|later|after that|the next day|a few days later|"
    r"pero|luego|ahora|desde|aunque|ayer|hoy|anoche|esta mañana|despues|después|"
    r"al dia siguiente|al día siguiente)\b)",
    re.IGNORECASE,
)


# The screen reads a message only if it has at least this many words (of two letters or
# more): a bare name, a phone number, "10:15" or "7" (answers to the assistant's own
# questions) are not what it learned to read, and the rules still read them.
MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


def readable(text: str) -> bool:
    return len(_WORD.findall(text)) >= MIN_WORDS


def clauses(text: str) -> list[str]:
    """The message's clauses, in order: sentences, long ones cut at clause words."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence.split()) <= LONG_CLAUSE_WORDS:
            out.append(sentence)
            continue
        out.extend(part.strip() for part in _CLAUSE_WORDS.split(sentence) if part.strip())
    return out


def _chunks_of(clause: str) -> list[str]:
    """A clause with no clause words can still be 200 words long: cut it by length."""
    words = clause.split()
    if len(words) <= WINDOW_WORDS:
        return [clause]
    step = WINDOW_WORDS - 10  # a little overlap, so no phrase is cut in two unread
    return [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, len(words) - 10, step)]


def windows(text: str) -> list[str]:
    """What the screen reads of one message: the whole of a short one; for a long one,
    overlapping runs of whole clauses (each window starts one clause after the last)."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if not text:
        return [""]
    if len(text.split()) <= WHOLE_MESSAGE_WORDS:
        return [" ".join(text.split())]
    pieces = [chunk for clause in clauses(text) for chunk in _chunks_of(clause)]
    out: list[str] = []
    start = 0
    while start < len(pieces):
        end, words = start, 0
        while end < len(pieces) and (words == 0 or words + len(pieces[end].split()) <= WINDOW_WORDS):
            words += len(pieces[end].split())
            end += 1
        out.append(" ".join(pieces[start:end]))
        if end >= len(pieces):
            break
        start = max(start + 1, end - 1)  # the next window repeats this one's last clause
    if len(out) > MAX_WINDOWS:
        head = MAX_WINDOWS * 2 // 3
        out = out[:head] + out[-(MAX_WINDOWS - head) :]
    return out
