"""Tests of the code the Rasa server loads, run with Rasa's own Python (.venv-rasa):
`make test-rasa-unit`. Trackers and messages are built from plain event lists, the way
RasaHQ/financial-demo tests its actions, so no server is needed."""

from __future__ import annotations

import pytest

from chatbot import settings as settings_module


@pytest.fixture(autouse=True)
def clinic_open_all_day(monkeypatch: pytest.MonkeyPatch):
    """In-hours replies are deterministic; settings are read again for each test."""
    monkeypatch.setenv("CLINIC_HOURS", "Mon-Sun 00:00-24:00")
    monkeypatch.delenv("URGENT_CARE_PHONE", raising=False)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()
