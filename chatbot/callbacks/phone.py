"""A phone number as a patient types it, checked and normalised with `phonenumbers`."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True)
class PhoneReading:
    e164: str | None  # +15550100199: what is stored and sent
    display: str | None = None  # (555) 010-0199: what the patient and the nurse read
    problem: str | None = None


def read_phone(text: str, region: str) -> PhoneReading:
    """`region` (US, GB ...) is the country for numbers written without +code."""
    raw = (text or "").strip()
    if not any(ch.isdigit() for ch in raw):
        return PhoneReading(
            None, problem="I couldn't find a phone number in that. Please type the number to call."
        )
    found = next(iter(phonenumbers.PhoneNumberMatcher(raw, region)), None)  # "(617) 253-1000 cell"
    if found is not None:
        return _reading(found.number, region)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return PhoneReading(
            None,
            problem="I couldn't read that as a phone number. Please type it again, "
            "like (212) 555-0143 or +44 20 7946 0958.",
        )
    if not phonenumbers.is_valid_number(number):
        return PhoneReading(
            None,
            problem="That doesn't look like a complete phone number. "
            "Please check it and type it again with the area code.",
        )
    return _reading(number, region)


def _reading(number: phonenumbers.PhoneNumber, region: str) -> PhoneReading:
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    same_country = phonenumbers.region_code_for_number(number) == region
    return PhoneReading(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        national if same_country else international,
    )
