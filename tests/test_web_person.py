"""The person's page in a real browser (Debian's Chromium via Playwright) against a real
uvicorn server with a tiny published population: what the page shows must be what the API
answers, and what the person does on it must change what partners get."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest_service import (  # noqa: F401
    World,
    bureau_data,
    fresh_database,
    late_repayment_that_counts,
)
from openbureau.service import Settings, create_app
from web_support import ADMIN_KEY, chromium, js_round, running, screenshot

pytestmark = pytest.mark.slow


@dataclass
class Site:
    base: str
    c: httpx.Client
    world: World


@pytest.fixture(scope="module")
def site(bureau_data, tmp_path_factory) -> Iterator[Site]:  # noqa: F811
    gen = fresh_database("sqlite", tmp_path_factory.mktemp("web-person"))
    url = next(gen)
    app = create_app(Settings(database_url=url, admin_key=ADMIN_KEY, lookups_per_minute=0))
    with running(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        yield Site(base, client, World(client, bureau_data))
    gen.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, site) -> Iterator[Any]:
    """A fresh tab (own storage) that fails the test on any request leaving the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    outside: list[str] = []
    context.on(
        "request",
        lambda r: (
            None if r.url.startswith((site.base, "blob:", "data:")) else outside.append(r.url)
        ),
    )
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert outside == [], f"the page reached outside the server: {outside}"
    assert errors == [], f"JavaScript errors: {errors}"


def sign_in(page: Any, base: str, login: str, password: str) -> None:
    page.goto(f"{base}/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#signin-button")
    page.wait_for_url(f"{base}/me")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)


def test_sign_in_shows_the_score_factors_reasons_and_history(page, site, tmp_path):
    w = site.world
    page.goto(f"{site.base}/")
    page.fill("#login", "low")
    page.fill("#password", "not-the-password")
    page.click("#signin-button")
    page.wait_for_selector("#signin-status.error")
    assert page.url == f"{site.base}/"  # a wrong password does not get in

    sign_in(page, site.base, "low", "low-password")
    mine = site.c.get("/me/score", headers=w.tokens["low"]).json()
    assert mine["score"] == w.low["score"]
    # the dial shows the number the API returns, with its band
    assert page.text_content("#dial .dial-score") == str(js_round(mine["score"]))
    assert float(page.get_attribute("#dial", "data-score")) == mine["score"]
    assert page.text_content("#dial .dial-band") == mine["band"]
    assert str(js_round(mine["score"])) in page.get_attribute("#dial", "aria-label")
    # five factors, ranked by points, each with the API's points
    ranked = sorted(mine["subscores"].items(), key=lambda kv: -kv[1])
    items = page.locator("#factor-list li")
    assert items.count() == 5
    for i, (factor, points) in enumerate(ranked):
        assert items.nth(i).get_attribute("data-factor") == factor
        assert items.nth(i).locator(".points").inner_text() == f"{points:.1f} points"
    assert page.locator("#radar .radar-shape").count() == 1
    assert all(f in page.get_attribute("#radar", "aria-label") for f in mine["subscores"])
    # the reasons in plain words, in the API's order
    shown = page.locator("#reason-list li").all_inner_texts()
    assert len(shown) == len(mine["reasons"]) > 0
    for text, reason in zip(shown, mine["reasons"], strict=True):
        assert text.startswith(reason["text"])
    # one point per published score
    history = site.c.get("/me/history", headers=w.tokens["low"]).json()["scores"]
    assert page.locator("#history-chart .history-point").count() == len(history) >= 1
    # benefits: the low scorer has locked offers and a path (or why there is none)
    benefits = site.c.get("/me/benefits", headers=w.tokens["low"]).json()
    locked = page.locator("#benefits-locked li").evaluate_all("ns => ns.map(n => n.dataset.offer)")
    assert locked == [d["offer"] for d in benefits["locked"]]
    screenshot(page, tmp_path, "person-page")


