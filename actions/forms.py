"""Thin rasa-sdk actions for the pain diary and nurse callback forms: read the tracker,
call chatbot.diary / chatbot.callbacks, send the replies, return the slot events."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import answer, check_origin, escalations, send, turn_from_tracker
from chatbot.answers import repeat_advice
from chatbot.callbacks import flow as callback_flow
from chatbot.callbacks.delivery import DeliveryWorker
from chatbot.callbacks.phone import read_phone
from chatbot.callbacks.store import CallbackRequest, CallbackStore
from chatbot.diary import flow as diary_flow
from chatbot.diary import replies as diary_replies
from chatbot.diary.diary import Diary, Entry
from chatbot.diary.flow import is_request_to_add
from chatbot.form_steps import Step
from chatbot.patient_ref import patient_ref
from chatbot.replies import Reply
from chatbot.settings import get_settings

log = logging.getLogger(__name__)
_worker: DeliveryWorker | None = None


def callback_store() -> CallbackStore:
    return CallbackStore(get_settings().callback_db)


def start_delivery() -> DeliveryWorker | None:
    """Requests stored while the clinic's system was down go out once this server runs."""
    global _worker
    url = get_settings().callback_webhook_url
    if url and _worker is None:
        _worker = DeliveryWorker(callback_store(), url).start()
    return _worker


def clinic_now() -> datetime:
    return datetime.now(ZoneInfo(get_settings().clinic_timezone))


