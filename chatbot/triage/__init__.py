"""Red-flag triage of one patient message: emergency, urgent or routine.

Standard library only: this runs inside the Rasa server (Python 3.10) and in the command
line (Python 3.11) before anything else sees the message. The rules are data that
clinical staff own: knowledge/triage/red-flags.md and its word groups, lexicon.md.

Modules, one job each: ``text`` (reading the message), ``patterns`` (the pattern
language), ``lexicon`` (word groups), ``catalogue`` (reading and checking the rules),
``timing`` (how long ago), ``matching`` (negation, who, over or not), ``classify``
(levels).
"""

from chatbot.triage.catalogue import (
    CATALOGUE_ENV,
    DEFAULT_CATALOGUE,
    RANK,
    Catalogue,
    Level,
    Rule,
    catalogue_path,
    default_catalogue,
    load_catalogue,
    require_checks,
)
from chatbot.triage.errors import CatalogueError, PatternSyntaxError
from chatbot.triage.levels import Finding, TriageResult, classify, failed_safe
from chatbot.triage.patterns import compile_pattern
from chatbot.triage.text import normalise

__all__ = [
    "CATALOGUE_ENV", "DEFAULT_CATALOGUE", "RANK", "Catalogue", "CatalogueError", "Finding", "Level",
    "PatternSyntaxError", "Rule", "TriageResult", "catalogue_path", "classify", "compile_pattern",
    "default_catalogue", "failed_safe", "load_catalogue", "normalise", "require_checks",
]
