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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from chatbot.errors import ChatbotError
from chatbot.settings import load_settings

if TYPE_CHECKING:
    from chatbot.retrieval.service import KnowledgeService


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        line = line.rstrip("\n")
        if line.strip():
            yield line


def cmd_index(args: argparse.Namespace) -> int:
    from chatbot.retrieval.service import KnowledgeService

    assistant = KnowledgeService(load_settings())
    sections = len(assistant.index.sections)
    print(f"Index ready in {assistant.settings.index_dir}: {sections} sections")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from chatbot.retrieval.service import KnowledgeService

    if args.k < 1:
        print("error: --k must be 1 or more", file=sys.stderr)
        return 2
    assistant = KnowledgeService(load_settings())
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
    """The decision the running assistant makes: the rules, then the learned screen
    (chatbot.screen.decide). `level` is the decision before any check question."""
    from chatbot import triage
    from chatbot.screen.decide import decide
    from chatbot.screen.model import default_screen

    triage.require_checks(triage.default_catalogue())  # a broken catalogue or model: one clear error
    if args.changes:
        from chatbot.staff import triage_changes

        print("Deciding every labelled message again with the catalogue as it is now (about half a "
              "minute) ...", file=sys.stderr, flush=True)
        decided = triage_changes.decide_all()
        if args.accept:
            count = triage_changes.accept(decided)
            print(f"Recorded the rules' decisions for {count} labelled messages "
                  f"in {triage_changes.DECISIONS_FILE}.")
            return 0
        moved = triage_changes.changes(decided)
        print(triage_changes.format_changes(moved))
        return 1 if any(change.in_sample for change in moved) else 0
    screen = default_screen()
    for message in _lines(sys.stdin):
        decision = decide(message, screen=screen, hours_since_injection=args.hours_since_injection)
        check = decision.check()
        if args.json:
            record = {
                "message": message,
                "level": decision.level,
                "reasons": decision.reasons,
                "concepts": {name: round(p, 3) for name, p in decision.concepts.items()},
                "check": None if check is None else {
                    "concepts": list(check.concepts), "level_if_yes": check.level_if_yes,
                    "question": check.question, "id": check.check_id,
                },
                "decided_by": decision.decided_by,
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            reasons = "; ".join(decision.reasons) or "-"
            asked = f"  check: {check.check_id} (yes = {check.level_if_yes})" if check else ""
            print(f"{decision.level:9}  {message[:60]!r}  {reasons}{asked}")
    return 0


def cmd_run_server(args: argparse.Namespace) -> int:
    from chatbot.ops.launcher import StartupError, exec_server, serve_page

    settings = load_settings()
    if args.kind == "page":
        return serve_page(settings)
    try:
        exec_server(settings, args.kind, args.port, args.endpoints)
    except (StartupError, OSError) as error:
        print(f"error: the {args.kind} server cannot start: {error}", file=sys.stderr)
    return 1


def cmd_serve(args: argparse.Namespace) -> int:
    from chatbot.ops.launcher import serve

    return serve(load_settings())


def cmd_chat(args: argparse.Namespace) -> int:
    from chatbot.ops.terminal_chat import chat

    return chat(load_settings(), args.url)


def cmd_kb_new(args: argparse.Namespace) -> int:
    from chatbot.staff.kb_scaffold import ScaffoldError, new_page

    settings = load_settings()
    topics = tuple(t.strip() for t in (args.topics or "").split(",") if t.strip())
    try:
        path = new_page(settings.knowledge_dir, args.title, args.procedure, topics, args.file)
    except ScaffoldError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    me = invoked_as()
    print(f"Created {path}\n"
          "It is a draft: patients do not see it yet. Replace every 'REPLACE ME', then run\n"
          f"  {me} kb check\n"
          f'  {me} kb preview "a question the page answers"\n'
          "and change 'draft: true' to 'draft: false' to publish it (no restart needed).")
    return 0


def invoked_as() -> str:
    """How to run this command again from here: '.venv/bin/chatbot' is seldom on PATH."""
    import os
    import shutil

    program = Path(sys.argv[0])
    if program.name == "chatbot" and program.exists():
        if shutil.which("chatbot") == str(program.resolve()):
            return "chatbot"
        try:
            return os.path.relpath(program, Path.cwd())
        except ValueError:
            return str(program)
    return f"{Path(sys.executable).name} -m chatbot"


def cmd_kb_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatbot.staff.kb_check import check_knowledge, format_report

    folder = Path(args.dir) if args.dir else load_settings().knowledge_dir
    report = check_knowledge(folder)
    print(format_report(report, base=Path.cwd()))
    return 1 if report.errors or (args.strict and report.warnings) else 0


def cmd_kb_preview(args: argparse.Namespace) -> int:
    from chatbot.retrieval.service import KnowledgeService
    from chatbot.staff.kb_preview import format_preview, preview, preview_json

    if args.k < 1:
        print("error: --k must be 1 or more", file=sys.stderr)
        return 2
    assistant = KnowledgeService(load_settings())

    def one(question: str, previous: tuple[str, ...]) -> str:
        result = preview(question, assistant.settings, assistant.index, procedure=args.procedure,
                         intent=args.intent, k=args.k, include_drafts=not args.no_drafts,
                         previous=previous)
        return preview_json(result) if args.json else format_preview(result)

    if args.question is not None:
        print(one(args.question, tuple(args.previous)))
        return 0
    # No question: one question per line on stdin (plain text, or JSON with earlier
    # messages), the model loaded once.
    status = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            print(one(line.strip(), tuple(args.previous)), flush=True)
            continue
        try:
            item = json.loads(line)
            question = item["question"]
            previous = tuple(item.get("previous") or ())
            if not isinstance(question, str) or not all(isinstance(p, str) for p in previous):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            print(f'error: stdin line {number}: expected {{"question": "...", "previous": ["..."]}}',
                  file=sys.stderr)
            status = 2
            continue
        print(one(question, previous), flush=True)
    return status


def cmd_report_gaps(args: argparse.Namespace) -> int:
    import datetime as dt

    from chatbot.staff import gaps

    settings = load_settings()
    try:
        start, end = gaps.clinic_period(args.since, args.until, settings.clinic_timezone)
        url = gaps.tracker_url(settings)
        events = gaps.read_events(url, start.timestamp(), end.timestamp() + gaps.REPLY_WINDOW)
        found, total = gaps.find_gaps(
            events, end.timestamp(),
            settings.min_answer_score if args.weak_below is None else args.weak_below,
        )
        groups = []
        if found:
            from chatbot.retrieval.service import KnowledgeService

            # One model for both jobs: grouping by meaning, and asking the pages again.
            assistant = KnowledgeService(settings)
            groups = gaps.mark_answered_now(gaps.group_messages(found, assistant.embedder, args.similarity),
                                            _answered_by(assistant))
        from chatbot.staff.safety_events import find_safety_events

        crises, checks = find_safety_events(events, end.timestamp())
        report = gaps.GapReport(start, end, groups, total, crises, checks)
    except gaps.GapError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(gaps.format_table(report, limit=args.limit))
    from chatbot.staff.report_files import report_path

    last_day = end - dt.timedelta(days=1)  # `end` is the start of the day after the period
    stamp = f"{start:%Y-%m-%d}_to_{last_day:%Y-%m-%d}"
    for given, name, render in ((args.csv, f"gaps-{stamp}.csv", gaps.to_csv),
                                (args.html, f"gaps-{stamp}.html", gaps.to_html)):
        if given is not None and _write_report(report_path(given, name), render(report)):
            return 1
    return 0


def _answered_by(assistant: KnowledgeService) -> Callable[[str], str]:
    """"page › question" when the live pages (drafts left out) answer the question now."""
    from chatbot.answers import decide

    def answer_for(question: str) -> str:
        results = assistant.search(question, k=5)
        if results and decide(results, assistant.settings) == "answer":
            return f"{results[0].section.page} › {results[0].section.heading}"
        return ""

    return answer_for


def _write_report(path: Path, text: str) -> int:
    from chatbot.staff.report_files import write_private

    try:
        write_private(path, text)
    except OSError as error:
        print(f"error: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"Wrote {path}")
    return 0


def cmd_report_diaries(args: argparse.Namespace) -> int:
    import datetime as dt
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from chatbot.staff import diaries, gaps
    from chatbot.staff.report_files import report_path

    settings = load_settings()
    staff_identifier = None
    if args.patient_identifier is not None:
        from chatbot.staff.fhir_export import StaffIdentifier

        if not args.patient or args.fhir is None:
            print("error: --patient-identifier goes with --patient REF and --fhir "
                  "(it names one patient in the clinic's record system)", file=sys.stderr)
            return 2
        try:
            staff_identifier = StaffIdentifier.parse(args.patient_identifier)
        except ValueError as error:
            print(f"error: --patient-identifier: {error}", file=sys.stderr)
            return 2
    try:
        start, end = gaps.clinic_period(args.since, args.until, settings.clinic_timezone)
        events = diaries.read_diaries(gaps.tracker_url(settings), start.timestamp(), end.timestamp())
    except gaps.GapError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    found = diaries.for_patient(events, args.patient)
    if args.patient and not found:
        # Nothing written: an empty file would replace the last report of that name.
        print(f"error: no pain diary for patient reference {args.patient} in this period "
              "(check the code the patient read out, or widen --since/--until); no file written.",
              file=sys.stderr)
        return 1
    now = datetime.now(ZoneInfo(settings.clinic_timezone))
    last_day = end - dt.timedelta(days=1)  # `end` is the start of the day after the period
    # One patient's files are named for that patient: never the clinic-wide report's name.
    who = f"{found[0].reference}-" if args.patient else ""
    stamp = f"{who}{start:%Y-%m-%d}_to_{last_day:%Y-%m-%d}"
    print(diaries.format_table(found))
    status = 0
    if args.csv is not None:
        status |= _write_report(report_path(args.csv, f"diaries-{stamp}.csv"), diaries.to_csv(found))
    if args.html is not None:
        status |= _write_report(report_path(args.html, f"diaries-{stamp}.html"), diaries.to_html(found, now))
    if args.fhir is not None:
        from chatbot.staff.fhir_export import to_fhir_json

        fhir_path = report_path(args.fhir, f"diaries-{stamp}.fhir.json")
        status |= _write_report(fhir_path, to_fhir_json(found, now, staff_identifier))
    return status


def cmd_report_callbacks(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from chatbot.callbacks.store import CallbackStore, CallbackStoreError
    from chatbot.staff import callbacks
    from chatbot.staff.report_files import report_path

    settings = load_settings()
    if not settings.callback_db.is_file():
        print(f"error: no callback database at {settings.callback_db} (CALLBACK_DB in .env). Run this from "
              "the assistant's folder, or set CALLBACK_DB to the file the assistant writes.", file=sys.stderr)
        return 1
    store = CallbackStore(settings.callback_db)
    zone = ZoneInfo(settings.clinic_timezone)
    if args.done or args.undo:
        # A request leaves the worklist only with who handled it and how (nurse trial: an
        # urgent request was marked done with neither, and nothing said who or why).
        missing = [flag for flag, value in (("--by", args.by), ("--outcome", args.outcome))
                   if not (value or "").strip() and (args.done or flag == "--by")]
        if missing:
            example = ('--done CB-7K3Q2M --by "Nurse Kim" --outcome "advised urgent care"' if args.done
                       else '--undo CB-7K3Q2M --by "Nurse Kim"')
            print(f"error: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} needed, e.g. "
                  f"chatbot report callbacks {example}", file=sys.stderr)
            return 2
        chosen = args.done or args.undo
        changed = (store.mark_done(chosen, by=args.by, outcome=args.outcome) if args.done
                   else store.undo_done(chosen, by=args.by))
        if not changed:
            print(f"error: no callback request {chosen!r} (see chatbot report callbacks --all)",
                  file=sys.stderr)
            return 1
        word = "done" if args.done else "waiting again"
        print(f"Marked {chosen.strip().upper()} {word}.")
        return 0
    try:
        found = callbacks.worklist(store.all())
    except CallbackStoreError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 1
    print(callbacks.format_table(found, zone, show_done=args.all))
    now = datetime.now(zone)
    status = 0
    if args.csv is not None:
        csv_path = report_path(args.csv, f"callbacks-{now:%Y-%m-%d}.csv")
        status |= _write_report(csv_path, callbacks.to_csv(found, zone))
    if args.html is not None:
        status |= _write_report(report_path(args.html, f"callbacks-{now:%Y-%m-%d}.html"),
                                callbacks.to_html(found, zone, now))
    return status


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
    triage.add_argument("--changes", action="store_true",
                        help="after editing knowledge/triage: which labelled messages the rules now decide "
                             "differently (nothing is read from stdin)")
    triage.add_argument("--accept", action="store_true",
                        help="with --changes: record the new decisions once a clinician agreed")
    triage.set_defaults(func=cmd_triage)

    commands.add_parser("serve", help="start the action and Rasa servers").set_defaults(
        func=cmd_serve
    )

    one = commands.add_parser(
        "run-server", help="run one server as `make run` does (for systemd units: deploy/, docs/DEPLOY.md)")
    one.add_argument("kind", choices=["rasa", "actions", "page"])
    one.add_argument("--port", type=int, default=None, help="default RASA_PORT / ACTION_PORT")
    one.add_argument("--endpoints", default="endpoints.yml",
                     help="Rasa's endpoints file (endpoints.prod.yml: PostgreSQL and Redis)")
    one.set_defaults(func=cmd_run_server)

    chat = commands.add_parser("chat", help="chat with a running assistant in the terminal")
    chat.add_argument("--url", default=None, help="Rasa server URL (default from RASA_PORT)")
    chat.set_defaults(func=cmd_chat)

    _add_kb_commands(commands)
    _add_report_commands(commands)
    return parser


def _add_kb_commands(commands: argparse._SubParsersAction) -> None:
    from chatbot.answers import INTENT_TOPICS
    from chatbot.retrieval.pages import PROCEDURES

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
    show.add_argument("question", nargs="?", default=None,
                      help="the question; without it, questions are read from standard input, one "
                           'per line, as plain text or JSON {"question": ..., "previous": [...]} '
                           "(the model loads once)")
    show.add_argument("--previous", action="append", default=[], metavar="TEXT",
                      help="an earlier patient message in the conversation (repeat, oldest first)")
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
    gaps.add_argument("--csv", nargs="?", const="", default=None, metavar="PATH",
                      help="also write one row per message as CSV (default under var/reports/)")
    gaps.add_argument("--html", nargs="?", const="", default=None, metavar="PATH",
                      help="also write the report as HTML (default under var/reports/)")
    gaps.add_argument("--weak-below", type=float, default=None,
                      help="answers scoring below this count as weak (default MIN_ANSWER_SCORE)")
    gaps.add_argument("--similarity", type=float, default=0.45,
                      help="how alike messages must be to share a group, 0-1 (default 0.45)")
    gaps.add_argument("--limit", type=int, default=20, help="groups shown in the terminal")
    gaps.set_defaults(func=cmd_report_gaps)

    diaries = report.add_parser("diaries", help="pain diaries kept in the chat (after diagnostic blocks)")
    diaries.add_argument("--since", help="first day, YYYY-MM-DD (default: 30 days ago)")
    diaries.add_argument("--until", help="last day, YYYY-MM-DD, included (default: today)")
    diaries.add_argument("--patient", metavar="REF",
                         help="one patient's diary only (the diary reference the chat shows the patient)")
    _file_options(diaries, ("csv", "html"))
    diaries.add_argument("--fhir", nargs="?", const="", default=None, metavar="PATH",
                         help="also write a FHIR Bundle of pain-score Observations (LOINC 72514-3)")
    diaries.add_argument("--patient-identifier", metavar="SYSTEM|VALUE",
                         help="with --patient and --fhir: the patient's identifier in the clinic's "
                              "record system, e.g. 'urn:oid:2.16.840.1.113883.3.1234|MRN0042'")
    diaries.set_defaults(func=cmd_report_diaries)

    calls = report.add_parser("callbacks", help="nurse callback requests")
    calls.add_argument("--all", action="store_true", help="include requests already marked done")
    calls.add_argument("--done", metavar="ID", help="mark one request handled, e.g. --done CB-7K3Q2M")
    calls.add_argument("--by", metavar="NAME", help="with --done: who handled it")
    calls.add_argument("--outcome", metavar="TEXT",
                       help='with --done: what came of it, e.g. "advised urgent care"')
    calls.add_argument("--undo", metavar="ID",
                       help="put a request marked done by mistake back on the list (with --by NAME)")
    _file_options(calls, ("csv", "html"))
    calls.set_defaults(func=cmd_report_callbacks)


def _file_options(parser: argparse.ArgumentParser, kinds: tuple[str, ...]) -> None:
    for kind in kinds:
        parser.add_argument(f"--{kind}", nargs="?", const="", default=None, metavar="PATH",
                            help=f"also write {kind.upper()} (default: under var/reports/)")


def say_where() -> None:
    """One first line (on stderr, so --json output stays clean): which settings file,
    knowledge folder and databases this run uses. Staff running the command from another
    folder see at once that it is not the assistant's."""
    from chatbot import PROJECT_ROOT

    settings = load_settings()
    env_file = PROJECT_ROOT / ".env"
    used = str(env_file) if env_file.is_file() else f"the built-in defaults (there is no {env_file})"
    print(f"chatbot: settings from {used}; knowledge {settings.knowledge_dir}; chats {settings.tracker_db}; "
          f"call backs {settings.callback_db}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        say_where()
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
