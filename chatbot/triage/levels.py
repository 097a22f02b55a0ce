"""The level of one message: each rule's findings, then the highest level wins.

Red flags count when they are about the patient now; expected effects count once the
time since the injection (said in the message, or known from the conversation) is past
their window, or severity words escalate them whatever the time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from chatbot.triage.catalogue import RANK, Catalogue, Level, Rule, default_catalogue
from chatbot.triage.matching import (
    Match,
    affirmed_matches,
    any_clause,
    at_procedure,
    is_generic_question,
    over,
    prepare,
)
from chatbot.triage.text import Text
from chatbot.triage.timing import Said, message_hours

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    rule_id: str
    level: Level
    reason: str  # plain-language, from the catalogue
    matched: str  # the text that matched (lower-cased, punctuation removed)
    concepts: tuple[str, ...] = ()  # the rule's concepts (chatbot.triage.concepts)


@dataclass(frozen=True)
class TriageResult:
    level: Level
    findings: tuple[Finding, ...]

    @property
    def reasons(self) -> list[str]:
        """Plain reasons of the findings that decided the level (no duplicates). Routine is
        the default, decided by nothing: its reasons are empty even if an expected effect
        was recognised (that finding is still in `findings`)."""
        if self.level == "routine":
            return []
        reasons: list[str] = []
        for finding in self.findings:
            if finding.level == self.level and finding.reason not in reasons:
                reasons.append(finding.reason)
        return reasons


# Triage reads at most this much of one message: the start and the end, where a question or
# a red flag added to a long paste is. Linear time, and a hard cap well under the REST
# body limit (64 KiB); longer messages also get the "one question at a time" reply with
# the clinic's and the emergency number.
READ_HEAD, READ_TAIL = 8_000, 2_000


def capped(message: str) -> str:
    if len(message) <= READ_HEAD + READ_TAIL:
        return message
    return message[:READ_HEAD] + " . " + message[-READ_TAIL:]


TRIAGE_ERROR_REASON = "The message could not be checked automatically; please contact the clinic."


def failed_safe() -> TriageResult:
    """What a message gets when triage itself broke: urgent, never a silent routine."""
    return TriageResult("urgent", (Finding("triage-error", "urgent", TRIAGE_ERROR_REASON, ""),))


def _red_flag_finding(rule: Rule, text: Text) -> Finding | None:
    """The highest level any match of the rule gets. A symptom the patient says is over
    gets the rule's 'If over' level (routine unless staff chose otherwise); it is still
    a finding, so the answer can say what to do if it comes back."""
    best: Finding | None = None
    for clause in rule.patterns:
        for match in affirmed_matches(rule, clause, text):
            if at_procedure(text, match):
                level: Level = "routine"
            else:
                level = rule.if_over if over(text, match) else rule.level
            if level == "urgent" and any_clause(rule.emergency_if, text, match.first, "urgent"):
                level = "emergency"
            if best is None or RANK[level] > RANK[best.level]:
                best = Finding(rule.rule_id, level, rule.reason, match.text, rule.concepts)
            if level == rule.level or level == "emergency":
                return best
    return best


def _expected_level(
    rule: Rule, text: Text, match: Match, said: Said, context_hours: float | None
) -> Level:
    """Severity words decide first; otherwise the time since the injection vs the window."""
    if rule.emergency_if and any_clause(rule.emergency_if, text, match.first, "urgent"):
        return "emergency"
    if rule.urgent_if and any_clause(rule.urgent_if, text, match.first, "urgent"):
        return rule.level
    hours = said.hours
    if hours is None and not said.only_old and not is_generic_question(text, match):
        hours = context_hours  # what the conversation knows, if the message gives no time
    threshold = rule.escalate_after_hours
    return rule.level if hours is not None and threshold is not None and hours >= threshold else "routine"


def _expected_finding(rule: Rule, text: Text, said: Said, context_hours: float | None) -> Finding | None:
    best: Finding | None = None
    for clause in rule.patterns:
        judged: set[int] = set()  # the level depends on the sentence only: judge each once
        for match in affirmed_matches(rule, clause, text, skip=judged):
            judged.add(text.sentence[match.first])
            level = _expected_level(rule, text, match, said, context_hours)
            if best is None or RANK[level] > RANK[best.level]:
                best = Finding(rule.rule_id, level, rule.reason, match.text, rule.concepts)
            if level == "emergency":
                return best
    return best


def clean_hours(hours: object) -> float | None:
    if hours is None or isinstance(hours, bool):
        return None
    try:
        value = float(str(hours)) if not isinstance(hours, int | float) else float(hours)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def read(message: str, catalogue: Catalogue) -> Text:
    """The message as the rules see it."""
    return prepare(Text.from_message(message, catalogue.speller.correct))


def _classify(message: str, context_hours: float | None, catalogue: Catalogue) -> TriageResult:
    text = read(message, catalogue)
    if not text.tokens:
        return TriageResult("routine", ())
    said = message_hours(text.joined, catalogue.history_after_hours)
    text.only_old_times = said.only_old
    text.history_after = catalogue.history_after_hours
    findings: list[Finding] = []
    for rule in catalogue.rules:
        if rule.kind == "red flag":
            finding = _red_flag_finding(rule, text)
        else:
            finding = _expected_finding(rule, text, said, context_hours)
        if finding is not None:
            findings.append(finding)
    findings.sort(key=lambda f: -RANK[f.level])  # stable: catalogue order within a level
    return TriageResult(findings[0].level if findings else "routine", tuple(findings))


def classify(
    message: str,
    *,
    hours_since_injection: float | None = None,
    catalogue: Catalogue | None = None,
) -> TriageResult:
    """Triage one patient message.

    `hours_since_injection` is what the conversation knows; a time said in the message
    itself takes precedence. Never raises for any input: if something unexpected breaks,
    the answer is "urgent" (contact the clinic), never a silent "routine". (A broken
    catalogue file raises CatalogueError when it is loaded: that is a setup error, and
    every server loads it before the first message.)
    """
    catalogue = catalogue or default_catalogue()
    if not isinstance(message, str):
        message = "" if message is None else str(message)
    try:
        return _classify(capped(message), clean_hours(hours_since_injection), catalogue)
    except Exception as error:  # fail safe; the log names the error, never the message text
        log.error("Red-flag triage failed (%s); answering 'urgent' to be safe", type(error).__name__)
        return failed_safe()
