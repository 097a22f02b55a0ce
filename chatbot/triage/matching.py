"""Finding a pattern in a message, and deciding whether the match is about the patient now.

A phrase list cannot say: negation ("no fever", "chest pain: none"), who has the symptom
("my husband had a fever last month" vs "my mother can't pee since her block"), whether
it is over ("the numbness wore off", "by the morning my legs were fine") or old history
("since my surgery in 2010"). This module answers those per clause; when unsure, the
match counts (a missed emergency costs more than a call).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from chatbot.triage.catalogue import Clause, Level, Rule
from chatbot.triage.patterns import Pattern
from chatbot.triage.story import read_story, told_in_past
from chatbot.triage.text import CLAUSE_WORDS, SENTENCE_END, Text

NEGATION_CUES = frozenset({
    "no", "not", "never", "without", "denies", "denied", "deny", "denying", "nor", "neither",
    "none", "dont", "doesnt", "didnt", "havent", "hasnt", "hadnt", "isnt", "arent", "wasnt",
    "werent", "aint", "zero", "free", "negative", "nothing", "wo", "wouldnt",
    "sin", "nunca", "ni", "tampoco", "nada", "ningun", "ninguna", "ninguno",
})
# A pattern that is itself negative ("can't pee") is not undone by a cue before it.
_NEGATIVE_PREFIXES = ("cant", "cannot", "unable", "wont", "couldnt")
# After these, "not"/"don't" is doubt, not negation: "not sure it's a fever".
_UNCERTAIN = frozenset({"sure", "certain", "know", "knowing", "think", "clear", "only", "se", "estoy"})
_EMPHASIS = frozenset({"like", "before", "bad", "worse"})
# Walking back from a symptom to a negation cue stops at a new subject or verb phrase:
# "no fever and my leg is numb" does not negate "numb".
_STOP = frozenset({
    "i", "im", "ive", "id", "me", "my", "mine", "myself", "you", "your", "he", "she", "hes",
    "shes", "him", "his", "her", "they", "them", "their", "we", "our", "it", "its", "this",
    "that", "which", "who", "the", "is", "are", "was", "were", "am", "be", "been", "now",
    "still", "then", "since", "after", "because", "so", "when", "while", "if", "whether",
    "until", "except", "besides", "started", "starting", "became", "becoming", "also", "just",
    "yo", "mi", "ella", "pero", "ahora", "todavia", "desde", "porque", "cuando", "si", "y",
})
_STOPPING = frozenset({
    "stop", "stopped", "stopping", "quit", "ceased", "dejado", "deja", "dejar", "dejo", "parado",
    "para", "parar", "paro",
})
_NEGATION_REACH = 8  # words between a cue and the symptom: "no signs of any redness, ..."
_ANSWER_NO = frozenset({"none", "no", "nope", "negative", "denied", "denies", "nil", "ninguno", "nada"})
_RESOLVED = re.compile(  # right after an expected effect: "the numbness (has) worn off"
    r"^(?:(?:has|have|is|are|was|had|all|now|completely|totally|finally|mostly|pretty much"
    r"|since|se|ya|me|le) )*(?:gone|went away|gone away|wore off|worn off|wearing off|resolved"
    r"|cleared|disappeared|dissipated|subsided|settled|stopped|passed|better now|fading|faded"
    r"|eased|easing|quito|se me paso|se le paso|se fue|desaparecio|mejoro)\b"
)
SELF = frozenset({"i", "im", "ive", "id", "me", "my", "mine", "myself", "yo", "mi", "mis"})
_OTHER_PRONOUNS = frozenset({
    "he", "she", "hes", "shes", "him", "his", "her", "hers", "they", "them", "their", "theyre",
    "ella", "ellos", "ellas", "su", "sus",
})
_KIN = (
    "husband|wife|son|daughter|mom|mum|mother|mommy|dad|father|daddy|friend|sister|brother|"
    "partner|boyfriend|girlfriend|neighbor|neighbour|coworker|colleague|aunt|uncle|grandma|"
    "grandpa|grandmother|grandfather|cousin|kid|kids|child|children|baby|niece|nephew|"
    "fiance|fiancee|spouse|stepmom|stepdad|dog|cat|"
    "esposo|esposa|marido|mujer|hijo|hija|mama|madre|papa|padre|amigo|amiga|hermano|hermana|"
    "pareja|novio|novia|vecino|vecina|tia|tio|abuela|abuelo|abuelita|abuelito|primo|prima|"
    "nieto|nieta|suegra|suegro|sobrino|sobrina"
)
OTHER_NOUNS = frozenset(_KIN.split("|"))
# People in general: "many patients are in agony" is no report about this patient.
_GENERIC_PEOPLE = frozenset({
    "patients", "people", "someone", "somebody", "anyone", "anybody", "others", "everyone",
    "everybody", "folks", "women", "men", "pacientes", "gente", "alguien", "personas",
})
# Someone else's old or habitual trouble: "my friend had a seizure once", "my daughter had
# chest pain last year", "he gets chest pain sometimes when he jogs".
_OLD_MARKERS = frozenset({
    "once", "before", "years", "yrs", "used", "previously", "history", "ever",
    "sometimes", "often", "usually", "always", "occasionally", "whenever",
    "hace", "pasado", "pasada", "antes", "anos", "siempre",
})
# Plain past tense is weaker: "my husband had a fever" is not the patient's fever, but
# "she had a fit after coming home" may be the patient's emergency.
_PAST_TENSE = frozenset({"had", "was", "were", "past", "tuvo", "estuvo", "dejo", "quedo", "paso", "fue"})
_SUBJECT_REACH = 40  # tokens to look back for who has the symptom
PROCEDURE = (
    r"(?:injection|injections|injecton|ingection|ingections|shot|shots|block|blocks|procedure"
    r"|facet\w*|trigger|epidural|ablation|rfa|jab|inyeccion|inyecciones|bloqueo|piquete"
    r"|procedimiento)"
)
_CAREGIVER = re.compile(  # the writer reports for the patient
    rf"\b(?:(?:(?:my|our) )?(?:{_KIN}|hubby|missus)\b(?: \w+){{0,3}} (?:had|got|has had|was given|went for"
    rf"|just had|having)\b(?: [\w,]+){{0,5}} {PROCEDURE}"
    rf"|(?:she|he|they) (?:had|got|has had|was given|just had)\b(?: [\w,]+){{0,5}} {PROCEDURE}"
    rf"|(?:her|his|their) (?:\w+ ){{0,2}}{PROCEDURE}"
    rf"|(?:writing|asking|messaging|typing) (?:for|on behalf of)|on behalf of"
    rf"|(?:mi|nuestra|nuestro) (?:{_KIN})\b(?: \w+){{0,6}} {PROCEDURE}"
    rf"|(?:le|la|lo) (?:pusieron|hicieron|inyectaron)\b)\b"
)
_WRITER_IS_PATIENT = re.compile(
    rf"\b(?:(?:i|ive|i have|i just|i had|i got|i was)\b(?: \w+){{0,3}} (?:had|got|have|given"
    rf"|having)\b(?: [\w,]+){{0,5}} {PROCEDURE}|my (?:\w+ ){{0,2}}{PROCEDURE}"
    rf"|can i|should i|will i|do i|me (?:pusieron|hicieron|inyectaron)|mi {PROCEDURE})\b"
)
_OLD_STORY = re.compile(r"\b(?:years|yrs|decades|last year|used to|long time ago|in the past|anos)\b")
QUESTION_START = frozenset({
    "how", "what", "when", "is", "does", "do", "can", "will", "should", "why", "are",
    "could", "would", "which", "whats", "hows",
    "como", "que", "cuando", "cuanto", "cuantos", "es", "puedo", "debo", "deberia", "por",
})


def writes_for_patient(joined: str) -> bool:
    """"My wife had the injection ..." -- but not an old story ("her epidural years ago")."""
    for count, found in enumerate(_CAREGIVER.finditer(joined)):
        if count == 20:  # enough looking: a message made of such phrases is not a story
            return True
        start = max(joined.rfind(ch, 0, found.start()) for ch in ".!?;:")
        ends = [i for i in (joined.find(ch, found.end()) for ch in ".!?;:") if i >= 0]
        if not _OLD_STORY.search(joined[start + 1 : min(ends) if ends else len(joined)]):
            return True
    return False


def prepare(text: Text) -> Text:
    """Fill in who writes (for the patient, or the patient themselves)."""
    text.caregiver = writes_for_patient(text.joined)
    text.writer_is_patient = bool(_WRITER_IS_PATIENT.search(text.joined))
    return text


@dataclass(frozen=True)
class Match:
    first: int  # first token
    end: int  # one past the last token
    text: str


def _numbers_ok(pattern: Pattern, found: re.Match[str]) -> bool:
    for name, low, high in pattern.numbers:
        value = found.group(name)
        if value is not None and not low <= float(value.replace(",", ".")) <= high:
            return False
    return True


def _gaps_ok(pattern: Pattern, found: re.Match[str]) -> bool:
    """A gap may not hide a negation or a new clause: "the site is not red", "fine but red"."""
    for name in pattern.gaps:
        skipped = found.group(name)
        if skipped and any(w in NEGATION_CUES or w in CLAUSE_WORDS for w in skipped.split()):
            return False
    return True


def raw_matches(pattern: Pattern, text: Text, start: int = 0, end: int | None = None) -> Iterator[Match]:
    """Matches whose numbers are in range and whose gaps are clean. When the longest match
    at a place fails, shorter ones at the same place are tried (one token less each time)."""
    end = len(text.joined) if end is None else end
    for found in pattern.regex.finditer(text.joined, start, end):
        candidate: re.Match[str] | None = found
        while candidate is not None:
            if _numbers_ok(pattern, candidate) and _gaps_ok(pattern, candidate):
                first = text.token_at(candidate.start())
                last = text.token_at(candidate.end() - 1)
                yield Match(first, last + 1, candidate.group())
                break
            cut = text.joined.rfind(" ", candidate.start(), candidate.end())
            shorter = cut > candidate.start()
            candidate = pattern.regex.match(text.joined, candidate.start(), cut) if shorter else None


def negated(text: Text, match: Match) -> bool:
    """"No fever", "denies chest pain", "no redness, swelling or pus"; "chest pain: none";
    and warnings, not symptoms: "watch for headaches and a stiff neck"."""
    return _negated_before(text, match) or _negated_after(text, match) or _warned_of(text, match)


_WARNING_CUES = re.compile(
    r"\b(?:watch(?:ing)? (?:out )?for|look(?:ing)? (?:out )?for|keep an eye out for|warning signs?"
    r"|warned (?:me |us )?(?:about|of)|told (?:me |us )?to (?:watch|look) (?:out )?for|estar pendiente de)"
    r"(?: \w+){0,6}$"
)


def _warned_of(text: Text, match: Match) -> bool:
    first, _ = text.clause_bounds(match.first)
    before = " ".join(text.tokens[max(first, match.first - 8) : match.first])
    return bool(_WARNING_CUES.search(before))


def _negated_before(text: Text, match: Match) -> bool:
    words = match.text.split()
    if any(w in NEGATION_CUES or w.startswith(_NEGATIVE_PREFIXES) for w in words):
        return False
    clause = text.clause[match.first]
    counted = 0
    for j in range(match.first - 1, -1, -1):
        token = text.tokens[j]
        if text.clause[j] != clause or token in _STOP:
            return False
        if token in NEGATION_CUES:
            if token == "never" and text.clause_words(match.first) & _EMPHASIS:
                return False  # "never had chest pain like this before" is no denial
            if _STOPPING & set(text.tokens[j + 1 : match.first]):
                return False  # "hasn't stopped vomiting", "no ha dejado de vomitar"
            return text.tokens[j + 1] not in _UNCERTAIN
        if token != ",":
            counted += 1
            if counted > _NEGATION_REACH:
                return False
    return False


def _negated_after(text: Text, match: Match) -> bool:
    j = match.end
    while j < len(text.tokens) and text.tokens[j] in (":", ","):
        j += 1
    if j >= len(text.tokens) or text.tokens[j] not in _ANSWER_NO:
        return False
    return j + 1 == len(text.tokens) or text.tokens[j + 1] in SENTENCE_END or text.tokens[j + 1] == ","


_RESOLVED_BEFORE = re.compile(
    r"(?:se me quito|se le quito|se me paso|se le paso|se fue|desaparecio|got rid of|no more|no longer"
    r"|ya no (?:tengo|tiene|siento|siente))(?: (?:lo|el|la|los|las|the|my|all the|all))?$"
)


def resolved(text: Text, match: Match) -> bool:
    """"The numbness wore off", "it's gone", "se me quito lo dormido" -- not "hasn't gone
    away" (no cue may come first)."""
    first, _ = text.clause_bounds(match.first)
    if _RESOLVED_BEFORE.search(" ".join(text.tokens[max(first, match.first - 6) : match.first])):
        return True
    clause = text.clause[match.first]
    following: list[str] = []
    for j in range(match.end, min(len(text.tokens), match.end + 6)):
        if text.clause[j] != clause or text.tokens[j] in SENTENCE_END:
            break
        following.append(text.tokens[j])
    return bool(_RESOLVED.search(" ".join(following)))


