"""A phone number as a patient types it, checked and normalised with `phonenumbers`."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True)
class PhoneReading:
    e164: str | None  # +15550100199: what is stored and sent
    display: str | None = None  # (555) 010-0199: what the patient and the nurse read
    problem: str | None = None


MIN_OTHER_NUMBER = 7  # this many more digits than the number found: a second number


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def read_phone(text: str, region: str) -> PhoneReading:
    """`region` (US, GB ...) is the country for numbers written without +code."""
    raw = (text or "").strip()
    if not any(ch.isdigit() for ch in raw):
        return PhoneReading(
            None, problem="I couldn't find a phone number in that. Please type the number to call."
        )
    found = next(iter(phonenumbers.PhoneNumberMatcher(raw, region)), None)  # "(617) 253-1000 cell"
    if found is not None:
        if _digits(raw) - _digits(found.raw_string) >= MIN_OTHER_NUMBER:
            # "home is 617 555 2304 but use my mobile 617-404-2219": never guess which
            return PhoneReading(None, problem="I read more than one phone number there. Please send "
                                              "just the one the nurse should call.")
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
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:  # "555-0142": no area code
            return PhoneReading(None, problem=(
                "That number needs its area code, so a nurse can dial it from the clinic. "
                "Please type it again with the area code, like (212) 555-0143."))
        if reason == phonenumbers.ValidationResult.IS_POSSIBLE:  # the right length, but no such area code
            return PhoneReading(None, problem=(
                "I can't use that number: its area code is not in use, so a nurse could not reach it. "
                "Please check it, or call the clinic yourself if you prefer."))
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
