"""Pain diaries as a FHIR R4 Bundle, built and validated with `fhir.resources`.

One Observation per score: LOINC 72514-3 "Pain severity - 0-10 verbal numeric rating
[Score] - Reported", effectiveDateTime the time of the entry; the score before the block
is the first, marked in its note. Each diary's observations share an identifier system
with the patient reference, so the EHR can attach them to the right patient record.
"""

from __future__ import annotations

from datetime import datetime

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.observation import Observation

from chatbot.staff.diaries import PatientDiary

LOINC = "http://loinc.org"
PAIN_SEVERITY = "72514-3"
IDENTIFIER_SYSTEM = "urn:chatbot:pain-diary"


def _observation(item: PatientDiary, number: int, at: datetime, score: float, note: str) -> Observation:
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "status": "final",
            "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"{item.reference}-{number}"}],
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "survey",
                            "display": "Survey",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [
                    {
                        "system": LOINC,
                        "code": PAIN_SEVERITY,
                        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                    }
                ],
                "text": "Pain score 0-10",
            },
            "subject": {
                "identifier": {"system": IDENTIFIER_SYSTEM, "value": item.reference},
                "display": f"Chat pain diary {item.reference}",
            },
            "effectiveDateTime": at.isoformat(),
            "valueQuantity": {
                "value": score,
                "unit": "score",
                "system": "http://unitsofmeasure.org",
                "code": "{score}",
            },
            **({"note": [{"text": note}]} if note else {}),
        }
    )


def diaries_bundle(diaries: list[PatientDiary], generated: datetime) -> Bundle:
    entries: list[BundleEntry] = []
    for item in diaries:
        d = item.diary
        observations = [_observation(item, 0, d.block_at, d.baseline, "Before the diagnostic block")]
        for number, entry in enumerate(d.entries, 1):
            hours = d.hours_after(entry.at)
            note = f"{hours:.1f} h after the block" + (
                f"; activity: {entry.activity}" if entry.activity else ""
            )
            observations.append(_observation(item, number, entry.at, entry.score, note))
        entries.extend(
            BundleEntry.model_validate({"resource": o.model_dump(mode="json")}) for o in observations
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": generated.isoformat(),
            "entry": [e.model_dump(mode="json") for e in entries],
        }
    )


def to_fhir_json(diaries: list[PatientDiary], generated: datetime) -> str:
    return diaries_bundle(diaries, generated).model_dump_json(indent=1, exclude_none=True)
