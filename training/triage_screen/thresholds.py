"""Choose the decide/ask thresholds on the dev writers only.

The search replays the decision (chatbot.screen.decide.combine) with every threshold set
of a small grid on the dev examples' rule results and screen scores, with a patient who
answers check questions truthfully, and keeps the set of least `cost`: missed
emergencies first, then missed urgent messages, then routine messages escalated directly
beyond DIRECT_BUDGET, then routine messages asked beyond ASK_BUDGET.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from chatbot import triage
from chatbot.screen.card import Thresholds
from chatbot.screen.decide import combine, simulated_outcome
from chatbot.screen.model import ScreenScores
from chatbot.triage.catalogue import RANK, Catalogue

TARGET_URGENT = 0.97
DIRECT_BUDGET = 0.06
ASK_BUDGET = 0.12
DIRECT_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
CONFIRM_GRID = (0.0, 0.03, 0.06, 0.1, 0.15)
# "Unsure" starts at a 10% chance: below it a check question is noise to the patient.
CHECK_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
FLOOR_GRID = (0.1, 0.2)


@dataclass(frozen=True)
class Scored:
    level: str  # the label
    concepts: tuple[str, ...]
    rules: triage.TriageResult
    scores: ScreenScores | None  # None: too short for the screen (chatbot.screen.segments.readable)


def figures(rows: list[Scored], t: Thresholds, catalogue: Catalogue) -> dict[str, float]:
    counts = {
        "emergency": 0,
        "urgent": 0,
        "routine": 0,
        "em_caught": 0,
        "urg_caught": 0,
        "routine_direct": 0,
        "routine_asked": 0,
    }
    for row in rows:
        decision = combine(row.rules, row.scores, t, catalogue)
        final, asked = simulated_outcome(decision, row.concepts)
        counts[row.level] += 1
        if row.level == "emergency":
            counts["em_caught"] += final == "emergency"
        if row.level != "routine":
            counts["urg_caught"] += RANK[final] >= RANK["urgent"]
        else:
            counts["routine_direct"] += decision.level != "routine"
            counts["routine_asked"] += decision.decided_by == "check"

    def share(a: int, b: int) -> float:
        return round(a / b, 4) if b else 1.0

    return {
        "messages": len(rows),
        "emergency_recall": share(counts["em_caught"], counts["emergency"]),
        "urgent_or_higher_recall": share(counts["urg_caught"], counts["emergency"] + counts["urgent"]),
        "routine_escalated": share(counts["routine_direct"], counts["routine"]),
        "routine_asked": share(counts["routine_asked"], counts["routine"]),
    }


def cost(f: dict[str, float]) -> float:
    """Safety first: a missed emergency costs most, then a missed urgent message, then
    routine messages escalated directly beyond DIRECT_BUDGET, then routine messages asked
    a check question beyond ASK_BUDGET; a little for every routine message bothered."""
    missed = 20 * (1 - f["emergency_recall"]) + 5 * max(0.0, TARGET_URGENT - f["urgent_or_higher_recall"])
    bothered = 5 * max(0.0, f["routine_escalated"] - DIRECT_BUDGET) + 3 * max(
        0.0, f["routine_asked"] - ASK_BUDGET
    )
    return missed + bothered + 0.2 * (f["routine_escalated"] + f["routine_asked"])


def choose(rows: list[Scored], catalogue: Catalogue) -> tuple[Thresholds, dict[str, float]]:
    """The grid's thresholds of least cost on the dev rows."""
    best: tuple[float, Thresholds, dict[str, float]] | None = None
    for emergency, urgent, confirm, check, check_emergency, floor in itertools.product(
        DIRECT_GRID, DIRECT_GRID, CONFIRM_GRID, CHECK_GRID, CHECK_GRID, FLOOR_GRID
    ):
        if check > urgent or check_emergency > emergency:
            continue
        t = Thresholds(emergency, urgent, check, check_emergency, floor, confirm)
        f = figures(rows, t, catalogue)
        c = cost(f)
        if best is None or c < best[0]:
            best = (c, t, f)
    assert best is not None
    return best[1], best[2]