# "... but today they're totally fine", "It went away after an hour", "by the morning my
# legs were fine": the symptom is over. The subject must point back to the symptom (a
# pronoun, or a word of the match): "my legs are weak but my arms are fine" is not over.
_OVER_STATE = re.compile(
    r"^(?:(?:and|but|now|today|tonight|yesterday|this morning|by (?:the )?(?:morning|evening|night"
    r"|afternoon|next day|lunchtime|bedtime)|after (?:a|an|about|half)? ?(?:few|couple|\w+)? ?"
    r"(?:minute|minutes|hour|hours|while|day|rest|nap)|within (?:an|a few|\w+) (?:minute|minutes|hour"
    r"|hours)|then|luckily|thankfully|fortunately|ya|pero|ahora|hoy|luego|despues|al rato"
    r"|by the next (?:day|morning)|(?:a|an|one|two|three|a few|\d+) (?:day|days|week|weeks|hour|hours)"
    r" later)(?: ,)? )*"
    r"(?P<who>(?:(?:that|this|the|my|her|his|those|these|both)(?: \w+){1,2}(?: down there| there)?"
    r"|it|its|they|theyre"
    r"|that|thats|this|those|these|everything|all|both|i|im|she|shes|he|hes|ya|se|me|le) )?"
    r"(?:(?:is|are|was|were|am|seem|seems|seemed|feel|feels|felt|has|have|had|been|has been|have been"
    r"|went|got|is now|are now|s|esta|estan|estoy|se siente|se me|se le|me|ya) )*"
    r"(?:(?:now|totally|completely|all|pretty much|mostly|fully|perfectly|quite|basically|back|ya) )*"
    r"(?P<state>fine|ok|okay|normal|back to normal|good|all good|better (?:now|today|already|since)"
    r"|(?:much|a lot|loads|so much) better|gone|went away|gone away"
    r"|wore off|worn off|passed|settled|settled down|stopped|resolved|cleared|cleared up|disappeared"
    r"|subsided|eased|went(?= (?:that|the same|by|within|overnight|after))|never came back"
    r"|(?:hasnt|hadnt|has not|didnt|did not|havent) (?:come|came) back"
    r"|bien(?= ya| ahora| y|$)|normal|mejor|se quito|se me quito|se le quito|se me paso|se le paso"
    r"|desaparecio|quito)\b"
    r"(?! (?:when|if|unless|except|apart|other than|for|to|that|lying|laying|lie|sitting|sat|while"
    r"|past|beyond|further|up|bigger|worse|numb|weak|red|into"
    r"|standing|at rest|resting|cuando|si|para|acostad))"
)
_NOT_BACK = re.compile(r"\b(?:hasnt|hadnt|has not|didnt|did not|havent|never) (?:come|came) back\b")
_OVER_EXCEPT = frozenset({"otherwise", "except", "apart", "besides", "aside"})


