"""The retriever's question corpus (data/retrieval) and the model card of the retriever
trained on it (data/retrieval/model).

A model trained on other data than the questions in the repository is stale: these tests
fail, and the assistant refuses to load it. The fix is `make retriever-model`.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chatbot import PROJECT_ROOT
from chatbot.retrieval import corpus
from chatbot.retrieval.embedding import MODEL_CARD, MODEL_DIR, OnnxEmbedder, RetrieverModelError
from chatbot.retrieval.pages import load_knowledge
from chatbot.screen.card import sha256_of
from chatbot.settings import answer_bar_defaults

FIRST_SCORES = PROJECT_ROOT / "bench" / "data" / "answers_first_scores.json"


@pytest.fixture(scope="module")
def section_ids() -> set[str]:
    return {s.id for s in load_knowledge(PROJECT_ROOT / "knowledge").sections}


def test_every_question_names_a_real_section_or_none(section_ids):
    for source in corpus.sources():
        for q in corpus.read(source):
            where = f"{q.path}:{q.line}"
            assert q.section == "none" or q.section in section_ids, f"{where}: unknown section {q.section}"
            assert q.writer == source.writer, f"{where}: written by {q.writer}, listed as {source.writer}"


def test_the_training_set_is_big_enough(section_ids):
    train = corpus.questions("train", "questions")
    per_section = Counter(q.section for q in train if q.answerable)
    assert len(train) >= 3000
    thin = {s: per_section[s] for s in section_ids if per_section[s] < 30}
    assert not thin, f"sections with fewer than 30 training questions: {thin}"
    assert len(corpus.questions("train", "followups")) >= 1000


def test_writers_are_kept_apart():
    splits: dict[str, set[str]] = {}
    for source in corpus.sources():
        splits.setdefault(source.writer, set()).add(source.split)
    assert all(len(found) == 1 for found in splits.values()), splits
    assert {"train", "dev", "heldout"} <= {s for found in splits.values() for s in found}


def test_held_out_questions_are_not_in_training():
    """Independent writers do sometimes type the same short question ("what is
    radiofrequency ablation?"); a follow-up counts with its earlier message. At most 2% of
    a dev or held-out set may repeat a training message word for word."""

    def key(q: corpus.Question) -> tuple[str, str]:
        return (q.earlier.strip().lower(), q.text.strip().lower())

    train = {key(q) for q in corpus.questions("train")}
    for split in ("dev", "heldout"):
        questions = corpus.questions(split)
        repeated = [f"{q.path.name}:{q.line}" for q in questions if key(q) in train]
        assert len(repeated) <= 0.02 * len(questions), f"{split} repeats training messages: {repeated}"


def test_the_model_card_matches_the_corpus_and_the_files():
    card = json.loads((MODEL_DIR / MODEL_CARD).read_text(encoding="utf-8"))
    assert card["data"]["fingerprint"] == corpus.fingerprint(), (
        "data/retrieval changed since the retriever was trained: run `make retriever-model`"
    )
    for role, entry in card["files"].items():
        path = MODEL_DIR / entry["name"]
        assert sha256_of(path) == entry["sha256"], f"{role} file differs from the card"
    train_writers = sorted({s.writer for s in corpus.sources() if s.split == "train"})
    assert card["data"]["train_writers"] == train_writers
    assert card["training"]["seed"] == 13
    for figure in ("questions_top1", "questions_top3", "followups_top1", "followups_top3"):
        assert 0.0 <= card["dev"][figure] <= 1.0


def test_the_answer_bar_comes_with_the_model():
    card = json.loads((MODEL_DIR / MODEL_CARD).read_text(encoding="utf-8"))
    assert answer_bar_defaults(str(MODEL_DIR)) == card["answer_bar"]
    assert card["answer_bar_dev"]["cases"] == len(corpus.questions("dev"))


def test_a_stale_model_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    for entry in json.loads((MODEL_DIR / MODEL_CARD).read_text(encoding="utf-8"))["files"].values():
        (folder / entry["name"]).symlink_to(MODEL_DIR / entry["name"])
    card = json.loads((MODEL_DIR / MODEL_CARD).read_text(encoding="utf-8"))
    card["data"]["fingerprint"] = "0" * 64
    (folder / MODEL_CARD).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(RetrieverModelError, match="stale"):
        OnnxEmbedder(folder)


def test_held_out_sets_have_a_first_score():
    recorded = json.loads(FIRST_SCORES.read_text(encoding="utf-8"))["sets"]
    for source in corpus.sources():
        if source.split == "heldout":
            assert f"{source.writer} {source.kind}" in recorded, (
                f"score {source.writer} once before any change: python -m bench.answers_eval --record-first"
            )
