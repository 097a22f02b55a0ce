"""Decide, ask or answer: the red-flag rules and the learned screen, one decision.

1. The catalogue's rules are triggers: when one fires, the message is escalated at its
   level (or higher, if the screen says so). Only when the screen is confident the
   message is routine (P(urgent or higher) under `rule_confirm`, chosen on dev) is the
   patient asked the rule's own check question instead, and only a question whose "yes"
   gets at least the rule's level: never silence.
2. Otherwise the screen decides. Confident: escalate at its level. Unsure (the middle
   zone, thresholds chosen on the dev writers and written in the model card): ask a check
   question about the concept(s) it suspects ("To be safe: is any of this happening
   now?"). Low: answer as usual.
3. If the screen breaks on a message, the patient gets the urgent safety reply, as when
   the rules break: never a silent routine.

`candidates` lists the check questions in the order to ask them; the conversation (the
Rasa policy) skips those already asked, so the same question is never asked twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chatbot import triage
from chatbot.screen.card import Thresholds
from chatbot.screen.model import Screen, ScreenScores
from chatbot.screen.segments import readable
from chatbot.triage.catalogue import RANK, Catalogue, CheckQuestion, Level
from chatbot.triage.concepts import SELF_HARM
from chatbot.triage.language import language_of

log = logging.getLogger(__name__)
SCREEN_ERROR_REASON = "The message could not be checked automatically; please contact the clinic."
# A check question asks about at most this many questions' worth of concepts, in turn.
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class Decision:
    level: Level  # before any check question is answered
    reasons: list[str]
    concepts: dict[str, float]  # the screen's probabilities; 1.0 for a concept a rule found
    decided_by: str  # "rules", "screen", "check", "none" or "failed"
    candidates: tuple[CheckQuestion, ...] = ()  # check questions to ask, in order (middle zone)
    levels: dict[str, float] = field(default_factory=dict)  # the screen's P(each level)

    @property
    def self_harm(self) -> bool:
        """Escalated for thoughts of suicide or self-harm: the crisis reply."""
        return self.level == "emergency" and self.main_concept == SELF_HARM

    @property
    def main_concept(self) -> str | None:
        if not self.concepts:
            return None
        return max(self.concepts.items(), key=lambda item: item[1])[0]

    def check(self, asked: frozenset[str] = frozenset()) -> CheckQuestion | None:
        """The first candidate not asked yet in this conversation."""
        return next((check for check in self.candidates if check.check_id not in asked), None)


def _rule_concepts(result: triage.TriageResult) -> list[str]:
    """The concepts of the findings that decided the level (main one first)."""
    out: list[str] = []
    for finding in result.findings:
        if finding.level == result.level and finding.level != "routine":
            out.extend(concept for concept in finding.concepts if concept not in out)
    return out


def _screen_level(scores: ScreenScores, t: Thresholds) -> Level:
    if scores.emergency >= t.emergency:
        return "emergency"
    if scores.urgent_or_higher >= t.urgent:
        return "urgent"
    return "routine"


def _unsure(scores: ScreenScores, t: Thresholds) -> bool:
    return scores.urgent_or_higher >= t.check or scores.emergency >= t.check_emergency


def check_candidates(scores: ScreenScores, t: Thresholds, catalogue: Catalogue) -> tuple[CheckQuestion, ...]:
    """Check questions for the likeliest concept and every concept above the floor, the
    most urgent first (as nurses' protocols ask: the first "yes" decides)."""
    out: list[CheckQuestion] = []
    for rank, (concept, probability) in enumerate(scores.likeliest_concepts()):
        if rank > 0 and probability < t.concept_floor:
            break
        check = catalogue.check_for(concept)
        if check is not None and check not in out:
            out.append(check)
        if len(out) == MAX_CANDIDATES:
            break
    return tuple(sorted(out, key=lambda check: -RANK[check.level_if_yes]))


def _rule_checks(rules: triage.TriageResult, catalogue: Catalogue) -> tuple[CheckQuestion, ...]:
    """The check questions of the concepts a rule found, if each "yes" gets at least the
    rule's level (otherwise the rule's escalation stands)."""
    out: list[CheckQuestion] = []
    for concept in _rule_concepts(rules):
        check = catalogue.check_for(concept)
        if check is None or RANK[check.level_if_yes] < RANK[rules.level]:
            return ()
        if check not in out:
            out.append(check)
    return tuple(sorted(out[:MAX_CANDIDATES], key=lambda check: -RANK[check.level_if_yes]))


def combine(
    rules: triage.TriageResult, scores: ScreenScores | None, t: Thresholds, catalogue: Catalogue
) -> Decision:
    """The decision from the rules' result and the screen's scores (no model call here:
    the threshold search in training replays this with other thresholds). No scores:
    the message is too short for the screen (segments.readable); the rules decide."""
    if scores is None:
        rule_concepts = dict.fromkeys(_rule_concepts(rules), 1.0)
        decided_by = "rules" if rules.level != "routine" else "none"
        return Decision(rules.level, rules.reasons, rule_concepts, decided_by)
    concepts = dict(scores.concepts)
    for concept in _rule_concepts(rules):
        concepts[concept] = 1.0
    level = _screen_level(scores, t)
    if rules.level != "routine":
        if scores.urgent_or_higher >= t.rule_confirm or level != "routine":
            final = rules.level if RANK[rules.level] >= RANK[level] else level
            decision = Decision(final, rules.reasons, concepts, "rules", levels=scores.levels)
            return _maybe_emergency(decision, scores, t, catalogue)
        checks = _rule_checks(rules, catalogue)
        if checks:
            return Decision("routine", [], concepts, "check", checks, levels=scores.levels)
        return Decision(rules.level, rules.reasons, concepts, "rules", levels=scores.levels)
    if level != "routine":
        probability = scores.emergency if level == "emergency" else scores.urgent_or_higher
        reason = f"The learned screen read this as {level} (P = {probability:.2f})."
        decision = Decision(level, [reason], concepts, "screen", levels=scores.levels)
        return _maybe_emergency(decision, scores, t, catalogue)
    if _unsure(scores, t):
        candidates = check_candidates(scores, t, catalogue)
        if candidates:
            return Decision("routine", [], concepts, "check", candidates, levels=scores.levels)
    return Decision("routine", [], concepts, "none", levels=scores.levels)


def _maybe_emergency(
    decision: Decision, scores: ScreenScores, t: Thresholds, catalogue: Catalogue
) -> Decision:
    """Urgent, but the screen half suspects an emergency: ask its emergency questions
    first ("yes": the emergency advice; "no": the urgent advice)."""
    if decision.level != "urgent" or scores.emergency < t.check_emergency:
        return decision
    candidates = check_candidates(scores, t, catalogue)
    emergency_checks = tuple(c for c in candidates if c.level_if_yes == "emergency")
    if not emergency_checks:
        return decision
    return Decision("urgent", decision.reasons, decision.concepts, "check", emergency_checks,
                    levels=decision.levels)


def simulated_outcome(decision: Decision, labelled_concepts: tuple[str, ...]) -> tuple[Level, int]:
    """(final level, check questions asked) for a patient who answers truthfully: "yes"
    to the first question that asks about a concept the message is labelled with; after
    "no" to every question, the decision's own level (routine: the answer; urgent: the
    urgent advice)."""
    if decision.decided_by != "check":
        return decision.level, 0
    for asked, check in enumerate(decision.candidates, start=1):
        if any(concept in check.concepts for concept in labelled_concepts):
            final = check.level_if_yes if RANK[check.level_if_yes] > RANK[decision.level] else decision.level
            return final, asked
    return decision.level, len(decision.candidates)


def thresholds_for(screen: Screen, message: str) -> Thresholds:
    """The thresholds chosen on the dev writers of the message's language (English by default)."""
    return screen.thresholds["es" if language_of(message) == "es" else "en"]


def decide(
    message: str,
    *,
    screen: Screen,
    hours_since_injection: float | None = None,
    catalogue: Catalogue | None = None,
) -> Decision:
    catalogue = catalogue or triage.default_catalogue()
    rules = triage.classify(message, hours_since_injection=hours_since_injection, catalogue=catalogue)
    if not readable(message):
        return combine(rules, None, thresholds_for(screen, message), catalogue)
    try:
        scores = screen.scores(message)
    except Exception as error:  # fail safe; the log names the error type, never the message
        log.error("The triage screen failed (%s); answering 'urgent' to be safe", type(error).__name__)
        level: Level = rules.level if RANK[rules.level] >= RANK["urgent"] else "urgent"
        return Decision(level, rules.reasons or [SCREEN_ERROR_REASON], {}, "failed")
    return combine(rules, scores, thresholds_for(screen, message), catalogue)


COMMAND_DOUBT_FLOOR = 0.2  # a concept this likely gets its check question


def asked_instead(decision: Decision, catalogue: Catalogue | None = None) -> Decision:
    """The screen alone escalated a message that the language model is sure is a request
    to the assistant ("print my diary", "show my diary"): two readings disagree, so the
    patient is asked the check questions of the screen's concepts instead ("yes": the
    question's level; "no": the request is done). Escalations by the rules (the hard
    triggers) stand, and so does the screen's when no concept has a question."""
    if decision.level == "routine" or decision.decided_by not in ("screen", "check") or any(
            p >= 1.0 for p in decision.concepts.values()):  # 1.0: a rule found it
        return decision
    catalogue = catalogue or triage.default_catalogue()
    likely = sorted(((p, c) for c, p in decision.concepts.items() if p >= COMMAND_DOUBT_FLOOR), reverse=True)
    checks: list[CheckQuestion] = []
    for _, concept in likely:
        check = catalogue.check_for(concept)
        if check is not None and check not in checks:
            checks.append(check)
    if not checks:
        return decision
    ordered = tuple(sorted(checks[:MAX_CANDIDATES], key=lambda check: -RANK[check.level_if_yes]))
    return Decision("routine", [], decision.concepts, "check", ordered, levels=decision.levels)
