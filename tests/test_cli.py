"""The command line contract: JSON lines for search and triage, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args], input=stdin, capture_output=True,
        text=True, cwd=REPO, timeout=300,
    )


def test_search_json_lines():
    result = run("search", "--k", "2", "--json",
                 stdin="how long will numbness last\n\ncan I drive after a trigger point shot\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == [
        "how long will numbness last", "can I drive after a trigger point shot"]
    for line in lines:
        assert len(line["results"]) == 2
        assert set(line["results"][0]) == {"page", "title", "section", "text", "score"}
    assert "trigger-point" in lines[1]["results"][0]["page"]
    assert "drive" in lines[1]["results"][0]["section"].lower()


def test_triage_json_lines():
    result = run("triage", "--json", stdin="I can't breathe\nhow long does numbness last?\n")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["level"] == "emergency" and first["reasons"]
    assert second["message"] == "how long does numbness last?" and second["level"] == "routine"


def test_triage_uses_time_since_injection():
    result = run("triage", "--json", "--hours-since-injection", "72",
                 stdin="my leg is still numb\n")
    assert json.loads(result.stdout)["level"] == "urgent"


def test_bad_arguments_give_a_clear_error_without_traceback():
    result = run("search", "--k", "0", stdin="x\n")
    assert result.returncode == 2 and "--k must be 1 or more" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("MIN_ANSWER_SCORE", "high")
    result = run("search", stdin="x\n")
    assert result.returncode == 2 and "MIN_ANSWER_SCORE" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_first_says_which_settings_knowledge_and_databases_it_uses(tmp_path):
    elsewhere = subprocess.run([sys.executable, "-m", "chatbot", "kb", "check"], capture_output=True,
                               text=True,
                               cwd=tmp_path, timeout=300)
    first = elsewhere.stderr.splitlines()[0]
    assert first.startswith("chatbot: settings from ") and f"knowledge {REPO / 'knowledge'}" in first
    assert "chats " in first and "call backs " in first


def test_make_kb_check_never_installs_anything():
    planned = subprocess.run(["make", "-n", "kb-check"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert planned.returncode == 0 and "pip" not in planned.stdout
