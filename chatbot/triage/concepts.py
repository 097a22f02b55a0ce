"""The red-flag concepts: what a message can be about, shared by rules, screen and corpus.

Standard library only. Every catalogue entry names its concept (`- Concept:`), every
concept has a check question in the catalogue, and the learned screen gives a probability
for each. `self_harm` (thoughts of suicide or self-harm) has its own reply: the crisis
line as well as the emergency number.
"""

from __future__ import annotations

CONCEPTS: tuple[str, ...] = (
    "self_harm", "cauda_equina", "weakness", "breathing", "chest", "allergy", "stroke_vision",
    "confusion", "headache_severe", "headache_positional", "fever", "infection_site", "bleeding",
    "pain_severe", "numbness_persisting", "blood_sugar", "mood_sleep", "other_symptom",
)
SELF_HARM = "self_harm"
