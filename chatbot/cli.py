"""Command line for staff, tests and `make run`: ``chatbot index|search|triage|serve|chat``,
``chatbot kb new|check|preview`` for knowledge pages and ``chatbot report gaps``.

search and triage read one message per line on standard input and, with --json, write
one JSON object per line, so the knowledge base and triage can be checked without a
server. Errors go to standard error with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from typing import TextIO

from chatbot.errors import ChatbotError
from chatbot.settings import load_settings


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        line = line.rstrip("\n")
        if line.strip():
            yield line


def cmd_index(args: argparse.Namespace) -> int:
    from chatbot.assistant import Assistant

    assistant = Assistant(load_settings())
    sections = len(assistant.index.sections)
    print(f"Index ready in {assistant.settings.index_dir}: {sections} sections")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from chatbot.assistant import Assistant

    if args.k < 1:
        print("error: --k must be 1 or more", file=sys.stderr)
        return 2
    assistant = Assistant(load_settings())
    for question in _lines(sys.stdin):
        results = assistant.search(question, k=args.k, procedure=args.procedure)
        if args.json:
            record = {"question": question, "results": [r.as_dict() for r in results]}
            print(json.dumps(record, ensure_ascii=False), flush=True)
            continue
        print(f"\n{question}")
        for rank, result in enumerate(results, 1):
            print(f"  {rank}. {result.score:.3f}  {result.section.page} › {result.section.heading}")
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    from chatbot import triage

    triage.default_catalogue()  # a broken catalogue is one clear error, before any input
    for message in _lines(sys.stdin):
        result = triage.classify(message, hours_since_injection=args.hours_since_injection)
        if args.json:
            record = {"message": message, "level": result.level, "reasons": result.reasons}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            reasons = "; ".join(result.reasons) or "-"
            print(f"{result.level:9}  {message[:60]!r}  {reasons}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from chatbot.launcher import serve

    return serve(load_settings())


def cmd_chat(args: argparse.Namespace) -> int:
    from chatbot.terminal_chat import chat

    return chat(load_settings(), args.url)


def cmd_kb_new(args: argparse.Namespace) -> int:
    from chatbot.kb_scaffold import ScaffoldError, new_page

    settings = load_settings()
    topics = tuple(t.strip() for t in (args.topics or "").split(",") if t.strip())
    try:
        path = new_page(settings.knowledge_dir, args.title, args.procedure, topics, args.file)
    except ScaffoldError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Created {path}\n"
          "It is a draft: patients do not see it yet. Replace every 'REPLACE ME', then run\n"
          "  chatbot kb check\n"
          '  chatbot kb preview "a question the page answers"\n'
          "and change 'draft: true' to 'draft: false' to publish it (no restart needed).")
    return 0


def cmd_kb_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatbot.kb_check import check_knowledge, format_report

    folder = Path(args.dir) if args.dir else load_settings().knowledge_dir
    report = check_knowledge(folder)
    print(format_report(report, base=Path.cwd()))
    return 1 if report.errors or (args.strict and report.warnings) else 0


def cmd_kb_preview(args: argparse.Namespace) -> int:
    from chatbot.assistant import Assistant
    from chatbot.kb_preview import format_preview, preview, preview_json

    if args.k < 1:
        print("error: --k must be 1 or more", file=sys.stderr)
        return 2
    assistant = Assistant(load_settings())
    result = preview(args.question, assistant.settings, assistant.index, procedure=args.procedure,
                     intent=args.intent, k=args.k, include_drafts=not args.no_drafts)
    print(preview_json(result) if args.json else format_preview(result))
    return 0


def cmd_report_gaps(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatbot import gaps

    settings = load_settings()
    try:
        start, end = gaps.clinic_period(args.since, args.until, settings.clinic_timezone)
        url = gaps.tracker_url(settings)
        events = gaps.read_events(url, start.timestamp(), end.timestamp() + gaps.REPLY_WINDOW)
        found, total = gaps.find_gaps(
            events, end.timestamp(),
            settings.min_answer_score if args.weak_below is None else args.weak_below,
        )
        encoder = None
        if found:
            from chatbot.embedding import Embedder

            encoder = Embedder(settings.embedding_model)
        report = gaps.GapReport(start, end, gaps.group_messages(found, encoder, args.similarity), total)
    except gaps.GapError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(gaps.format_table(report, limit=args.limit))
    for path, write in ((args.csv, gaps.write_csv), (args.html, gaps.write_html)):
        if path:
            try:
                write(report, Path(path))
            except OSError as error:
                print(f"error: cannot write {path}: {error.strerror or error}", file=sys.stderr)
                return 1
            print(f"Wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatbot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("index", help="build or update the retrieval index").set_defaults(
        func=cmd_index
    )

    search = commands.add_parser("search", help="search the knowledge base (questions on stdin)")
    search.add_argument("--k", type=int, default=3, help="results per question (default 3)")
    search.add_argument(
        "--procedure",
        choices=["facet_joint", "medial_branch_block", "trigger_point"],
        help="prefer pages about this procedure",
    )
    search.add_argument("--json", action="store_true", help="one JSON line per question")
    search.set_defaults(func=cmd_search)

    triage = commands.add_parser("triage", help="red-flag triage (messages on stdin)")
    triage.add_argument("--json", action="store_true", help="one JSON line per message")
    triage.add_argument(
        "--hours-since-injection", type=float, default=None,
        help="what the conversation knows about when the injection was",
    )
    triage.set_defaults(func=cmd_triage)

    commands.add_parser("serve", help="start the action and Rasa servers").set_defaults(
        func=cmd_serve
    )

    chat = commands.add_parser("chat", help="chat with a running assistant in the terminal")
    chat.add_argument("--url", default=None, help="Rasa server URL (default from RASA_PORT)")
    chat.set_defaults(func=cmd_chat)

    _add_kb_commands(commands)
    _add_report_commands(commands)
    return parser


def _add_kb_commands(commands: argparse._SubParsersAction) -> None:
    from chatbot.answers import INTENT_TOPICS
    from chatbot.knowledge import PROCEDURES

    kb = commands.add_parser("kb", help="knowledge pages: new, check, preview").add_subparsers(
        dest="kb_command", required=True)
    new = kb.add_parser("new", help="start a new page from the template (as a draft)")
    new.add_argument("title", help='the page title, in quotes: "Driving after a trigger point injection"')
    new.add_argument("--procedure", required=True, choices=PROCEDURES, help="which procedure it is about")
    new.add_argument("--topics", default="", help="comma-separated topics, e.g. driving,work")
    new.add_argument("--file", default=None, help="file name (default: from the title)")
    new.set_defaults(func=cmd_kb_new)

    check = kb.add_parser("check", help="check every page; exit code 1 if anything must be fixed")
    check.add_argument("--dir", default=None, help="knowledge folder (default KNOWLEDGE_DIR)")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.set_defaults(func=cmd_kb_check)

    show = kb.add_parser("preview", help="what the assistant would answer to a question")
    show.add_argument("question")
    show.add_argument("--procedure", choices=[p for p in PROCEDURES if p != "general"],
                      help="as if the patient had said which procedure they had")
    show.add_argument("--intent", choices=sorted(INTENT_TOPICS),
                      help="as if the language model recognised this intent")
    show.add_argument("--k", type=int, default=5, help="sections to list (default 5)")
    show.add_argument("--no-drafts", action="store_true", help="leave out draft pages")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=cmd_kb_preview)


def _add_report_commands(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="reports for staff").add_subparsers(
        dest="report_command", required=True)
    gaps = report.add_parser(
        "gaps", help="patient questions the knowledge base could not answer, grouped by meaning")
    gaps.add_argument("--since", help="first day, YYYY-MM-DD (default: 30 days ago)")
    gaps.add_argument("--until", help="last day, YYYY-MM-DD, included (default: today)")
    gaps.add_argument("--csv", help="also write one row per message to this CSV file")
    gaps.add_argument("--html", help="also write the report to this HTML file")
    gaps.add_argument("--weak-below", type=float, default=None,
                      help="answers scoring below this count as weak (default MIN_ANSWER_SCORE)")
    gaps.add_argument("--similarity", type=float, default=0.45,
                      help="how alike messages must be to share a group, 0-1 (default 0.45)")
    gaps.add_argument("--limit", type=int, default=20, help="groups shown in the terminal")
    gaps.set_defaults(func=cmd_report_gaps)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ChatbotError as error:  # setup and input problems: one line, never a traceback
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
