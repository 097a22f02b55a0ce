"""What the assistant says to one patient message: the logic behind the retrieval action.

Kept free of Rasa so it can be tested without a server. Escalations are decided in the
Rasa server (chatbot.rasa_server.triage_component and .safety_policy); here the knowledge
base answers, with what the conversation knows: the procedure, the earlier messages (for follow-ups
such as "what about a bath?"), and whether advice was given earlier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from chatbot import triage
from chatbot.clinic_hours import says_clinic_closed
from chatbot.diary import replies as diary_replies
from chatbot.escalation import RED_FLAG_INTENTS
from chatbot.message_checks import asked_part, has_readable_text, questions_in
from chatbot.replies import Reply, call_buttons
from chatbot.reply_kinds import ReplyKind
from chatbot.retrieval.frame import Frame, looks_like_followup, read_against
from chatbot.retrieval.index import SearchResult
from chatbot.retrieval.pages import Section
from chatbot.settings import Settings
from chatbot.triage.timing import hours_ago

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
# Intents whose question, from a patient who says the clinic is closed (or it is night or
# the weekend), is what to do now: the after-hours section answers it.
AFTER_HOURS_TOPIC = "after_hours"
PAIN_DIARY_TOPIC = "pain_diary"
# "ok", "got it": the patient acknowledges; nothing to look up.
_ACKNOWLEDGEMENT = re.compile(
    r"^\s*(ok+|okay|k|kk|alright|all right|got it|i see|understood|cool|fine|sure|right|ok thanks?|"
    r"ok thank you|vale|entendido|de acuerdo)\s*[.!]*\s*$", re.IGNORECASE)
AFTER_HOURS_ASKS = frozenset({None, "ask_when_to_call", "ask_next_steps", "report_symptom", "out_of_scope",
                              "nlu_fallback"})
PROCEDURE_NAMES = {
    "facet_joint": "facet joint injection",
    "medial_branch_block": "medial branch block",
    "trigger_point": "trigger point injection",
}
RELATED_WITHIN = 0.10  # a next-best section this close to the top one is offered as a button
ASK_WITHIN = 0.06  # two procedures' sections this close: ask which injection it was
FOLLOWUP_MARGIN = 0.03  # the earlier question must help by this much to be used
CALLBACK_BUTTON = {"title": "Ask a nurse to call me", "payload": "/request_callback"}
DIAGNOSTIC = re.compile(r"\bdiagnostic\b|\btest (?:block|injection)\b", re.IGNORECASE)
# "I had a medial branch block this morning, ...": the patient tells of the block itself.
TOLD_BLOCK = re.compile(r"\b(?:i|we)\s+(?:just\s+)?(?:had|got|did)\b[^.?!]*\b(?:medial branch|mbb"
                        r"|diagnostic|test block|nerve block)", re.IGNORECASE)

Search = Callable[[str, int, "str | None", "tuple[str, ...]"], list[SearchResult]]


@dataclass(frozen=True)
class Turn:
    message: str
    intent: str | None
    model_intent: str | None = None  # the NLU's own guess before triage overrode it
    procedure: str | None = None
    hours_since_injection: float | None = None
    now: datetime | None = None
    escalated_now: bool = False  # the Rasa server sent an escalation for this message
    earlier_escalation: str | None = None  # "crisis" / "emergency" / "urgent" sent earlier in the chat
    previous: tuple[str, ...] = ()  # the patient's earlier messages, oldest first
    frame: Frame | None = None  # what the last answer was about (Rasa slots frame_*)


def reminder(level: str | None, settings: Settings) -> str:
    """One short line repeating advice given earlier in the conversation."""
    if level == "crisis":
        return (f"Remember: you can call or text the crisis line at {settings.crisis_line} any time, and "
                f"call {settings.emergency_number} if you are in danger now.")
    if level == "emergency":
        return (f"Remember the advice I gave earlier: if you have not yet, call "
                f"{settings.emergency_number} now.")
    if level == "urgent":
        return (f"Remember the advice I gave earlier: please call {settings.clinic_name} at "
                f"{settings.clinic_phone} today, or go to urgent care if the clinic is closed.")
    return ""


_PROCEDURE_WORDS = re.compile(
    r"\b(?:an?|my|the)?\s*(?:facet(?: joint)?|medial branch|trigger[- ]point|radiofrequency ablation|rfa)"
    r"(?:\s+(?:injections?|blocks?|shots?))?\b",
    re.IGNORECASE,
)


_SMALL_WORDS = frozenset({
    "a", "an", "the", "i", "my", "me", "is", "it", "its", "do", "does", "did", "can", "could",
    "will", "would", "should", "when", "what", "how", "why", "after", "before", "to", "of",
    "for", "in", "on", "at", "and", "or", "be", "are", "am",
})


def question_words(heading: str) -> frozenset[str]:
    """The words of the question a heading asks, without the procedure's name."""
    return frozenset(re.findall(r"[a-z]+", _PROCEDURE_WORDS.sub(" ", heading.lower()))) - _SMALL_WORDS


