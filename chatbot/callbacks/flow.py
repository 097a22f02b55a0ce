"""The callback form's steps, and the request that is stored when it is complete."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

from chatbot.callbacks.phone import read_phone
from chatbot.callbacks.store import CallbackRequest, CallbackStore, CallbackStoreError
from chatbot.form_steps import Step, answer_first, ask_again, keep, looks_like_question
from chatbot.replies import Reply, call_buttons
from chatbot.reply_kinds import ReplyKind
from chatbot.settings import Settings

MAX_NAME = 80
MAX_TIME = 120
EXCERPT_MESSAGES = 8
EXCERPT_CHARS = 300
_NAME_LEAD = re.compile(
    r"^\s*(?:my name is|my name's|name is|i am|i'm|im|it's|its|this is|call me)\s+", re.IGNORECASE
)


def name_step(text: str) -> Step:
    if looks_like_question(text):
        return answer_first(text)
    name = _NAME_LEAD.sub("", (text or "").strip()).strip(" .!,")
    if not re.search(r"[^\W\d_]", name):
        return ask_again('I need a name the nurse can ask for, like "Maria" or "John Smith".')
    if len(name) > MAX_NAME:
        return ask_again(f"That is longer than a name ({MAX_NAME} characters at most).")
    return keep(name)


def phone_step(text: str, settings: Settings) -> Step:
    if looks_like_question(text) and not any(ch.isdigit() for ch in text):
        return answer_first(text)
    reading = read_phone(text, settings.callback_region)
    if reading.e164 is None:
        return ask_again(reading.problem or "")
    return keep(reading.e164)


def time_step(text: str) -> Step:
    value = (text or "").strip()
    if looks_like_question(value):
        return answer_first(value)
    if not re.search(r"[^\W_]", value):
        return ask_again('Please tell me when suits you, like "this afternoon" or "any time".')
    return keep(value[:MAX_TIME])


def looks_like_phone(text: str) -> bool:
    """Seven or more digits: a phone number, never a pain score or a time."""
    return sum(ch.isdigit() for ch in text or "") >= 7


def phone_with_no_request(settings: Settings, earlier_escalation: str | None) -> Reply:
    """A phone number typed when no call back was being arranged."""
    if earlier_escalation in ("emergency", "crisis"):
        return Reply(ReplyKind.RE_ASK, text=(
            "I can't arrange a call back after the advice I gave: a nurse's call would come too late. "
            f"Please call {settings.emergency_number} now, or go to the nearest emergency department."
        ), buttons=[{"title": f"Call {settings.emergency_number} now",
                     "payload": f"tel:{settings.emergency_tel}"}])
    return Reply(ReplyKind.RE_ASK, text=(
        "That looks like a phone number, but I wasn't arranging a call. If you'd like a nurse to "
        "call you back, tap the button and I'll ask for your name, number and a good time."
    ), buttons=[{"title": "Ask a nurse to call me", "payload": "/request_callback"}])


def reason(earlier_escalation: str | None, last_reply_kind: str | None) -> str:
    if earlier_escalation == "urgent":
        return "urgent advice given in the chat"
    if earlier_escalation == "emergency":
        return "emergency advice given in the chat"
    if last_reply_kind == str(ReplyKind.NO_ANSWER):
        return "the assistant had no answer"
    return "patient asked for a call"


# Button payloads as the nurse should read them (the patient tapped, not typed, these).
TAPPED = {"/request_callback": "(tapped: Ask a nurse to call me)",
          "/start_pain_diary": "(tapped: Start my pain diary)",
          "/check_yes": "(tapped: Yes)", "/check_no": "(tapped: No)", "/check_unsure": "(tapped: Not sure)"}


def _readable(text: str) -> str:
    if text.startswith("/"):
        return TAPPED.get(text.split("{", 1)[0].strip(), f"(tapped a button: {text.lstrip('/')})")
    return text


def _cut(text: str) -> str:
    """At most EXCERPT_CHARS, cut at a word and marked, never mid-word (nurse trial)."""
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def excerpt(messages: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The last messages before the request: (who, text) -> [{"who", "text"}], cut short."""
    kept = [(who, (text or "").strip()) for who, text in messages if (text or "").strip()]
    return [{"who": who, "text": _cut(_readable(text))} for who, text in kept[-EXCERPT_MESSAGES:]]


def change_started(reference: str | None) -> Reply:
    if reference:
        text = (f"OK, let's take your call-back request again with the right details. The nurse will "
                f"see that it replaces {reference}.")
    else:
        text = "OK, let's take your call-back request with the right details."
    return Reply(ReplyKind.FORM_QUESTION, text=text)


def submit(request: CallbackRequest, store: CallbackStore, settings: Settings,
           replaces: str | None = None, advice: str | None = None) -> tuple[Reply, str | None]:
    """Store first; only then tell the patient it is received. Returns (reply, id). A
    request that replaces an earlier one marks that one done ("replaced by ...")."""
    try:
        callback_id = store.add(request)
    except CallbackStoreError:
        return Reply(
            ReplyKind.CALLBACK_NOT_SAVED,
            text=(
                "I'm sorry, I couldn't save your request just now. Please call "
                f"{settings.clinic_name} at {settings.clinic_phone}. If it is an emergency, "
                f"call {settings.emergency_number} now."
            ),
            buttons=call_buttons(settings),
        ), None
    if replaces:
        # Saved either way; if the old one cannot be marked, the nurse sees both.
        with contextlib.suppress(CallbackStoreError):
            store.mark_done(replaces, by="the patient (in the chat)", outcome=f"replaced by {callback_id}")
    replacing = f", replacing {replaces}" if replaces else ""
    saved = (f"Thank you, {request.name}. Your request is saved (reference {callback_id}{replacing}). "
             f"A nurse from {settings.clinic_name} will call {request.phone_display} ({request.best_time}), "
             f"during opening hours ({settings.clinic_hours}).")
    if advice == "urgent":
        # The call is never instead of the urgent advice: patients read "saved" as "wait for it".
        after = (" This call is not instead of being checked: what you described should be checked today. "
                 f"Please call the clinic today at {settings.clinic_phone}, or go to urgent care if it is "
                 f"closed; do not wait for the nurse's call. If it gets worse quickly, call "
                 f"{settings.emergency_number}.")
    else:
        after = (f" If your symptoms get worse before then, call the clinic at {settings.clinic_phone}, or "
                 f"urgent care if it is closed; in an emergency call {settings.emergency_number}.")
    return Reply(
        ReplyKind.CALLBACK_RECEIVED,
        text=saved + after,
        buttons=call_buttons(settings),
        data={"reference": callback_id},
    ), callback_id
