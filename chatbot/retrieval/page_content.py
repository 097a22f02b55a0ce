"""What a page must never pass on to patients word for word, read the same way by the
assistant (which holds such a page back, serving its last good version) and by
`chatbot kb check` (which names the line and the fix). Issue 19: a nurse pasted all of these
and they reached patients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HTML_TAG = re.compile(
    r"</?(?:p|a|div|span|br|strong|em|b|i|ul|ol|li|h[1-6]|img|table|tr|td|script|style)\b[^>]*>",
    re.IGNORECASE)
WEB_RESIDUE = re.compile(
    r"\b(?:advertisement|skip to (?:main )?content|cookie (?:settings|policy|preferences)"
    r"|accept (?:all )?cookies|all rights reserved|privacy policy|terms of use|subscribe to our newsletter"
    r"|sign up for our|share (?:this (?:page|article|post) )?(?:on|via) "
    r"(?:facebook|twitter|x|linkedin|whatsapp|email)"
    r"|follow us on|like us on|print this page|back to top|read more)\b|©|\(c\) \d{4}",
    re.IGNORECASE)
# Another organisation named as the one to contact or visit (a leaflet pasted from another
# clinic): "call the Lakeview Spine Center nurse line". The clinic's own name is allowed.
OTHER_ORGANISATION = re.compile(
    r"\b(?:[A-Z][\w'&.-]*\s+){1,5}(?:Center|Centre|Clinic|Hospital|Institute|Medical Group|Health System"
    r"|Spine Associates|Pain Associates)\b")
PLAIN_HTTP = re.compile(r"\bhttp://", re.IGNORECASE)
REASSURANCE = re.compile(
    r"\b(?:nothing to worry about|no need to worry|(?:do not|don't|dont) worry"
    r"|nothing to be concerned about|no cause for concern"
    r"|(?:is|are) (?:completely |totally |perfectly )?harmless"
    r"|never (?:serious|dangerous))\b",
    re.IGNORECASE)
PHONE_NUMBER = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)"
                          r"|\b1[\s.-]?8\d\d[\s.-]?[A-Z0-9]{3}[\s.-]?[A-Z0-9]{4}\b")


@dataclass(frozen=True)
class Clinic:
    """What a page may name as the one to contact: the clinic's numbers (last 10 digits)
    and its name, from the settings, read once per page (or once per `kb check`)."""

    numbers: frozenset[str]
    name: str


def this_clinic() -> Clinic:
    from chatbot.settings import load_settings

    settings = load_settings()
    numbers = (settings.clinic_phone, settings.urgent_care_phone, settings.emergency_number,
               settings.crisis_line)
    return Clinic(frozenset(re.sub(r"\D", "", n)[-10:] for n in numbers if n), settings.clinic_name)


# Words that make a generic place, not an organisation: "an Urgent Care Center", "the
# nearest Emergency Medical Center".
GENERIC_PLACE_WORDS = frozenset({"the", "a", "an", "your", "our", "local", "nearest", "nearby", "any",
                                 "urgent", "care", "emergency", "medical", "health", "walk-in", "pain",
                                 "community"})


def content_problems(body: str, clinic: Clinic) -> list[tuple[str, str, str]]:
    """(what is wrong, after "the section ... ", the fix, and the text found, so the check
    can name its own line) for one section's text."""
    problems = []
    own = clinic.name.lower()
    for match in OTHER_ORGANISATION.finditer(body):
        name = match.group().strip()
        generic = all(word.lower() in GENERIC_PLACE_WORDS for word in name.split()[:-1])
        if not generic and name.lower() not in own and own not in name.lower():
            problems.append((f"names another organisation ({name!r})",
                             "patients would contact them: keep only the clinic's own name (CLINIC_NAME), or "
                             "cite the organisation under 'sources' instead", name))
            break
    tag = HTML_TAG.search(body)
    if tag:
        problems.append((f"has HTML pasted from a web page ({tag.group()!r})",
                         "write it as plain text; for a link use [words](https://...)", tag.group()))
    residue = WEB_RESIDUE.search(body)
    if residue:
        problems.append((f"has text from a web page's frame ({residue.group()!r})",
                         "delete it: patients would read it as the clinic's advice", residue.group()))
    plain = PLAIN_HTTP.search(body)
    if plain:
        problems.append(("has an http:// link", "use the page's https:// address (or leave the link out)",
                         plain.group()))
    calm = REASSURANCE.search(body)
    if calm:
        problems.append((f"tells patients {calm.group()!r}",
                         "say what is common and when to call instead; the assistant never says a "
                         "symptom is nothing to worry about", calm.group()))
    for number in PHONE_NUMBER.findall(body):
        if re.sub(r"\D", "", number)[-10:] not in clinic.numbers:
            problems.append((f"gives the phone number {number.strip()!r}, which is not one of the clinic's "
                             "numbers (its settings: CLINIC_PHONE, URGENT_CARE_PHONE)",
                             "remove it; the assistant adds the clinic's own numbers (CLINIC_PHONE, "
                             "URGENT_CARE_PHONE) to its replies", number.strip()))
    return problems
