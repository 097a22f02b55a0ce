"""Rasa NLU component: red-flag triage on every message, inside the Rasa server.

It runs last in the pipeline, so whatever intent the classifier picked, a message with a
red flag becomes red_flag_emergency / red_flag_urgent / red_flag_urgent_after_hours, and
rules answer those with domain responses. That path needs no action server. The
classifier's own guess is kept in ``parse_data["triage"]["model_intent"]`` so the
retrieval action can still answer a question asked in the same message, and the
message's language in ``parse_data["triage"]["language"]`` (escalations are also said in
Spanish; other Spanish messages get a short Spanish reply, intent message_in_spanish).

Decide, ask or answer (chatbot.screen.decide): the catalogue's rules are hard triggers;
otherwise the learned screen escalates when it is confident, or sets the intent
`triage_check` with the candidate check questions in the triage summary when it is
unsure (the safety-net policy asks them); thoughts of suicide or self-harm get
`red_flag_self_harm` (the crisis reply).

Fails closed. The catalogue, its word groups, the clinic hours and the screen's model
(missing, corrupt, or trained on other data than data/triage) are loaded and checked when
the component is created, that is when the Rasa server loads the model: any problem stops
the server with the file, line and fix. If triage itself fails on one message, the
patient gets the urgent safety reply, never a routine answer, and the log names the error
type, never the message.
"""

from __future__ import annotations

import logging
import re
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
from chatbot.rasa_server.check_flow import ANSWERS, CHECK_INTENT
from chatbot.rasa_server.guards import FULL_TEXT
from chatbot.rasa_server.startup import refuse_to_start
from chatbot.screen.decide import Decision, asked_instead, decide
from chatbot.screen.model import Screen, default_screen
from chatbot.settings import Settings, get_settings
from chatbot.triage.language import language_of

log = logging.getLogger(__name__)
FAILED_SAFE_INTENT = "red_flag_urgent"
# Intents that are answers to the assistant's own question: triage reads them, never overrides them.
_NOT_OVERRIDDEN = frozenset(ANSWERS)
_BUTTON_PAYLOAD = re.compile(r"/[a-z_]+")
# Requests to the assistant itself: when the language model is this sure a message is one
# of them, the screen's doubt does not turn it into a check question ("show me my diary"),
# and an escalation by the screen alone becomes its check questions ("print my diary" read
# as thoughts of self-harm: ask, then print). The rules' escalations always apply.
COMMAND_INTENTS = frozenset({"start_pain_diary", "show_pain_diary", "add_diary_entry", "finish_pain_diary",
                             "change_block_time", "request_callback", "change_callback", "stop_form",
                             "greet", "goodbye",
                             "thanks", "bot_challenge"})
# The diary and call-back work from Spanish words too ("quiero empezar mi diario de dolor");
# other Spanish messages get the Spanish "English only" reply.
SPANISH_COMMANDS = frozenset({"start_pain_diary", "show_pain_diary", "add_diary_entry", "finish_pain_diary",
                              "change_block_time", "request_callback", "change_callback", "stop_form",
                              "going_for_help"})
COMMAND_CONFIDENCE = 0.8


def load_setup() -> tuple[triage.Catalogue, Settings, Screen]:
    """The catalogue (with its word groups), the settings and the learned screen, all
    checked. Raises ChatbotError (CatalogueError, SettingsError, ScreenError) with the
    file, line and fix."""
    catalogue = triage.default_catalogue()
    triage.require_checks(catalogue)
    return catalogue, get_settings(), default_screen()


def summary_of(decision: Decision) -> dict[str, Any]:
    """What the message's parse data carries (read by the policy, the NLG, the actions
    and the staff reports): the decision, never the message."""
    concepts = {name: round(p, 3) for name, p in decision.concepts.items() if p >= 0.05}
    return {
        "level": decision.level,
        "reasons": decision.reasons,
        "decided_by": decision.decided_by,
        "concepts": concepts,
        "self_harm": decision.self_harm,
        "check_candidates": [check.check_id for check in decision.candidates],
    }


def triage_intent(text: str, settings: Settings, command: bool = False) -> tuple[str | None, dict[str, Any]]:
    """The intent triage sets for a message (None: keep the NLU's) and the triage summary.
    `command`: the language model is sure the message is a request to the assistant."""
    decision = decide(text, screen=default_screen())
    asked = asked_instead(decision) if command else decision  # the screen alone does not overrule it
    summary = summary_of(asked)
    if asked is not decision:
        summary["screen_level"] = decision.level  # what it read, for the staff reports
    if asked.decided_by == "check":  # ask first; "no" gets its level (routine or urgent)
        return CHECK_INTENT, summary
    if asked.level != "routine":
        response = escalation_response(asked.level, text, settings, None, self_harm=asked.self_harm)
        return RESPONSE_TO_INTENT[response], summary
    return None, summary


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
        if _BUTTON_PAYLOAD.fullmatch(text.strip()):
            return  # a button's payload ("/check_yes"): Rasa reads the intent from it
        confident = float(predicted.get("confidence") or 0.0) >= COMMAND_CONFIDENCE
        try:
            command = model_intent in COMMAND_INTENTS and confident
            red_flag_intent, summary = triage_intent(text, settings, command)
            language = language_of(text)
        except Exception as error:  # fail safe: the urgent advice, and no patient text logged
            log.error("Red-flag triage failed (%s); sending the urgent safety reply", type(error).__name__)
            red_flag_intent, language = FAILED_SAFE_INTENT, None
            summary = {"level": "urgent", "reasons": [triage.failed_safe().reasons[0]], "failed": True}
        summary["model_intent"] = model_intent
        summary["language"] = language
        message.set("triage", summary, add_to_output=True)
        if model_intent in _NOT_OVERRIDDEN and red_flag_intent in (None, CHECK_INTENT):
            return  # "no" to a check question stays an answer; a red flag in it still escalates
        if red_flag_intent == CHECK_INTENT and model_intent in COMMAND_INTENTS and confident \
                and summary.get("level") == "routine" and "screen_level" not in summary:
            summary["check_candidates"] = []
            summary["decided_by"] = "command"
            return
        if red_flag_intent is not None:
            _override_intent(message, red_flag_intent)
        elif language == "es" and not (model_intent in SPANISH_COMMANDS and confident):
            _override_intent(message, SPANISH_INTENT)
        elif model_intent in RED_FLAG_INTENTS or model_intent in (SPANISH_INTENT, CHECK_INTENT):
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
