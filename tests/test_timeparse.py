from datetime import datetime

import pytest

from chatbot.timeparse import hours_ago


@pytest.mark.parametrize(
    ("text", "hours"),
    [("yesterday", 24), ("2 days ago", 48), ("three hours ago", 3), ("a week ago", 168),
     ("a couple of days ago", 48), ("this morning", 4), ("last night", 14)],
)
def test_relative_times(text, hours):
    assert hours_ago(text) == hours


def test_weekday_counts_back_from_now():
    saturday = datetime(2026, 11, 21, 12, 0)
    assert hours_ago("on thursday", now=saturday) == 48
    assert hours_ago("on saturday", now=saturday) == 168


def test_unknown_text_is_none():
    assert hours_ago("some time") is None
