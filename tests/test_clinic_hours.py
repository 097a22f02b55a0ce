from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatbot.clinic_hours import HoursError, is_open, parse_hours, says_clinic_closed

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 11, 23, 9, 0, tzinfo=NY), True),  # Monday morning
        (datetime(2026, 11, 23, 17, 0, tzinfo=NY), False),  # closing time
        (datetime(2026, 11, 21, 10, 0, tzinfo=NY), True),  # Saturday hours
        (datetime(2026, 11, 22, 10, 0, tzinfo=NY), False),  # Sunday
        (datetime(2026, 11, 23, 14, 30, tzinfo=ZoneInfo("UTC")), True),  # 09:30 in New York
    ],
)
def test_opening_hours(when, expected):
    spec = "Mon-Fri 08:00-17:00; Sat 09:00-12:00"
    assert is_open(spec, "America/New_York", when) is expected


def test_closed_and_always_open():
    monday = datetime(2026, 11, 23, 3, 0, tzinfo=NY)
    assert not is_open("closed", "America/New_York", monday)
    assert is_open("Mon-Sun 00:00-24:00", "America/New_York", monday)


@pytest.mark.parametrize("spec", ["Mon-Fri 8-5", "Funday 08:00-17:00", "Mon 25:00-26:00"])
def test_bad_hours_are_explained(spec):
    with pytest.raises(HoursError):
        parse_hours(spec)


def test_bad_timezone_is_explained():
    with pytest.raises(HoursError, match="CLINIC_TIMEZONE"):
        is_open("Mon-Fri 08:00-17:00", "Mars/Olympus")


@pytest.mark.parametrize(
    "message",
    ["facial flushing on the second day, it is after hours", "the clinic is closed",
     "it's the weekend and my site is red", "I can't reach my doctor",
     "its saturday night and the clinic is closed, what do i do", "it's the middle of the night",
     "la clínica está cerrada", "es fin de semana y tengo fiebre", "nobody is answering the phone"],
)
def test_patient_saying_the_clinic_is_closed(message):
    assert says_clinic_closed(message)


def test_ordinary_message_does_not_say_closed():
    assert not says_clinic_closed("how long will the numbness last?")
