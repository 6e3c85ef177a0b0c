"""The partner's console and the analyst's report in a real browser (Debian's Chromium via
Playwright) against a real uvicorn server with a tiny published population."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest_service import World, bureau_data, fresh_database  # noqa: F401
from openbureau.service import Settings, create_app
from web_support import ADMIN_KEY, chromium, js_round, running, screenshot

pytestmark = pytest.mark.slow
WEB = Path(__file__).resolve().parents[1] / "src" / "openbureau" / "web"


@pytest.fixture(scope="module")
def site(bureau_data, tmp_path_factory) -> Iterator[tuple[str, httpx.Client, World]]:  # noqa: F811
    gen = fresh_database("sqlite", tmp_path_factory.mktemp("web-partner"))
    url = next(gen)
    app = create_app(Settings(database_url=url, admin_key=ADMIN_KEY, lookups_per_minute=0))
    with running(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        yield base, client, World(client, bureau_data)
    gen.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _console(browser: Any, base: str, key: str) -> Any:
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{base}/partner")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#api-key", key)
    page.click("#key-use")
    page.wait_for_selector("#key-status.ok")
    return page


def test_a_decision_shows_the_decline_with_its_reasons_or_the_proof(browser, site, tmp_path):
    base, _, w = site
    offer = "deposit_free_car_rental"  # from 650: the low scorer is declined
    for who in ("low", "high"):
        w.consent(who, "CarCo", "rental_deposit_waiver")
    page = _console(browser, base, w.keys["CarCo"]["X-API-Key"])
    options = page.locator("#decision-offer option").evaluate_all("os => os.map(o => o.value)")
    assert offer in options

    page.fill("#decision-person", w.low["person_id"])
    page.select_option("#decision-offer", offer)
    page.click("#decision-go")
    page.wait_for_selector("#decision-result .result")
    api = w.c.post(
        "/partner/decision",
        json={"person": w.low["person_id"], "offer": offer},
        headers=w.keys["CarCo"],
    ).json()
    assert api["eligible"] is False and api["reasons"]
    assert page.get_attribute("#decision-result .result", "data-eligible") == "false"
    shown = page.locator("#decline-reasons li").all_inner_texts()
    assert [s.split(" (")[0] for s in shown] == [r["text"] for r in api["reasons"]]
    assert page.locator("#adverse-notice").count() == 1
    screenshot(page, tmp_path, "partner-decision-declined")

    # a threshold proof for the person who passes, without the number (no share consent)
    threshold = int(w.high["score"]) - 5  # the tiny population's best is not always 650+
    page.fill("#lookup-person", w.high["person_id"])
    page.select_option("#lookup-purpose", "rental_deposit_waiver")
    page.fill("#lookup-threshold", str(threshold))
    page.click("#lookup-go")
    page.wait_for_selector("#lookup-result .result")
    assert page.get_attribute("#lookup-result .result", "data-meets") == "true"
    assert page.inner_text("#lookup-result .proof") == f"score ≥ {threshold}: yes"
    assert page.locator("#lookup-result .shared-score").count() == 0
    assert str(js_round(w.high["score"])) not in page.inner_text("#lookup-result")

    # a partner with no decision scope is refused, and the page says so
    refused = _console(browser, base, w.keys["LookOnly"]["X-API-Key"])
    refused.fill("#decision-person", w.low["person_id"])
    refused.evaluate(
        "o => document.getElementById('decision-offer').append(new Option(o, o))", offer
    )
    refused.select_option("#decision-offer", offer)
    refused.click("#decision-go")
    refused.wait_for_selector("#decision-result .result[data-outcome=denied]")
    assert "decision" in refused.inner_text("#decision-result")
    screenshot(page, tmp_path, "partner-console")


def test_the_analyst_report_renders_its_charts(browser, site, tmp_path):
    base, _, _ = site
    # tall from the start: grown later, a loaded machine screenshots the report's frame
    # with only its first 80vh painted (seen twice in full runs: 3.0% ink against 7.4%)
    page = browser.new_context(viewport={"width": 1280, "height": 2400}).new_page()
    page.goto(f"{base}/analyst")
    page.fill("#admin-key", "wrong-key")
    page.click("#report-go")
    page.wait_for_selector("#report-status.error")
    assert "401" in page.inner_text("#report-status")
    assert page.locator("#report").is_hidden()

    page.fill("#admin-key", ADMIN_KEY)
    page.click("#report-go")
    page.wait_for_selector("#report-status.ok", timeout=60_000)
    frame = page.frame_locator("#report")
    frame.locator("h1").wait_for()
    images = frame.locator("figure img")
    assert images.count() == 5  # ROC, KS, calibration, distribution, factor weights
    widths = images.evaluate_all("ims => ims.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(width > 100 for width in widths), widths
    text = frame.locator("body").inner_text()
    assert re.search(r"AUC 0\.\d{4}", text) and re.search(r"KS 0\.\d{4}", text)
    assert "no scored population" not in text  # PSI against the published scores
    assert all(f in text for f in ("history", "behavior", "capacity", "identity"))
    images.evaluate_all("ims => Promise.all(ims.map(i => i.decode()))")  # charts decoded
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    screenshot(page, tmp_path, "analyst-report", full_page=False)


def test_the_report_is_for_the_bureau_only(site):
    _, c, w = site
    assert c.get("/analyst/report").status_code == 401
    assert c.get("/analyst/report", headers=w.tokens["high"]).status_code == 401
    assert c.get("/analyst/report", headers=w.keys["CarCo"]).status_code == 401
    assert c.get("/analyst/report", headers={"X-Admin-Key": "nope"}).status_code == 401
    r = c.get("/analyst/report", headers={"X-Admin-Key": ADMIN_KEY})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert (
        r.headers["x-model-id"] == w.c.get("/me/score", headers=w.tokens["high"]).json()["model_id"]
    )


def test_pages_are_offline_and_locked_down(site):
    _, c, w = site
    for path in ("/", "/me", "/partner", "/analyst"):
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # nothing a page loads comes from elsewhere: no http(s) URL in any page or static file
    for f in [*WEB.glob("pages/*.html"), *WEB.glob("static/*")]:
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", f.read_text()), f
        text = f.read_text().replace("http://www.w3.org/2000/svg", "")  # a name, not a fetch
        assert "https://" not in text and "http://" not in text, f
    assert c.get("/web/static/charts.js").status_code == 200
    # the public model description has no person in it
    model = c.get("/web/model.json").json()
    assert set(model) == {"model_id", "inputs", "factor_max", "bands", "version"}
    assert w.low["person_id"] not in c.get("/web/model.json").text
    # the pages are not API operations: the OpenAPI document does not list them
    paths = c.get("/openapi.json").json()["paths"]
    assert not {"/", "/me", "/partner", "/analyst", "/analyst/report"} & set(paths)
