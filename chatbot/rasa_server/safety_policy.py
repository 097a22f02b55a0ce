"""Rasa policy: red-flag triage that sees the conversation, inside the Rasa server.

The NLU component (chatbot.rasa_server.triage_component) reads one message alone. This policy reads the
tracker, so two things work without the action server:

- Time since the injection said earlier: "I had my facet injection 3 days ago", then
  "my leg is still numb" is past the numbness window and gets the urgent reply.
- After an escalation, a message that asks to wait or to self-treat instead ("can I just
  take tylenol and wait until Monday?") gets the same escalation again.
- Check questions (chatbot.rasa_server.check_flow): when the learned screen is unsure it
  asks one; "Yes" or "Not sure" gets the question's escalation, "No" the next question
  for that message or else the answer the message would have got. A question is never
  asked twice in a conversation; a new message instead of an answer is triaged afresh.

It outranks the rules (priority 7 > RulePolicy's 6) only when it has something to say;
otherwise it predicts nothing and the rules and stories decide. If it fails it logs the
error type (never the text) and stays silent: message-level red flags are still
escalated by the rules.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_DEACTIVATE_LOOP_NAME, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot import triage
from chatbot.escalation import ESCALATION_RESPONSES, RED_FLAG_INTENTS, escalation_response, level_of_response
from chatbot.rasa_server import check_flow
from chatbot.settings import get_settings
from chatbot.triage.conversation import asks_to_wait, hours_from_history

log = logging.getLogger(__name__)
ANSWER_ACTION = "action_answer_question"


def hours_since_injection(tracker: DialogueStateTracker) -> float | None:
    """What earlier messages said about when the injection was, up to now."""
    user_events = [e for e in tracker.events if isinstance(e, UserUttered)]
    if len(user_events) < 2:
        return None
    earlier = [(event.text or "", event.timestamp) for event in user_events[:-1]]
    return hours_from_history(earlier, user_events[-1].timestamp)


CALLBACK_INTENT = "request_callback"


def emergency_advice_given(tracker: DialogueStateTracker) -> str | None:
    """The emergency reply given earlier in the conversation (utter_crisis or
    utter_emergency), if any: the latest one."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and level_of_response(event.action_name or "") == "emergency":
            return event.action_name
    return None


