"""Rasa NLU component: red-flag triage on every message, inside the Rasa server.

It runs last in the pipeline, so whatever intent the classifier picked, a message with a
red flag becomes red_flag_emergency / red_flag_urgent / red_flag_urgent_after_hours, and
rules answer those with domain responses. That path needs no action server. The
classifier's own guess is kept in ``parse_data["triage"]["model_intent"]`` so the
retrieval action can still answer a question asked in the same message.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot import triage
from chatbot.escalation import RED_FLAG_INTENTS, RESPONSE_TO_INTENT, escalation_response
from chatbot.settings import Settings, get_settings

log = logging.getLogger(__name__)


def triage_intent(text: str, settings: Settings) -> tuple[str | None, dict[str, Any]]:
    """The red-flag intent for a message (None if routine) and the triage summary."""
    result = triage.classify(text)
    summary = {"level": result.level, "reasons": result.reasons}
    if result.level == "routine":
        return None, summary
    return RESPONSE_TO_INTENT[escalation_response(result.level, text, settings, None)], summary


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class RedFlagTriage(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagTriage:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        settings = get_settings()
        for message in messages:
            self._triage(message, settings)
        return messages

    @staticmethod
    def _triage(message: Message, settings: Settings) -> None:
        text = message.get(TEXT) or ""
        predicted = message.get(INTENT) or {}
        try:
            red_flag_intent, summary = triage_intent(text, settings)
        except Exception:  # triage must never take the conversation down
            log.exception("Red-flag triage failed; keeping the classifier's intent")
            return
        model_intent = predicted.get(INTENT_NAME_KEY)
        summary["model_intent"] = model_intent
        message.set("triage", summary, add_to_output=True)
        if red_flag_intent is not None:
            _override_intent(message, red_flag_intent)
        elif model_intent in RED_FLAG_INTENTS:
            # Triage reads negation ("no fever") and time; the classifier does not.
            _override_intent(message, "report_symptom")


def _override_intent(message: Message, intent: str) -> None:
    message.set(INTENT, {INTENT_NAME_KEY: intent, "confidence": 1.0}, add_to_output=True)
    ranking = [
        entry for entry in message.get(INTENT_RANKING_KEY) or []
        if entry.get(INTENT_NAME_KEY) != intent
    ]
    message.set(
        INTENT_RANKING_KEY, [{INTENT_NAME_KEY: intent, "confidence": 1.0}, *ranking],
        add_to_output=True,
    )
