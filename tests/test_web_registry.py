"""The analyst's model picker in a real browser (Debian's Chromium via Playwright) against a
real uvicorn server: the registered models are listed with their state, and choosing one
that is not in service (with the keyboard) renders that model's own report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest_service import TRAIN_AS_OF, World, bureau_data, fresh_database  # noqa: F401
from openbureau.service import Settings, create_app
from web_support import ADMIN_KEY, chromium, running, screenshot

pytestmark = pytest.mark.slow
ADMIN = {"X-Admin-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def site(bureau_data, tmp_path_factory) -> Iterator[dict[str, Any]]:  # noqa: F811
    from openbureau.workflow import train_from_store

    root = tmp_path_factory.mktemp("web-registry")
    other = train_from_store(
        bureau_data.store,
        TRAIN_AS_OF,
        root / "model-b",
        seed=2,
        model_params={"n_estimators": 25, "calibration_cv": 2},
    )
    gen = fresh_database("sqlite", root)
    url = next(gen)
    app = create_app(Settings(database_url=url, admin_key=ADMIN_KEY, lookups_per_minute=0))
    with running(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        World(client, bureau_data)  # publishes the fixture's scores (model a in service)
        ids = {}
        for name, folder in (("a", bureau_data.model), ("b", other.model_dir)):
            r = client.post(
                "/admin/models", json={"path": str(folder), "actor": "web-test"}, headers=ADMIN
            )
            assert r.status_code == 201, r.text
            ids[name] = r.json()["model_id"]
        # model a becomes champion on a passing report without scores (its scores are the
        # published ones); the gate's own tests cover how such a report is made
        release = root / "release" / "release.json"
        release.parent.mkdir()
        release.write_text(
            json.dumps(
                {
                    "passed": True,
                    "candidate": {"model_id": ids["a"], "path": str(bureau_data.model)},
                    "champion": None,
                    "checks": [{"name": "discrimination_auc", "passed": True, "why": "first"}],
                    "scores": None,
                    "as_of": "2025-12-31",
                }
            )
        )
        r = client.post(
            f"/admin/models/{ids['a']}/promote",
            json={"release": str(release), "actor": "web-test", "reason": "first champion"},
            headers=ADMIN,
        )
        assert r.status_code == 200, r.text
        yield {"base": base, "client": client, "ids": ids, "auc_b": other.holdout_auc}
    gen.close()


def test_the_picker_shows_a_registered_candidate_report(site, tmp_path):
    ids = site["ids"]
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{site['base']}/analyst")
        page.fill("#admin-key", ADMIN_KEY)
        page.click("#report-go")
        page.wait_for_selector("#report-status.ok", timeout=60_000)
        assert page.inner_text("#report-status") == f"Model {ids['a']} (champion), in service."

        page.wait_for_selector("#model-row:not([hidden])")
        assert page.locator("label[for=model-pick]").inner_text() == "Model"
        options = page.locator("#model-pick option").evaluate_all(
            "os => os.map(o => [o.value, o.textContent])"
        )
        assert [v for v, _ in options] == ["", ids["a"], ids["b"]]
        assert f"{ids['a']} · champion" in options[1][1]
        assert f"{ids['b']} · candidate" in options[2][1]

        # keyboard only: focus the picker, move down twice to the candidate
        page.focus("#model-pick")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert page.eval_on_selector("#model-pick", "s => s.value") == ids["b"]
        page.wait_for_function(
            "id => document.getElementById('report').dataset.model === id", arg=ids["b"]
        )
        page.wait_for_selector("#report-status.ok")
        status = page.inner_text("#report-status")
        assert f"Model {ids['b']} (candidate), not in service." == status
        frame = page.frame_locator("#report")
        frame.locator("h1").wait_for()
        text = frame.locator("body").inner_text()
        assert ids["b"] in text and ids["a"] not in text
        assert f"AUC {site['auc_b']:.4f}" in text  # b's own hold-out, as `train` reported it
        assert "no scored population" in text  # b has no published scores: no PSI
        assert frame.locator("figure img").count() == 5
        page.set_viewport_size({"width": 1280, "height": 1600})
        screenshot(page, tmp_path, "analyst-registered-model", full_page=False)


def test_the_report_of_a_registered_model_is_for_the_bureau_only(site):
    c, ids = site["client"], site["ids"]
    assert c.get(f"/analyst/report?model={ids['b']}").status_code == 401
    r = c.get(f"/analyst/report?model={ids['b']}", headers=ADMIN)
    assert r.status_code == 200
    assert (r.headers["x-model-id"], r.headers["x-model-state"]) == (ids["b"], "candidate")
    assert r.headers["x-in-service"] == "False"
    r = c.get(f"/analyst/report?model={ids['a']}", headers=ADMIN)
    assert (r.headers["x-model-state"], r.headers["x-in-service"]) == ("champion", "True")
    assert "no scored population" not in r.text  # the champion's published scores give PSI
    r = c.get("/analyst/report?model=0123456789abcdef", headers=ADMIN)
    assert r.status_code == 404 and "no registered model" in r.json()["detail"]
    assert c.get("/analyst/report?model=a%20b", headers=ADMIN).status_code == 422
