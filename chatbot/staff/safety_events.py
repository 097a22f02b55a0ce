"""What the safety side of the chat did in a period, for the top of the staff reports.

- Crisis replies: conversations where a patient wrote about thoughts of suicide or
  self-harm and got the crisis line. Listed first, by time, with the hashed patient
  reference only: staff open the conversation from there; the report holds no words.
- Check questions: each time the learned triage screen was unsure and asked "is any of
  this happening now?", which question, what the patient answered (yes, no, not sure, or
  a new message instead), and the message that raised it (its origin). Origins answered
  "No" are candidates for routine examples in data/triage, origins answered "Yes" for
  red-flag examples (docs/STAFF.md, "The learned screen").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from chatbot.patient_ref import patient_ref

ANSWERS = {"check_yes": "yes", "check_no": "no", "check_unsure": "not sure"}


class _Event(Protocol):
    @property
    def sender_id(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    @property
    def timestamp(self) -> float: ...
    @property
    def intent_name(self) -> str | None: ...
    @property
    def data(self) -> str | None: ...


@dataclass(frozen=True)
class Crisis:
    patient: str  # hashed sender id
    timestamp: float


@dataclass(frozen=True)
class CheckAsked:
    check: str  # the check question's id in knowledge/triage/red-flags.md
    origin: str  # the patient message that raised it
    answer: str  # yes | no | not sure | new message | no reply
    patient: str
    timestamp: float


def _json(data: str | None) -> dict[str, Any]:
    try:
        value = json.loads(data or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _custom(data: dict[str, Any]) -> dict[str, Any]:
    inner = data.get("data")
    custom = inner.get("custom") if isinstance(inner, dict) else None
    return custom if isinstance(custom, dict) else {}


def _intent(event: _Event, data: dict[str, Any]) -> str | None:
    return event.intent_name or ((data.get("parse_data") or {}).get("intent") or {}).get("name")


def find_safety_events(events: Iterable[_Event], until: float) -> tuple[list[Crisis], list[CheckAsked]]:
    """Crisis replies and check questions sent before `until` (events per sender, in order)."""
    crises: list[Crisis] = []
    checks: list[CheckAsked] = []
    sender: str | None = None
    last_text = ""
    open_check: tuple[str, str, str, float] | None = None  # check id, origin, patient, time

    def close(answer: str) -> None:
        nonlocal open_check
        if open_check is not None:
            check, origin, patient, timestamp = open_check
            checks.append(CheckAsked(check, origin, answer, patient, timestamp))
            open_check = None

    for event in events:
        if event.sender_id != sender:
            close("no reply")
            sender, last_text = event.sender_id, ""
        data = _json(event.data)
        if event.type_name == "user":
            answer = ANSWERS.get(_intent(event, data) or "")
            if open_check is not None:
                close(answer or "new message")
            if answer is None:
                text = data.get("text")
                last_text = text.strip() if isinstance(text, str) else ""
            continue
        if event.type_name != "bot" or event.timestamp >= until:
            continue
        custom = _custom(data)
        if custom.get("kind") == "escalation" and custom.get("topic") == "self_harm":
            if (
                not crises
                or crises[-1].patient != patient_ref(event.sender_id)
                or event.timestamp - crises[-1].timestamp > 3600
            ):
                crises.append(Crisis(patient_ref(event.sender_id), event.timestamp))
        elif custom.get("kind") == "check":
            close("new message")
            open_check = (
                str(custom.get("check") or "?"),
                last_text,
                patient_ref(event.sender_id),
                event.timestamp,
            )
    close("no reply")
    return sorted(crises, key=lambda c: c.timestamp), checks
