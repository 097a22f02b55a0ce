"""`chatbot kb preview "question"`: what the assistant would answer, and from where.

It runs the same code as the running assistant (`chatbot.answers.reply_to` over the
same index and settings), plus the pages still marked ``draft: true``, so staff can try
a new page before patients see it. The one thing it cannot know is the intent the Rasa
language model would recognise in the question; pass ``--intent`` to see its effect
(a matching topic lowers the bar for an answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from chatbot.answers import INTENT_TOPICS, Reply, Turn, reply_to
from chatbot.knowledge import load_knowledge
from chatbot.retriever import KnowledgeIndex, SearchResult
from chatbot.settings import Settings


@dataclass
class Preview:
    question: str
    procedure: str | None
    intent: str | None
    replies: list[Reply]
    results: list[SearchResult]
    drafts: set[str] = field(default_factory=set)  # pages in the results that are drafts
    threshold: float = 0.0
    topic_threshold: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "procedure": self.procedure,
            "intent": self.intent,
            "replies": [
                {"kind": r.kind, "text": r.text, "response": r.response, "sources": r.sources}
                for r in self.replies
            ],
            "results": [
                {**r.as_dict(), "rank_score": round(r.rank_score, 4),
                 "draft": r.section.page in self.drafts}
                for r in self.results
            ],
            "threshold": self.threshold,
            "topic_threshold": self.topic_threshold,
        }


def index_with_drafts(index: KnowledgeIndex, settings: Settings) -> tuple[KnowledgeIndex, set[str]]:
    """The live index plus the draft pages, embedded in memory (never saved)."""
    drafts = load_knowledge(settings.knowledge_dir).drafts
    sections = [s for page in drafts for s in page.sections]
    if not sections:
        return index, set()
    vectors = index.encoder.encode([s.embedding_text() for s in sections])
    combined = KnowledgeIndex(
        index.encoder, [*index.sections, *sections],
        np.vstack([index.vectors, vectors]).astype(np.float32),
    )
    return combined, {page.path for page in drafts}


def preview(
    question: str,
    settings: Settings,
    index: KnowledgeIndex,
    procedure: str | None = None,
    intent: str | None = None,
    k: int = 5,
    include_drafts: bool = True,
) -> Preview:
    drafts: set[str] = set()
    if include_drafts:
        index, drafts = index_with_drafts(index, settings)

    def search(query: str, k: int, procedure: str | None, topics: tuple[str, ...]) -> list[SearchResult]:
        return index.search(query, k=k, procedure=procedure, topics=topics)

    replies = reply_to(Turn(message=question, intent=intent, procedure=procedure), search, settings)
    results = index.search(question, k=k, procedure=procedure, topics=INTENT_TOPICS.get(intent or "", ()))
    return Preview(question, procedure, intent, replies, results, drafts,
                   settings.min_answer_score, settings.min_topic_answer_score)


def format_preview(result: Preview) -> str:
    out = [f"Question: {result.question}"]
    hints = [f"procedure: {result.procedure or 'not said'}", f"intent: {result.intent or 'not given'}"]
    out.append("  (" + "; ".join(hints) + ")")
    out.append("")
    out.append("The assistant would reply:")
    for reply in result.replies:
        if reply.response:
            out.append(f"  [{reply.kind}] the '{reply.response}' message (a red flag: escalated, "
                       "not answered from the pages)")
            continue
        out.append(f"  [{reply.kind}]")
        out.extend(f"    {line}" for line in (reply.text or "").splitlines())
        for source in reply.sources:
            draft = "   << DRAFT: patients do not get this yet" if source["page"] in result.drafts else ""
            out.append(f"    -> from {source['page']} › {source['section']} "
                       f"(score {source['score']:.3f}){draft}")
    if not result.replies:
        out.append("  (nothing)")
    out.append("")
    out.append("Closest sections (score = similarity to the question, 0 to 1):")
    for rank, r in enumerate(result.results, 1):
        draft = "  [draft]" if r.section.page in result.drafts else ""
        nudged = f" (ranked {r.rank_score:.3f})" if abs(r.rank_score - r.score) > 1e-6 else ""
        out.append(f"  {rank}. {r.score:.3f}{nudged}  {r.section.page} › {r.section.heading}{draft}")
    if not result.results:
        out.append("  (the knowledge base is empty)")
    out.append("")
    out.append(
        f"An answer needs a score of {result.threshold:.2f}, or {result.topic_threshold:.2f} when "
        "the question's intent matches the section's topics (try --intent ask_driving etc.)."
    )
    return "\n".join(out)


def preview_json(result: Preview) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False)
