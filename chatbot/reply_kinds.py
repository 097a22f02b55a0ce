"""The kinds of reply the assistant sends, one list for everyone who reads them.

The action sends them in the custom payload ({"kind": ...}), the REST channel adds
"unavailable", the knowledge-gap report counts "no_answer", and the website widget
renders each (web/widget.js reads the same names; tests/test_reply_kinds.py keeps the
two lists equal). Standard library only: the Rasa server imports it too.
"""

from __future__ import annotations

from enum import Enum


class ReplyKind(str, Enum):
    ANSWER = "answer"  # a section of the knowledge base, with its source
    NO_ANSWER = "no_answer"  # nothing in the pages answers it: the clinic's number
    SUGGESTIONS = "suggestions"  # not sure: the closest questions as buttons
    ASK_PROCEDURE = "ask_procedure"  # the answer depends on which injection it was
    PROCEDURE_NOTED = "procedure_noted"  # "I had a facet injection", and no question
    UNREADABLE = "unreadable"  # empty, emoji only
    ACKNOWLEDGED = "acknowledged"  # "ok", "got it": nothing to look up
    GOING_FOR_HELP = "going_for_help"  # "my wife is driving me to the ER": that is right (domain)
    TOO_LONG = "too_long"  # longer than the assistant reads well
    ESCALATION = "escalation"  # a red flag: call the clinic or the emergency number
    CHECK = "check"  # the triage screen is unsure: "To be safe: is any of this happening now?"
    UNAVAILABLE = "unavailable"  # the answer could not be looked up right now
    OTHER_LANGUAGE = "other_language"  # Spanish: the assistant answers in English
    GREETING = "greeting"
    FORM_QUESTION = "form_question"  # a form asks for the next thing (domain responses)
    RE_ASK = "re_ask"  # a form's answer could not be used: why, and the question again
    FORM_STOPPED = "form_stopped"  # "stop": the diary is paused / no callback requested
    DIARY_OFFER = "diary_offer"  # after a medial branch block today: keep the diary here?
    DIARY_STARTED = "diary_started"  # the score before the block and the useful times
    DIARY_ENTRY = "diary_entry"  # one entry recorded, with its relief
    DIARY_SUMMARY = "diary_summary"  # the table the patient can print or show
    CALLBACK_RECEIVED = "callback_received"  # stored; the care team will call
    CALLBACK_NOT_SAVED = "callback_not_saved"  # could not be stored: call the clinic

    def __str__(self) -> str:
        return self.value
