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
from functions.schemas import NewsItem, SummaryReady, SummaryResult, evidence_of
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
