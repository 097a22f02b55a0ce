"""The rules' decisions on the labelled messages are reviewed, never changed unseen (issue 19).

A nurse who added `back` to the groin word group made "my back is numb where they
injected" an emergency, and every test passed (they tolerate some over-escalation). Now
an in-sample decision that moves without its label moving fails here, and
`chatbot triage --changes` lists what moved before the assistant is restarted.
"""

from __future__ import annotations

import shutil

from chatbot import triage
from chatbot.screen import corpus
from chatbot.staff import triage_changes
from tests.conftest import REPO


def test_no_in_sample_decision_moved_without_its_label():
    train = set(w.writer for w in corpus.writers() if w.split == "train")
    catalogue = triage.load_catalogue()
    decided = [(e, triage.classify(e.message, catalogue=catalogue).level)
               for e in corpus.examples() if e.writer in train]
    moved = [c for c in triage_changes.changes(decided) if c.in_sample]
    assert not moved, (
        f"{len(moved)} in-sample decision(s) changed without their label: review them with a clinician "
        "(chatbot triage --changes), then record them (chatbot triage --changes --accept)\n"
        + triage_changes.format_changes(moved[:20]))


def test_back_in_the_groin_word_group_is_shown_before_it_reaches_patients(tmp_path):
    folder = tmp_path / "triage"
    shutil.copytree(REPO / "knowledge" / "triage", folder)
    lexicon = folder / "lexicon.md"
    text = lexicon.read_text(encoding="utf-8")
    lexicon.write_text(text.replace("- English: groin*, saddle,", "- English: groin*, back, saddle,", 1),
                       encoding="utf-8")
    changed = triage.load_catalogue(folder / "red-flags.md")
    with_back = [e for e in corpus.examples() if " back" in e.message.lower()]
    decided = [(e, triage.classify(e.message, catalogue=changed).level) for e in with_back]
    moved = triage_changes.changes(decided)
    assert any(c.in_sample and c.direction == "more urgent" for c in moved)
    assert "In-sample" in triage_changes.format_changes(moved)
