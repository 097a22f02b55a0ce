"""Reading a message as a story told over time, sentence by sentence.

Patients tell the whole day: "Yesterday my legs went like jelly and buckled ... This
morning my legs are totally normal." A symptom told in the past tense, in a story the
patient says is over now, or dated long ago ("In April 2018 ...", "Years ago ..."), or at
the moment of the procedure itself ("during the shots", "when he injected"), or in talk
about risks ("paralysis is on the consent form") is not a symptom the patient has now.
This module answers, per sentence: is it told in the past, is its story old, is it the
procedure's moment, is it risk talk; and for the message: does the patient say they are
fine now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.triage.text import Text
from chatbot.triage.timing import dates_in

_PAST = frozenset({
    "had", "was", "were", "went", "got", "felt", "came", "gave", "started", "began", "happened",
    "woke", "tried", "did", "told", "took", "kept", "ended", "became", "fainted", "buckled",
    "collapsed", "passed", "blacked", "tingled", "lasted", "seemed", "turned", "needed",
    "thought", "wasnt", "werent", "didnt", "couldnt", "hadnt", "used", "said", "asked",
    "rang", "called", "sent", "showed", "put", "let", "saw", "ran", "sat", "stood", "fell",
    "tuve", "tuvo", "estuve", "estuvo", "senti", "sintio", "fue", "paso", "empece", "empezo",
    "quede", "quedo", "pusieron", "hicieron", "dieron", "termino", "subio", "bajo", "llevaron",
    "sacaron", "dijeron", "dijo", "estaba", "estaban", "tenia", "tenian", "era", "fueron",
    "internaron", "internado", "internada", "desmaye", "desmayo", "vomite", "vomito",
})
_PRESENT = frozenset({
    "now", "still", "currently", "is", "are", "am", "im", "have", "has", "keeps", "keep",
    "cant", "cannot", "feel", "feels", "hurts", "dont", "doesnt", "isnt",
    "arent", "theyre", "hes", "shes", "ive", "today", "tonight", "anymore",
    "ahora", "todavia", "aun", "tengo", "tiene", "estoy", "esta", "estan", "siento", "siente",
    "hoy", "sigo", "sigue", "puedo", "puede",
})
_YEAR = re.compile(r"\b(?:19[5-9]\d|20[0-4]\d)\b")
_OLD_STORY = re.compile(
    r"\b(?:years? ago|years back|decades?|as a (?:kid|child|teen|teenager)|when i was (?:a|young"
    r"|little|\d+|pregnant)|long time ago|back in|in the past|previously|last year|hace (?:anos|mucho)"
    r"|a while (?:back|ago)|ages ago"
    r"|when i had my (?:\w+ ){0,2}(?:baby|babies|son|daughter|kid|kids|child|children)|in labou?r"
    r"|giving birth|when i gave birth|cuando tuve a mi"
    r"|de nina|de nino|cuando era)\b"
)
# "Legs have been totally normal since sunday", "everything feels normal", "Shes fine now,
# sharp as ever", "I have no symptoms at all right now", "nothing since".
_FINE_NOW = re.compile(
    r"(?<!\bif )(?<!\bwhether )(?<!\bhope )(?<!\basking )\b(?:(?:i am|im|i feel|feel|feeling|i was"
    r"|she is|shes|he is|hes|its|it is|everything|all"
    r"|everything is|everything feels|all is|they are|theyre|legs are|legs have been|have been"
    r"|has been|been|i have been|ive been)(?: \w+)? (?:totally |completely |pretty much |perfectly"
    r" |basically |all |back )?(?:fine|normal|back to normal|good|great|ok|okay)(?! (?:when|if|unless"
    r"|except|apart|but|other than|for|to|that|with|as long))"
    r"|back to normal|(?:no|zero|without) (?:other |new |more )?symptoms|(?:dont|do not|didnt"
    r"|havent) (?:have|had|get|got) any (?:symptoms|problems|issues)|nothing (?:since|new|different"
    r"|else since)|fine since|normal since|all good(?: now)?|(?:feel|feeling|im|am) (?:so |much |a lot"
    r" )?better|(?:ya )?(?:estoy|esta|se siente|me siento|se encuentra) (?:mucho |muy |ya )?"
    r"(?:bien|mejor|normal)"
    r"|sin (?:ningun )?sintoma)\b"
)
# "is this normal?", "the physio said it's normal": a question or hearsay, no statement.
_HEARSAY = re.compile(
    r"\b(?:said|says|told me|tells me|dijo|dice|me dijeron)(?: that| que)? (?:its|it is|es|is|thats)\b"
)
_NOT_FINE = re.compile(
    r"\b(?:not|isnt|arent|wasnt|never|no longer|dont|doesnt) (?:\w+ )?(?:fine|normal|better|ok|okay|good)\b"
)
# The moment of the procedure: what happened on the table is over when the patient writes.
_DURING = re.compile(
    r"\b(?:during (?:the |my |each |both |that |all the )?(?:injection|injections|shot|shots"
    r"|procedure|block|it|needle|needles|jab|epidural|ablation)|while (?:they|he|she|the doctor|the nurse|it)"
    r" (?:was|were) |when (?:they|he|she|the doctor|the needle|it) (?:injected|went in|put|hit|did)"
    r"|as (?:the needle|they|he|she) (?:went in|injected)|on the table|at the (?:first )?sight of"
    r"|after the sting|instead of (?:just )?(?:the )?pressure|(?:they|he|she) finished"
    r"|in the middle of (?:the|my) (?:\w+ ){0,2}(?:injection|injections|shot|shots|procedure|block)"
    r"|(?:when|as soon as) i saw the needle|seeing the needle|saw the needle"
    r"|durante (?:la|el)|cuando me (?:inyectaron|pusieron|picaron))"
)
_RISK_TALK = re.compile(
    r"\b(?:risk|risks|complications?|consent form|chance of|chances of|how often|how common"
    r"|how likely|statistics|the odds|rare cases?|ended up|heard of|read (?:about|that|online)"
    r"|more likely|less likely|likely to (?:get|have|develop)|is it true|es cierto|es verdad"
    r"|riesgo|riesgos)\b"
)
_SELF_NOW = re.compile(
    r"\b(?:i have|ive|i am|im|i feel|i cant|i cannot|my \w+ (?:is|are|feels|feel|has|have|keeps)"
    r"|tengo|estoy|me siento|no puedo)\b"
)


@dataclass(frozen=True)
class Sentence:
    past: bool  # told in the past tense, nothing in the present
    old: bool  # its story is dated long ago (its own date or the story's before it)
    during: bool  # at the moment of the procedure
    risk_talk: bool  # about risks in general, not the writer's own symptom now


_SPLITS = frozenset({
    ",", "and", "but", "so", "which", "because", "cause", "then", "when", "while", "though",
    "although", "until", "till", "y", "pero", "que", "porque", "cuando", "entonces",
})


def told_in_past(text: Text, first: int, end: int) -> bool:
    """The words around tokens [first, end), up to the nearest comma or "and"/"so"/
    "which", are told in the past: "I fainted at the first sight of the needle"."""
    start, stop = text.sentence_bounds(first)
    left = first
    while left > start and text.tokens[left - 1] not in _SPLITS:
        left -= 1
    right = end
    while right < stop and text.tokens[right] not in _SPLITS:
        right += 1
    words = set(text.tokens[left:right])
    return bool(words & _PAST) and not words & _PRESENT


@dataclass(frozen=True)
class Story:
    sentences: tuple[Sentence, ...]
    fine_now: bool  # the patient says they are fine now / have no symptoms


def _old(words: str, history_after: float) -> bool | None:
    """True: dated long ago; False: dated recently; None: no date in this sentence."""
    if _YEAR.search(words) or _OLD_STORY.search(words):
        return True
    times = dates_in(words)
    if not times:
        return None
    return min(times) > history_after


def read_story(text: Text, history_after: float) -> Story:
    cached = text.memo.get(("story",))
    if isinstance(cached, Story):
        return cached
    sentences: list[Sentence] = []
    fine_now = False
    previous_old = False
    count = text.sentence[-1] + 1 if text.tokens else 0
    first = 0
    for _number in range(count):
        _, end = text.sentence_bounds(first)
        words = text.tokens[first:end]
        joined = " ".join(words)
        word_set = set(words)
        present = bool(word_set & _PRESENT)
        past = bool(word_set & _PAST) and not present
        dated = _old(joined, history_after)
        # An undated sentence belongs to the story told before it, until the present.
        old = dated if dated is not None else (previous_old and not present)
        previous_old = old
        asks = words[-1:] == ["?"] or bool(_HEARSAY.search(joined))
        if _FINE_NOW.search(joined) and not _NOT_FINE.search(joined) and not asks:
            fine_now = True
        sentences.append(Sentence(
            past=past,
            old=old,
            during=bool(_DURING.search(joined)),
            risk_talk=bool(_RISK_TALK.search(joined)) and not _SELF_NOW.search(joined),
        ))
        first = end
    story = Story(tuple(sentences), fine_now)
    text.memo[("story",)] = story
    return story
