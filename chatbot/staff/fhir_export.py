"""Pain diaries as a FHIR R4 Bundle, built and validated with `fhir.resources`.

One Observation per score: LOINC 72514-3 "Pain severity - 0-10 verbal numeric rating
[Score] - Reported", effectiveDateTime the time of the entry; the score before the block
is the first, marked in its note. Each diary also has a Patient entry the observations'
`subject` points at (`urn:uuid:` full URLs, as FHIR bundles link their entries), carrying
the chat's patient reference, the one the patient sees under the diary, and, when staff
type one in (`--patient-identifier SYSTEM|VALUE`, e.g. the clinic's MRN), that identifier
too, so the clinic's record system can map the bundle to its own patient.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from chatbot.staff.diaries import PatientDiary

LOINC = "http://loinc.org"
PAIN_SEVERITY = "72514-3"
IDENTIFIER_SYSTEM = "urn:chatbot:pain-diary"
PATIENT_REF_SYSTEM = "urn:chatbot:patient-ref"  # the chat's patient reference (chatbot.patient_ref)


@dataclass(frozen=True)
class StaffIdentifier:
    """An identifier staff type in for the patient, e.g. the clinic's medical record number."""

    system: str
    value: str

    @classmethod
    def parse(cls, text: str) -> StaffIdentifier:
        system, bar, value = text.partition("|")
        if not bar or not system.strip() or not value.strip():
            raise ValueError("write it as SYSTEM|VALUE, e.g. 'urn:oid:2.16.840.1.113883.3.1234|MRN0042'")
        return cls(system.strip(), value.strip())


def _patient_url(reference: str) -> str:
    # Stable per patient reference, so two exports of one diary name the same Patient.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PATIENT_REF_SYSTEM + ':' + reference)}"


def _patient(reference: str, staff_identifier: StaffIdentifier | None) -> Patient:
    identifiers = [{"system": PATIENT_REF_SYSTEM, "value": reference}]
    if staff_identifier is not None:
        identifiers.append({"system": staff_identifier.system, "value": staff_identifier.value})
    return Patient.model_validate({"resourceType": "Patient", "identifier": identifiers})


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
                "reference": _patient_url(item.reference),
                "identifier": {"system": PATIENT_REF_SYSTEM, "value": item.reference},
                "display": f"Chat patient {item.reference}",
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


def _entry(full_url: str, resource: Patient | Observation) -> BundleEntry:
    return BundleEntry.model_validate({"fullUrl": full_url, "resource": resource.model_dump(mode="json")})


def diaries_bundle(diaries: list[PatientDiary], generated: datetime,
                   staff_identifier: StaffIdentifier | None = None) -> Bundle:
    """A collection Bundle: each patient's Patient entry, then their diary's observations.
    A staff identifier is only for one patient's export (`--patient`)."""
    references = sorted({item.reference for item in diaries})
    if staff_identifier is not None and len(references) > 1:
        raise ValueError("a patient identifier needs one patient's diary: add --patient REF")
    entries: list[BundleEntry] = [
        _entry(_patient_url(reference), _patient(reference, staff_identifier)) for reference in references
    ]
    for item in diaries:
        d = item.diary
        observations = [_observation(item, 0, d.block_at, d.baseline, "Before the diagnostic block")]
        for number, entry in enumerate(d.entries, 1):
            hours = d.hours_after(entry.at)
            note = f"{hours:.1f} h after the block" + (
                f"; activity: {entry.activity}" if entry.activity else ""
            )
            observations.append(_observation(item, number, entry.at, entry.score, note))
        entries.extend(_entry(f"urn:uuid:{uuid.uuid4()}", o) for o in observations)
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": generated.isoformat(),
            "entry": [e.model_dump(mode="json") for e in entries],
        }
    )


def to_fhir_json(diaries: list[PatientDiary], generated: datetime,
                 staff_identifier: StaffIdentifier | None = None) -> str:
    return diaries_bundle(diaries, generated, staff_identifier).model_dump_json(indent=1, exclude_none=True)