def _over_after(text: Text, first: int, end: int, match: Match) -> bool:
    """A clause in tokens [first, end) saying the matched symptom is over."""
    words = text.tokens[first:end]
    for index, word in enumerate(words):  # "its fine lying flat but ... its pounding"
        if index and word in ("but", "pero", "however", "though", "although"):
            words = words[:index]
            break
    joined = " ".join(w for w in words if w != ",")
    # "hasn't come back" is the one negation that says it is over.
    plain = set(_NOT_BACK.sub("", joined).split())
    if not words or _OVER_EXCEPT & plain or NEGATION_CUES & plain or "still" in plain:
        return False
    found = _OVER_STATE.search(joined)
    if not found:
        return False
    if set(words) & {"was", "were"} and not told_in_past(text, match.first, match.end):
        return False  # "was fine after the epidural yesterday, now ..." came before, not after
    who = (found["who"] or "").split()
    if len(who) > 1:  # "my arms are fine" is about something else; "that numbness" is not
        named = {word[:4] for word in match.text.split() if len(word) >= 4}
        if not any(word[:4] in named for word in who[1:]):
            return False
    return True


_SPLIT = frozenset({"but", "and", ",", "pero", "y", "though", "although", "however", "yet"})


def at_procedure(text: Text, match: Match) -> bool:
    """Told as happening on the table ("I fainted at the first sight of the needle",
    "when he injected my foot tingled"): the clinic's staff were there; it is over."""
    sentence = read_story(text, text.history_after).sentences[text.sentence[match.first]]
    return sentence.during and (sentence.past or told_in_past(text, match.first, match.end))


