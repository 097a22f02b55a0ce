"""What earlier messages tell triage: when the injection was, and asking to wait.

Used inside the Rasa server by the safety-net policy, which sees the whole conversation:
"I had my facet injection 3 days ago" then "my leg is still numb" is past the numbness
window; "can I just take tylenol and wait until Monday?" after an escalation repeats it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot.triage.catalogue import Catalogue, default_catalogue
from chatbot.triage.levels import read
from chatbot.triage.matching import affirmed_matches
from chatbot.triage.timing import message_hours

_PROCEDURE = re.compile(
    r"\b(?:(?:inj|ing|iny)ect\w*|injecton\w*|shots?|jabs?|blocks?|procedures?|epidurals?|facets?"
    r"|rfa|ablation|tpis?|mbb|bloqueos?|piquetes?|procedimientos?|infiltracion\w*)\b"
)


def injection_hours_said(message: str, catalogue: Catalogue | None = None) -> float | None:
    """Hours ago of the injection, if this message names it with a time ("I had my facet
    injection 3 days ago", "me pusieron el bloqueo ayer"), else None."""
    catalogue = catalogue or default_catalogue()
    try:
        text = read(message, catalogue)
        if not _PROCEDURE.search(text.joined):
            return None
        return message_hours(text.joined, catalogue.history_after_hours).hours
    except Exception:  # a broken message tells us nothing; triage of it fails safe elsewhere
        return None


def hours_from_history(
    earlier: Sequence[tuple[str, float]], now: float, catalogue: Catalogue | None = None
) -> float | None:
    """Hours since the injection from earlier patient messages, as (text, unix time), oldest
    first: the latest one that names the injection with a time, plus the time since it."""
    for text, when in reversed(earlier):
        said = injection_hours_said(text, catalogue)
        if said is not None:
            return said + max(0.0, (now - when) / 3600)
    return None


def asks_to_wait(message: str, catalogue: Catalogue | None = None) -> bool:
    """"Can I wait until Monday?", "can I just take tylenol?" -- a wait request of the
    catalogue, not negated."""
    catalogue = catalogue or default_catalogue()
    try:
        text = read(message, catalogue)
        return any(
            next(affirmed_matches(rule, clause, text), None) is not None
            for rule in catalogue.wait_requests
            for clause in rule.patterns
        )
    except Exception:  # when in doubt, treat it as asking to wait: the advice is repeated
        return True