def _movable_input(site: Site, who: str) -> tuple[str, str, float]:
    """An actionable input whose first or last value moves this person's score, the key that
    takes the slider there, and the score the API gives for it."""
    model = site.c.get("/web/model.json").json()
    assert model["inputs"], "the model in service should have actionable inputs"
    headers = site.world.tokens[who]
    for inp in model["inputs"]:
        for key, value in (("End", inp["values"][-1]), ("Home", inp["values"][0])):
            r = site.c.post("/me/what-if", json={"changes": {inp["name"]: value}}, headers=headers)
            assert r.status_code == 200, r.text
            out = r.json()
            if out["score_after"] != out["score_before"]:
                return inp["name"], key, out["score_after"]
    raise AssertionError("no actionable input moves the score")


def test_a_what_if_slider_moved_by_keyboard_changes_the_score(page, site, tmp_path):
    name, key, expected = _movable_input(site, "low")
    sign_in(page, site.base, "low", "low-password")
    before = page.get_attribute("#whatif-score", "data-score")
    assert float(before) == site.world.low["score"]
    slider = page.locator(f"#whatif-{name}")
    assert page.locator(f"label[for='whatif-{name}']").count() == 1
    slider.focus()
    page.keyboard.press(key)
    page.wait_for_function(
        "want => Number(document.getElementById('whatif-score').dataset.score) === want",
        arg=expected,
        timeout=15_000,
    )
    assert page.inner_text("#whatif-score") == str(js_round(expected))
    assert page.inner_text("#whatif-delta").endswith("points vs now")
    screenshot(page, tmp_path, "person-what-if")
    # reset puts the slider back and shows the score again
    page.click("#whatif-reset")
    page.wait_for_function(
        "want => Number(document.getElementById('whatif-score').dataset.score) === want",
        arg=site.world.low["score"],
    )


