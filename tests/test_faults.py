"""Faults: the action server stopped mid-conversation, a missing or corrupt retrieval
index, and a tracker or lock store that cannot be used when the servers start."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from chatbot.ops import launcher
from chatbot.ops.launcher import Stack, StartupError, free_port, isolated_stack
from chatbot.retrieval.index import refresh_index
from chatbot.retrieval.service import IndexUnavailableError, KnowledgeService
from chatbot.settings import Settings
from tests.conftest import escalation_levels, post
from tests.fakes import DIM, BagOfWordsEncoder, page

MARKER = f"zqf{uuid.uuid4().hex[:12]}"  # a word no log line may ever contain


def sender() -> str:
    return f"fault-{uuid.uuid4().hex[:10]}"


def say(stack: Stack, patient: str, message: str) -> list[dict]:
    body = json.dumps({"sender": stack.token_for(patient), "message": message}).encode()
    status, body = post(stack.rasa_url, body)
    assert status == 200, body
    return json.loads(body)


def kinds(replies: list[dict]) -> list[str]:
    return [r["custom"]["kind"] for r in replies if "custom" in r]


def text(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


def corrupt(index_dir: Path) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    (index_dir / "index.faiss").write_bytes(b"\x00not a faiss index" * 50)
    (index_dir / "sections.json").write_text('[{"page": "wrong.md", "heading": ')
    (index_dir / "manifest.json").write_text('{"format": 1, "pages": {}}')


# ------------------------------------------------------------ one stack for this module


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Stack]:
    """Servers whose retrieval index is corrupt before they start."""
    workdir = tmp_path_factory.mktemp("faults")
    corrupt(workdir / "index")
    running = isolated_stack(
        workdir, dataclasses.replace(settings, index_dir=workdir / "index"),
        CLINIC_HOURS="Mon-Sun 00:00-24:00",
    )
    with running:
        yield running


@pytest.mark.e2e
def test_a_corrupt_index_is_rebuilt_at_start_and_answers_are_right(faulty):
    index_dir = faulty.settings.index_dir
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == {"index.faiss", "sections.json"}
    assert len(json.loads((index_dir / "sections.json").read_text())) > 10
    replies = say(faulty, sender(), f"how long will the numbness last after my facet injection? {MARKER}")
    sources = [r["custom"]["sources"] for r in replies if r.get("custom", {}).get("kind") == "answer"]
    assert sources and "numb" in sources[0][0]["section"].lower()
    assert "wrong.md" not in json.dumps(replies)


@pytest.mark.e2e
def test_no_patient_text_in_the_logs_at_info_level(faulty):
    patient = sender()
    for message in (f"hello {MARKER}", f"can I drive {MARKER}?", f"I have chest pain {MARKER}"):
        say(faulty, patient, message)
    logs = sorted(faulty.log_dir.glob("*.log"))
    assert {path.name for path in logs} >= {"rasa.log", "actions.log"}
    assert not [path.name for path in logs if MARKER in path.read_text(errors="replace")]


@pytest.mark.e2e
def test_action_server_stopped_mid_conversation(faulty, settings):
    patient = sender()
    first = say(faulty, patient, "how long will the numbness last after my facet injection?")
    assert "answer" in kinds(first)

    faulty.stop_one("actions")
    try:
        down = say(faulty, patient, f"can I take a shower tonight? {MARKER}")
        assert kinds(down) == ["unavailable"]
        assert settings.clinic_phone in text(down)
        buttons = [button["payload"] for r in down for button in r.get("buttons", [])]
        assert f"tel:{settings.clinic_phone_tel}" in buttons

        emergency = say(faulty, sender(), "I can't control my bladder and my legs are going weak")
        assert kinds(emergency)[0] == "escalation"
        assert "emergency" in escalation_levels(emergency)
        assert settings.emergency_number in text(emergency)

        mixed = say(faulty, patient, "how long does numbness last? also I can't pee since this morning")
        assert kinds(mixed)[0] == "escalation" and "unavailable" in kinds(mixed)
        assert "answer" not in kinds(mixed)

        # Coming back with a knowledge folder it cannot read is a clear error, not silence.
        faulty.extra_env["KNOWLEDGE_DIR"] = str(faulty.log_dir / "no-such-folder")
        faulty.start_actions()
        faulty.wait_healthy("actions", f"{faulty.action_url}/health", 120)
        with pytest.raises(StartupError, match="could not load the knowledge index") as error:
            faulty.warm_up_actions(120)
        assert "no-such-folder" in str(error.value)
        faulty.stop_one("actions")
    finally:
        faulty.extra_env.pop("KNOWLEDGE_DIR", None)
        if "actions" not in faulty.processes:
            faulty.start_actions()
            faulty.wait_healthy("actions", f"{faulty.action_url}/health", 120)
            faulty.warm_up_actions(120)

    back = say(faulty, patient, "how long does the numbness last after a trigger point injection?")
    assert kinds(back) == ["answer"]
    assert MARKER not in (faulty.log_dir / "rasa.log").read_text(errors="replace")


# ------------------------------------------------------------ the index, in process


class FakeEmbedder(BagOfWordsEncoder):
    dimension = DIM


@pytest.fixture()
def kb(tmp_path: Path) -> tuple[Path, Path]:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "numb.md").write_text(page("Numbness", "facet_joint", {
        "How long does numbness last?": "Numbness from the numbing medicine wears off in hours.",
    }))
    (knowledge / "drive.md").write_text(page("Driving", "trigger_point", {
        "Can I drive home?": "Ask someone to drive you home after the injection.",
    }, topics="[driving]"))
    return knowledge, tmp_path / "index"


def swap_rows(index_dir: Path) -> None:
    """Valid files that no longer belong together: every vector points at another section."""
    sections = json.loads((index_dir / "sections.json").read_text())
    (index_dir / "sections.json").write_text(json.dumps(sections[::-1]))


def foreign_vectors(index_dir: Path) -> None:
    saved = faiss.read_index(str(index_dir / "index.faiss"))
    other = faiss.IndexFlatIP(saved.d)
    other.add(np.eye(saved.ntotal, saved.d, dtype=np.float32))
    faiss.write_index(other, str(index_dir / "index.faiss"))


def no_checksums(index_dir: Path) -> None:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    del manifest["files"]
    (index_dir / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [
    lambda d: [p.unlink() for p in d.iterdir()],
    lambda d: (d / "index.faiss").unlink(),
    lambda d: (d / "sections.json").write_text("[{"),
    lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe"),
    swap_rows, foreign_vectors, no_checksums,
], ids=["missing", "no-faiss", "bad-json", "bad-manifest", "swapped-rows", "foreign-vectors",
        "no-checksums"])
def test_a_damaged_index_is_rebuilt_never_served(kb, damage):
    knowledge, index_dir = kb
    refresh_index(knowledge, index_dir, BagOfWordsEncoder(), DIM)
    damage(index_dir)
    index, report = refresh_index(knowledge, index_dir, BagOfWordsEncoder(), DIM)
    assert sorted(report.embedded_pages) == ["drive.md", "numb.md"]
    assert index.search("how long does the numbness last", k=1)[0].section.page == "numb.md"
    assert index.search("drive home", k=1)[0].section.page == "drive.md"
    _, again = refresh_index(knowledge, index_dir, BagOfWordsEncoder(), DIM)
    assert not again.embedded_pages, "the rebuilt index was saved and is trusted next time"


def test_an_unwritable_index_folder_still_answers_from_memory(kb, caplog):
    knowledge, _ = kb
    blocker = knowledge.parent / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.ERROR, logger="chatbot.retrieval.index"):
        index, _ = refresh_index(knowledge, blocker / "index", BagOfWordsEncoder(), DIM)
    assert index.search("numbness", k=1)[0].section.page == "numb.md"
    assert "Cannot save the retrieval index" in caplog.text


def test_a_missing_knowledge_folder_is_a_clear_error(kb, settings):
    knowledge, index_dir = kb
    broken = dataclasses.replace(settings, knowledge_dir=knowledge / "gone", index_dir=index_dir)
    with pytest.raises(IndexUnavailableError, match="could not be loaded or rebuilt") as error:
        KnowledgeService(broken, embedder=FakeEmbedder())  # type: ignore[arg-type]
    assert "gone" in str(error.value)


# ------------------------------------------------------------ stores unavailable at start


def assert_fails_fast(stack: Stack, match: str) -> str:
    with pytest.raises(StartupError, match=match) as error:
        stack.start(timeout=120)
    assert "did not answer" not in str(error.value), "it named the store, not a timeout"
    assert not stack.processes, "nothing is left running"
    return str(error.value)


def test_an_unwritable_tracker_database_is_a_clear_startup_error(tmp_path, settings):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    stack = isolated_stack(tmp_path, settings)
    stack.settings = dataclasses.replace(stack.settings, tracker_db=blocker / "tracker.db")
    message = assert_fails_fast(stack, "tracker store")
    assert str(blocker) in message


def prod_env(**overrides: str) -> dict[str, str]:
    env = {
        "TRACKER_DB_HOST": "127.0.0.1", "TRACKER_DB_PORT": str(free_port()),
        "TRACKER_DB_NAME": "rasa", "TRACKER_DB_USER": "rasa", "TRACKER_DB_PASSWORD": "x",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(free_port()), "REDIS_PASSWORD": "x",
        "REDIS_DB": "1",
    }
    return {**env, **overrides}


def test_the_production_profile_with_postgres_down_is_a_clear_startup_error(tmp_path, settings):
    stack = isolated_stack(tmp_path, settings, **prod_env())
    stack.endpoints = "endpoints.prod.yml"
    message = assert_fails_fast(stack, "tracker store")
    assert "postgresql" in message and "refused" in message.lower()


def test_the_production_profile_without_its_settings_names_the_missing_one(tmp_path, settings):
    env = prod_env()
    del env["TRACKER_DB_PASSWORD"]
    stack = isolated_stack(tmp_path, settings, **env)
    stack.endpoints = "endpoints.prod.yml"
    if "TRACKER_DB_PASSWORD" in stack._env():
        pytest.skip("TRACKER_DB_PASSWORD is set in this environment")
    assert "TRACKER_DB_PASSWORD" in assert_fails_fast(stack, "endpoints.prod.yml")


def test_a_lock_store_that_is_down_is_a_clear_startup_error(tmp_path, settings):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: ${TRACKER_DB}\n"
        "lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: ${REDIS_PORT}\n"
    )
    stack = isolated_stack(tmp_path, settings, REDIS_PORT=str(free_port()))
    stack.endpoints = str(endpoints)
    assert "Redis" in assert_fails_fast(stack, "lock store")


def test_a_store_failure_in_the_rasa_log_stops_the_wait(tmp_path, settings, monkeypatch):
    """Rasa retries an unreachable SQL database forever; the launcher reads the log."""
    fake_rasa = tmp_path / "rasa"
    fake_rasa.write_text(
        "#!/bin/sh\necho 'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) "
        "connection to server at \"127.0.0.1\", port 1 failed: Connection refused'\nexec sleep 60\n"
    )
    fake_rasa.chmod(0o755)
    monkeypatch.setattr(launcher, "RASA_BIN", fake_rasa)
    stack = isolated_stack(tmp_path, settings)
    try:
        stack.start_rasa()
        with pytest.raises(StartupError, match="tracker or lock store") as error:
            stack.wait_healthy("rasa", f"{stack.rasa_url}/", timeout=30)
    finally:
        stack.stop()
    assert "Connection refused" in str(error.value)
