"""The model card of the triage screen: what it was trained on, how, and its thresholds.

`data/triage/model/card.json` is written by `make triage-model` next to the model. The
serving side reads it to check the model before use (chatbot.screen.model) and to get
the decide/ask thresholds, which were chosen on the dev writers only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot import PROJECT_ROOT
from chatbot.errors import ChatbotError

MODEL_DIR = PROJECT_ROOT / "data" / "triage" / "model"
MODEL_DIR_ENV = "TRIAGE_SCREEN_DIR"  # tests point it at a copy; deployments never need it
CARD_FILE = "card.json"
RETRAIN = (
    "run `make triage-model` (trains from data/triage in under 45 minutes), then commit data/triage/model/"
)


class ScreenError(ChatbotError):
    """The triage screen's model is missing, corrupt or stale."""


@dataclass(frozen=True)
class Thresholds:
    """Decide, ask or answer, on P(emergency) and P(urgent or higher)."""

    emergency: float  # escalate as an emergency at or above
    urgent: float  # escalate as urgent at or above
    check: float  # ask a check question at or above (P(urgent or higher))
    check_emergency: float  # ...or when P(emergency) is at or above this
    concept_floor: float  # a check asks about every concept this likely (and always the likeliest)
    # A rule's escalation stands when the screen gives P(urgent or higher) at least this;
    # below it the screen is confident the rule misread the message, and the patient is
    # asked the rule's check question instead (never nothing). 0: rules always escalate.
    rule_confirm: float = 0.0


@dataclass(frozen=True)
class Card:
    path: Path
    data: dict[str, Any]

    @property
    def thresholds(self) -> dict[str, Thresholds]:
        """Per language ('en', 'es'): each was chosen on that language's dev writers."""
        return {language: thresholds_of(values) for language, values in self.data["thresholds"].items()}

    @property
    def outputs(self) -> list[str]:
        return list(self.data["outputs"])

    def file(self, role: str) -> Path:
        return self.path.parent / self.data["files"][role]["name"]

    def sha256(self, role: str) -> str:
        return str(self.data["files"][role]["sha256"])

    @property
    def corpus_fingerprint(self) -> str:
        return str(self.data["corpus"]["fingerprint"])


def thresholds_of(t: dict[str, Any]) -> Thresholds:
    return Thresholds(emergency=float(t["emergency"]), urgent=float(t["urgent"]), check=float(t["check"]),
                      check_emergency=float(t["check_emergency"]), concept_floor=float(t["concept_floor"]),
                      rule_confirm=float(t.get("rule_confirm", 0.0)))


def model_dir() -> Path:
    """$TRIAGE_SCREEN_DIR, else the repository's data/triage/model."""
    return Path(os.environ.get(MODEL_DIR_ENV) or MODEL_DIR)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(directory: Path = MODEL_DIR) -> Card:
    path = directory / CARD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        card = Card(path, data)
        if set(card.thresholds) != {"en", "es"}:  # every field the server needs must be there
            raise ValueError("thresholds for 'en' and 'es' are needed")
        for role in ("model", "tokenizer"):
            card.file(role), card.sha256(role)
        card.corpus_fingerprint  # noqa: B018
        card.outputs  # noqa: B018
    except FileNotFoundError:
        raise ScreenError("the triage screen's model card is missing", path=path, fix=RETRAIN) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ScreenError(
            f"the triage screen's model card cannot be read ({type(error).__name__}: {error})",
            path=path,
            fix=RETRAIN,
        ) from None
    return card