def same_question(a: Section, b: Section) -> bool:
    """ "Can I drive home after a facet joint injection?" and "Can I drive after a trigger
    point injection?" ask the same thing for two procedures."""
    if a.procedure == b.procedure:
        return a.heading == b.heading
    words_a, words_b = question_words(a.heading), question_words(b.heading)
    return bool(words_a | words_b) and len(words_a & words_b) / len(words_a | words_b) >= 0.5


def decide(
    results: list[SearchResult], settings: Settings, topics: tuple[str, ...] = (), out_of_scope: bool = False
) -> str:
    """'answer', 'suggest' or 'none' for the best sections of a question.

    An answer needs a high score and a clear lead over the next section that asks a
    different question (the same question for another procedure is not a rival: that is
    "which injection was it?"), or a very high score. The bar is lower when the NLU's
    intent and the section agree on the topic. On held-out questions a near tie was wrong
    about one time in three. The NLU's "out of scope" needs the very high score."""
    if not results:
        return "none"
    top = results[0]
    rival = next((r.score for r in results[1:] if not same_question(r.section, top.section)), 0.0)
    if top.score >= settings.sure_answer_score:
        return "answer"
    # "And for the other injection?": the frame named the section; its score only has to
    # show the page still matches the words (the buttons' bar).
    if top.by_frame and top.score >= settings.min_suggest_score:
        return "answer"
    if out_of_scope:
        return "none"
    agree = bool(set(topics) & set(top.section.topics))
    bar = settings.min_topic_answer_score if agree else settings.min_answer_score
    if top.score >= bar and top.score - rival >= settings.answer_margin:
        return "answer"
    return "suggest" if top.score >= min(bar, settings.min_suggest_score) else "none"


def other_procedures_page(result: SearchResult, procedure: str | None) -> bool:
    """A section about another specific injection than the one the patient had (not one
    the conversation itself turned to: "and for the trigger point one?")."""
    return bool(procedure) and result.section.procedure not in (procedure, "general") and not result.by_frame


def suggestions(results: list[SearchResult], settings: Settings, not_for: str | None = None,
                callback: bool = True) -> Reply:
    """Not sure: the closest questions as buttons, one tap each, and the clinic's number.
    `not_for`: the patient's procedure, when the closest pages are about another one."""
    headings: list[str] = []
    for result in results:
        if result.section.heading not in headings:
            headings.append(result.section.heading)
    lead = (f"I don't have clinic information on that for a {PROCEDURE_NAMES.get(not_for, not_for)}; "
            "the closest I have is about another injection, and its advice may not apply to yours. "
            if not_for else "I'm not sure I have the answer to that. ")
    return Reply(
        ReplyKind.SUGGESTIONS,
        text=(f"{lead}Is your question one of these? If not, "
              f"please call {settings.clinic_name} at {settings.clinic_phone}."),
        # A nurse call back too, as with no answer (second nurse trial: "is it one of these?"
        # four times, and the patient had to type "can a nurse call me").
        buttons=[{"title": h, "payload": h} for h in headings[:3]] + call_buttons(settings)
        + ([CALLBACK_BUTTON] if callback else []),
    )


