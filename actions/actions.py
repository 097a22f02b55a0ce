"""Thin rasa-sdk actions: read the tracker, call `chatbot`, send the replies."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.answers import Turn
from chatbot.assistant import Assistant
from chatbot.settings import get_settings
from chatbot.timeparse import hours_ago

log = logging.getLogger(__name__)
_assistant: Assistant | None = None
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


def assistant() -> Assistant:
    """Load the model and index once per action server process (called off the loop)."""
    global _assistant
    with _assistant_lock:
        if _assistant is None:
            _log_chatbot_messages()
            _assistant = Assistant(get_settings())
        return _assistant


def answer(turn: Turn) -> list:
    return assistant().reply(turn)


def hours_since_injection(tracker: Tracker, now: datetime) -> float | None:
    """From the injection_time slot and when the patient said it."""
    said = tracker.get_slot("injection_time")
    if not said:
        return None
    when_said = now
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        entities = (event.get("parse_data") or {}).get("entities") or []
        if any(entity.get("entity") == "injection_time" for entity in entities):
            timestamp = event.get("timestamp") or now.timestamp()
            when_said = datetime.fromtimestamp(timestamp, timezone.utc)
            break
    hours = hours_ago(said, now=when_said)
    if hours is None:
        return None
    return hours + max(0.0, (now - when_said).total_seconds() / 3600)


def turn_from_tracker(tracker: Tracker) -> Turn:
    latest = tracker.latest_message or {}
    now = datetime.now(timezone.utc)
    return Turn(
        message=latest.get("text") or "",
        intent=(latest.get("intent") or {}).get("name"),
        model_intent=(latest.get("triage") or {}).get("model_intent"),
        procedure=tracker.get_slot("procedure"),
        hours_since_injection=hours_since_injection(tracker, now),
        now=now,
    )


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = turn_from_tracker(tracker)
        # Embedding and search block; run them in a thread so other patients are not held up.
        replies = await asyncio.to_thread(answer, turn)
        for reply in replies:
            if reply.response:
                dispatcher.utter_message(response=reply.response)
            else:
                dispatcher.utter_message(text=reply.text, json_message=reply.payload())
        return []
