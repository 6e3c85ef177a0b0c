"""Corrections outlive the score version they were made on: a record deleted by an upheld
dispute never counts again in a newer version, an open dispute follows the person to the
new version, and what-if starts from the corrected file. Both databases."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from conftest_service import (  # noqa: F401
    ADMIN,
    World,
    bureau_data,
    database_url,
    late_repayment_that_counts,
    sign_in_person,
)
from openbureau.model import load
from openbureau.service import Settings, create_app


@pytest.fixture(scope="module")
def late(bureau_data):  # noqa: F811
    return late_repayment_that_counts(bureau_data)


@pytest.fixture(scope="module")
def world(database_url, bureau_data, late, tmp_path_factory):  # noqa: F811
    app = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app) as client:
        w = World(client, bureau_data)
        w.tokens["fixer"] = sign_in_person(w, late.person_id, "fixer")
        w.folder = tmp_path_factory.mktemp("versions")  # type: ignore[attr-defined]
        yield w


def _new_scores_file(world, bureau_data, n: int):  # noqa: F811
    """The same scores, other bytes: publishing needs a file it has not seen."""
    path = world.folder / f"scores-{n}.parquet"
    pq.write_table(pq.read_table(bureau_data.scores), path, row_group_size=100 + n)
    return path


def _publish(world, path, bureau_data, *, store: bool = True):  # noqa: F811
    body = {"scores": str(path), "model": str(bureau_data.model)}
    if store:
        body["store"] = str(bureau_data.store)
    return world.c.post("/admin/score-versions", json=body, headers=ADMIN)


def _actionable(bureau_data) -> str:  # noqa: F811
    model = load(bureau_data.model)
    return next(m.name for m in model.features_ if m.actionable)


def test_an_upheld_correction_is_carried_to_every_newer_version(world, late, bureau_data):  # noqa: F811
    tok = world.tokens["fixer"]
    d = world.c.post(
        "/me/disputes",
        json={"table": "repayments", "lineage": late.lineage, "statement": "Paid on time."},
        headers=tok,
    ).json()
    r = world.c.post(
        f"/admin/disputes/{d['id']}/resolve",
        json={"outcome": "upheld", "note": "The lender confirmed its error."},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    corrected = r.json()["score_without"]
    v1 = world.c.get("/me/score", headers=tok).json()
    assert v1["score"] == corrected > late.score == v1["published_score"]

    # what-if starts from the corrected file, not the published one
    feature = _actionable(bureau_data)
    r = world.c.post("/me/what-if", json={"changes": {feature: 1.0}}, headers=tok)
    assert r.status_code == 200, r.text
    assert r.json()["score_before"] == corrected
    assert f"corrected by dispute {d['id']}" in r.json()["note"]

    # a new version scored from the append-only store still holds the row: it must not count
    r = _publish(world, _new_scores_file(world, bureau_data, 2), bureau_data)
    assert r.status_code == 201, r.text
    v2 = world.c.get("/me/score", headers=tok).json()
    assert v2["version"] == r.json()["version_id"] != v1["version"]
    assert v2["published_score"] == late.score  # the file as scored...
    assert v2["score"] == corrected  # ...and the score that counts, corrected
    assert v2["corrected_by_dispute"] == d["id"]
    assert v2["subscores"] == v1["subscores"]
    world.consent("fixer", "CarCo", "tenancy", share_number=True)
    proof = world.lookup("CarCo", late.person_id, "tenancy", threshold=350).json()
    assert proof["score"] == corrected, proof
    benefits = world.c.get("/me/benefits", headers=tok).json()
    assert benefits["score"] == corrected and benefits["path_unavailable"] is None
    r = world.c.post("/me/what-if", json={"changes": {feature: 1.0}}, headers=tok)
    assert r.json()["score_before"] == corrected

    # the person sees their dispute once, however many versions carry it
    disputes = world.c.get("/me/disputes", headers=tok).json()
    assert [x["id"] for x in disputes] == [d["id"]]
    # and a third version carries it again
    r = _publish(world, _new_scores_file(world, bureau_data, 3), bureau_data)
    assert r.status_code == 201, r.text
    assert world.c.get("/me/score", headers=tok).json()["score"] == corrected


def test_an_open_dispute_follows_the_person_to_the_new_version(world, late, bureau_data):  # noqa: F811
    tok = world.tokens["low"]
    records = world.c.get("/me/records", headers=tok).json()["records"]
    rec = next(r for r in records if r["disputable"] and r["table"] == "bills")
    d = world.c.post(
        "/me/disputes",
        json={"table": rec["table"], "lineage": rec["lineage"], "statement": "Not my bill."},
        headers=tok,
    ).json()
    before = world.c.get("/me/score", headers=tok).json()
    assert [o["dispute"] for o in before["open_disputes"]] == [d["id"]]
    r = _publish(world, _new_scores_file(world, bureau_data, 4), bureau_data)
    assert r.status_code == 201, r.text
    after = world.c.get("/me/score", headers=tok).json()
    assert after["version"] == r.json()["version_id"] != before["version"]
    shown = {o["dispute"]: o["score_without"] for o in after["open_disputes"]}
    assert shown == {d["id"]: d["score_without"]}  # same data and model: same score without
    got = world.c.get(f"/me/disputes/{d['id']}", headers=tok).json()
    assert got["status"] == "open"


def test_a_version_that_would_bring_deleted_records_back_is_refused(world, bureau_data):  # noqa: F811
    current = world.c.get("/admin/score-versions", headers=ADMIN).json()
    r = _publish(world, _new_scores_file(world, bureau_data, 5), bureau_data, store=False)
    assert r.status_code == 400
    assert "disputes" in r.json()["detail"] and "--store" in r.json()["detail"]
    assert world.c.get("/admin/score-versions", headers=ADMIN).json() == current
