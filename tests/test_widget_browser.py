"""The website chat widget in a real headless Chromium against the real running stack.

Debian's `chromium` (installed by `make test`) driven by Playwright for Python through
`executable_path`: no browser is downloaded. The page is the mock clinic page that the
stack's web server serves from `web/`; its origin is in the stack's CORS origins.
The tests also save the README's screenshots under docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from chatbot.ops.launcher import Stack
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = REPO / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
LAUNCHER = "Questions after your injection?"
NUMBNESS = "how long will numbness last after my facet injection"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Widget:
    """A fresh visitor (own local storage, so own conversation) on the clinic page."""

    def __init__(self, browser, stack: Stack, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

        def on_dialog(dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.goto(stack.web_url)
        self.input = self.page.get_by_role("textbox", name="Type your question")
        self.log = self.page.get_by_role("log")

    def open(self) -> None:
        self.page.get_by_role("button", name=LAUNCHER).click()
        expect(self.input).to_be_focused()

    def send(self, text: str) -> None:
        """Type and send, without waiting for a reply (an error may come instead)."""
        self.input.fill(text)
        self.input.press("Enter")

    def ask(self, text: str) -> None:
        replies = self.page.locator(".cc-log > .cc-bot, .cc-log > .cc-alert").count()
        self.send(text)
        self.wait_for_replies(replies)

    def wait_for_replies(self, before: int) -> None:
        replies = self.page.locator(".cc-log > .cc-bot, .cc-log > .cc-alert")
        expect(replies).not_to_have_count(before)
        expect(self.page.locator(".cc-dots")).to_have_count(0)  # typing indicator gone

    def tap(self, name: str) -> None:
        """Tap a quick-reply button (the last one with that name) and wait for the reply."""
        replies = self.page.locator(".cc-log > .cc-bot, .cc-log > .cc-alert").count()
        self.log.get_by_role("button", name=name).last.click()
        self.wait_for_replies(replies)

    def answer(self):
        return self.log.locator(".cc-bot").filter(has=self.page.locator(".cc-source")).last

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name))

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


@pytest.fixture()
def widget(browser, stack: Stack) -> Iterator[Widget]:
    visitor = Widget(browser, stack, DESKTOP)
    yield visitor
    visitor.close()


def test_first_open_shows_the_notice_and_suggested_questions(widget, settings):
    widget.open()
    notice = widget.page.get_by_role("note")
    expect(notice).to_contain_text("not medical advice")
    expect(notice.get_by_role("link", name=settings.emergency_number)).to_have_attribute(
        "href", f"tel:{settings.emergency_tel}"
    )
    suggestions = widget.page.get_by_role("group", name="You can ask:").get_by_role("button")
    expect(suggestions).to_have_count(3)


def test_a_question_gets_an_answer_with_its_source(widget):
    widget.open()
    widget.ask(NUMBNESS)
    answer = widget.answer()
    expect(answer).to_contain_text("hour")
    source = answer.locator(".cc-source")
    expect(source).to_contain_text("From:")
    expect(source).to_contain_text("numb")
    # The "From:" paragraph of the reply text is shown once, as the source line.
    assert answer.inner_text().count("From:") == 1
    widget.screenshot("answer-desktop.png")


def test_the_suggested_question_asks_which_injection_then_answers_for_it(widget):
    widget.open()
    widget.page.get_by_role("group", name="You can ask:").get_by_role(
        "button", name="How long will the numbness last?").click()
    expect(widget.log.locator(".cc-bot").last).to_contain_text("Which one did you have?")
    widget.tap("Trigger point injection")
    source = widget.answer().locator(".cc-source")
    expect(source).to_contain_text("trigger point")
    expect(source).to_contain_text("numb")


def test_a_red_flag_shows_the_emergency_alert_with_a_call_link(widget, settings):
    widget.open()
    widget.ask("I can't breathe")
    alert = widget.page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_have_class("cc-msg cc-alert cc-alert-emergency")
    expect(alert).to_contain_text(settings.emergency_number)
    call = alert.get_by_role("link", name=f"Call {settings.emergency_number} now")
    expect(call).to_have_attribute("href", f"tel:{settings.emergency_tel}")
    assert call.bounding_box()["height"] >= 48, "a big tap target"
    colour = alert.evaluate("node => getComputedStyle(node).backgroundColor")
    assert colour == "rgb(179, 38, 30)", colour
    widget.screenshot("emergency-desktop.png")


def test_the_widget_works_on_a_360px_phone(browser, stack, settings):
    phone = Widget(browser, stack, PHONE)
    try:
        phone.open()
        panel = phone.page.get_by_role("region", name=settings.clinic_name)
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        phone.ask(NUMBNESS)
        expect(phone.answer().locator(".cc-source")).to_contain_text("From:")
        widths = phone.page.evaluate(
            "() => [...document.querySelector('#clinic-chat').shadowRoot"
            ".querySelectorAll('.cc-panel, .cc-panel *')].map(n => n.getBoundingClientRect().right)"
        )
        assert max(widths) <= PHONE["width"] + 0.5, "nothing sticks out sideways"
        phone.screenshot("answer-mobile.png")
        phone.ask("I can't breathe")
        expect(phone.page.get_by_role("alert").get_by_role("link")).to_have_attribute(
            "href", f"tel:{settings.emergency_tel}"
        )
        phone.screenshot("emergency-mobile.png")
    finally:
        phone.close()


def test_the_conversation_survives_a_reload_and_start_over_resets_it(widget):
    widget.open()
    widget.ask(NUMBNESS)
    session = widget.page.evaluate("localStorage.getItem('clinic-chat:session')")
    widget.page.reload()
    # The panel stays open and the history comes back from the tracker store.
    expect(widget.log.locator(".cc-user")).to_have_text(["You said: " + NUMBNESS])
    expect(widget.answer().locator(".cc-source")).to_contain_text("numb")
    expect(widget.log.locator(".cc-msg").last).to_be_in_viewport()  # scrolled to the end
    expect(widget.page.get_by_role("group", name="You can ask:")).to_be_hidden()
    assert widget.page.evaluate("localStorage.getItem('clinic-chat:session')") == session

    widget.page.get_by_role("button", name="Start over").click()
    expect(widget.log.locator(".cc-msg")).to_have_count(0)
    expect(widget.page.get_by_role("group", name="You can ask:")).to_be_visible()
    expect(widget.input).to_be_focused()
    # The old conversation's token is forgotten at once (a shared computer keeps nothing);
    # the next message gets a new conversation from the server.
    assert widget.page.evaluate("localStorage.getItem('clinic-chat:session')") is None
    widget.page.reload()
    expect(widget.page.get_by_role("group", name="You can ask:")).to_be_visible()
    expect(widget.log.locator(".cc-msg")).to_have_count(0)
    widget.ask(NUMBNESS)
    new_session = widget.page.evaluate("localStorage.getItem('clinic-chat:session')")
    assert new_session and new_session != session
    expect(widget.log.locator(".cc-user")).to_have_count(1)  # nothing of the old conversation


def test_html_from_the_patient_is_shown_as_text(widget):
    widget.open()
    widget.ask(XSS)
    expect(widget.log.locator(".cc-user-text")).to_have_text(XSS)
    assert widget.page.locator(".cc-log img").count() == 0
    widget.page.wait_for_timeout(300)  # a broken image would have fired its onerror by now
    assert widget.dialogs == []


def test_html_and_links_from_the_server_are_never_markup(widget):
    """Even a compromised or buggy server cannot put markup or script links in the page."""
    evil = [
        {"recipient_id": "x", "text": "<b>bold?</b> <img src=x onerror=alert(2)>\n- a <i>list</i> item"},
        {"recipient_id": "x", "text": "Pick one", "buttons": [
            {"title": "<img src=x onerror=alert(3)>", "payload": "javascript:alert(4)"},
            {"title": "Call", "payload": "tel:911\"><img src=x onerror=alert(5)>"},
        ]},
        {"recipient_id": "x", "custom": {"kind": "answer", "sources": [{"title": "<script>x</script>"}]}},
    ]
    widget.page.route(
        "**/webhooks/rest/webhook",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(evil),
            headers={"Access-Control-Allow-Origin": "*"},
        ),
    )
    widget.open()
    widget.ask("hello")
    expect(widget.log).to_contain_text("<b>bold?</b> <img src=x onerror=alert(2)>")
    expect(widget.log.locator("li")).to_have_text("a <i>list</i> item")  # "- " lines: a list
    bot = widget.log.locator(".cc-bot").last
    expect(bot.locator(".cc-source")).to_contain_text("<script>x</script>")
    # The javascript: payload is only ever sent back as a message; the bad tel: link is dropped.
    expect(bot.get_by_role("button", name="<img src=x onerror=alert(3)>")).to_have_count(1)
    assert bot.get_by_role("link").count() == 0
    assert widget.page.locator(".cc-log img, .cc-log b, .cc-log i, .cc-log script").count() == 0
    widget.page.wait_for_timeout(300)
    assert widget.dialogs == []


def test_keyboard_only_open_focus_and_send(widget, settings):
    page = widget.page
    launcher = page.get_by_role("button", name=LAUNCHER)
    for _ in range(15):
        page.keyboard.press("Tab")
        if launcher.evaluate("node => node.getRootNode().activeElement === node"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.input).to_be_focused()  # opening moves focus to the question box
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(widget.input).to_be_focused()
    page.keyboard.type("can I drive home after a facet joint injection?")
    page.keyboard.press("Enter")
    widget.wait_for_replies(0)
    expect(widget.answer().locator(".cc-source")).to_contain_text("From:")
    expect(widget.input).to_be_focused()
    expect(widget.input).to_have_value("")
    page.keyboard.press("Escape")  # closes the chat and gives focus back to the launcher
    expect(page.get_by_role("region", name=settings.clinic_name)).to_be_hidden()
    expect(launcher).to_be_focused()


def test_unreachable_server_shows_an_error_with_retry(widget, settings):
    widget.page.route("**/webhooks/rest/webhook", lambda route: route.abort("connectionrefused"))
    widget.open()
    widget.send(NUMBNESS)
    error = widget.page.get_by_role("alert")
    expect(error).to_contain_text("Can't reach the assistant")
    expect(error.get_by_role("link", name=settings.clinic_phone)).to_have_attribute(
        "href", f"tel:{settings.clinic_phone_tel}"
    )
    expect(widget.page.locator(".cc-dots")).to_have_count(0)
    widget.page.unroute("**/webhooks/rest/webhook")
    error.get_by_role("button", name="Retry").click()
    expect(error).to_have_count(0)
    expect(widget.answer().locator(".cc-source")).to_contain_text("numb")
    expect(widget.log.locator(".cc-user")).to_have_count(1)  # the message is not shown twice


def test_a_refusal_for_too_many_messages_shows_the_emergency_number(widget, settings):
    """Issue 20: a 429 (someone on the same network flooded the assistant) still tells the
    patient how to get help now."""
    body = json.dumps({"error": f"too many messages from this connection; please wait a minute and try "
                                f"again. If this is an emergency, call {settings.emergency_number} now."})
    widget.page.route("**/webhooks/rest/webhook",
                      lambda route: route.fulfill(status=429, content_type="application/json", body=body))
    widget.open()
    widget.send(NUMBNESS)
    error = widget.page.get_by_role("alert")
    expect(error).to_contain_text("Please wait a minute")
    expect(error.get_by_role("link", name=settings.emergency_number)).to_have_attribute(
        "href", f"tel:{settings.emergency_tel}")


def test_an_escalation_sent_with_an_error_is_shown_above_it(widget, settings):
    """When the message could not be stored or the dialogue could not run, the server answers
    503 with the escalation in `messages`: the patient must see it (issue 20)."""
    escalation = {"recipient_id": "x", "text": f"Call {settings.emergency_number} now.",
                  "custom": {"kind": "escalation", "level": "emergency", "when": "now",
                             "title": f"Call {settings.emergency_number} now"},
                  "buttons": [{"title": f"Call {settings.emergency_number}",
                               "payload": f"tel:{settings.emergency_tel}"}]}
    body = json.dumps({"error": "your message could not be saved; please send it again",
                       "messages": [escalation]})
    widget.page.route("**/webhooks/rest/webhook",
                      lambda route: route.fulfill(status=503, content_type="application/json", body=body))
    widget.open()
    widget.send("I can't breathe")
    alert = widget.page.locator(".cc-log > .cc-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(f"Call {settings.emergency_number} now")
    expect(widget.page.get_by_role("alert").filter(has_text="Retry")).to_have_count(1)


def fill_diary(visitor: Widget) -> None:
    visitor.ask("I had my medial branch block this morning")
    visitor.tap("Start my pain diary")
    expect(visitor.log.locator(".cc-bot").last).to_contain_text("how bad was your usual pain")
    visitor.ask("6")
    visitor.ask("an hour ago")
    expect(visitor.log.locator(".cc-bot").last).to_contain_text("Still useful")
    visitor.tap("Add an entry")
    visitor.ask("2 walking")
    expect(visitor.log.locator(".cc-bot").last).to_contain_text("67% less pain")
    visitor.tap("Show my diary")


def test_a_pain_diary_in_the_chat_shows_a_printable_table(widget):
    widget.open()
    fill_diary(widget)
    table = widget.log.locator(".cc-diary-table").last
    expect(table.locator("th")).to_have_text(["Time", "After the block", "Score", "Relief", "What you did"])
    expect(table.locator("tr")).to_have_count(2)
    expect(table.locator("tr").nth(1).locator("td").nth(2)).to_have_text("2/10")
    expect(table.locator("tr").nth(1).locator("td").nth(3)).to_have_text("67%")
    diary = widget.log.locator(".cc-diary").last
    expect(diary).to_contain_text("doctor")
    expect(diary.get_by_role("button", name="Print my diary")).to_be_visible()
    widget.screenshot("diary-desktop.png")


def test_printing_the_diary_prints_only_the_diary(widget, settings):
    widget.open()
    fill_diary(widget)
    page = widget.page
    page.evaluate("() => { window.print = () => { window.__clinicPagePrinted = true; }; }")
    widget.log.locator(".cc-diary").last.get_by_role("button", name="Print my diary").click()
    printed = page.frame_locator("iframe.cc-print-frame")
    expect(printed.locator("h1")).to_have_text(f"Pain diary – {settings.clinic_name}")
    expect(printed.locator("table tbody tr")).to_have_count(1)
    expect(printed.locator("table tbody td").nth(2)).to_have_text("2/10")
    expect(printed.locator("body")).to_contain_text("doctor")
    expect(printed.locator("body")).not_to_contain_text("Questions after your injection?")
    expect(printed.locator("p").first).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}: Your pain diary"))
    # Styled from diary-print.css (the page's CSP refuses inline styles): cells have borders.
    expect(printed.locator("td").first).to_have_css("border-top-style", "solid")
    assert page.evaluate("window.__clinicPagePrinted") is None  # the clinic's page never prints


def test_the_pain_diary_fits_a_360px_phone(browser, stack):
    phone = Widget(browser, stack, PHONE)
    try:
        phone.open()
        fill_diary(phone)
        scroll = phone.log.locator(".cc-table-scroll").last
        box = scroll.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
        # Rows are stacked: the table is no wider than its box, so nothing needs scrolling.
        assert scroll.evaluate("node => node.scrollWidth <= node.clientWidth + 1")
        cells = scroll.locator("td")
        expect(cells.first).to_have_attribute("data-label", "Time")
        expect(scroll).to_have_attribute("tabindex", "0")  # reachable by keyboard
        phone.screenshot("diary-mobile.png")
    finally:
        phone.close()


def test_focus_stays_inside_the_full_screen_chat_on_a_phone(browser, stack):
    phone = Widget(browser, stack, PHONE)
    try:
        phone.open()
        phone.ask(NUMBNESS)
        inside = "() => document.activeElement && document.activeElement.id === 'clinic-chat'"
        for presses in range(25):
            phone.page.keyboard.press("Tab")
            assert phone.page.evaluate(inside), f"focus left the chat after {presses + 1} Tab presses"
        for presses in range(25):
            phone.page.keyboard.press("Shift+Tab")
            assert phone.page.evaluate(inside), f"focus left the chat after {presses + 1} Shift+Tab presses"
    finally:
        phone.close()


def test_a_callback_request_from_the_urgent_advice(widget, settings):
    widget.open()
    widget.ask("the injection site is red, hot and swollen and I have a fever of 101")
    alert = widget.page.get_by_role("alert")
    expect(alert).to_have_class("cc-msg cc-alert cc-alert-urgent")
    widget.tap("Ask a nurse to call me back")
    expect(widget.log.locator(".cc-bot").last).to_contain_text("seen only by the clinic's care team")
    widget.ask("Sam Example")
    widget.ask("(212) 555-0143")
    widget.ask("this afternoon")
    confirmed = widget.log.locator(".cc-bot").last
    expect(confirmed).to_contain_text("Your request is saved (reference CB-")
    expect(confirmed.get_by_role("link", name=f"Call {settings.clinic_name}")).to_have_attribute(
        "href", f"tel:{settings.clinic_phone_tel}")
    widget.screenshot("callback-desktop.png")


def test_the_chat_still_answers_after_a_call_link_is_tapped(browser, stack):
    """Found in a patient trial: after tapping a tel: link and coming back, typing did nothing."""
    phone = Widget(browser, stack, PHONE)
    try:
        phone.open()
        phone.ask("the injection site is red, hot and swollen and I have a fever of 101")
        call = phone.log.locator("a[href^='tel:']").first
        expect(call).to_have_attribute("target", "_blank")
        call.click()
        phone.ask(NUMBNESS)
        expect(phone.answer().locator(".cc-source")).to_contain_text("From:")
    finally:
        phone.close()


def test_the_callbacks_page_prints_one_request_per_block_with_its_level_in_words(browser, tmp_path):
    """Issue 19: the nurses' callback page printed on a black-and-white printer: the level is a
    word, most urgent first, and no request is split across two pages."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from chatbot.callbacks.store import CallbackRequest, CallbackStore
    from chatbot.staff import callbacks

    store = CallbackStore(tmp_path / "callbacks.db")
    excerpt = [{"who": "patient" if i % 2 else "assistant", "text": f"line {i} of the chat"}
               for i in range(12)]
    for number in range(14):
        reason = ("urgent advice given in the chat" if number == 9 else "patient asked for a call")
        store.add(CallbackRequest(f"c{number}", f"Patient {number}", "+12125550144", "(212) 555-0144",
                                  "any time", reason, excerpt))
    zone = ZoneInfo("America/New_York")
    page_file = tmp_path / "callbacks.html"
    page_file.write_text(callbacks.to_html(callbacks.worklist(store.all()), zone,
                                           datetime.now(zone) + timedelta(minutes=5)))
    page = browser.new_page()
    try:
        page.goto(page_file.as_uri())
        page.emulate_media(media="print")
        first = page.locator("section").first
        assert first.locator(".level").inner_text() == "URGENT"
        assert first.evaluate("s => getComputedStyle(s).breakInside") == "avoid"
        pdf = page.pdf(format="Letter")
    finally:
        page.close()
    import re

    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) >= 2
