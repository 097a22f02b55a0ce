"""Rasa NLU components (run by the Rasa server) that keep the classifier to the rules:

- MessageLengthGuard: the NLU reads the first 2,000 characters; triage reads them all.
- StopOnlyWhenSaid: stop_form only when the words say stop ("asap" never drops a call back).
- NegatedProcedure: "a facet joint injection, not trigger point" names one procedure.
- QuestionFirst: a message that names the procedure and asks something is a question
  ("I had a facet injection this morning - how long will the numbness last?").
- UnreadableMessageGuard: "", "   " or "😀😀" go to the fallback, which asks for a question.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from chatbot.message_checks import asked_part, has_readable_text, says_stop


class _Stateless(GraphComponent):
    """A component with nothing to train or keep."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _Stateless:
        return cls()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class UnreadableMessageGuard(_Stateless):
    """The classifier always picks some intent, even for an empty message; a greeting in
    reply would be confusing."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not has_readable_text(message.get(TEXT) or ""):
                message.set(
                    INTENT,
                    {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0},
                    add_to_output=True,
                )
        return messages


# The NLU featurizers (character n-grams above all) grow faster than the text: a 60 KB
# message took 29 s and 10.8 GB. They read at most this many characters; triage reads the
# whole message (up to its own cap, chatbot.triage.levels) from FULL_TEXT.
NLU_MAX_CHARS = 2000
FULL_TEXT = "full_text"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class MessageLengthGuard(_Stateless):
    """First in the pipeline: keeps the whole text for triage, gives the NLU the start."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if len(text) > NLU_MAX_CHARS:
                message.set(FULL_TEXT, text)
                message.set(TEXT, text[:NLU_MAX_CHARS])
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        return training_data  # training examples are short; nothing to cut


STATEMENT_INTENT = "inform_procedure"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class QuestionFirst(_Stateless):
    """The NLU's rule (data/nlu.yml): a question goes to its ask_* intent even when the
    procedure is named with it. When the classifier still says inform_procedure but the
    message asks something, the best question intent in its own ranking is taken; the
    procedure and time entities are kept, so the slot is set and the question answered."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != STATEMENT_INTENT or not asked_part(message.get(TEXT) or ""):
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            question = next((r for r in ranking if str(r.get(INTENT_NAME_KEY, "")).startswith("ask_")), None)
            if question is not None:  # as sure as the classifier was of the statement
                chosen = {INTENT_NAME_KEY: question[INTENT_NAME_KEY], "confidence": intent.get("confidence")}
                message.set(INTENT, chosen, add_to_output=True)
        return messages


STOP_INTENT = "stop_form"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class StopOnlyWhenSaid(_Stateless):
    """A form is stopped only when the patient says so (chatbot.message_checks.says_stop).
    When the classifier says stop_form for other words ("asap" as the time to call), its
    next guess is taken, so a form reads the words as the answer they are."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            text = message.get(TEXT) or ""
            if intent.get(INTENT_NAME_KEY) != STOP_INTENT or text.startswith("/") or says_stop(text):
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                       if r.get(INTENT_NAME_KEY) not in (STOP_INTENT, DEFAULT_NLU_FALLBACK_INTENT_NAME)]
            chosen = ranking[0] if ranking else {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                                                 "confidence": intent.get("confidence")}
            message.set(INTENT, {INTENT_NAME_KEY: chosen[INTENT_NAME_KEY],
                                 "confidence": chosen.get("confidence")}, add_to_output=True)
        return messages


_NEGATION_BEFORE = re.compile(r"\b(?:not|no|isn'?t|wasn'?t|not a|not the|never)\s+(?:an?\s+|the\s+|my\s+)?$",
                              re.IGNORECASE)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class NegatedProcedure(_Stateless):
    """ "I had a facet joint injection, not trigger point": the procedure after "not" is
    the one the patient did NOT have; it must not set the procedure slot."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = message.get(ENTITIES) or []
            kept = [e for e in entities
                    if not (e.get(ENTITY_ATTRIBUTE_TYPE) == "procedure"
                            and _NEGATION_BEFORE.search(text[: int(e.get("start") or 0)]))]
            if len(kept) != len(entities):
                message.set(ENTITIES, kept, add_to_output=True)
        return messages
