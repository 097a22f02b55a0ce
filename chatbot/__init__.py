"""Patient-education assistant for a pain clinic: knowledge, retrieval, triage."""

from pathlib import Path

# The repository root: knowledge/, build/ and .env are found relative to it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
