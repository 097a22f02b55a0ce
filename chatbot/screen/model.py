"""The learned triage screen at serving time: onnxruntime, `tokenizers` and numpy only.

It runs inside the Rasa server (beside the red-flag rules, so escalations never depend on
the action server) and in `chatbot triage`. Loading checks the model before any message:
the card must be readable, the model and tokenizer files must be the ones the card names
(sha256), and the card must have been written for the corpus in this repository (its
fingerprint): otherwise `ScreenError` with the fix, and the server does not start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime

from chatbot.screen import corpus
from chatbot.screen.card import MODEL_DIR, RETRAIN, Card, ScreenError, model_dir, read_card, sha256_of
from chatbot.screen.encoding import encode, load_tokenizer
from chatbot.screen.segments import windows

log = logging.getLogger(__name__)
LEVEL_OUTPUTS = ("urgent_or_higher", "emergency")
# Windows are scored in batches of this many: a long message's windows in one run
# (segments.MAX_WINDOWS caps them).
BATCH = 24


@dataclass(frozen=True)
class ScreenScores:
    urgent_or_higher: float  # P(urgent or emergency)
    emergency: float  # P(emergency)
    concepts: dict[str, float]  # which red flag, if it is one (sums to 1)
    windows: int

    @property
    def levels(self) -> dict[str, float]:
        """P(each level): emergency, urgent (but not emergency), routine."""
        emergency = min(self.emergency, self.urgent_or_higher)
        return {
            "emergency": round(emergency, 4),
            "urgent": round(self.urgent_or_higher - emergency, 4),
            "routine": round(1 - self.urgent_or_higher, 4),
        }

    def likeliest_concepts(self) -> list[tuple[str, float]]:
        return sorted(self.concepts.items(), key=lambda item: -item[1])


class Screen:
    def __init__(self, card: Card, session: onnxruntime.InferenceSession, tokenizer_path: Path) -> None:
        self.card = card
        self.session = session
        self.tokenizer = load_tokenizer(tokenizer_path)
        self.outputs = card.outputs
        self.thresholds = card.thresholds  # per language

    @classmethod
    def load(cls, directory: Path = MODEL_DIR, writers_file: Path = corpus.WRITERS_FILE) -> Screen:
        card = read_card(directory)
        for role in ("model", "tokenizer"):
            path = card.file(role)
            if not path.is_file():
                raise ScreenError(f"the triage screen's {role} file is missing", path=path, fix=RETRAIN)
            if sha256_of(path) != card.sha256(role):
                raise ScreenError(
                    f"the triage screen's {role} file is not the one its card describes (changed or corrupt)",
                    path=path,
                    fix=RETRAIN,
                )
        try:
            fingerprint = corpus.fingerprint(writers_file)
        except (OSError, corpus.CorpusError) as error:
            raise ScreenError(
                f"the triage corpus cannot be read to check the model ({error})",
                path=writers_file,
                fix="restore data/triage from git",
            ) from None
        if fingerprint != card.corpus_fingerprint:
            raise ScreenError(
                "the triage screen was trained on other data than the corpus in data/triage (stale model)",
                path=card.path,
                fix=RETRAIN,
            )
        options = onnxruntime.SessionOptions()
        # Two threads: a 2,000-character story (15 windows) in about 70 ms instead of 120.
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(card.file("model")), options, providers=["CPUExecutionProvider"]
            )
            screen = cls(card, session, card.file("tokenizer"))
            screen.scores("warm up")
        except ScreenError:
            raise
        except Exception as error:  # onnxruntime's and tokenizers' own exceptions
            raise ScreenError(
                f"the triage screen's model cannot be loaded ({type(error).__name__})",
                path=card.file("model"),
                fix=RETRAIN,
            ) from None
        return screen

    def window_logits(self, texts: list[str]) -> np.ndarray:
        rows = []
        for start in range(0, len(texts), BATCH):
            ids, mask = encode(self.tokenizer, texts[start : start + BATCH])
            rows.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.concatenate(rows, axis=0)

    def scores(self, message: str) -> ScreenScores:
        parts = windows(message)
        best = self.window_logits(parts).max(axis=0)  # a message is as serious as its worst part
        levels = 1.0 / (1.0 + np.exp(-best[: len(LEVEL_OUTPUTS)]))
        concept_logits = best[len(LEVEL_OUTPUTS) :]
        shifted = np.exp(concept_logits - concept_logits.max())
        concepts = shifted / shifted.sum()  # which red flag, if it is one
        return ScreenScores(
            urgent_or_higher=float(levels[0]),
            emergency=float(levels[1]),
            concepts={name: round(float(p), 4) for name, p in zip(self.outputs[2:], concepts, strict=True)},
            windows=len(parts),
        )


def default_screen() -> Screen:
    """The screen in use ($TRIAGE_SCREEN_DIR or the repository's), loaded and checked once
    per process and directory."""
    return _screen_in(str(model_dir()))


@lru_cache(maxsize=2)
def _screen_in(directory: str) -> Screen:
    return Screen.load(Path(directory))
