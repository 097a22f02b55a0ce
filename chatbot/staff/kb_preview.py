"""`chatbot kb preview "question"`: what the assistant would answer, and from where.

It runs the same code as the running assistant (`chatbot.answers.reply_to` over the
same index and settings), plus the pages still marked ``draft: true``, so staff can try
a new page before patients see it. ``--previous`` gives the patient's earlier messages
(oldest first), so a follow-up ("what about a bath?") is answered as in the chat. The
one thing it cannot know is the intent the Rasa language model would recognise in the
question; pass ``--intent`` to see its effect (a matching topic ranks a little higher).
With no question, it reads JSON lines ``{"question": ..., "previous": [...]}`` from
standard input and loads the model once for all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from chatbot.answers import INTENT_TOPICS, Turn, frame_for_turns, reply_to, search_in_context
from chatbot.replies import Reply
from chatbot.retrieval.frame import Frame
from chatbot.retrieval.index import KnowledgeIndex, SearchResult
from chatbot.retrieval.pages import load_knowledge
from chatbot.settings import Settings


@dataclass
class Preview:
    question: str
    procedure: str | None
    intent: str | None
    replies: list[Reply]
    results: list[SearchResult]
    drafts: set[str] = field(default_factory=set)  # pages in the results that are drafts
    settings: Settings | None = None
    previous: tuple[str, ...] = ()
    frame: Frame | None = None  # what the earlier messages' answers leave (chatbot.retrieval.frame)
    triage: dict[str, object] = field(default_factory=dict)  # what triage does first (as in the chat)

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "triage": self.triage,
            "previous": list(self.previous),
            "frame": self.frame.as_dict() if self.frame else None,
            "procedure": self.procedure,
            "intent": self.intent,
            "replies": [
                {"kind": str(r.kind), "text": r.text, "response": r.response, "sources": r.sources,
                 "buttons": r.buttons}
                for r in self.replies
            ],
            "results": [
                {**r.as_dict(), "rank_score": round(r.rank_score, 4),
                 "draft": r.section.page in self.drafts}
                for r in self.results
            ],
            "answer_bar": _bar(self.settings) if self.settings else None,
        }


def _bar(settings: Settings) -> dict[str, float]:
    return {"min_answer_score": settings.min_answer_score, "answer_margin": settings.answer_margin,
            "sure_answer_score": settings.sure_answer_score, "min_suggest_score": settings.min_suggest_score}


def index_with_drafts(index: KnowledgeIndex, settings: Settings) -> tuple[KnowledgeIndex, set[str]]:
    """The live index plus the draft pages, embedded in memory (never saved)."""
    drafts = load_knowledge(settings.knowledge_dir).drafts
    sections = [s for page in drafts for s in page.sections]
    if not sections:
        return index, set()
    vectors = index.encoder.encode([text for s in sections for text in s.embedding_texts()])
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
    previous: tuple[str, ...] = (),
) -> Preview:
    drafts: set[str] = set()
    if include_drafts:
        index, drafts = index_with_drafts(index, settings)

    def search(query: str, k: int, procedure: str | None, topics: tuple[str, ...]) -> list[SearchResult]:
        return index.search(query, k=k, procedure=procedure, topics=topics)

    sections = index.sections
    frame = frame_for_turns(previous, search, settings, sections) if previous else None
    turn = Turn(message=question, intent=intent, procedure=procedure, previous=previous[-2:], frame=frame)
    replies = reply_to(turn, search, settings, sections)
    first = triage_first(question, previous)
    results = search_in_context(search, question, k, procedure, INTENT_TOPICS.get(intent or "", ()),
                                previous[-2:], frame, sections)
    return Preview(question, procedure, intent, replies, results, drafts, settings, previous, frame, first)


def triage_first(question: str, previous: tuple[str, ...]) -> dict[str, object]:
    """What the running assistant's triage does with the message before any answer: the
    same rules and learned screen (with the time since the injection the earlier
    messages give). An escalation or a check question is what the patient gets first."""
    from chatbot.screen.decide import decide
    from chatbot.screen.model import default_screen
    from chatbot.triage.conversation import hours_from_history

    now = 0.0
    hours = hours_from_history([(text, now) for text in previous], now) if previous else None
    decision = decide(question, screen=default_screen(), hours_since_injection=hours)
    return {
        "level": decision.level,
        "decided_by": decision.decided_by,
        "reasons": decision.reasons,
        "self_harm": decision.self_harm,
        "check": decision.candidates[0].question if decision.candidates else None,
    }


def format_preview(result: Preview) -> str:
    out = [f"Earlier message: {text}" for text in result.previous]
    if result.frame is not None:
        out.append(f"The conversation is about: {result.frame.section} "
                   f"(procedure {result.frame.procedure}, topic {result.frame.topic})")
    out.append(f"Question: {result.question}")
    hints = [f"procedure: {result.procedure or 'not said'}", f"intent: {result.intent or 'not given'}"]
    out.append("  (" + "; ".join(hints) + ")")
    out.append("")
    first = result.triage
    if first.get("check"):
        out.append("Triage first: the patient is asked a check question before anything else:")
        out.append(f"    {first['check']}")
        out.append("  (Yes gets that question's advice; No gets the reply below.)")
        out.append("")
    elif first.get("level") in ("urgent", "emergency"):
        what = "the crisis line reply" if first.get("self_harm") else f"the {first['level']} advice"
        out.append(f"Triage first: a red flag. The patient gets {what}, not an answer from the pages:")
        reasons = first.get("reasons")
        out.extend(f"    {reason}" for reason in (reasons if isinstance(reasons, list) else []))
        out.append("  (Only a question asked in the same message is then answered.)")
        out.append("")
    out.append("The assistant would reply:")
    for reply in result.replies:
        if reply.response:
            out.append(f"  [{reply.kind}] the '{reply.response}' message (a red flag: escalated, "
                       "not answered from the pages)")
            continue
        out.append(f"  [{reply.kind}]")
        out.extend(f"    {line}" for line in (reply.text or "").splitlines())
        # The buttons the patient can tap (nurse trial: "is your question one of these?"
        # showed no questions).
        out.extend(f"    [button] {button.get('title', '')}" for button in (reply.buttons or []))
        for source in reply.sources:
            draft = "   << DRAFT: patients do not get this yet" if source["page"] in result.drafts else ""
            out.append(f"    -> from {source['page']} › {source['section']} "
                       f"(score {source['score']:.3f}){draft}")
    if not result.replies:
        out.append("  (nothing)")
    out.append("")
    out.append("Closest sections (score = the retriever's fused score):")
    for rank, r in enumerate(result.results, 1):
        draft = "  [draft]" if r.section.page in result.drafts else ""
        nudged = f" (ranked {r.rank_score:.3f})" if abs(r.rank_score - r.score) > 1e-6 else ""
        out.append(f"  {rank}. {r.score:.3f}{nudged}  {r.section.page} › {r.section.heading}{draft}")
    if not result.results:
        out.append("  (the knowledge base is empty)")
    out.append("")
    if result.settings is not None:
        bar = result.settings
        out.append(
            f"An answer is shown at {bar.min_answer_score:.2f} or more with a lead of "
            f"{bar.answer_margin:.2f} over the next section, or at {bar.sure_answer_score:.2f} or more; "
            f"from {bar.min_suggest_score:.2f} the patient gets \"is your question one of these?\" buttons."
        )
    return "\n".join(out)


def preview_json(result: Preview) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False)
