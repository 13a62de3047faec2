"""The desk in a real browser: Debian's headless Chromium driven by selenium through
chromium-driver (no browser download), against the desk served on loopback with the tiny bundle.

One page session walks what an editor does: the stories are there, a new one arrives without a
reload, an evidence mark shows its article sentence on hover and on focus, an unsupported one says
so, a pasted article's summary grows token by token, an edit is stored and exported, and an
article carrying ``<script>`` and ``<img onerror>`` runs nothing.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from functions.desk_records.verdicts import export_rows
from functions.handlers import router
from functions.local_invoke import LocalContext, sqs_event
from functions.runtime.guard import check
from functions.schemas import Faithfulness, NewsItem, SentenceSupport, SummaryReady, SummaryResult, evidence_of
from tests.factories import news_item

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="headless Chromium is not installed: apt-get install chromium chromium-driver (.ci/run does)",
)

ARTICLE = (
    "Queensland Premier Peter Beattie says more than 1,000 people were evacuated overnight. "
    "Energex crews worked in Brisbane's west until the power came back."
)
HOSTILE = {
    "id": "hostile-1",
    "title": '<img src=x onerror="window.__pwned = 1">Storm <b>warning</b>',
    "body": news_item()["body"] + ' <script>window.__pwned = 2</script> <img src=x onerror="window.__pwned = 3">',
}


def _judged_story(app) -> str:
    """A story whose summary states a supported name, a supported number and an unsupported name,
    with its evidence computed by the guard as the pipeline does."""
    summary = "Officials say Peter Beattie saw 1,000 people leave as Mr Smith watched."
    item = NewsItem(id="evidence-1", title="Floods in Queensland", body=ARTICLE)
    result = SummaryResult(
        id=item.id,
        summary=summary,
        model_version="guard-evidence",
        route="local",
        evidence=evidence_of(check(summary, ARTICLE)),
    )
    return app.desk_feed.record(item, SummaryReady.of(item, result))


SUPPORTED = "Officials say Peter Beattie saw 1,000 people evacuated."
UNSUPPORTED = "Officials say Mr Smith blamed the council."
SOURCE = "Queensland Premier Peter Beattie says more than 1,000 people were evacuated overnight."
REASONS = ["no passage of the article states it", "a name the article does not mention: Mr Smith"]


def _checked_story(app) -> str:
    """A story of two sentences as the faithfulness check judged them: the first supported by the
    article's first sentence, the second not; its claims' evidence from the guard."""
    summary = f"{SUPPORTED} {UNSUPPORTED}"
    second = len(SUPPORTED) + 1
    item = NewsItem(id="sentences-1", title="Floods in Queensland, checked", body=ARTICLE)
    result = SummaryResult(
        id=item.id,
        summary=summary,
        model_version="faithfulness-check",
        route="local",
        evidence=evidence_of(check(summary, ARTICLE)),
        faithfulness=Faithfulness(
            flagged=True,
            support=0.21,
            sentences=[
                SentenceSupport(start=0, end=len(SUPPORTED), support=0.82, supported=True, source=SOURCE),
                SentenceSupport(
                    start=second, end=len(summary), support=0.21, supported=False, source=None, reasons=REASONS
                ),
            ],
        ),
    )
    return app.desk_feed.record(item, SummaryReady.of(item, result))


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _wait(predicate, timeout_s: float = 20.0, what: str = "the page"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_editor_watches_checks_streams_edits_and_is_safe_from_hostile_articles(make_app, serve_desk, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    app = make_app()
    key = _judged_story(app)
    router.handler(sqs_event([json.dumps(HOSTILE)]), LocalContext())
    find = browser.find_element
    with serve_desk(app) as url:
        browser.get(f"{url}/desk")
        _wait(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#stories > li")) == 2, what="the stories")
        browser.execute_script("window.__same_page = true")

        # a new story arrives without a reload
        router.handler(sqs_event([json.dumps(news_item("lee-020"))]), LocalContext())
        _wait(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#stories > li")) == 3, what="the new story")
        assert browser.execute_script("return window.__same_page") is True
        newest = find(By.CSS_SELECTOR, "#stories > li:first-child .title").text
        assert newest == news_item("lee-020")["title"]

        # evidence: hover and keyboard focus show the article's sentence; unsupported says so without colour
        story = find(By.CSS_SELECTOR, f'li[data-key="{key}"]')
        marks = {m.text.rstrip("?"): m for m in story.find_elements(By.CSS_SELECTOR, "mark.claim")}
        assert set(marks) == {"Peter Beattie", "1,000", "Mr Smith"}
        ActionChains(browser).move_to_element(marks["1,000"]).perform()
        tip = find(By.ID, "tip")
        _wait(tip.is_displayed, what="the evidence tip")
        assert "more than 1,000 people were evacuated overnight" in tip.text
        assert find(By.CSS_SELECTOR, "#tip strong").text == "1,000"
        browser.execute_script("arguments[0].focus()", marks["Peter Beattie"])
        _wait(lambda: "Queensland Premier Peter Beattie" in tip.text, what="the tip on focus")
        assert marks["Peter Beattie"].get_attribute("aria-describedby") == "tip"
        unsupported = marks["Mr Smith"]
        assert "unsupported" in unsupported.get_attribute("class") and unsupported.text.endswith("?")
        assert "not found in the article" in unsupported.get_attribute("aria-label")
        assert unsupported.get_attribute("tabindex") == "0"

        # summarize now: the summary grows token by token
        browser.execute_script(
            """const live = document.getElementById('now-live'); window.__growth = [];
            new MutationObserver(() => window.__growth.push(Number(live.dataset.tokens)))
              .observe(live, {childList: true});"""
        )
        find(By.ID, "now-body").send_keys(news_item("lee-290")["body"])
        find(By.ID, "now-go").click()
        _wait(lambda: find(By.ID, "now-state").text.startswith("done"), 60, "the streamed summary")
        growth = [n for n in browser.execute_script("return window.__growth") if n]
        assert (
            len(growth) >= 2
            and growth == sorted(growth)
            and growth[-1] == int(find(By.ID, "now-live").get_attribute("data-tokens"))
        )
        assert len(browser.find_elements(By.CSS_SELECTOR, "#stories > li")) == 4  # it became a story too

        # an edit is stored and exported as an editor's reference
        story.find_element(By.CSS_SELECTOR, "button.edit").click()
        box = story.find_element(By.CSS_SELECTOR, "textarea.edited")
        box.clear()
        box.send_keys("Peter Beattie says more than 1,000 people were evacuated.")
        story.find_element(By.CSS_SELECTOR, "button.save").click()
        _wait(lambda: story.find_element(By.CSS_SELECTOR, ".judged").text == "You edited.", what="the saved edit")
        rows, counts = export_rows(app.desk_feed, app.verdicts)
        assert counts == {"edit": 1}
        assert [(r["reference"], r["article"]) for r in rows] == [
            ("Peter Beattie says more than 1,000 people were evacuated.", ARTICLE)
        ]

        # the hostile article ran nothing and shows as text
        assert browser.execute_script("return window.__pwned") is None
        assert any(t.text.startswith("<img src=x") for t in browser.find_elements(By.CSS_SELECTOR, ".title"))
        assert browser.find_elements(By.CSS_SELECTOR, "#stories img, #stories script, #stories b") == []
        assert find(By.ID, "errors").get_attribute("hidden") is not None  # no error in the page
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []


def test_each_sentence_is_marked_supported_or_not_with_the_passage_it_rests_on(make_app, serve_desk, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    app = make_app()
    key = _checked_story(app)
    find = browser.find_element
    with serve_desk(app) as url:
        browser.get(f"{url}/desk")
        story = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, f'li[data-key="{key}"]'), what="the story")[0]
        summary = story.find_element(By.CSS_SELECTOR, ".summary")
        spans = summary.find_elements(By.CSS_SELECTOR, "span.sentence")
        assert [s.get_attribute("class") for s in spans] == ["sentence supported", "sentence unsupported"]
        supported, unsupported = spans

        # the claims stay marked, each inside its sentence
        assert [m.text for m in supported.find_elements(By.CSS_SELECTOR, "mark.claim")] == ["Peter Beattie", "1,000"]
        assert [m.text for m in unsupported.find_elements(By.CSS_SELECTOR, "mark.claim.unsupported")] == ["Mr Smith?"]

        # readable without colour: a visible marker on the unsupported one, none on the supported
        flag = unsupported.find_element(By.CSS_SELECTOR, ".sentence-flag")
        assert flag.is_displayed() and flag.text == "⚠ unsupported"
        assert unsupported.text.startswith("Officials say Mr Smith? blamed the council.")
        assert unsupported.text.endswith("⚠ unsupported")
        assert supported.find_elements(By.CSS_SELECTOR, ".sentence-flag") == []
        assert supported.text == SUPPORTED

        # in the tab order, with what a screen reader says
        assert supported.get_attribute("tabindex") == unsupported.get_attribute("tabindex") == "0"
        assert supported.get_attribute("aria-label") == "sentence supported by the article (support 0.82)"
        assert unsupported.get_attribute("aria-label") == (
            f"sentence not supported by the article (support 0.21): {'; '.join(REASONS)}"
        )

        # focus: the article's passage it rests on, quoted
        tip = find(By.ID, "tip")
        browser.execute_script("arguments[0].focus()", supported)
        _wait(tip.is_displayed, what="the sentence's tip on focus")
        assert f"“{SOURCE}”" in tip.text and "support 0.82" in tip.text
        assert supported.get_attribute("aria-describedby") == "tip"

        # hover: why the unsupported one fails
        browser.execute_script("arguments[0].blur()", supported)
        ActionChains(browser).move_to_element(flag).perform()
        _wait(lambda: "Not supported by the article" in tip.text, what="the unsupported sentence's tip")
        assert all(reason in tip.text for reason in REASONS) and SOURCE not in tip.text
        assert unsupported.get_attribute("aria-describedby") == "tip"
        assert supported.get_attribute("aria-describedby") is None

        # a claim's own tip inside a sentence, and the sentence's again on leaving the claim for it
        claim = supported.find_element(By.CSS_SELECTOR, "mark.claim")
        ActionChains(browser).move_to_element(claim).perform()
        _wait(lambda: "“Peter Beattie” in the article" in tip.text, what="the claim's tip")
        ActionChains(browser).move_to_element_with_offset(supported, supported.size["width"] // 2 - 4, 0).perform()
        _wait(lambda: "Supported by the article" in tip.text, what="the sentence's tip again")

        assert find(By.ID, "errors").get_attribute("hidden") is not None  # no error in the page
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