def no_answer(settings: Settings, callback: bool = True) -> Reply:
    """No section answers it: the clinic's number, and a nurse callback unless advice to
    call now was given (after emergency advice a callback must never be offered)."""
    return Reply(
        ReplyKind.NO_ANSWER,
        text=(
            "I'm sorry, I don't have clinic information that answers that, and I don't "
            f"want to guess. Please call {settings.clinic_name} at {settings.clinic_phone} "
            "and the care team can help. I can answer questions (in English) about "
            "numbness, soreness, driving, bathing, when relief starts, side effects and "
            "when to call."
        ),
        buttons=[*call_buttons(settings), *([CALLBACK_BUTTON] if callback else [])],
    )


_YES_NO_OPENING = re.compile(r"\A(?:yes|no)[.,!]\s+(?=\S)", re.IGNORECASE)


def without_yes_no(text: str) -> str:
    """A section's "Yes." or "No." answers its own heading's question, which the patient
    may have asked the other way round ("Did the block fail?" -> "Yes. ... it does not
    mean the block failed"); the sentences after it say the same without the trap."""
    rest = _YES_NO_OPENING.sub("", text, count=1)
    return rest[:1].upper() + rest[1:] if rest != text else text


def format_answer(result: SearchResult) -> Reply:
    section = result.section
    text = f"{without_yes_no(section.text)}\n\nFrom: {section.title} › {section.heading}"
    source = {
        "page": section.page,
        "title": section.title,
        "section": section.heading,
        "score": round(result.score, 3),
    }
    return Reply(ReplyKind.ANSWER, text=text, sources=[source], section=section)


def frame_after(replies: list[Reply], frame: Frame | None = None) -> Frame | None:
    """The conversation frame after these replies: what an answer shown was about, else
    the frame as it was (a list of buttons or "I don't have that" changes nothing)."""
    answered = next((r for r in replies if r.kind == ReplyKind.ANSWER and r.section is not None), None)
    if answered is None or answered.section is None:
        return frame
    section = answered.section
    return Frame(section.procedure, section.topic or None, section.id)


def frame_for_turns(messages: tuple[str, ...], search: Search, settings: Settings,
                    sections: list[Section] | None = None) -> Frame | None:
    """The frame a conversation of these patient messages leaves, each answered in turn
    (what `chatbot kb preview --previous` shows)."""
    frame: Frame | None = None
    for position, message in enumerate(messages):
        turn = Turn(message, None, previous=messages[max(0, position - 2):position], frame=frame)
        frame = frame_after(reply_to(turn, search, settings, sections), frame)
    return frame


def search_in_context(
    search: Search, question: str, k: int, procedure: str | None, topics: tuple[str, ...],
    previous: tuple[str, ...], frame: Frame | None = None, sections: list[Section] | None = None,
) -> list[SearchResult]:
    """Search a message as the conversation reads it (chatbot.retrieval.frame). With the
    frame of the last answer, a follow-up is read against it; a clear new question is
    searched alone. Without a frame, a message that reads as a follow-up is also searched
    joined to the previous message, and the joined search wins when it is nearly as good."""
    earlier = previous[-1] if previous and previous[-1].strip() else ""
    if frame is not None and not frame.empty:
        reading = read_against(question, earlier, frame, sections or [])
        results = search(reading.query, k, reading.procedure or procedure, topics)
        if reading.section is not None:
            results = _put_first(reading.section, results, search, sections or [], k, reading.procedure)
        return results
    alone = search(question, k, procedure, topics)
    if not earlier or not looks_like_followup(question):
        return alone
    joined = search(f"{earlier} {question}", k, procedure, topics)
    top_alone = alone[0].score if alone else 0.0
    top_joined = joined[0].score if joined else 0.0
    return joined if top_joined >= top_alone - FOLLOWUP_MARGIN else alone


def _after_hours_first(results: list[SearchResult], settings: Settings, decision: str
                       ) -> tuple[list[SearchResult], str]:
    """ "It's Saturday night and the clinic is closed, what do I do?": the patient says it
    is after hours, so the after-hours section (topic after_hours) is the answer when the
    search found it at all (the suggestions' bar); otherwise the decision stands."""
    hit = next((r for r in results if r.section.topic == AFTER_HOURS_TOPIC
                and r.score >= settings.min_suggest_score), None)
    if hit is None:
        return results, decision
    return [hit, *(r for r in results if r is not hit)], "answer"


