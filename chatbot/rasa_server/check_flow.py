"""Check questions in a conversation, read from the tracker, inside the Rasa server.

When the learned screen is unsure, the triage component sets the intent `triage_check` and
lists the candidate questions (most urgent first) in the message's triage summary. This
module works out, from the events alone (so it survives reloads and restarts and needs no
action server):

- which check questions were asked already in this conversation (never ask one twice);
- which one to ask next for the message that raised it (after a "No", the next
  candidate, as nurses ask from the most urgent question down);
- what a "Yes" / "Not sure" escalates to (the question's level; the crisis reply for the
  self-harm question), and which message a "No" should be answered for.

The policy (safety_policy) and the response generator (nlg) call the same functions, so
the question the patient sees is the one the policy chose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rasa.shared.core.events import ActionExecuted, Event, UserUttered

from chatbot import triage
from chatbot.triage.catalogue import CheckQuestion
from chatbot.triage.concepts import SELF_HARM

CHECK_INTENT = "triage_check"
CHECK_RESPONSE = "utter_triage_check"
ANSWERS = {"check_yes": "yes", "check_unsure": "unsure", "check_no": "no"}


@dataclass(frozen=True)
class AskedCheck:
    check: CheckQuestion
    origin: UserUttered  # the patient message that raised it


def _summary(event: UserUttered) -> dict[str, Any]:
    summary = (event.parse_data or {}).get("triage")
    if isinstance(summary, dict) and "check_candidates" in summary:
        return summary
    # Not stored with the event (Rasa's story tests keep no parse data): decide again from
    # the text, with the same rules and screen; the result is the same.
    return _decided_again(event.text or "")


@lru_cache(maxsize=256)
def _decided_again(text: str) -> dict[str, Any]:
    from chatbot.screen.decide import decide
    from chatbot.screen.model import default_screen
    from chatbot.triage.language import language_of

    decision = decide(text, screen=default_screen())
    return {"level": decision.level, "check_candidates": [c.check_id for c in decision.candidates],
            "language": language_of(text)}


def _intent(event: UserUttered) -> str | None:
    return (event.intent or {}).get("name")


def candidates(event: UserUttered) -> list[CheckQuestion]:
    catalogue = triage.default_catalogue()
    found = (
        catalogue.check_by_id(str(check_id)) for check_id in _summary(event).get("check_candidates") or []
    )
    return [check for check in found if check is not None]


def _replay(events: Iterable[Event]) -> tuple[list[AskedCheck], UserUttered | None]:
    """Every check asked so far (in order), and the latest message that raised one."""
    asked: list[AskedCheck] = []
    origin: UserUttered | None = None
    for event in events:
        if isinstance(event, UserUttered) and _intent(event) == CHECK_INTENT:
            origin = event
        elif isinstance(event, ActionExecuted) and event.action_name == CHECK_RESPONSE and origin is not None:
            check = _next_for(origin, {a.check.check_id for a in asked})
            if check is not None:
                asked.append(AskedCheck(check, origin))
    return asked, origin


def _next_for(origin: UserUttered, asked_ids: set[str]) -> CheckQuestion | None:
    return next((c for c in candidates(origin) if c.check_id not in asked_ids), None)


def asked_checks(events: Iterable[Event]) -> list[AskedCheck]:
    return _replay(events)[0]


def next_check(events: list[Event]) -> CheckQuestion | None:
    """The question to ask now for the latest message that raised one, if any is left."""
    asked, origin = _replay(events)
    if origin is None:
        return None
    return _next_for(origin, {a.check.check_id for a in asked})


def pending(events: list[Event]) -> AskedCheck | None:
    """The check question the patient's latest message answers: the assistant's last
    reply before that message was a check question."""
    last_user = max((i for i, e in enumerate(events) if isinstance(e, UserUttered)), default=-1)
    for event in reversed(events[:last_user]):
        if isinstance(event, UserUttered):
            return None
        if isinstance(event, ActionExecuted) and event.action_name not in (
            "action_listen",
            "action_extract_slots",
            None,
        ):
            if event.action_name != CHECK_RESPONSE:
                return None
            asked = asked_checks(events[:last_user])
            return asked[-1] if asked else None
    return None


def answer_of(event: UserUttered) -> str | None:
    """'yes', 'unsure' or 'no' for a check answer (button or typed), else None."""
    return ANSWERS.get(_intent(event) or "")


def level_without_yes(origin: UserUttered) -> str:
    """What the message gets when every question is answered "no": its own level
    (routine: the answer; urgent: the urgent advice, when only an emergency was in doubt)."""
    level = _summary(origin).get("level")
    return level if level in ("urgent", "emergency") else "routine"


def is_self_harm(check: CheckQuestion) -> bool:
    return SELF_HARM in check.concepts


def language_of_origin(events: list[Event]) -> str | None:
    """The language of the message a check question is about ('es' or 'en')."""
    _asked, origin = _replay(events)
    if origin is None:
        return None
    return _summary(origin).get("language")