def latest_text(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("text") or ""
    return ""


def diary_of(tracker: Tracker) -> Diary | None:
    return Diary.from_slots(
        tracker.get_slot("diary_baseline"),
        tracker.get_slot("diary_block_time"),
        tracker.get_slot("diary_entries"),
    )


def after_advice(replies: list[Reply], tracker: Tracker) -> list[Reply]:
    """After emergency or crisis advice, every reply repeats it and none offers a call
    back (answers add the line themselves; this is for the diary's and forms' replies)."""
    escalated_now, earlier = escalations(tracker)
    if escalated_now or earlier not in ("emergency", "crisis"):
        return replies
    return repeat_advice(replies, earlier, get_settings())


def send_after(dispatcher: CollectingDispatcher, replies: list[Reply], tracker: Tracker) -> None:
    send(dispatcher, after_advice(replies, tracker))


def answers_a_check(tracker: Tracker) -> bool:
    """The latest message answers a check question asked in the middle of a form (the
    safety-net policy handles it); it is not the form's answer."""
    return check_origin(tracker) is not None


async def apply(step: Step, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """Send the step's replies (answering a question asked mid-form first); the slot's value."""
    if answers_a_check(tracker):
        return {slot: None}
    if step.question is not None:
        try:
            send(dispatcher, await asyncio.to_thread(answer, turn_from_tracker(tracker)))
        except Exception as error:  # the form goes on; the question is asked again later
            log.error("Answering inside a form failed (%s)", type(error).__name__)
    send_after(dispatcher, step.replies, tracker)
    return {slot: step.value}


class _DiarySlots:
    """The score before the block and the block time: shared by both diary forms."""

    async def validate_diary_baseline(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"diary_baseline": None}  # cleared this turn ("change my call back"): no answer
        return await apply(diary_flow.baseline_step(str(value)), "diary_baseline", dispatcher, tracker)

    async def validate_diary_block_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"diary_block_time": None}  # cleared this turn ("change my call back"): no answer
        step = diary_flow.block_time_step(str(value), clinic_now())
        return await apply(step, "diary_block_time", dispatcher, tracker)


class ValidatePainDiaryForm(_DiarySlots, FormValidationAction):
    def name(self) -> str:
        return "validate_pain_diary_form"


class ValidateDiaryEntryForm(_DiarySlots, FormValidationAction):
    def name(self) -> str:
        return "validate_diary_entry_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """A number typed with no diary and no question asked ("7", a phone number) does
        not start a diary: action_add_diary_entry says what it can do instead. "Add an
        entry" with no diary starts one (score before the block first)."""
        starting = tracker.get_slot("requested_slot") is None
        if starting and diary_of(tracker) is None and not is_request_to_add(latest_text(tracker)):
            return []
        return domain_slots

    async def validate_diary_entry(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"diary_entry": None}  # cleared this turn ("change my call back"): no answer
        if str(value) != latest_text(tracker):
            return {"diary_entry": None}  # left from an earlier message: ask for a fresh one
        if tracker.get_slot("requested_slot") not in (None, "diary_entry"):
            return {"diary_entry": None}  # "6" answered the question asked (the score before the block)
        step = diary_flow.entry_step(str(value), clinic_now(), diary_of(tracker))
        return await apply(step, "diary_entry", dispatcher, tracker)


def block_time_was_corrected(tracker: Tracker) -> bool:
    """The pain diary form ran because the patient corrected the block time."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_diary_started":
            return False
        if event.get("event") == "action" and event.get("name") == "action_change_block_time":
            return True
    return False


class ActionDiaryStarted(Action):
    def name(self) -> str:
        return "action_diary_started"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        diary = diary_of(tracker)
        if diary is None:
            reply = diary_replies.not_started()
        elif block_time_was_corrected(tracker):
            reply = diary_replies.block_time_changed(diary)
        else:
            reply = diary_replies.started(diary, clinic_now(), get_settings().diary_checkpoints)
        send_after(dispatcher, [reply], tracker)
        return [SlotSet("diary_entry", None)]


class ActionChangeBlockTime(Action):
    """ "The block was at 10, not 9": forget the time; the pain diary form asks it again."""

    def name(self) -> str:
        return "action_change_block_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        if diary_of(tracker) is not None:
            send_after(dispatcher, [diary_replies.block_time_question()], tracker)
        return [SlotSet("diary_block_time", None)]


class ActionFinishDiary(Action):
    def name(self) -> str:
        return "action_finish_diary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        diary = diary_of(tracker)
        reply = diary_replies.finished(diary, patient_ref(tracker.sender_id)) if diary \
            else diary_replies.not_started()
        send_after(dispatcher, [reply], tracker)
        return [SlotSet("diary_entry", None)]


class ActionAddDiaryEntry(Action):
    def name(self) -> str:
        return "action_add_diary_entry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        diary, value = diary_of(tracker), tracker.get_slot("diary_entry")
        if diary is None or not isinstance(value, dict):
            text = latest_text(tracker)
            _, earlier = escalations(tracker)
            reply = (callback_flow.phone_with_no_request(get_settings(), earlier)
                     if callback_flow.looks_like_phone(text) else diary_replies.not_started())
            send_after(dispatcher, [reply], tracker)
            return [SlotSet("diary_entry", None)]
        entry = Entry.from_slot(value)
        diary = diary.with_entry(entry)
        send_after(
            dispatcher,
            [diary_replies.entry_added(diary, entry, clinic_now(), get_settings().diary_checkpoints)],
            tracker,
        )
        return [SlotSet("diary_entries", [e.to_slot() for e in diary.entries]), SlotSet("diary_entry", None)]


class ActionShowDiary(Action):
    def name(self) -> str:
        return "action_show_diary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        diary = diary_of(tracker)
        reference = patient_ref(tracker.sender_id)
        reply = diary_replies.summary(diary, reference) if diary else diary_replies.not_started()
        send_after(dispatcher, [reply], tracker)
        return []


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    async def validate_callback_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"callback_name": None}  # cleared this turn ("change my call back"): no answer
        return await apply(callback_flow.name_step(str(value)), "callback_name", dispatcher, tracker)

    async def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"callback_phone": None}  # cleared this turn ("change my call back"): no answer
        step = callback_flow.phone_step(str(value), get_settings())
        return await apply(step, "callback_phone", dispatcher, tracker)

    async def validate_callback_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"callback_time": None}  # cleared this turn ("change my call back"): no answer
        return await apply(callback_flow.time_step(str(value)), "callback_time", dispatcher, tracker)


def _before_form(tracker: Tracker) -> tuple[list[tuple[str, str]], str | None]:
    """The conversation before the callback form started, and the last reply's kind."""
    events = list(tracker.events)
    start = max(
        (
            i
            for i, e in enumerate(events)
            if e.get("event") == "active_loop" and e.get("name") == "callback_form"
        ),
        default=len(events),
    )
    messages, kind = [], None
    for event in events[:start]:
        if event.get("event") == "user":
            messages.append(("patient", event.get("text") or ""))
        elif event.get("event") == "bot":
            messages.append(("assistant", event.get("text") or ""))
            kind = ((event.get("data") or {}).get("custom") or {}).get("kind") or kind
    return messages, kind


class ActionChangeCallback(Action):
    """ "Change my callback time": the questions again; the new request replaces the saved one."""

    def name(self) -> str:
        return "action_change_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        saved = tracker.get_slot("callback_request")
        reference = saved.get("id") if isinstance(saved, dict) else None
        send_after(dispatcher, [callback_flow.change_started(reference)], tracker)
        return [SlotSet("callback_replaces", reference), SlotSet("callback_name", None),
                SlotSet("callback_phone", None), SlotSet("callback_time", None)]


class ActionForgetInterruption(Action):
    """After the safety net answered a check question or escalated inside a form: the
    message was not the form's answer, so the slot Rasa filled from it is emptied."""

    def name(self) -> str:
        return "action_forget_interruption"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        asked = tracker.get_slot("requested_slot")
        if asked and tracker.get_slot(asked) == latest_text(tracker):
            return [SlotSet(asked, None)]
        return []


class ActionSubmitCallback(Action):
    def name(self) -> str:
        return "action_submit_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        settings = get_settings()
        messages, last_kind = _before_form(tracker)
        _, earlier = escalations(tracker)
        phone = read_phone(str(tracker.get_slot("callback_phone") or ""), settings.callback_region)
        request = CallbackRequest(
            conversation=tracker.sender_id,
            name=str(tracker.get_slot("callback_name") or ""),
            phone=phone.e164 or str(tracker.get_slot("callback_phone") or ""),
            phone_display=phone.display or str(tracker.get_slot("callback_phone") or ""),
            best_time=str(tracker.get_slot("callback_time") or ""),
            reason=callback_flow.reason(earlier, last_kind),
            excerpt=callback_flow.excerpt(messages),
        )
        replaces = tracker.get_slot("callback_replaces")
        reply, callback_id = await asyncio.to_thread(
            callback_flow.submit, request, callback_store(), settings, replaces, earlier
        )
        send(dispatcher, [reply])
        worker = start_delivery()
        if worker is not None and callback_id:
            worker.poke()
        events = [
            SlotSet("callback_name", None),
            SlotSet("callback_phone", None),
            SlotSet("callback_time", None),
            SlotSet("callback_replaces", None),
        ]
        if callback_id:
            events.append(SlotSet("callback_request", {"id": callback_id}))
        return events


start_delivery()
