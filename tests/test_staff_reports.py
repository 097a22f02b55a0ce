"""`chatbot report diaries` and `chatbot report callbacks`: what staff get, and that every
output escapes what patients typed."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle

from chatbot.callbacks.store import CallbackRequest, CallbackStore
from chatbot.staff import callbacks as callback_report
from chatbot.staff import diaries
from chatbot.staff.fhir_export import to_fhir_json
from tests.conftest import REPO
from tests.test_gap_report import Store

ZONE = ZoneInfo("America/New_York")
BLOCK = datetime(2026, 11, 10, 9, 0, tzinfo=ZONE)
EVIL = "<script>alert('x')</script>"


def slot(store: Store, sender: str, name: str, value: object) -> None:
    store.add(sender, "slot", {"name": name, "value": value})


@pytest.fixture()
def tracker(tmp_path) -> Store:
    store = Store(tmp_path / "tracker.db")
    slot(store, "patient-a", "diary_baseline", 8.0)
    slot(store, "patient-a", "diary_block_time", BLOCK.isoformat())
    entries = []
    for minutes, score, activity in ((30, 2, "walking"), (60, 1, EVIL), (240, 6, "")):
        entries.append({"at": (BLOCK + timedelta(minutes=minutes)).isoformat(), "score": score,
                        "activity": activity})
        slot(store, "patient-a", "diary_entries", list(entries))
    slot(store, "patient-b", "diary_baseline", 5.0)  # never gave the block time: no diary
    slot(store, "patient-c", "procedure", "facet_joint")
    return store


def test_the_last_state_of_each_diary_is_read(tracker):
    found = diaries.read_diaries(f"sqlite:///{tracker.path}", 0, 4e9)
    assert len(found) == 1 and [e.score for e in found[0].diary.entries] == [2, 1, 6]
    table = diaries.format_table(found)
    assert "88" in table and "best relief 88% at 1.0 h" in table


def test_csv_html_and_fhir_outputs(tracker):
    found = diaries.read_diaries(f"sqlite:///{tracker.path}", 0, 4e9)
    rows = list(csv.reader(io.StringIO(diaries.to_csv(found))))
    assert rows[0][:3] == ["patient ref", "block", "before"] and len(rows) == 4
    page = diaries.to_html(found, datetime.now(ZONE))
    assert EVIL not in page and "&lt;script&gt;" in page
    bundle = Bundle.model_validate_json(to_fhir_json(found, datetime.now(ZONE)))
    observations = [entry.resource for entry in bundle.entry
                    if entry.resource.get_resource_type() == "Observation"]
    assert len(observations) == 4  # the score before the block, then each entry
    assert {o.code.coding[0].code for o in observations} == {"72514-3"}
    assert observations[1].valueQuantity.value == 2
    assert observations[1].effectiveDateTime.isoformat().startswith("2026-11-10T09:30")


def filed(tmp_path) -> CallbackStore:
    store = CallbackStore(tmp_path / "callbacks.db")
    store.add(CallbackRequest("conv-1", EVIL, "+12125550143", "(212) 555-0143", "after 3pm",
                              "urgent advice given in the chat",
                              [{"who": "patient", "text": f"my site is red {EVIL}"}]))
    store.add(CallbackRequest("conv-2", "Ann", "+12125550144", "(212) 555-0144", "any time",
                              "patient asked for a call", []))
    return store


def test_callback_outputs_escape_every_field(tmp_path):
    store = filed(tmp_path)
    page = callback_report.to_html(store.all(), ZONE, datetime.now(ZONE))
    assert EVIL not in page and page.count("&lt;script&gt;") == 3  # name, what was said, the chat
    text = callback_report.format_table(store.all(), ZONE, show_done=False)
    assert "2 waiting" in text and "(212) 555-0143" in text
    store.add(CallbackRequest("conv-3", "=HYPERLINK(\"x\")", "+12125550145", "(212) 555-0145", "now",
                              "patient asked for a call", []))
    spreadsheet = callback_report.to_csv(store.all(), ZONE)
    assert "'=HYPERLINK" in spreadsheet  # a spreadsheet shows it as text, never runs it


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatbot", "report", *args], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, **env}, timeout=120)


def test_cli_done_and_files_go_under_var_reports_by_default(tmp_path):
    store = filed(tmp_path)
    first = store.all()[0].id
    env = {"CALLBACK_DB": str(store.path)}
    shown = run("callbacks", env=env)
    assert shown.returncode == 0 and first in shown.stdout and "2 waiting" in shown.stdout
    done = run("callbacks", "--done", first.lower(), "--by", "Nurse Kim", "--outcome", "called back", env=env)
    assert done.returncode == 0 and f"Marked {first} done" in done.stdout
    assert "1 waiting" in run("callbacks", env=env).stdout
    missing = run("callbacks", "--done", "CB-NOPE", "--by", "Nurse Kim", "--outcome", "x", env=env)
    assert missing.returncode == 1 and "no callback request" in missing.stderr
    written = run("callbacks", "--html", str(tmp_path / "cb.html"), env=env)
    assert written.returncode == 0 and (tmp_path / "cb.html").exists()
    assert oct(os.stat(tmp_path / "cb.html").st_mode & 0o777) == "0o600"


def test_diaries_cli_writes_fhir(tracker, tmp_path):
    out = tmp_path / "d.json"
    result = run("diaries", "--since", "2026-11-01", "--until", "2026-11-30", "--fhir", str(out),
                 env={"TRACKER_DB_URL": f"sqlite:///{tracker.path}", "CLINIC_TIMEZONE": "America/New_York"})
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["resourceType"] == "Bundle"


def test_default_report_folder_is_ignored_by_git():
    from chatbot.staff.report_files import REPORTS_DIR

    ignored = subprocess.run(["git", "check-ignore", "-q", str(REPORTS_DIR / "x.html")], cwd=REPO)
    assert ignored.returncode == 0


def test_callbacks_as_a_nurse_works_them(tmp_path):
    store = CallbackStore(tmp_path / "callbacks.db")
    store.add(CallbackRequest("c1", "Ann", "+12125550144", "(212) 555-0144", "any time",
                              "patient asked for a call", []), now=1_000.0)
    urgent = store.add(CallbackRequest(
        "c2", "Bo", "+12125550145", "(212) 555-0145", "asap", "urgent advice given in the chat",
        [{"who": "patient", "text": "my site is red and I have a fever"},
         {"who": "assistant", "text": "Please call the clinic today"},
         {"who": "patient", "text": "/request_callback"}]), now=2_000.0)
    env = {"CALLBACK_DB": str(store.path)}
    listed = run("callbacks", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith("CB-")]
    assert rows[0].startswith(urgent) and " URGENT " in rows[0]  # urgent first, though newer
    assert f"{urgent} - what the patient said: my site is red and I have a fever" in listed.stdout
    done = run("callbacks", "--done", urgent, "--by", "Nurse Kim", "--outcome", "sent to urgent care",
               env=env)
    assert done.returncode == 0 and f"Marked {urgent} done" in done.stdout
    handled = run("callbacks", "--all", env=env).stdout
    assert "by Nurse Kim: sent to urgent care" in handled and "1 waiting" in handled
    assert run("callbacks", "--undo", urgent, "--by", "Nurse Lee", env=env).returncode == 0
    assert "2 waiting" in run("callbacks", env=env).stdout
    # Found by the nurse trial: an undo erased the earlier note; now the history keeps it.
    history = run("callbacks", "--all", env=env).stdout
    assert "done by Nurse Kim: sent to urgent care" in history and "undone by Nurse Lee" in history


@pytest.mark.parametrize(("args", "says"), [
    (("--done", "CB-AAAAAA"), "--by and --outcome are needed"),
    (("--done", "CB-AAAAAA", "--by", "Nurse Kim"), "--outcome is needed"),
    (("--done", "CB-AAAAAA", "--by", " ", "--outcome", "called"), "--by is needed"),
    (("--undo", "CB-AAAAAA"), "--by is needed"),
])
def test_a_request_leaves_the_worklist_only_with_who_and_how(tmp_path, args, says):
    """Found by the nurse trial: `--done ID` alone took an URGENT request off the list with
    no name and no outcome."""
    store = filed(tmp_path)
    result = run("callbacks", *args, env={"CALLBACK_DB": str(store.path)})
    assert result.returncode == 2 and says in result.stderr and "--by \"Nurse Kim\"" in result.stderr
    assert all(c.done is None for c in store.all())


def test_a_missing_callback_database_is_an_error_not_nothing_waiting(tmp_path):
    result = run("callbacks", env={"CALLBACK_DB": str(tmp_path / "elsewhere" / "callbacks.db")})
    assert result.returncode == 1 and "no callback database" in result.stderr
    assert "No callback requests waiting" not in result.stdout


def test_one_patients_diary_can_be_printed_with_its_relief_summary(tracker, tmp_path):
    found = diaries.read_diaries(f"sqlite:///{tracker.path}", 0, 4e9)
    reference = found[0].reference
    assert diaries.for_patient(found, reference.lower()) == found[:1]
    assert diaries.for_patient(found, "nobody") == []
    page = diaries.to_html(found, datetime.now(ZONE))
    assert "<strong>Summary:</strong> best relief 88% at 1.0 h" in page
    env = {"TRACKER_DB_URL": f"sqlite:///{tracker.path}", "CLINIC_TIMEZONE": "America/New_York"}
    other = run("diaries", "--since", "2026-11-01", "--until", "2026-11-30", "--patient", "nobody", env=env)
    assert other.returncode == 1 and "no pain diary for patient reference nobody" in other.stderr


def test_fhir_bundle_links_each_observation_to_a_patient_staff_can_map(tracker, tmp_path):
    """Found by a nurse: the Observation's subject was only the chat's code, so the clinic's
    record system could not file it. Now a Patient entry carries the chat's reference and the
    identifier staff type in (e.g. the MRN); validated with fhir.resources."""
    found = diaries.read_diaries(f"sqlite:///{tracker.path}", 0, 4e9)
    reference = found[0].reference
    out = tmp_path / "one.json"
    result = run("diaries", "--since", "2026-11-01", "--until", "2026-11-30", "--patient", reference,
                 "--fhir", str(out), "--patient-identifier", "urn:oid:2.16.840.1.113883.3.1234|MRN0042",
                 env={"TRACKER_DB_URL": f"sqlite:///{tracker.path}", "CLINIC_TIMEZONE": "America/New_York"})
    assert result.returncode == 0, result.stderr
    bundle = Bundle.model_validate_json(out.read_text())
    patients = [e for e in bundle.entry if e.resource.get_resource_type() == "Patient"]
    observations = [e.resource for e in bundle.entry if e.resource.get_resource_type() == "Observation"]
    assert len(patients) == 1 and len(observations) == 4
    identifiers = {(i.system, i.value) for i in patients[0].resource.identifier}
    assert identifiers == {("urn:chatbot:patient-ref", reference),
                           ("urn:oid:2.16.840.1.113883.3.1234", "MRN0042")}
    assert {o.subject.reference for o in observations} == {patients[0].fullUrl}


@pytest.mark.parametrize(("args", "says"), [
    (("--patient-identifier", "urn:oid:1.2|MRN1", "--fhir"), "goes with --patient REF"),
    (("--patient", "abc", "--fhir", "--patient-identifier", "MRN1"), "SYSTEM|VALUE"),
    (("--since", "2026-13-01"), "dates are written YYYY-MM-DD"),
    (("--since", "2026-11-30", "--until", "2026-11-01"), "is before --since"),
])
def test_diaries_cli_refuses_bad_options_with_the_fix(tracker, args, says):
    result = run("diaries", *args, env={"TRACKER_DB_URL": f"sqlite:///{tracker.path}"})
    assert result.returncode != 0 and says in result.stderr and "Traceback" not in result.stderr


def test_diaries_date_filters_pick_the_period(tracker):
    env = {"TRACKER_DB_URL": f"sqlite:///{tracker.path}", "CLINIC_TIMEZONE": "America/New_York"}
    inside = run("diaries", "--since", "2026-11-10", "--until", "2026-11-10", env=env)
    before = run("diaries", "--since", "2026-11-01", "--until", "2026-11-09", env=env)
    reference = diaries.read_diaries(f"sqlite:///{tracker.path}", 0, 4e9)[0].reference
    assert reference in inside.stdout and reference not in before.stdout


def test_one_patients_diary_files_never_replace_the_clinic_wide_report(tracker, tmp_path):
    """Found by the nurse trial: `--patient` with a code matching no diary printed "no diary"
    and then overwrote the clinic-wide HTML (and FHIR) report of the same name with an
    empty one; a patient's own export did the same."""
    env = {"TRACKER_DB_URL": f"sqlite:///{tracker.path}", "CLINIC_TIMEZONE": "America/New_York"}
    period = ("--since", "2026-11-01", "--until", "2026-11-30")
    folder = tmp_path / "reports"
    folder.mkdir()
    everyone = run("diaries", *period, "--html", str(folder / "all.html"), env=env)
    assert everyone.returncode == 0
    wrong = run("diaries", *period, "--patient", "3f9k2a7c01de", "--html", str(folder / "all.html"), env=env)
    assert wrong.returncode == 1 and "no file written" in wrong.stderr
    assert "No pain diaries" not in (folder / "all.html").read_text()

    reference = diaries.read_diaries(f"sqlite:///{tracker.path}", 0, 4e9)[0].reference
    done = run("diaries", *period, "--patient", reference, "--html", str(folder), "--fhir", str(folder),
               env=env)
    assert done.returncode == 0, done.stderr
    names = sorted(path.name for path in folder.iterdir())
    stamp = f"diaries-{reference}-2026-11-01_to_2026-11-30"
    assert names == ["all.html", f"{stamp}.fhir.json", f"{stamp}.html"], names


def test_the_default_reports_folder_is_owner_only(tmp_path, monkeypatch):
    """Found by the second nurse trial: var/reports/ was drwxr-xr-x (the files were 0600)."""
    from chatbot.staff import report_files

    folder = tmp_path / "var" / "reports"
    folder.mkdir(parents=True, mode=0o755)
    monkeypatch.setattr(report_files, "REPORTS_DIR", folder)
    report_files.write_private(report_files.report_path(None, "x.csv"), "a,b\n")
    assert oct(os.stat(folder).st_mode & 0o777) == "0o700"
