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
  A typed "no ..." ("no i can pee fine, just heavy") answers the question: words the
  learned screen alone would escalate are read as that "no"; the rules still escalate.

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
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot import triage
from chatbot.escalation import ESCALATION_RESPONSES, RED_FLAG_INTENTS, escalation_response, level_of_response
from chatbot.message_checks import typed_no
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


# A request to the assistant whose words the learned screen doubted: after "no" to its
# check questions, what the request's own rule would have done.
REQUESTS = {
    "show_pain_diary": "action_show_diary", "finish_pain_diary": "action_finish_diary",
    "start_pain_diary": "pain_diary_form", "add_diary_entry": "diary_entry_form",
    "change_block_time": "action_change_block_time", "request_callback": "callback_form",
    "change_callback": "action_change_callback",
    "greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_you_are_welcome",
    "bot_challenge": "utter_iamabot", "stop_form": "utter_nothing_to_stop",
}
FORMS = frozenset({"pain_diary_form", "diary_entry_form", "callback_form"})
# Rasa fills the asked slot from any message before a policy speaks, and does not validate
# it after an interruption: this action (actions/forms.py) empties it again, so the form
# asks its question instead of taking "/check_no" as a phone number.
FORGET_ANSWER = "action_forget_interruption"


def offered_request(tracker: DialogueStateTracker) -> str | None:
    """The one request the assistant's last reply offered as a button with a question
    ("Would you like to start one?" [Start my pain diary]), as the action its rule runs;
    None when it asked nothing or offered none or several."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if isinstance(e, UserUttered)), default=-1)
    for event in reversed(events[:last_user]):
        if isinstance(event, UserUttered):
            return None
        if isinstance(event, BotUttered):
            if "?" not in (event.text or ""):
                return None  # an offer is a question: "Would you like to start one?"
            payloads = [str(b.get("payload") or "") for b in (event.data or {}).get("buttons") or []]
            requests = [p[1:] for p in payloads if p.startswith("/") and p[1:] in REQUESTS]
            return REQUESTS[requests[0]] if len(requests) == 1 else None
    return None


def stopped_form(tracker: DialogueStateTracker) -> str | None:
    """The form that was running before the latest deactivation."""
    for event in reversed(tracker.events):
        if isinstance(event, ActiveLoop) and event.name:
            return event.name
    return None


def typed_no_to_a_check(tracker: DialogueStateTracker, message: UserUttered) -> bool:
    """ "no i can pee fine, its not getting worse, just heavy" typed in reply to a check
    question: the patient's "no" answers the question the screen was unsure about. The
    screen's own doubt about these words is that same doubt, so only the rules (the hard
    triggers) may still escalate them: an escalation decided by the screen alone is read
    as the "no" it starts with."""
    summary = (message.parse_data or {}).get("triage") or {}
    return (
        summary.get("decided_by") == "screen"
        and typed_no(message.text or "")
        and check_flow.pending(list(tracker.events)) is not None
    )


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
            # Rasa ranks a rule that does not depend on the patient's words (a running form
            # going on) above any confidence or priority; the safety net must outrank it, or a
            # wait request inside a call-back form would go unanswered.
            return self._prediction(probabilities, is_no_user_prediction=True)
        return self._prediction(probabilities)

    def next_action(self, tracker: DialogueStateTracker) -> str | None:
        message = tracker.latest_message
        if message is None or not message.text:
            return None
        red_flag = (message.intent or {}).get("name") in RED_FLAG_INTENTS
        if red_flag and not typed_no_to_a_check(tracker, message):
            if not _this_turn(tracker):
                higher = self._higher_advice_again(tracker, message)
                if higher is not None:
                    return higher
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
                return FORGET_ANSWER  # urgent: then the form asks its question again
            if check_flow.answer_of(message) is not None or intent == CALLBACK_INTENT:
                return ACTION_LISTEN_NAME  # the escalation is the whole reply
            # Repeated for a wait request: that is the whole answer. Otherwise the rest of
            # the message may hold a question: the answer action answers only that.
            repeated = earlier_escalation(tracker) is not None and asks_to_wait(message.text)
            return ACTION_LISTEN_NAME if repeated else ANSWER_ACTION
        if last == ACTION_DEACTIVATE_LOOP_NAME and any(e.action_name in ESCALATION_RESPONSES for e in turn):
            return FORM_STOPPED_FOR_EMERGENCY.get(stopped_form(tracker) or "", ACTION_LISTEN_NAME)
        if last == ANSWER_ACTION and tracker.active_loop_name:
            return FORGET_ANSWER  # "No" to a check question inside a form: the form goes on
        if last == FORGET_ANSWER and tracker.active_loop_name:
            return tracker.active_loop_name
        if last == "action_change_block_time":
            return "pain_diary_form"  # the block time is asked again
        if last == "action_change_callback":
            return "callback_form"
        if last in FORMS:
            return None  # a form started after a check question: the form rules go on
        return ACTION_LISTEN_NAME

    def _first_reply(self, tracker: DialogueStateTracker, message: UserUttered) -> str | None:
        events = list(tracker.events)
        answer = "no" if typed_no_to_a_check(tracker, message) else check_flow.answer_of(message)
        asked = check_flow.pending(events) if answer is not None else None
        if asked is not None:
            if answer in ("yes", "unsure"):
                return escalation_response(asked.check.level_if_yes, asked.origin.text or "", get_settings(),
                                           None, self_harm=check_flow.is_self_harm(asked.check))
            if check_flow.next_check(events):
                return check_flow.CHECK_RESPONSE
            return self._without_yes(asked.origin)
        if answer is not None and tracker.active_loop_name:
            return None  # no question pending: the form's answer ("Maria Lopez" read as "not sure")
        if answer is not None:
            offered = offered_request(tracker) if answer == "yes" else None
            # "yes" to "Would you like to start one?" [Start my pain diary]: the offer taken
            return offered or ANSWER_ACTION  # else "yes" or "no" to no question: the answer action says so
        escalation = self._escalation_for(tracker, message.text or "")
        if escalation is not None:
            return escalation
        unanswered = check_flow.pending(events)
        if unanswered is not None:
            # A new message instead of "yes" or "no": the advice the first message had
            # anyway (urgent, when only an emergency was in doubt) is never lost.
            level = check_flow.level_without_yes(unanswered.origin)
            if level != "routine":
                return escalation_response(level, unanswered.origin.text or "", get_settings(), None)
        if (message.intent or {}).get("name") == CALLBACK_INTENT:
            repeat = emergency_advice_given(tracker)
            if repeat is not None:
                return repeat  # a callback would tell them to wait: the emergency advice again
        if (message.intent or {}).get("name") == check_flow.CHECK_INTENT:
            if earlier_escalation(tracker) == "emergency":
                return ANSWER_ACTION  # after 911 advice no "is any of this happening?": the answer
            return check_flow.CHECK_RESPONSE if check_flow.next_check(events) else self._without_yes(message)
        return None

    @staticmethod
    def _higher_advice_again(tracker: DialogueStateTracker, message: UserUttered) -> str | None:
        """After emergency advice, a message with a lesser red flag that asks to wait ("its
        not sudden, just when i sit up... can i wait till monday?") gets the emergency
        advice again, not the lesser advice: never a softer answer to a wait request."""
        intent = (message.intent or {}).get("name") or ""
        if intent not in ("red_flag_urgent", "red_flag_urgent_after_hours"):
            return None
        if earlier_escalation(tracker) != "emergency" or not asks_to_wait(message.text or ""):
            return None
        return emergency_advice_given(tracker)

    @staticmethod
    def _without_yes(origin: UserUttered) -> str:
        """Every check answered "no" (or none left to ask): the advice the message had
        anyway, else the answer it would have got."""
        level = check_flow.level_without_yes(origin)
        if level == "routine":
            request = ((origin.parse_data or {}).get("triage") or {}).get("model_intent")
            return REQUESTS.get(str(request), ANSWER_ACTION)  # "print my diary": do it
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