def over(text: Text, match: Match) -> bool:
    """The patient says this symptom has passed: later in its sentence ("... but today
    they're fine"), at the start of one of the next two sentences, or it is told in the
    past in a story the patient says is over now, or it happened on the table."""
    if resolved(text, match):
        return True
    story = read_story(text, text.history_after)
    sentence = story.sentences[text.sentence[match.first]]
    if (story.fine_now or sentence.during) and told_in_past(text, match.first, match.end):
        return True
    _, sentence_end = text.sentence_bounds(match.first)
    splits = [j for j in range(match.end, sentence_end) if text.tokens[j] in _SPLIT]
    for index, split in enumerate(splits):
        stop = splits[index + 1] if index + 1 < len(splits) else sentence_end
        if _over_after(text, split + 1, stop, match):
            return True
    position = sentence_end
    for _ in range(2):
        if position >= len(text.tokens):
            break
        first, end = text.sentence_bounds(position)
        if _over_after(text, first, min(end, first + 14), match):
            return True
        if _THAT_WAS_AGO.match(" ".join(text.tokens[first:end])):
            return True  # "... worst pain I've had. But that was 3 days ago."
        position = end
    return _named_over_later(text, match, match.end)


_THAT_WAS_AGO = re.compile(
    r"^(?:but |and |anyway )?(?:that|this|it|all that) (?:was|happened) (?:\w+ ){0,3}ago\b"
)


