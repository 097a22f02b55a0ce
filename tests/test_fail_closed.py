"""A broken red-flag catalogue or clinic-hours setting stops the start; it never switches
triage off. Real processes: the Rasa server itself, and `chatbot serve` (make run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from chatbot import triage
from chatbot.ops.launcher import MODEL, RASA_BIN, free_port
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
SETUP_ERROR_EXIT = 78  # chatbot.rasa_server.startup.SETUP_ERROR_EXIT (that module is Rasa's side)


def broken_catalogue(tmp_path):
    """A copy of the real catalogue with one unclosed parenthesis; returns (path, line)."""
    folder = tmp_path / "triage"
    folder.mkdir()
    shutil.copy(triage.DEFAULT_CATALOGUE.parent / "lexicon.md", folder / "lexicon.md")
    lines = triage.DEFAULT_CATALOGUE.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("  - incontinen*"))
    lines[line - 1] = "  - (incontinen*"
    path = folder / "red-flags.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, line


def run_rasa(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(RASA_BIN), "run", "--model", str(MODEL), "--port", str(free_port()),
        "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
    ]
    full_env = {**os.environ, "TRACKER_DB": str(tmp_path / "tracker.db"), "ACTION_PORT": str(free_port()),
                "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
                "CONVERSATION_SECRET": "a-test-secret-long-enough-to-sign-tokens", **env}
    # A Rasa server that does start would run forever: the timeout fails the test then.
    return subprocess.run(command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=300)


def test_rasa_server_refuses_to_start_with_a_broken_catalogue(tmp_path):
    path, line = broken_catalogue(tmp_path)
    done = run_rasa(tmp_path, RED_FLAG_CATALOGUE=str(path))
    assert done.returncode == SETUP_ERROR_EXIT, done.stderr[-2000:]
    assert f"{path}:{line}:" in done.stderr and "Fix:" in done.stderr


def test_rasa_server_refuses_to_start_with_unreadable_clinic_hours(tmp_path):
    done = run_rasa(tmp_path, CLINIC_HOURS="Mon-Fri 8-5")
    assert done.returncode == SETUP_ERROR_EXIT, done.stderr[-2000:]
    assert "CLINIC_HOURS" in done.stderr and "Mon-Fri 08:00-17:00" in done.stderr
    assert "Traceback" not in done.stderr


def test_rasa_server_refuses_to_start_without_a_conversation_secret(tmp_path):
    done = run_rasa(tmp_path, CONVERSATION_SECRET="")
    assert done.returncode == SETUP_ERROR_EXIT, done.stderr[-2000:]
    assert "CONVERSATION_SECRET" in done.stderr and "Traceback" not in done.stderr


def test_make_run_stops_with_the_file_and_line(tmp_path):
    path, line = broken_catalogue(tmp_path)
    env = {**os.environ, "RED_FLAG_CATALOGUE": str(path)}
    done = subprocess.run([sys.executable, "-m", "chatbot", "serve"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{path}:{line}:" in done.stderr and "Traceback" not in done.stderr


def test_chatbot_triage_says_one_line_and_exits_2(tmp_path):
    path, line = broken_catalogue(tmp_path)
    env = {**os.environ, "RED_FLAG_CATALOGUE": str(path)}
    done = subprocess.run([sys.executable, "-m", "chatbot", "triage"], input="I can't breathe\n",
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    # One line saying which settings and folders it uses (every command), then one error line.
    first, error = done.stderr.splitlines()
    assert first.startswith("chatbot: settings from ") and f"{path}:{line}:" in error
    missing = {**os.environ, "RED_FLAG_CATALOGUE": str(tmp_path / "none.md")}
    done = subprocess.run([sys.executable, "-m", "chatbot", "triage"], input="hi\n", cwd=REPO,
                          env=missing, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "none.md" in done.stderr
