"""Thin rasa-sdk actions: read the tracker, call `chatbot`, send the replies."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot import log_privacy
from chatbot.answers import Turn, frame_after
from chatbot.escalation import CRISIS_RESPONSE, RED_FLAG_INTENTS, level_of_response
from chatbot.replies import Reply
from chatbot.reply_kinds import ReplyKind
from chatbot.retrieval.frame import Frame
from chatbot.retrieval.service import IndexUnavailableError, KnowledgeService
from chatbot.settings import get_settings
from chatbot.triage.conversation import hours_from_history

log_privacy.install()  # no log line of this server may hold patient text
log = logging.getLogger(__name__)
_assistant: KnowledgeService | None = None
_assistant_lock = threading.Lock()


def _log_chatbot_messages() -> None:
    """Sanic runs the actions in a worker process without rasa_sdk's log handler; give
    chatbot's messages (page reloads, broken pages) timestamped lines with their level."""
    chatbot_log = logging.getLogger("chatbot")
    if logging.getLogger().handlers or chatbot_log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)-8s %(name)s  - %(message)s", "%Y-%m-%d %H:%M:%S"))
    chatbot_log.addHandler(handler)
    chatbot_log.setLevel(logging.INFO)


def assistant() -> KnowledgeService:
    """Load the model and index once per action server process (called off the loop)."""
    global _assistant
    with _assistant_lock:
        if _assistant is None:
            _log_chatbot_messages()
            _assistant = KnowledgeService(get_settings())
        return _assistant


def answer(turn: Turn) -> list[Reply]:
    return assistant().reply(turn)


def _user_messages(tracker: Tracker) -> list[tuple[str, float]]:
    return [
        (event.get("text") or "", float(event.get("timestamp") or 0.0))
        for event in tracker.events
        if event.get("event") == "user"
    ]


def escalations(tracker: Tracker) -> tuple[bool, str | None]:
    """(escalated for the latest message, highest level escalated before it: 'crisis' for
    the crisis reply, then 'emergency', then 'urgent')."""
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    now, before = False, set()
    for index, event in enumerate(events):
        name = event.get("name") or "" if event.get("event") == "action" else ""
        level = level_of_response(name)
        if level is None:
            continue
        if index > last_user:
            now = True
        else:
            before.add("crisis" if name == CRISIS_RESPONSE else level)
    earlier = next((level for level in ("crisis", "emergency", "urgent") if level in before), None)
    return now, earlier


CHECK_ANSWERS = frozenset({"check_yes", "check_no", "check_unsure"})


def check_origin(tracker: Tracker) -> dict[str, Any] | None:
    """For a "No" to a check question (the assistant's last reply): the patient message
    the question was about. None when the latest message answers no question."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    before = [e for e in events[:last_user] if e.get("event") in ("user", "action")
              and e.get("name") not in ("action_listen", "action_extract_slots")]
    if not before or before[-1].get("name") != "utter_triage_check":
        return None
    for event in reversed(events[:last_user]):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("intent", {}).get(
                "name") == "triage_check":
            return event
    return None


def answerable_intent(model_intent: str | None) -> str | None:
    """The NLU's intent for a message that triage (rules and screen) did not escalate. The
    NLU's own red-flag guess is not a decision: it would silence the answer, so the message
    is answered as a symptom report."""
    return "report_symptom" if model_intent in RED_FLAG_INTENTS else model_intent


def turn_from_tracker(tracker: Tracker) -> Turn:
    latest = tracker.latest_message or {}
    messages = _user_messages(tracker)
    now = datetime.now(timezone.utc)
    hours = hours_from_history(messages[:-1], messages[-1][1]) if len(messages) > 1 else None
    escalated_now, earlier = escalations(tracker)
    message = messages[-1][0] if messages else latest.get("text") or ""
    intent = (latest.get("intent") or {}).get("name")
    summary = latest.get("triage") or {}
    # A red-flag intent with no escalation this turn: the safety-net policy read a typed
    # "no" to a check question (chatbot.rasa_server.safety_policy.typed_no_to_a_check).
    answered = intent in CHECK_ANSWERS or (intent in RED_FLAG_INTENTS and not escalated_now)
    origin = check_origin(tracker) if answered else None
    if origin is not None:  # "No" to a check question: answer the message it was about
        message = origin.get("text") or ""
        summary = (origin.get("parse_data") or {}).get("triage") or {}
        intent = answerable_intent(summary.get("model_intent"))
    elif intent == "triage_check":  # every check question was asked already: answer as usual
        intent = answerable_intent(summary.get("model_intent"))
    return Turn(
        # The user event holds the whole text; the NLU's copy is cut for long messages.
        message=message,
        intent=intent,
        model_intent=summary.get("model_intent"),
        procedure=tracker.get_slot("procedure"),
        hours_since_injection=hours,
        now=now,
        escalated_now=escalated_now,
        earlier_escalation=earlier,
        previous=tuple(text for text, _ in messages[:-1][-2:]),
        frame=Frame(tracker.get_slot("frame_procedure"), tracker.get_slot("frame_topic"),
                    tracker.get_slot("frame_section")),
    )


def frame_events(replies: list[Reply]) -> list[dict[str, Any]]:
    """The new frame after an answer: what it was about (chatbot.retrieval.frame)."""
    frame = frame_after(replies)
    if frame is None:
        return []
    return [SlotSet("frame_procedure", frame.procedure), SlotSet("frame_topic", frame.topic),
            SlotSet("frame_section", frame.section)]


def unavailable() -> Reply:
    settings = get_settings()
    return Reply(ReplyKind.UNAVAILABLE, text=(
        "Sorry, I can't look that up right now. Please call "
        f"{settings.clinic_name} at {settings.clinic_phone} and the care team can help. "
        f"If it is an emergency, call {settings.emergency_number} now."
    ))


def send(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    for reply in replies:
        if reply.response:
            dispatcher.utter_message(response=reply.response)
        else:
            dispatcher.utter_message(text=reply.text, buttons=reply.buttons, json_message=reply.payload())


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            turn = turn_from_tracker(tracker)
            # Embedding and search block; run them in a thread so other patients are not held up.
            replies = await asyncio.to_thread(answer, turn)
        except IndexUnavailableError as error:  # its text names folders, never a message
            log.error("Answering failed: %s; sending the safe reply", error.one_line())
            replies = [unavailable()]
        except Exception as error:  # never a 500 (whose body would echo the tracker)
            log.error("Answering failed (%s); sending the safe reply", type(error).__name__)
            replies = [unavailable()]
        send(dispatcher, replies)
        return frame_events(replies)
