"""The conversation frame: what the last answer was about, and a follow-up read against it.

After every answer the assistant keeps its procedure, topic and section (Rasa slots
`frame_procedure`, `frame_topic`, `frame_section`, so they survive reloads and restarts).
The next message is read against them:

- it names another procedure and no new topic ("and for the trigger point one?"): the
  same question for that procedure (the section with the frame's topic and that procedure);
- it names a new topic and no procedure ("what about a bath?", "and can I work after?"):
  that topic, for the frame's procedure;
- it refers back ("how long does that last?", "when should I worry about it?", "who do I
  call?"): searched together with the earlier message, for the frame's procedure;
- a message that is clearly a new question is searched alone, never bent by the frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.retrieval.pages import Section

PROCEDURE_WORDS = {
    "facet_joint": r"facet(?:\s+joint)?s?|facit|the (?:little )?joints? (?:in|of) (?:my|the) spine",
    "medial_branch_block": (
        r"medial\s+branch(?:\s+blocks?)?|mbb|nerve (?:block )?test|diagnostic block"
        r"|the block"
    ),
    "trigger_point": r"trigger[\s-]*points?|tigger\s+points?|tpis?|knots?|the muscle (?:shots?|injections?)",
}
# Words that name a topic in a follow-up ("and a bath?"); a section's own topic is in its page.
TOPIC_WORDS = {
    "bath": r"baths?|bathe|bathtub|tub|swim\w*|pool|hot tub|jacuzzi|soak\w*|sauna",
    "shower": r"showers?|showering|wash(?:ing)?",
    "driving": r"driv\w*|drove|car|behind the wheel",
    "work": r"work\w*|job|shifts?|office",
    "exercise": r"exercis\w*|gym|run(?:ning)?|workout|sport|lift(?:ing)? weights|stretch\w*",
    "numbness": r"numb\w*|tingl\w*|pins and needles|dead feeling",
    "soreness": r"sore\w*|tender\w*|bruis\w*|ache|aching",
    "relief_start": r"start (?:to )?(?:work|help)\w*|kick in|take effect|begin to work",
    "relief_duration": r"how long (?:will|does|do) (?:the )?(?:relief|it|they) last|wear off",
    "ice_heat": r"ice|ice pack|heat|heating pad|hot water bottle|warm compress",
    "alcohol": r"alcohol|drink(?:ing)? (?:wine|beer)|wine|beer|a drink",
    "medicines": r"medicines?|medications?|meds|pills|tablets",
    "painkillers": r"painkillers?|tylenol|paracetamol|ibuprofen|advil|aleve|naproxen",
    "blood_thinners": r"blood thinners?|eliquis|xarelto|warfarin|plavix|aspirin",
    "blood_sugar": r"sugar|glucose|diabet\w*|insulin",
    "travel": r"fly|flying|flight|plane|travel\w*|trip",
    "sleep": r"sleep\w*|insomnia",
    "flushing": r"flush\w*|red face|face (?:is|went|gone) red",
    "pain_diary": r"diary|pain log|fill in|write down",
    "dressing": r"plaster|band[- ]?aid|bandage|dressing",
    "when_to_call": r"when should i (?:worry|call)|who do i call|when do i call|call the clinic",
}
_FOLLOWUP_START = re.compile(
    r"^\s*(?:and|also|what about|how about|same|does that|do they|is that|are they|what if|and if"
    r"|how long|for how long|even|or|but|then|so|what else|y|and for|and after|and with|with|ok and)\b",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(
    r"\b(?:that|this|it|those|them|one|ones|these|the other|the second)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Frame:
    procedure: str | None = None  # of the last answer: facet_joint ... or general
    topic: str | None = None
    section: str | None = None  # its id, page.md#slug

    @property
    def empty(self) -> bool:
        return not (self.procedure or self.topic or self.section)

    def as_dict(self) -> dict[str, str | None]:
        return {"procedure": self.procedure, "topic": self.topic, "section": self.section}


@dataclass(frozen=True)
class Reading:
    query: str  # what is searched
    procedure: str | None  # the procedure hint for the search
    section: str | None  # a section to answer directly (the same question for another procedure)
    how: str  # new question | other procedure | other topic | about the last answer


def _first(patterns: dict[str, str], message: str) -> str | None:
    found = [
        (m.start(), name)
        for name, pattern in patterns.items()
        for m in [re.search(rf"\b(?:{pattern})\b", message, re.IGNORECASE)]
        if m
    ]
    return min(found)[1] if found else None


def mentioned_procedure(message: str) -> str | None:
    return _first(PROCEDURE_WORDS, message)


def mentioned_topic(message: str) -> str | None:
    return _first(TOPIC_WORDS, message)


def looks_like_followup(message: str) -> bool:
    """ "and driving?", "what about a bath?", "how long does that last?"."""
    words = re.findall(r"[A-Za-z']+", message)
    return (
        bool(_FOLLOWUP_START.search(message))
        or len(words) <= 4
        or (bool(_REFERS_BACK.search(message)) and len(words) <= 9)
    )


def read_against(message: str, earlier: str, frame: Frame | None, sections: list[Section]) -> Reading:
    """How to search for a message, given the frame of the last answer."""
    procedure = mentioned_procedure(message)
    if frame is None or frame.empty or not looks_like_followup(message):
        return Reading(message, procedure, None, "new question")
    topic = mentioned_topic(message)
    if procedure and procedure != frame.procedure and topic is None:
        sibling = next((s for s in sections if s.topic == frame.topic and s.procedure == procedure), None)
        joined = f"{earlier} {message}".strip()
        return Reading(joined, procedure, sibling.id if sibling else None, "other procedure")
    if topic is not None and procedure is None and topic != frame.topic:
        return Reading(message, _specific(frame.procedure), None, "other topic")
    joined = f"{earlier} {message}".strip()
    return Reading(joined, procedure or _specific(frame.procedure), None, "about the last answer")


def _specific(procedure: str | None) -> str | None:
    return procedure if procedure and procedure != "general" else None
