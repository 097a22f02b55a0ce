"""The model that turns text into unit vectors for the retriever.

By default the retriever fine-tuned on patients' questions (`make retriever-model`):
int8 ONNX in data/retrieval/model/, run with onnxruntime and `tokenizers` (OnnxEmbedder),
checked against its model card like the triage screen. Any other EMBEDDING_MODEL is a
sentence-transformers model name or path (the bundled all-MiniLM-L6-v2 for comparison).
Weights are never downloaded at run time: HF_HUB_OFFLINE is forced on before the import.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chatbot import PROJECT_ROOT
from chatbot.errors import ChatbotError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


MODEL_DIR = PROJECT_ROOT / "data" / "retrieval" / "model"
MODEL_CARD = "card.json"
RETRAIN = "run `make retriever-model` (about 30 minutes), then commit data/retrieval/model/"
DOC_TOKENS = 256


class RetrieverModelError(ChatbotError):
    """The fine-tuned retriever is missing, corrupt or stale."""


def query_text(question: str, earlier: str = "") -> str:
    """What is searched for a message: a follow-up joined to the patient's earlier message
    (as the retriever was trained), a new question alone."""
    return f"{earlier.strip()} {question.strip()}".strip() if earlier.strip() else question.strip()


def Embedder(model_name_or_path: str) -> OnnxEmbedder | SentenceEmbedder:  # noqa: N802 - a factory
    """The fine-tuned ONNX retriever for a folder with its card, else sentence-transformers."""
    folder = Path(model_name_or_path)
    if (folder / MODEL_CARD).is_file() or folder.resolve() == MODEL_DIR.resolve():
        return OnnxEmbedder(folder)
    return SentenceEmbedder(model_name_or_path)


class OnnxEmbedder:
    """The fine-tuned retriever: int8 ONNX that outputs unit vectors. Checked when loaded:
    the model and tokenizer must be the files the card names, and the card must have been
    written for the questions in data/retrieval (RetrieverModelError with the fix)."""

    def __init__(self, folder: Path, check_data: bool = True) -> None:
        from chatbot.retrieval import corpus
        from chatbot.screen.card import sha256_of

        card_path = folder / MODEL_CARD
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            files = {role: (folder / card["files"][role]["name"], card["files"][role]["sha256"])
                     for role in ("model", "tokenizer")}
            data_fingerprint = card["data"]["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RetrieverModelError(f"the retriever's model card cannot be read ({type(error).__name__})",
                                      path=card_path, fix=RETRAIN) from None
        for role, (path, digest) in files.items():
            if not path.is_file() or sha256_of(path) != digest:
                raise RetrieverModelError(f"the retriever's {role} file is missing or not the one its card "
                                          "names (corrupt)", path=path, fix=RETRAIN)
        if check_data and data_fingerprint != corpus.fingerprint():
            raise RetrieverModelError("the retriever was trained on other questions than data/retrieval "
                                      "(stale model)", path=card_path, fix=RETRAIN)
        import onnxruntime

        from chatbot.screen.encoding import load_tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(files["model"][0]), options,
                                                    providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer(files["tokenizer"][0])
        self.tokenizer.enable_truncation(max_length=DOC_TOKENS)
        # The index is rebuilt when this changes (chatbot.retrieval.index's manifest).
        self.model_name = f"{folder.resolve()}@{files['model'][1][:16]}"
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self.encode(["dimension"]).shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        from chatbot.screen.encoding import encode

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        out = []
        with self._lock:  # onnxruntime sessions are thread-safe; the tokenizer's settings are shared
            for start in range(0, len(texts), 32):
                ids, mask = encode(self.tokenizer, texts[start:start + 32])
                out.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.asarray(np.concatenate(out), dtype=np.float32)


class SentenceEmbedder:
    """Loads the model on first use; encoding is thread-safe for the action server."""

    def __init__(self, model_name_or_path: str) -> None:
        self.model_name = model_name_or_path
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_name, device="cpu")
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        dim = model.get_embedding_dimension()
        if dim is None:  # pragma: no cover - every sentence-transformers model sets it
            raise RuntimeError(f"model {self.model_name} does not report its dimension")
        return dim

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors, so inner product is cosine similarity."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
