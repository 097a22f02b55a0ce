"""`chatbot kb new "Title" --procedure P`: start a new page from the staff template.

The new page is a draft (``draft: true``): the running assistant does not show it to
patients until staff change that line to ``draft: false``, so a half-written page never
reaches a patient. `chatbot kb preview` searches drafts too, to try the page first.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from chatbot.errors import ChatbotError
from chatbot.retrieval.pages import PROCEDURES, TOPICS, load_knowledge, slugify


class ScaffoldError(ChatbotError):
    """The page cannot be created; the message says why and what to do instead."""


TEMPLATE = """\
---
# Lines starting with '#' up here are notes for you; the assistant ignores them.
title: {yaml_title}
# One of: {procedures}
procedure: {procedure}
# One or more of: {topics}
topics: [{chosen_topics}]
# Where the information comes from: one line per leaflet file or web page.
sources:
  - url: REPLACE ME with https://... or change 'url' to 'file' and write the file name
# The day a clinician last checked this page (YYYY-MM-DD).
last_reviewed: {today}
# Patients do not see this page while it says 'draft: true'.
# Try it with: chatbot kb preview "a question" ; then change it to 'draft: false'.
draft: true
---

# {title}

## REPLACE ME with the first question, as a patient would ask it?

Topic: REPLACE ME with one topic name from docs/STAFF.md (for example: driving)

REPLACE ME with the answer in plain words, as you would say it to a patient on the
phone. One question per section, about 40 to 160 words. Say when to call the clinic.

## REPLACE ME with the second question?

Topic: REPLACE ME

REPLACE ME with the answer. Delete this section if the page has only one question.
"""


def render_page(title: str, procedure: str, topics: tuple[str, ...] = (),
                today: dt.date | None = None) -> str:
    return TEMPLATE.format(
        title=title,
        yaml_title=title if re.fullmatch(r"[A-Za-z0-9][\w ,.?()/'-]*", title) else json.dumps(
            title, ensure_ascii=False),
        procedure=procedure,
        procedures=", ".join(PROCEDURES),
        topics=", ".join(sorted(TOPICS)),
        chosen_topics=", ".join(topics),
        today=(today or dt.date.today()).isoformat(),
    )


def new_page(knowledge_dir: Path, title: str, procedure: str, topics: tuple[str, ...] = (),
             file_name: str | None = None) -> Path:
    """Write the template for a new page and return its path; never overwrite."""
    title = " ".join(title.split())
    if not title:
        raise ScaffoldError("the title is empty; write it in quotes, e.g. "
                            'chatbot kb new "Driving after a trigger point injection"')
    if procedure not in PROCEDURES:
        raise ScaffoldError(f"unknown procedure {procedure!r}; use one of {', '.join(PROCEDURES)}")
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise ScaffoldError(f"unknown topic(s) {', '.join(unknown)}; use: {', '.join(sorted(TOPICS))}")
    if not knowledge_dir.is_dir():
        raise ScaffoldError(f"the knowledge folder {knowledge_dir} does not exist")
    name = file_name or f"{slugify(title)}.md"
    if not name.endswith(".md"):
        name += ".md"
    if "/" in name or "\\" in name or name.startswith("."):
        raise ScaffoldError(f"{name!r} is not a plain file name")
    path = knowledge_dir / name
    if path.exists():
        raise ScaffoldError(
            f"{path} already exists and was not changed. Open it to edit it, or choose "
            "another title (or --file other-name.md)")
    knowledge = load_knowledge(knowledge_dir)
    for page in [*knowledge.pages, *knowledge.drafts]:
        if page.title.lower() == title.lower():
            raise ScaffoldError(f"{page.path} already has the title {title!r}; edit that page, "
                                "or choose another title")
    try:
        with path.open("x", encoding="utf-8") as handle:  # "x": fail if it appeared meanwhile
            handle.write(render_page(title, procedure, topics))
    except FileExistsError:
        raise ScaffoldError(f"{path} already exists and was not changed") from None
    return path
