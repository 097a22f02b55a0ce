"""Who may import whom (docs/ARCHITECTURE.md): the rooms stay apart, so a change stays in
one place and each runtime loads only what it needs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from chatbot import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "chatbot"
# Modules every room may use: settings, errors, the shared contracts.
SHARED = {"chatbot", "chatbot.settings", "chatbot.errors", "chatbot.reply_kinds", "chatbot.escalation",
          "chatbot.clinic_hours", "chatbot.conversation_tokens", "chatbot.log_privacy",
          "chatbot.message_checks", "chatbot.patient_ref"}
RULES = {
    # The Rasa server (Python 3.10): no retrieval model, no staff tools, no action logic.
    "rasa_server": {"allowed": SHARED | {"chatbot.triage", "chatbot.screen", "chatbot.rasa_server"}},
    # Triage: the standard library and itself (it must run anywhere, even when all else fails).
    "triage": {"allowed": {"chatbot.triage", "chatbot.errors"}},
    # The learned screen at serving time: onnxruntime, tokenizers, numpy; rules and shared.
    "screen": {"allowed": SHARED | {"chatbot.triage", "chatbot.screen"}},
    "retrieval": {"forbidden": {"chatbot.rasa_server", "chatbot.staff", "chatbot.ops"}},
    "diary": {"forbidden": {"chatbot.rasa_server", "chatbot.staff", "chatbot.ops"}},
    "callbacks": {"forbidden": {"chatbot.rasa_server", "chatbot.staff", "chatbot.ops"}},
    "staff": {"forbidden": {"chatbot.rasa_server"}},
}


def chatbot_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "chatbot" or name.startswith("chatbot.")}


def room_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


@pytest.mark.parametrize("room", sorted(RULES))
def test_each_room_imports_only_what_it_may(room):
    rule = RULES[room]
    problems = []
    for path in sorted((PACKAGE / room).glob("*.py")):
        for module in chatbot_imports(path):
            target = room_of(module)
            if "allowed" in rule and target not in rule["allowed"] and module not in rule["allowed"]:
                problems.append(f"{path.relative_to(PROJECT_ROOT)} imports {module}")
            if target in rule.get("forbidden", set()):
                problems.append(f"{path.relative_to(PROJECT_ROOT)} imports {module}")
    assert not problems, problems


THIRD_PARTY_ALLOWED = {
    # Standard library only, so triage runs even when every package is broken.
    "triage": set(),
    # Serving: no torch, no transformers, no sentence-transformers (they are not in Rasa's Python).
    "screen": {"numpy", "onnxruntime", "tokenizers"},
}


def third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return {name for name in found if name != "chatbot" and name not in sys.stdlib_module_names}


@pytest.mark.parametrize("room", sorted(THIRD_PARTY_ALLOWED))
def test_rooms_use_only_their_own_packages(room):
    problems = [f"{path.relative_to(PROJECT_ROOT)} imports {name}"
                for path in sorted((PACKAGE / room).glob("*.py"))
                for name in third_party_imports(path) - THIRD_PARTY_ALLOWED[room]]
    assert not problems, problems


def test_serving_never_imports_training_and_training_stays_out_of_servers():
    training = PROJECT_ROOT / "training"
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "from training" not in source and "import training" not in source, path
    for path in training.rglob("*.py"):
        for module in chatbot_imports(path):
            servers = {"chatbot.rasa_server", "chatbot.staff", "chatbot.ops"}
            assert room_of(module) not in servers, (path, module)


def test_the_product_never_imports_test_or_bench_support():
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "from tests" not in source and "import tests" not in source, path
        assert "from bench" not in source, path


def test_every_module_says_who_runs_it():
    missing = [str(p.relative_to(PROJECT_ROOT)) for p in PACKAGE.rglob("*.py")
               if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
               and p.name != "__main__.py"]
    assert not missing, missing