def _put_first(section_id: str, results: list[SearchResult], search: Search, sections: list[Section], k: int,
               procedure: str | None) -> list[SearchResult]:
    """The same question for another procedure: that section first, scored by its own
    heading (it answers exactly what the earlier answer did, for this procedure)."""
    target = next((s for s in sections if s.id == section_id), None)
    if target is None:
        return results
    found = next((r for r in search(target.heading, k, procedure, ()) if r.section.id == section_id), None)
    if found is None:
        return results
    return [replace(found, by_frame=True), *[r for r in results if r.section.id != section_id]][:k]


def _procedure_question(question: str, results: list[SearchResult], turn: Turn) -> Reply | None:
    """The best answers are for different injections, and the patient has not said which."""
    if turn.procedure or len(results) < 2:
        return None
    top = results[0]
    rivals = [r for r in results[1:] if top.score - r.score <= ASK_WITHIN]
    procedures = {top.section.procedure} | {r.section.procedure for r in rivals}
    if top.section.procedure == "general" or len(procedures - {"general"}) < 2:
        return None
    buttons = [
        {"title": name.capitalize(), "payload": f"I had a {name}. {question}"}
        for name in PROCEDURE_NAMES.values()
    ]
    return Reply(
        ReplyKind.ASK_PROCEDURE,
        text="The answer is different for each injection. Which one did you have?",
        buttons=buttons,
    )


def _related(results: list[SearchResult], bar: float) -> list[dict[str, str]]:
    """Up to two next-best sections' headings (patient questions) as one-tap buttons."""
    top = results[0]
    related: list[dict[str, str]] = []
    for result in results[1:]:
        if (
            top.score - result.score <= RELATED_WITHIN
            and result.score >= bar
            and result.section.heading != top.section.heading
            and result.section.heading not in [b["title"] for b in related]
        ):
            related.append({"title": result.section.heading, "payload": result.section.heading})
        if len(related) == 2:
            break
    return related


def diary_is_due(turn: Turn) -> bool:
    """A medial branch block (or a diagnostic injection) done today, or at a time not said:
    offer the pain diary."""
    diagnostic = turn.procedure == "medial_branch_block" or bool(DIAGNOSTIC.search(turn.message))
    hours = hours_ago(turn.message)
    if hours is None:
        hours = turn.hours_since_injection
    return diagnostic and (hours is None or hours <= 12)  # no time said: offer; they can decline


def reply_to(
    turn: Turn, search: Search, settings: Settings, sections: list[Section] | None = None,
    understands: Callable[[str], bool] | None = None,
) -> list[Reply]:
    """The replies for one message, in order. Never raises for odd input. `understands`
    tells keyboard mash from words (the index's reader); None: every message is words."""
    replies = _replies_for(turn, search, settings, sections, understands)
    return with_earlier_advice(with_diary_offer(replies, turn), turn, settings)


def with_diary_offer(replies: list[Reply], turn: Turn) -> list[Reply]:
    """"I had a medial branch block this morning, can I go to the gym later?": whatever the
    question gets, then the diary offer the block alone gets (nurse trial: combined with a
    question, it was lost). Never after an escalation."""
    told = turn.intent == "inform_procedure" or bool(TOLD_BLOCK.search(turn.message or ""))
    offered = any(reply.kind in (ReplyKind.DIARY_OFFER, ReplyKind.UNREADABLE) for reply in replies)
    if not told or offered or turn.earlier_escalation or turn.escalated_now or not diary_is_due(turn):
        return replies
    return [*replies, diary_replies.offer()]


def with_earlier_advice(replies: list[Reply], turn: Turn, settings: Settings) -> list[Reply]:
    """Every reply after an escalation repeats its advice (once), and after emergency or
    crisis advice none offers a call back: the patient must not wait for one."""
    level = None if turn.escalated_now else turn.earlier_escalation
    return repeat_advice(replies, level, settings)


def repeat_advice(replies: list[Reply], level: str | None, settings: Settings) -> list[Reply]:
    """The earlier advice's line on the last written reply (once); after emergency or
    crisis advice no reply offers a call back. Shared with the forms' replies."""
    if level is None:
        return replies
    if level in ("emergency", "crisis"):
        for reply in replies:
            reply.buttons = [b for b in reply.buttons or [] if b.get("payload") != CALLBACK_BUTTON["payload"]]
    line = reminder(level, settings)
    written = [reply for reply in replies if reply.text and not reply.response]
    if line and written and not any(line in (reply.text or "") for reply in written):
        written[-1].text = f"{written[-1].text}\n\n{line}"
    return replies


