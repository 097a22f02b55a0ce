"""Personal details taken out of patients' words before they go into a shared report.

The gaps report needs what patients asked, not who they are: e-mail addresses, phone and
other long numbers, and names (after "my name is", "I'm", "this is", "ask for", or two
capitalised words together) are replaced by [email], [number] and [name]. It errs on the
side of masking: "Riverside Pain" is masked too.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, with the separators phone numbers are written with; or any five.
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_LONG_NUMBER = re.compile(r"\d{5,}")
# "my name is maria": whatever word follows; "I'm Maria": only a capitalised one ("I'm tired").
_NAMED = re.compile(
    r"\b((?i:my name is|my name's|name is|ask for))\s+([A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_INTRO = re.compile(r"\b((?i:this is|i am|i'm|im))\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
# Words of the clinic's world that are capitalised without being names.
_NOT_NAMES = frozenset({
    "I", "Facet", "Joint", "Medial", "Branch", "Block", "Trigger", "Point", "Injection", "MBB", "RFA",
    "Tylenol", "Advil", "Aleve", "Motrin", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday", "Sunday", "Dr", "Doctor", "Nurse", "ER", "OK",
})
_CAPITALISED_PAIR = re.compile(r"\b([A-Z][a-z-]+)\s+([A-Z][a-z-]+)\b")


def mask_personal(text: str) -> str:
    masked = _EMAIL.sub("[email]", text)
    masked = _PHONE.sub(lambda m: "[number]" if sum(ch.isdigit() for ch in m.group()) >= 7 else m.group(),
                        masked)
    masked = _LONG_NUMBER.sub("[number]", masked)
    for pattern in (_NAMED, _INTRO):
        masked = pattern.sub(lambda m: f"{m.group(1)} [name]" if m.group(2) not in _NOT_NAMES else m.group(),
                             masked)
    return _CAPITALISED_PAIR.sub(
        lambda m: m.group() if {m.group(1), m.group(2)} & _NOT_NAMES else "[name]", masked)
