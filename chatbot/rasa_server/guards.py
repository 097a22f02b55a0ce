"""Rasa NLU component: messages with nothing to read go to the fallback.

The classifier always picks some intent, even for "", "   " or "😀😀"; a greeting in reply
to an empty message would be confusing. nlu_fallback goes to the retrieval action, which
asks the patient to type a question.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.message_checks import has_readable_text


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class UnreadableMessageGuard(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnreadableMessageGuard:
        return cls()

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
class MessageLengthGuard(GraphComponent):
    """First in the pipeline: keeps the whole text for triage, gives the NLU the start."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MessageLengthGuard:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if len(text) > NLU_MAX_CHARS:
                message.set(FULL_TEXT, text)
                message.set(TEXT, text[:NLU_MAX_CHARS])
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        return training_data  # training examples are short; nothing to cut
