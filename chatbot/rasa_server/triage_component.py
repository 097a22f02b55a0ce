"""Rasa NLU component: red-flag triage on every message, inside the Rasa server.

It runs last in the pipeline, so whatever intent the classifier picked, a message with a
red flag becomes red_flag_emergency / red_flag_urgent / red_flag_urgent_after_hours, and
rules answer those with domain responses. That path needs no action server. The
classifier's own guess is kept in ``parse_data["triage"]["model_intent"]`` so the
retrieval action can still answer a question asked in the same message, and the
message's language in ``parse_data["triage"]["language"]`` (escalations are also said in
Spanish; other Spanish messages get a short Spanish reply, intent message_in_spanish).

Fails closed. The catalogue, its word groups and the clinic hours are loaded and checked
when the component is created, that is when the Rasa server loads the model: a broken
file or setting stops the server with the file, line and fix. If triage itself fails on
one message, the patient gets the urgent safety reply, never a routine answer, and the
log names the error type, never the message.
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
from chatbot.errors import ChatbotError
from chatbot.escalation import RED_FLAG_INTENTS, RESPONSE_TO_INTENT, SPANISH_INTENT, escalation_response
from chatbot.rasa_server.guards import FULL_TEXT
from chatbot.rasa_server.startup import refuse_to_start
from chatbot.settings import Settings, get_settings
from chatbot.triage.language import language_of

log = logging.getLogger(__name__)
FAILED_SAFE_INTENT = "red_flag_urgent"


def load_setup() -> tuple[triage.Catalogue, Settings]:
    """The catalogue (with its word groups) and the settings, both checked. Raises
    ChatbotError (CatalogueError, SettingsError) with the file, line and fix."""
    return triage.default_catalogue(), get_settings()


def triage_intent(text: str, settings: Settings) -> tuple[str | None, dict[str, Any]]:
    """The red-flag intent for a message (None if routine) and the triage summary."""
    result = triage.classify(text)
    summary: dict[str, Any] = {"level": result.level, "reasons": result.reasons}
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
        try:
            load_setup()
        except ChatbotError as error:
            refuse_to_start("Red-flag triage", error)
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        settings = get_settings()
        for message in messages:
            self._triage(message, settings)
        return messages

    @staticmethod
    def _triage(message: Message, settings: Settings) -> None:
        text = message.get(FULL_TEXT) or message.get(TEXT) or ""  # all of it, not the NLU's cut
        predicted = message.get(INTENT) or {}
        model_intent = predicted.get(INTENT_NAME_KEY)
        try:
            red_flag_intent, summary = triage_intent(text, settings)
            language = language_of(text)
        except Exception as error:  # fail safe: the urgent advice, and no patient text logged
            log.error("Red-flag triage failed (%s); sending the urgent safety reply", type(error).__name__)
            red_flag_intent, language = FAILED_SAFE_INTENT, None
            summary = {"level": "urgent", "reasons": [triage.failed_safe().reasons[0]], "failed": True}
        summary["model_intent"] = model_intent
        summary["language"] = language
        message.set("triage", summary, add_to_output=True)
        if red_flag_intent is not None:
            _override_intent(message, red_flag_intent)
        elif language == "es":
            _override_intent(message, SPANISH_INTENT)
        elif model_intent in RED_FLAG_INTENTS or model_intent == SPANISH_INTENT:
            # Triage reads negation ("no fever") and time; the classifier does not.
            fallback = "report_symptom" if model_intent in RED_FLAG_INTENTS else "out_of_scope"
            _override_intent(message, fallback)


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
