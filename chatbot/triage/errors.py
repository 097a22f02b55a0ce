"""Errors of the triage data files, with the file, line, problem and fix as fields."""

from __future__ import annotations

from chatbot.errors import ChatbotError


class CatalogueError(ChatbotError, ValueError):
    """The red-flag catalogue or its word groups are broken: triage must not start."""


class PatternSyntaxError(ValueError):
    """A pattern that does not follow the catalogue's pattern language (no location yet)."""
