"""The triage corpus (data/triage) and the model card that says what the screen learned.

A model trained on other data than the corpus in the repository is stale: these tests fail,
and the Rasa server refuses to start with it. The fix is `make triage-model`.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chatbot import PROJECT_ROOT
from chatbot.screen import corpus
from chatbot.screen.card import MODEL_DIR, read_card, sha256_of
from training.triage_screen.near_duplicates import pairs

FIRST_SCORES = PROJECT_ROOT / "bench" / "data" / "triage_first_scores.json"


@pytest.fixture(scope="module")
def examples() -> list[corpus.Example]:
    return corpus.examples()


def test_every_file_reads_and_is_listed_once():
    listed = [w.file.resolve() for w in corpus.writers()]
    assert len(listed) == len(set(listed))
    on_disk = {p.resolve() for p in (corpus.CORPUS_DIR / "corpus").glob("*.tsv")}
    assert on_disk == set(listed), "every corpus file is in writers.tsv, and every listed file exists"
    names = [w.writer for w in corpus.writers()]
    assert len(names) == len(set(names))


def test_the_corpus_is_big_and_varied_enough(examples):
    by_language = Counter(
        next(w.language for w in corpus.writers() if w.writer == e.writer) for e in examples
    )
    assert len(examples) >= 6000
    assert by_language["en"] >= 4500 and by_language["es"] >= 1500
    routine = sum(e.level == "routine" for e in examples)
    assert routine / len(examples) >= 0.40
    concepts = Counter(c for e in examples for c in e.concepts)
    assert all(concepts[name] >= 20 for name in corpus.CONCEPTS), concepts
    assert len({e.writer for e in examples if e.writer.startswith("t")}) >= 6


def test_each_split_has_both_languages_and_whole_writers():
    splits = Counter((w.split, w.language) for w in corpus.writers())
    for split in ("train", "dev", "heldout"):
        for language in ("en", "es"):
            assert splits[(split, language)] >= 1, (split, language)
    for writer in corpus.writers():  # a writer's lines all carry its id: nothing mixed in
        assert {e.writer for e in corpus.read_file(writer.file)} == {writer.writer}, writer.file


def test_no_near_duplicates_across_splits_or_inside_a_file(examples):
    split_of = {w.writer: w.split for w in corpus.writers()}
    bad = [
        (a.path.name, a.line, b.path.name, b.line, overlap)
        for a, b, overlap in pairs(examples)
        if split_of[a.writer] != split_of[b.writer] or a.path == b.path
    ]
    assert not bad, bad


def test_the_model_card_matches_the_corpus_and_its_files():
    card = read_card(MODEL_DIR)
    assert card.corpus_fingerprint == corpus.fingerprint(), "stale model: run `make triage-model`"
    assert card.data["corpus"]["train_messages"] == len(corpus.examples("train"))
    assert card.data["corpus"]["dev_messages"] == len(corpus.examples("dev"))
    assert card.data["corpus"]["train_writers"] == sorted(
        w.writer for w in corpus.writers() if w.split == "train"
    )
    assert card.data["corpus"]["dev_writers"] == sorted(
        w.writer for w in corpus.writers() if w.split == "dev"
    )
    for role in ("model", "tokenizer"):
        assert sha256_of(card.file(role)) == card.sha256(role)
    assert card.file("model").stat().st_size < 40_000_000  # int8, committed
    for key in ("base_model", "training", "dev", "thresholds", "outputs"):
        assert card.data[key], key
    assert card.data["training"]["seed"] is not None
    assert set(card.thresholds) == {"en", "es"}
    for t in card.thresholds.values():
        assert 0 < t.check <= t.urgent <= 1 and 0 < t.check_emergency <= t.emergency <= 1


def test_every_held_out_set_has_its_first_score_recorded():
    first = json.loads(FIRST_SCORES.read_text(encoding="utf-8"))["sets"]
    for writer in corpus.writers():
        if writer.split == "heldout":
            assert first.get(writer.writer, {}).get("first"), (
                f"{writer.writer}: score it before any change: python -m bench.triage_eval --record-first"
            )
