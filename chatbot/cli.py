"""Command line for staff, tests and `make run`: ``chatbot index|search|triage|serve|chat``.

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

from chatbot.settings import SettingsError, load_settings


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (SettingsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