def _partner_lookup(browser: Any, site: Site, person: str) -> Any:
    """The partner's console in a tab of its own: a lookup for new credit."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    p = ctx.new_page()
    p.goto(f"{site.base}/partner")
    p.wait_for_selector("body[data-ready=true]")
    p.fill("#api-key", site.world.keys["CarCo"]["X-API-Key"])
    p.click("#key-use")
    p.wait_for_selector("#key-status.ok")
    p.fill("#lookup-person", person)
    p.select_option("#lookup-purpose", "credit_application")
    p.fill("#lookup-threshold", "600")
    p.click("#lookup-go")
    p.wait_for_selector("#lookup-result .result")
    return p


def test_granting_then_revoking_a_consent_denies_the_partner(page, browser, site, tmp_path):
    w = site.world
    person = w.high["person_id"]
    sign_in(page, site.base, "high", "high-password")
    page.fill("#consent-partner", "CarCo")
    page.select_option("#consent-purpose", "credit_application")
    page.fill("#consent-days", "10")
    page.check("#consent-share")
    page.click("#consent-grant")
    page.wait_for_selector("#consent-table tr[data-partner=CarCo][data-state=active]")
    assert page.locator("#consent-status").inner_text().startswith("Granted")

    partner = _partner_lookup(browser, site, person)
    result = partner.locator("#lookup-result .result")
    assert result.get_attribute("data-outcome") == "granted"
    assert result.get_attribute("data-meets") == str(w.high["score"] >= 600).lower()
    assert partner.inner_text("#lookup-result .shared-score") == str(js_round(w.high["score"]))
    screenshot(partner, tmp_path, "partner-lookup-granted")
    partner.context.close()

    page.click("#consent-table button[aria-label^='Revoke consent for CarCo']")
    page.wait_for_selector("#consent-table tr[data-partner=CarCo][data-state=inactive]")
    partner = _partner_lookup(browser, site, person)
    result = partner.locator("#lookup-result .result")
    assert result.get_attribute("data-outcome") == "denied"
    assert "403" in result.inner_text()
    screenshot(partner, tmp_path, "partner-lookup-denied")
    partner.context.close()

    # the person sees both lookups, newest first
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    outcomes = page.locator("#access-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.outcome)"
    )
    assert outcomes == ["denied", "granted"]
    screenshot(page, tmp_path, "person-consents-and-log")


def test_a_dispute_shows_both_scores(browser, site, tmp_path, bureau_data):  # noqa: F811
    late = late_repayment_that_counts(bureau_data)
    login, password = "disputer", "disputer-pw"
    known = {site.world.low["person_id"]: "low", site.world.high["person_id"]: "high"}
    if late.person_id in known:  # the person already has an account here
        login, password = known[late.person_id], f"{known[late.person_id]}-password"
    else:
        r = site.c.post(
            "/admin/people",
            json={"person_id": late.person_id, "login": login, "password": password},
            headers={"X-Admin-Key": ADMIN_KEY},
        )
        assert r.status_code == 201, r.text
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    sign_in(page, site.base, login, password)
    lineage = f"{late.lineage['batch_id']}:{late.lineage['file_id']}:{late.lineage['row']}"
    option = page.locator(f"#dispute-record option[data-lineage='{lineage}']")
    assert option.count() == 1
    page.select_option("#dispute-record", option.get_attribute("value"))
    page.fill("#dispute-statement", "I paid this instalment on time.")
    page.click("#dispute-open")
    page.wait_for_selector("#dispute-scores .both", timeout=60_000)

    token = site.c.post("/auth/login", json={"login": login, "password": password})
    mine = site.c.get(
        "/me/score", headers={"Authorization": f"Bearer {token.json()['token']}"}
    ).json()
    [open_dispute] = mine["open_disputes"]
    assert open_dispute["score_without"] > mine["score"] == late.score
    assert page.inner_text("#dispute-scores .dispute-counts") == str(js_round(mine["score"]))
    assert page.inner_text("#dispute-scores .dispute-without") == (
        str(js_round(open_dispute["score_without"]))
    )
    item = page.locator(f"#dispute-list li[data-dispute='{open_dispute['dispute']}']")
    assert item.get_attribute("data-status") == "open"
    assert item.locator(".score-without").inner_text() == str(
        js_round(open_dispute["score_without"])
    )
    screenshot(page, tmp_path, "person-dispute")
    ctx.close()


def test_freeze_refuses_new_credit_and_export_downloads_everything(page, site, tmp_path):
    w = site.world
    person = w.low["person_id"]
    w.consent("low", "CarCo", "credit_application")
    sign_in(page, site.base, "low", "low-password")
    assert page.get_attribute("#freeze-toggle", "data-frozen") == "false"
    page.click("#freeze-toggle")
    page.wait_for_selector("#freeze-toggle[data-frozen=true]")
    refused = w.lookup("CarCo", person, "credit_application")
    assert refused.status_code == 403 and "frozen" in refused.text
    page.click("#freeze-toggle")
    page.wait_for_selector("#freeze-toggle[data-frozen=false]")
    assert w.lookup("CarCo", person, "credit_application").status_code == 200

    with page.expect_download() as info:
        page.click("#export")
    data = json.loads(Path(info.value.path()).read_text())
    assert person in json.dumps(data)
    api = site.c.get("/me/export", headers=w.tokens["low"]).json()
    assert data | {"exported_at": None} == api | {"exported_at": None}
    assert len(data["freezes"]) == 1 and data["freezes"][0]["lifted_at"] is not None
    screenshot(page, tmp_path, "person-freeze-export")


def test_the_page_fits_a_phone(browser, site, tmp_path):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = ctx.new_page()
    sign_in(page, site.base, "high", "high-password")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"
    # one column: the score card and the factor card are stacked
    boxes = [page.locator(s).bounding_box() for s in ("#score", "#factors")]
    assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]
    assert boxes[0]["width"] <= 390
    # every form control has a label
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.id)"""
    )
    assert unlabelled == []
    screenshot(page, tmp_path, "person-phone-390")
    ctx.close()
