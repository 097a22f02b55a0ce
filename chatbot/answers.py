"""What the assistant says to one patient message: the logic behind the retrieval action.

Kept free of Rasa so it can be tested without a server. The Rasa server has already
run triage on the message text (chatbot.rasa_triage); here triage runs again with what
the conversation knows (time since the injection), then the knowledge base answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from chatbot import triage
from chatbot.escalation import RED_FLAG_INTENTS
from chatbot.message_checks import has_readable_text, questions_in
from chatbot.retriever import SearchResult
from chatbot.settings import Settings

# The intent is a hint: sections on these topics rank a little higher.
INTENT_TOPICS: dict[str, tuple[str, ...]] = {
    "ask_procedure_info": ("procedure", "how_it_works"),
    "ask_numbness": ("numbness",),
    "ask_soreness": ("soreness", "flare"),
    "ask_relief": ("relief", "steroid"),
    "ask_driving": ("driving",),
    "ask_activity": ("activity", "exercise", "work"),
    "ask_bathing": ("bathing",),
    "ask_ice_heat": ("ice_heat",),
    "ask_medication": ("medicines", "blood_thinners"),
    "ask_side_effects": ("side_effects", "risks", "flushing"),
    "ask_diabetes": ("diabetes",),
    "ask_infection_signs": ("infection",),
    "ask_pain_diary": ("pain_diary", "diagnostic_block"),
    "ask_next_steps": ("next_steps", "radiofrequency_ablation", "repeat_injections"),
    "ask_when_to_call": ("when_to_call", "red_flags"),
    "report_symptom": ("side_effects", "when_to_call"),
}
QUESTION_INTENTS = frozenset(INTENT_TOPICS)

Search = Callable[[str, int, "str | None", "tuple[str, ...]"], list[SearchResult]]


@dataclass
class Reply:
    """One bot message: either text we wrote, or a domain response for Rasa to fill."""

    kind: str  # answer | no_answer | unreadable | too_long | escalation | caution
    text: str | None = None
    response: str | None = None  # a domain response name (escalations)
    sources: list[dict[str, object]] = field(default_factory=list)

    def payload(self) -> dict[str, object]:
        if self.kind == "answer":
            return {"kind": "answer", "sources": self.sources}
        return {"kind": self.kind}


@dataclass(frozen=True)
class Turn:
    message: str
    intent: str | None
    model_intent: str | None = None  # the NLU's own guess before triage overrode it
    procedure: str | None = None
    hours_since_injection: float | None = None
    now: datetime | None = None
    escalated_now: bool = False  # the Rasa server sent an escalation for this message
    earlier_escalation: str | None = None  # "emergency" / "urgent" sent earlier in the chat


def reminder(level: str | None, settings: Settings) -> str:
    """One short line repeating advice given earlier in the conversation."""
    if level == "emergency":
        return (f"Remember the advice I gave earlier: if you have not yet, call "
                f"{settings.emergency_number} now.")
    if level == "urgent":
        return (f"Remember the advice I gave earlier: please call {settings.clinic_name} at "
                f"{settings.clinic_phone} today, or go to urgent care if the clinic is closed.")
    return ""


def answer_threshold(best: SearchResult, topics: tuple[str, ...], settings: Settings) -> float:
    """A lower bar when the NLU's intent and the section agree on the topic."""
    if set(topics) & set(best.section.topics):
        return settings.min_topic_answer_score
    return settings.min_answer_score


def no_answer(settings: Settings) -> Reply:
    return Reply(
        "no_answer",
        text=(
            "I'm sorry, I don't have clinic information that answers that, and I don't "
            f"want to guess. Please call {settings.clinic_name} at {settings.clinic_phone} "
            "and the care team can help. I can answer questions (in English) about "
            "numbness, soreness, driving, bathing, when relief starts, side effects and "
            "when to call."
        ),
    )


def format_answer(result: SearchResult) -> Reply:
    section = result.section
    text = f"{section.text}\n\nFrom: {section.title} › {section.heading}"
    source = {
        "page": section.page,
        "title": section.title,
        "section": section.heading,
        "score": round(result.score, 3),
    }
    return Reply("answer", text=text, sources=[source])


def reply_to(turn: Turn, search: Search, settings: Settings) -> list[Reply]:
    """The replies for one message, in order. Never raises for odd input."""
    message = turn.message or ""
    if not message.strip() or not has_readable_text(message):
        return [Reply("unreadable", text=(
            "Sorry, I couldn't read a question in that message. You can ask me things "
            'like "How long will the numbness last?" or "Can I take a shower?"'
        ))]
    if len(message) > settings.max_message_chars:
        return [Reply("too_long", text=(
            f"That message is longer than I can read well ({settings.max_message_chars} "
            "characters at most). Could you ask one question at a time? If you have a "
            f"worrying symptom, call {settings.clinic_name} at {settings.clinic_phone}, "
            f"or {settings.emergency_number} in an emergency."
        ))]

    replies: list[Reply] = []
    mentions_symptom = False
    query = message
    if turn.intent in RED_FLAG_INTENTS or turn.escalated_now:
        # Rasa already escalated; answer only a question asked in the same message.
        asked = questions_in(message)
        if turn.model_intent in QUESTION_INTENTS - {"report_symptom"}:
            intent, query = turn.model_intent, asked or message
        elif asked:
            intent, query = None, asked
        else:
            return []
    else:
        intent = turn.intent
        # Escalations are decided in the Rasa server (with the conversation's context);
        # here triage only tells whether the message is about a symptom at all.
        result = triage.classify(message, hours_since_injection=turn.hours_since_injection)
        mentions_symptom = bool(result.findings)

    topics = INTENT_TOPICS.get(intent or "", ())
    results = search(query, 3, turn.procedure, topics)
    answered = bool(results) and results[0].score >= answer_threshold(results[0], topics, settings)
    reply = format_answer(results[0]) if answered else no_answer(settings)
    notes = []
    if answered and (intent == "report_symptom" or mentions_symptom):
        # One short safety line inside the answer: we can't assess a symptom online.
        notes.append(
            f"If it gets worse or worries you, call {settings.clinic_name} at {settings.clinic_phone} "
            f"(urgent care if closed); in an emergency, {settings.emergency_number}."
        )
    if turn.earlier_escalation and not turn.escalated_now:
        notes.append(reminder(turn.earlier_escalation, settings))
    if notes and reply.text is not None:
        body, _, source = reply.text.rpartition("\n\nFrom: ")
        if body:
            reply.text = body + "\n\n" + " ".join(notes) + "\n\nFrom: " + source
        else:
            reply.text = reply.text + "\n\n" + " ".join(notes)
    replies.append(reply)
    return replies