@functools.lru_cache(maxsize=4096)
def _named_patterns(stem: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """For a symptom's first letters: said again as denied, as over, or as improving."""
    stem = re.escape(stem)
    return (
        re.compile(rf"\b(?:no|not|without|zero) (?:more |any |other )?{stem}\w*"),
        re.compile(
            rf"\b{stem}\w* (?:\w+ )?(?:is|has|was|had|have|are)? ?(?:now |all |completely |totally "
            rf"|finally |right |pretty much )?(?:gone|dropped|settled|eased|resolved|stopped|passed"
            rf"|cleared|went away|wore off|worn off|disappeared|subsided|went (?:that|the same|by|within"
            rf"|overnight)|(?:hasnt|has not|never) (?:come|came) back)\b"
        ),
        re.compile(
            rf"\b{stem}\w* (?:\w+ ){{0,3}}(?:is|s|has|are)? ?(?:way |much |a lot |right )?"
            rf"(?:down|better|improv\w*|less)\b"
        ),
    )


def _named_over_later(text: Text, match: Match, start: int) -> bool:
    """A later sentence names the symptom again as over: "Now that the big pain is gone",
    "by day 3 the pain dropped right down", "a week later no numbness at all"."""
    heads = [word for word in match.text.split() if len(word) >= 4 and word not in _FILLER]
    if any(word.startswith(_PAIN_WORDS) for word in match.text.split()) or "worse" in match.text:
        heads.append("pain")  # "worse than before" ... "the pain dropped right down"
    if not heads:
        return False
    later = _statements_from(text, start)  # "is this just that wearing off?" says nothing
    if _SETTLING.search(later):
        return True  # "so it's coming down slowly"
    return any(pattern.search(later) for head in heads for pattern in _named_patterns(head[:4]))


_LATER_SENTENCES = 3  # how far on a story may say a symptom is over (keeps it linear)
_LATER_TOKENS = 80


def _statements_from(text: Text, start: int) -> str:
    """The rest of the sentence at `start` and the next few, without questions ("is this
    just that wearing off?" says nothing)."""
    kept: list[str] = []
    position = start
    for _ in range(_LATER_SENTENCES + 1):
        if position >= len(text.tokens) or len(kept) >= _LATER_TOKENS:
            break
        first, end = text.sentence_bounds(position)
        words = text.tokens[max(first, start) : end]
        if words and words[-1] != "?":
            kept.extend(words)
        position = end
    return " ".join(kept[:_LATER_TOKENS])


_SETTLING = re.compile(
    r"\b(?:it|its|it is|they|theyre|they are|that|this|thats)\b (?!not |never |isnt |no )(?:\w+ )?"
    r"(?:coming down|going down|settling"
    r"|easing|improving|getting better|calming down|wearing off)\b"
)
_PAIN_WORDS = ("pain", "sore", "ache", "achi", "hurt", "dolor", "duel")
_FILLER = frozenset({"went", "have", "been", "feel", "feels", "felt", "like", "with", "that", "this", "from"})


# Old history: "since my surgery in 2010", "years ago", "as a kid", "before the injection".
_HISTORY = re.compile(
    r"\b(?:years|yrs|decades|last year|as a (?:kid|child|teen|teenager)|when i was (?:a|young|little"
    r"|\d+)|used to|in the past|previously|history of|long time ago|back in|prior to|all my life"
    r"|my whole life|(?:in|since|back in)(?: \w+)? (?:19|20)\d\d"
    r"|(?<!than )before (?:the|my|this|these|that|any|i had)"
    r" (?:\w+ )?(?:injection|injections|shot|shots|block|blocks|procedure|surgery|epidural)"
    r"|hace (?:anos|mucho)|de nina|de nino|cuando era|antes de (?:la|el|mi) \w+|una vez|alguna vez"
    r"|desde (?:los|que tenia) \d+)\b"
)
_NOW = frozenset({
    "now", "still", "again", "today", "currently", "tonight", "worse", "worsening", "new",
    "started", "starting", "keeps", "keep", "right", "anymore", "ahora", "todavia",
    "hoy", "otra", "peor", "nuevo", "nueva", "desde",
})


def history(text: Text, match: Match, only_old_times: bool) -> bool:
    """The symptom belongs to old history, not to now: the clause names an old time and
    nothing current; or every time the message gives is old and the sentence is told in
    the past tense."""
    key = ("history", text.clause[match.first], only_old_times)
    cached = text.memo.get(key)
    if isinstance(cached, bool):
        return cached
    first, end = text.clause_bounds(match.first)
    words = text.tokens[first:end]
    joined = " ".join(words)
    story = read_story(text, text.history_after)
    sentence = story.sentences[text.sentence[match.first]]
    told_past = sentence.past or told_in_past(text, match.first, match.end)
    verdict = sentence.risk_talk or (sentence.old and told_past)
    if not verdict and not _NOW & set(words):
        if _HISTORY.search(joined):
            verdict = True
        elif only_old_times:
            sentence_first, sentence_end = text.sentence_bounds(match.first)
            in_sentence = set(text.tokens[sentence_first:sentence_end])
            verdict = bool(in_sentence & _PAST_NARRATIVE) and not _NOW & in_sentence
    text.memo[key] = verdict
    return verdict


_PAST_NARRATIVE = frozenset({
    "had", "was", "were", "experienced", "went", "got", "felt", "developed", "suffered",
    "tuve", "tuvo", "estuve", "estuvo", "senti", "sintio",
})


def subject(text: Text, match: Match) -> str:
    """Who has the symptom: 'self', 'other' (a named person) or 'generic' (people at large)."""
    for token in text.tokens[match.first : match.end]:
        if token in ("her", "his", "their"):
            return "other"
        if token in ("my", "me", "myself"):
            return "self"
    start, _ = text.sentence_bounds(match.first)
    for j in range(match.first - 1, max(start, match.first - _SUBJECT_REACH) - 1, -1):
        token = text.tokens[j]
        if token in SELF:
            return "self"
        if token in OTHER_NOUNS or token in _OTHER_PRONOUNS:
            return "other"
        if token in _GENERIC_PEOPLE:
            return "generic"
    return "self"  # no subject: the writer speaks about themselves


def local_words(text: Text, match: Match) -> frozenset[str]:
    """The words around a match up to the nearest comma or "and"/"but"/"so"."""
    start, stop = text.sentence_bounds(match.first)
    left = match.first
    while left > start and text.tokens[left - 1] not in _SPLIT:
        left -= 1
    right = match.end
    while right < stop and text.tokens[right] not in _SPLIT:
        right += 1
    return frozenset(text.tokens[left:right])


def belongs_to_patient(text: Text, match: Match, level: Level) -> bool:
    """Someone else's symptom does not count, unless they are the patient (a caregiver
    writes) or it may be a present emergency (when in doubt, escalate)."""
    who = subject(text, match)
    if who == "self" or (who == "other" and text.caregiver):
        return True
    words = local_words(text, match)  # "my dad wet himself ..., hes never ever done that"
    if words & _OLD_MARKERS or (level != "emergency" and words & _PAST_TENSE):
        return False
    first, end = text.clause_bounds(match.first)
    if _HISTORY.search(" ".join(text.tokens[first:end])):
        return False  # "my husband had chest pains last year"
    if who == "generic":  # "people get paralysis from these?" is a question, not a report
        return level == "emergency" and not _in_question(text, match)
    return level == "emergency" or not text.writer_is_patient


def _in_question(text: Text, match: Match) -> bool:
    first, end = text.sentence_bounds(match.first)
    return text.tokens[end - 1] == "?" or text.tokens[first] in QUESTION_START


def clause_found(clause: Clause, text: Text, span: tuple[int, int] | None, level: Level) -> Match | None:
    """The first affirmed match of every part (within `span`, else anywhere), or None."""
    start, end = span or (0, len(text.joined))
    found: list[Match] = []
    for pattern in clause:
        hit = next(
            (
                m for m in raw_matches(pattern, text, start, end)
                if not negated(text, m) and belongs_to_patient(text, m, level)
            ),
            None,
        )
        if hit is None:
            return None
        found.append(hit)
    return Match(found[0].first, found[0].end, " + ".join(m.text for m in found))


def any_clause(clauses: tuple[Clause, ...], text: Text, token: int, level: Level) -> bool:
    """Severity or exclusion words in the sentence of `token` (an AND line: anywhere)."""
    span = text.sentence_span(token)
    key = (id(clauses), span, level)
    if key not in text.memo:
        text.memo[key] = any(
            clause_found(clause, text, None if len(clause) > 1 else span, level) is not None
            for clause in clauses
        )
    return bool(text.memo[key])


def _excluded(rule: Rule, text: Text, match: Match) -> bool:
    """A 'Not if' phrase covers some of the matched words: "hay fever", "heat stroke"."""
    key = ("not if", rule.rule_id, text.sentence[match.first])
    spans = text.memo.get(key)
    if not isinstance(spans, list):
        start, end = text.sentence_span(match.first)
        spans = [
            (hit.first, hit.end)
            for clause in rule.not_if
            for pattern in clause
            for hit in raw_matches(pattern, text, start, end)
        ]
        text.memo[key] = spans
    return any(first < match.end and match.first < end for first, end in spans)


def affirmed_matches(rule: Rule, clause: Clause, text: Text, skip: set[int] | None = None) -> Iterator[Match]:
    """Matches of one catalogue line that are about the patient, not negated, not excluded
    by 'Not if' and (for expected effects) not over; sentences in `skip` are left out."""
    if len(clause) > 1:
        hit = clause_found(clause, text, None, rule.level)
        if hit is not None:
            yield hit
        return
    whose = rule.level if rule.kind == "red flag" else "urgent"
    for match in raw_matches(clause[0], text):
        if skip and text.sentence[match.first] in skip:
            continue
        if negated(text, match):
            continue
        if rule.not_if and _excluded(rule, text, match):
            continue
        # An expected effect that is over needs nothing (a red flag that is over gets the
        # rule's 'If over' level, decided by the caller).
        if rule.kind == "expected effect" and (over(text, match) or at_procedure(text, match)):
            continue
        if history(text, match, text.only_old_times):
            continue
        if belongs_to_patient(text, match, whose):
            yield match


def is_generic_question(text: Text, match: Match) -> bool:
    """"How long does numbness last?" -- a question with no sign that the writer has it."""
    key = ("generic question", text.sentence[match.first])
    if key not in text.memo:
        first, end = text.sentence_bounds(match.first)
        words = text.tokens[first:end]
        asks = words[-1] == "?" or words[0] in QUESTION_START
        text.memo[key] = asks and not any(w in SELF or w == "still" for w in words)
    return bool(text.memo[key])
