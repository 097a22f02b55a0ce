"""docs/STAFF.md's own example, followed step by step as a nurse would: the commands and the
page are read from the guide itself, so the guide cannot drift from what works.

Found by a nurse: the guide's alcohol example duplicated a question the clinic's pages already
answered (with different advice), its check passed, and its preview question got no answer.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

GUIDE = (REPO / "docs" / "STAFF.md").read_text(encoding="utf-8")


def _in_short_commands() -> list[list[str]]:
    """The `chatbot` commands of the guide's "In short" block, as argument lists."""
    block = GUIDE.split("## In short", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line.startswith(".venv/bin/chatbot "):
            commands.append(shlex.split(line)[1:])
    return commands


def _template_page() -> str:
    return GUIDE.split("### The template", 1)[1].split("```markdown\n", 1)[1].split("```", 1)[0]


def _chatbot(args: list[str], env: dict[str, str],
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chatbot", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, input=stdin, timeout=300)


@pytest.fixture()
def clinic_copy(tmp_path: Path) -> dict[str, str]:
    """A copy of the clinic's knowledge folder, so the guide's page is written beside the real ones."""
    shutil.copytree(REPO / "knowledge", tmp_path / "knowledge")
    return {**os.environ, "KNOWLEDGE_DIR": str(tmp_path / "knowledge"),
            "INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}


def test_the_guides_example_page_passes_its_check_and_answers_its_question(clinic_copy):
    new, preview = _in_short_commands()
    assert new[:2] == ["kb", "new"] and preview[:2] == ["kb", "preview"]

    created = _chatbot(new, clinic_copy)  # step 1
    assert created.returncode == 0, created.stderr
    page = Path(clinic_copy["KNOWLEDGE_DIR"]) / re.search(
        r"open knowledge/(\S+\.md) and write it", GUIDE).group(1)  # type: ignore[union-attr]
    assert page.exists(), created.stdout

    page.write_text(_template_page(), encoding="utf-8")  # step 2: the page the guide shows
    checked = _chatbot(["kb", "check"], clinic_copy)  # step 3
    assert checked.returncode == 0, checked.stdout
    assert "0 error(s), 0 warning(s)" in checked.stdout, checked.stdout

    shown = json.loads(_chatbot([*preview, "--json"], clinic_copy).stdout)  # step 4
    assert shown["triage"]["level"] not in ("urgent", "emergency") and not shown["triage"]["check"]
    answer = shown["replies"][0]
    assert answer["kind"] == "answer", shown["replies"]
    assert answer["sources"][0]["page"] == page.name


def test_preview_reads_plain_lines_and_json_lines(clinic_copy):
    """The guide's batch example: plain questions, one per line; JSON where a follow-up
    needs its earlier messages."""
    questions = "can I shower tonight?\n" + json.dumps(
        {"question": "what about a bath?", "previous": ["can I shower tonight?"]}) + "\n"
    result = _chatbot(["kb", "preview", "--json"], clinic_copy, stdin=questions)
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["question"] == "can I shower tonight?" and first["replies"][0]["kind"] == "answer"
    assert second["previous"] == ["can I shower tonight?"]
    assert second["replies"][0]["sources"][0]["section"].startswith("When can I take a bath")

    text = _chatbot(["kb", "preview"], clinic_copy, stdin="can I shower tonight?\n")
    assert "The assistant would reply:" in text.stdout and "Question: can I shower tonight?" in text.stdout


def test_preview_shows_the_buttons_the_patient_gets():
    """Found by the nurse trial: for "is your question one of these?" the preview showed the
    sentence but not the questions offered as buttons."""
    from chatbot.retrieval.service import KnowledgeService
    from chatbot.settings import load_settings
    from chatbot.staff.kb_preview import format_preview, preview

    assistant = KnowledgeService(load_settings())
    result = preview("can i lift wieghts after my block", assistant.settings, assistant.index)
    shown = format_preview(result)
    buttons = [b["title"] for reply in result.replies for b in (reply.buttons or [])]
    assert buttons and all(f"[button] {title}" in shown for title in buttons)