def earlier_escalation(tracker: DialogueStateTracker) -> str | None:
    """'emergency' or 'urgent': the highest escalation sent before the latest message."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if isinstance(e, UserUttered)), default=-1)
    levels = {
        level_of_response(event.action_name or "")
        for event in events[:last_user]
        if isinstance(event, ActionExecuted)
    }
    return "emergency" if "emergency" in levels else "urgent" if "urgent" in levels else None


# What a form's patient is told when emergency advice stops it (domain.yml).
FORM_STOPPED_FOR_EMERGENCY = {
    "callback_form": "utter_callback_stopped_for_emergency",
    "pain_diary_form": "utter_diary_paused_for_emergency",
    "diary_entry_form": "utter_diary_paused_for_emergency",
}


def stopped_form(tracker: DialogueStateTracker) -> str | None:
    """The form that was running before the latest deactivation."""
    for event in reversed(tracker.events):
        if isinstance(event, ActiveLoop) and event.name:
            return event.name
    return None


_BOOKKEEPING = frozenset({ACTION_LISTEN_NAME, "action_extract_slots", "action_session_start"})


def _this_turn(tracker: DialogueStateTracker) -> list[ActionExecuted]:
    """The replies sent since the latest patient message (Rasa's bookkeeping left out)."""
    actions: list[ActionExecuted] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name not in _BOOKKEEPING:
            actions.append(event)
    return list(reversed(actions))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class SafetyNetPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7}

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource  # nothing to learn: the rules are the catalogue's

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        try:
            action = self.next_action(tracker)
        except Exception as error:  # stay silent; the rules still escalate message-level red flags
            log.error("Safety-net policy failed (%s)", type(error).__name__)
            action = None
        if action is not None and action in domain.action_names_or_texts:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    def next_action(self, tracker: DialogueStateTracker) -> str | None:
        message = tracker.latest_message
        if message is None or not message.text:
            return None
        if (message.intent or {}).get("name") in RED_FLAG_INTENTS:
            return None  # already escalated by the NLU component; the rules answer
        turn = _this_turn(tracker)
        ours = [event for event in turn if event.policy == type(self).__name__]
        if not ours:
            return self._first_reply(tracker, message) if not turn else None
        last = turn[-1].action_name or ""
        if last in ESCALATION_RESPONSES:
            intent = (message.intent or {}).get("name")
            if tracker.active_loop_name:  # a form (diary, callback) was interrupted
                if level_of_response(last) == "emergency":
                    return ACTION_DEACTIVATE_LOOP_NAME  # then a word that says it stopped
                return tracker.active_loop_name  # urgent: the form asks its question again
            if check_flow.answer_of(message) is not None or intent == CALLBACK_INTENT:
                return ACTION_LISTEN_NAME  # the escalation is the whole reply
            # Repeated for a wait request: that is the whole answer. Otherwise the rest of
            # the message may hold a question: the answer action answers only that.
            repeated = earlier_escalation(tracker) is not None and asks_to_wait(message.text)
            return ACTION_LISTEN_NAME if repeated else ANSWER_ACTION
        if last == ACTION_DEACTIVATE_LOOP_NAME and any(e.action_name in ESCALATION_RESPONSES for e in turn):
            return FORM_STOPPED_FOR_EMERGENCY.get(stopped_form(tracker) or "", ACTION_LISTEN_NAME)
        if last == ANSWER_ACTION and tracker.active_loop_name:
            return tracker.active_loop_name  # "No" to a check question inside a form: the form goes on
        return ACTION_LISTEN_NAME

    def _first_reply(self, tracker: DialogueStateTracker, message: UserUttered) -> str | None:
        events = list(tracker.events)
        answer = check_flow.answer_of(message)
        asked = check_flow.pending(events) if answer is not None else None
        if asked is not None:
            if answer in ("yes", "unsure"):
                return escalation_response(asked.check.level_if_yes, asked.origin.text or "", get_settings(),
                                           None, self_harm=check_flow.is_self_harm(asked.check))
            if check_flow.next_check(events):
                return check_flow.CHECK_RESPONSE
            return self._without_yes(asked.origin)
        if answer is not None:
            return ANSWER_ACTION  # "yes" or "no" to no question: the answer action says so
        escalation = self._escalation_for(tracker, message.text or "")
        if escalation is not None:
            return escalation
        if (message.intent or {}).get("name") == CALLBACK_INTENT:
            repeat = emergency_advice_given(tracker)
            if repeat is not None:
                return repeat  # a callback would tell them to wait: the emergency advice again
        if (message.intent or {}).get("name") == check_flow.CHECK_INTENT:
            return check_flow.CHECK_RESPONSE if check_flow.next_check(events) else self._without_yes(message)
        return None

    @staticmethod
    def _without_yes(origin: UserUttered) -> str:
        """Every check answered "no" (or none left to ask): the advice the message had
        anyway, else the answer it would have got."""
        level = check_flow.level_without_yes(origin)
        if level == "routine":
            return ANSWER_ACTION
        return escalation_response(level, origin.text or "", get_settings(), None)

    @staticmethod
    def _escalation_for(tracker: DialogueStateTracker, text: str) -> str | None:
        settings = get_settings()
        now = None  # the clinic's hours are checked against the clock
        hours = hours_since_injection(tracker)
        if hours is not None:
            level = triage.classify(text, hours_since_injection=hours).level
            if level != "routine":
                return escalation_response(level, text, settings, now)
        earlier = earlier_escalation(tracker)
        if earlier is not None and asks_to_wait(text):
            return escalation_response(earlier, text, settings, now)
        return None