def not_understood() -> Reply:
    return Reply(ReplyKind.UNREADABLE, text=(
        "Sorry, I didn't understand that. Could you say it another way? You can ask me things "
        'like "How long will the numbness last?" or "Can I take a shower?"'
    ))


def _replies_for(
    turn: Turn, search: Search, settings: Settings, sections: list[Section] | None,
    understands: Callable[[str], bool] | None,
) -> list[Reply]:
    message = turn.message or ""
    if not message.strip() or not has_readable_text(message):
        return [Reply(ReplyKind.UNREADABLE, text=(
            "Sorry, I couldn't read a question in that message. You can ask me things "
            'like "How long will the numbness last?" or "Can I take a shower?"'
        ))]
    if len(message) > settings.max_message_chars:
        return [Reply(ReplyKind.TOO_LONG, text=(
            f"That message is longer than I can read well ({settings.max_message_chars} "
            "characters at most). Could you ask one question at a time? If you have a "
            f"worrying symptom, call {settings.clinic_name} at {settings.clinic_phone}, "
            f"or {settings.emergency_number} in an emergency."
        ), buttons=call_buttons(settings))]

    if understands is not None and not understands(message):
        return [not_understood()]  # never an answer picked for keyboard mash
    if _ACKNOWLEDGEMENT.match(message):
        return [Reply(ReplyKind.ACKNOWLEDGED,
                      text="OK. Is there anything else you'd like to know about your injection?")]

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
    elif turn.intent == "inform_procedure":
        # "I had a facet joint injection this morning. How long will the numbness last?"
        # The slot is set by Rasa; the question must not be dropped.
        asked = asked_part(message)
        if asked is None:
            noted = [Reply(ReplyKind.PROCEDURE_NOTED, response="utter_procedure_noted")]
            return noted + ([diary_replies.offer()] if diary_is_due(turn) else [])
        intent, query = turn.model_intent if turn.model_intent in QUESTION_INTENTS else None, asked
    else:
        intent = turn.intent
        # Triage here only tells whether the message is about a symptom at all.
        result = triage.classify(message, hours_since_injection=turn.hours_since_injection)
        mentions_symptom = bool(result.findings)

    topics = INTENT_TOPICS.get(intent or "", ())
    results = search_in_context(search, query, 5, turn.procedure, topics, turn.previous, turn.frame, sections)
    decision = decide(results, settings, topics, out_of_scope=intent == "out_of_scope")
    after_emergency = turn.earlier_escalation in ("emergency", "crisis")  # never "try the clinic first"
    if decision != "answer" and says_clinic_closed(message) and intent in AFTER_HOURS_ASKS \
            and not after_emergency:
        results, decision = _after_hours_first(results, settings, decision)
    answered = decision == "answer"
    if answered:
        ask = _procedure_question(query, results, turn)
        if ask is not None:
            return [ask]
    no_callback = turn.escalated_now or turn.earlier_escalation in ("emergency", "crisis")
    if answered and other_procedures_page(results[0], turn.procedure):
        # The patient said which injection they had, and the best page is about another
        # one: never its advice as if it were theirs (nurse trial: a medial branch block
        # patient got the facet joint page's "wait a few days before running").
        return [suggestions(results, settings, not_for=turn.procedure, callback=not no_callback)]
    if decision == "suggest":
        # With the earlier advice: with_earlier_advice.
        return [suggestions(results, settings, callback=not no_callback)]
    reply = format_answer(results[0]) if answered else no_answer(settings, callback=not no_callback)
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
    if answered:
        reply.buttons = _related(results, settings.min_answer_score)
        if results[0].section.topic == PAIN_DIARY_TOPIC:  # "can I keep my diary here?": yes, one tap
            reply.buttons = [*reply.buttons, *diary_replies.offer().buttons]
        if notes:
            reply.buttons = [*reply.buttons, *call_buttons(settings)]
    return [reply]
