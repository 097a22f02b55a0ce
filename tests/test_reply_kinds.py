"""The widget and the server name reply kinds the same way (one list each, kept equal)."""

from __future__ import annotations

import re

from chatbot import PROJECT_ROOT
from chatbot.reply_kinds import ReplyKind


def test_widget_knows_every_reply_kind_and_no_other():
    source = (PROJECT_ROOT / "web" / "widget.js").read_text(encoding="utf-8")
    block = re.search(r"const REPLY_KINDS = \[(.*?)\];", source, re.S)
    assert block, "web/widget.js must declare const REPLY_KINDS = [...]"
    widget = set(re.findall(r'"([a-z_]+)"', block.group(1)))
    assert widget == {kind.value for kind in ReplyKind}


def test_domain_responses_use_known_kinds():
    domain = (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"^\s+kind: ([a-z_]+)\s*$", domain, re.M))
    assert used <= {kind.value for kind in ReplyKind}, used - {kind.value for kind in ReplyKind}
