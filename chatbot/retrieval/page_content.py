"""What a page must never pass on to patients word for word, read the same way by the
assistant (which holds such a page back, serving its last good version) and by
`chatbot kb check` (which names the line and the fix). Issue 19: a nurse pasted all of these
and they reached patients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

HTML_TAG = re.compile(
    r"</?(?:p|a|div|span|br|strong|em|b|i|ul|ol|li|h[1-6]|img|table|tr|td|script|style)\b[^>]*>",
    re.IGNORECASE)
WEB_RESIDUE = re.compile(
    r"\b(?:advertisement|skip to (?:main )?content|cookie (?:settings|policy|preferences)"
    r"|accept (?:all )?cookies|all rights reserved|privacy policy|terms of use|subscribe to our newsletter"
    r"|sign up for our|share on (?:facebook|twitter)|print this page|back to top|read more)\b|©|\(c\) \d{4}",
    re.IGNORECASE)
PLAIN_HTTP = re.compile(r"\bhttp://", re.IGNORECASE)
REASSURANCE = re.compile(
    r"\b(?:nothing to worry about|no need to worry|(?:do not|don't|dont) worry"
    r"|nothing to be concerned about|no cause for concern"
    r"|(?:is|are) (?:completely |totally |perfectly )?harmless"
    r"|never (?:serious|dangerous))\b",
    re.IGNORECASE)
PHONE_NUMBER = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)"
                          r"|\b1[\s.-]?8\d\d[\s.-]?[A-Z0-9]{3}[\s.-]?[A-Z0-9]{4}\b")


def clinic_numbers() -> frozenset[str]:
    """The numbers a page may give: the clinic's settings (last 10 digits)."""
    from chatbot.settings import load_settings

    settings = load_settings()
    numbers = (settings.clinic_phone, settings.urgent_care_phone, settings.emergency_number,
               settings.crisis_line)
    return frozenset(re.sub(r"\D", "", n)[-10:] for n in numbers if n)


def content_problems(body: str, known_numbers: Iterable[str]) -> list[tuple[str, str]]:
    """(what is wrong, after "the section ... ", and the fix) for one section's text."""
    known = set(known_numbers)
    problems = []
    tag = HTML_TAG.search(body)
    if tag:
        problems.append((f"has HTML pasted from a web page ({tag.group()!r})",
                         "write it as plain text; for a link use [words](https://...)"))
    residue = WEB_RESIDUE.search(body)
    if residue:
        problems.append((f"has text from a web page's frame ({residue.group()!r})",
                         "delete it: patients would read it as the clinic's advice"))
    if PLAIN_HTTP.search(body):
        problems.append(("has an http:// link", "use the page's https:// address (or leave the link out)"))
    calm = REASSURANCE.search(body)
    if calm:
        problems.append((f"tells patients {calm.group()!r}",
                         "say what is common and when to call instead; the assistant never says a "
                         "symptom is nothing to worry about"))
    for number in PHONE_NUMBER.findall(body):
        if re.sub(r"\D", "", number)[-10:] not in known:
            problems.append((f"gives the phone number {number.strip()!r}, which is not one of the clinic's "
                             "numbers in .env",
                             "remove it; the assistant adds the clinic's own numbers (CLINIC_PHONE, "
                             "URGENT_CARE_PHONE) to its replies"))
    return problems
