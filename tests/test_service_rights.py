"""A person's rights on both databases: disputes (recomputed with the real model), freeze,
human review, export, what-if."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from conftest_service import (  # noqa: F401
    ADMIN,
    World,
    bureau_data,
    database_url,
    late_repayment_that_counts,
    sign_in_person,
)
from openbureau.service import Settings, create_app
from openbureau.service.models import Dispute


@pytest.fixture(scope="module")
def late(bureau_data):  # noqa: F811
    return late_repayment_that_counts(bureau_data)


@pytest.fixture(scope="module")
def world(database_url, bureau_data, late):  # noqa: F811
    app = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app) as client:
        w = World(client, bureau_data)
        w.tokens["disputer"] = sign_in_person(w, late.person_id, "disputer")
        w.tokens["other"] = w.tokens["low" if late.person_id == w.high["person_id"] else "high"]
        yield w


def _dispute(world, body: dict, who: str = "disputer"):
    return world.c.post("/me/disputes", json=body, headers=world.tokens[who])


def test_records_list_what_the_store_holds_with_keys_and_lineage(world, late):
    body = world.c.get("/me/records", headers=world.tokens["disputer"]).json()
    assert body["unavailable"] is None
    tables = {r["table"] for r in body["records"]}
    assert {"people", "accounts", "repayments"} <= tables
    mine = [r for r in body["records"] if r["lineage"] == late.lineage]
    assert len(mine) == 1 and mine[0]["table"] == "repayments" and mine[0]["disputable"]
    assert mine[0]["key"] == late.key
    people = [r for r in body["records"] if r["table"] == "people"]
    assert [p["values"]["person_id"] for p in people] == [late.person_id]
    assert not people[0]["disputable"]


def test_a_disputed_late_repayment_is_flagged_and_rescored_then_rejected(world, late):
    tok = world.tokens["disputer"]
    r = _dispute(world, {"table": "repayments", "key": late.key, "statement": "I paid on time."})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "open" and d["lineage"] == late.lineage
    assert d["score_before"] == late.score
    assert d["score_without"] > d["score_before"]  # the late payment cost points
    deadline = dt.datetime.fromisoformat(d["deadline"])
    opened = dt.datetime.fromisoformat(d["opened_at"])
    assert dt.timedelta(days=29) < deadline - opened <= dt.timedelta(days=30)
    # both scores shown while it is open
    score = world.c.get("/me/score", headers=tok).json()
    assert score["score"] == score["published_score"] == late.score
    assert score["corrected_by_dispute"] is None
    assert [o["score_without"] for o in score["open_disputes"]] == [d["score_without"]]
    # the same record cannot be disputed twice at once; by lineage it is the same record
    again = _dispute(world, {"table": "repayments", "lineage": late.lineage, "statement": "x"})
    assert again.status_code == 409 and f"dispute {d['id']}" in again.json()["detail"]
    # the partner sees the proof both ways
    world.c.post(
        "/me/consents",
        json={
            "partner": "CarCo",
            "purpose": "tenancy",
            "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).isoformat(),
            "share_number": True,
        },
        headers=tok,
    )
    threshold = (d["score_before"] + d["score_without"]) / 2
    proof = world.lookup("CarCo", late.person_id, "tenancy", threshold=threshold).json()
    assert proof["meets_threshold"] is False and proof["under_dispute"] is True
    assert proof["meets_threshold_if_dispute_upheld"] is True
    assert proof["score"] == late.score and proof["score_if_dispute_upheld"] == d["score_without"]
    # rejected: the record stands, the published score is the only one again
    r = world.c.post(
        f"/admin/disputes/{d['id']}/resolve",
        json={"outcome": "rejected", "note": "The lender confirmed the date."},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["resolved_by"] == "bureau"
    score = world.c.get("/me/score", headers=tok).json()
    assert score["score"] == late.score and score["open_disputes"] == []
    again = world.c.post(
        f"/admin/disputes/{d['id']}/resolve", json={"outcome": "upheld", "note": "x"}, headers=ADMIN
    )
    assert again.status_code == 409 and "already rejected" in again.json()["detail"]
    assert world.lookup("CarCo", late.person_id, "tenancy").json()["under_dispute"] is False


def test_an_upheld_dispute_deletes_the_record_effect_everywhere(world, late):
    tok = world.tokens["disputer"]
    d = _dispute(
        world, {"table": "repayments", "lineage": late.lineage, "statement": "Not my loan."}
    ).json()
    r = world.c.post(
        f"/admin/disputes/{d['id']}/resolve",
        json={"outcome": "upheld", "note": "The lender could not confirm it."},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    upheld = r.json()
    assert upheld["status"] == "upheld" and upheld["score_without"] == d["score_without"]
    score = world.c.get("/me/score", headers=tok).json()
    assert score["score"] == upheld["score_without"] > score["published_score"] == late.score
    assert score["corrected_by_dispute"] == d["id"]
    assert score["subscores"] == upheld["subscores_without"]
    proof = world.lookup("CarCo", late.person_id, "tenancy", threshold=350).json()
    assert proof["score"] == upheld["score_without"] and proof["under_dispute"] is False
    benefits = world.c.get("/me/benefits", headers=tok).json()
    assert benefits["score"] == upheld["score_without"]
    # the history keeps what was published
    history = world.c.get("/me/history", headers=tok).json()["scores"]
    assert history[0]["score"] == late.score


def test_a_dispute_unresolved_by_its_deadline_is_resolved_for_the_person(world, late):
    tok = world.tokens["disputer"]
    records = world.c.get("/me/records", headers=tok).json()["records"]
    bill = next(r for r in records if r["table"] == "bills")
    d = _dispute(world, {"table": "bills", "key": bill["key"], "statement": "Paid."}).json()
    assert d["status"] == "open"
    engine = world.c.app.state.service.engine
    with engine.begin() as conn:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        conn.execute(update(Dispute).where(Dispute.id == d["id"]).values(deadline=past))
    mine = {x["id"]: x for x in world.c.get("/me/disputes", headers=tok).json()}
    assert mine[d["id"]]["status"] == "upheld" and mine[d["id"]]["resolved_by"] == "deadline"
    assert "favour" in mine[d["id"]]["resolution_note"]
    score = world.c.get("/me/score", headers=tok).json()
    # the correction now leaves out both upheld records: the repayment and the bill
    assert score["corrected_by_dispute"] == d["id"]
    assert score["score"] == mine[d["id"]]["score_without"]


def test_disputes_say_what_is_wrong_and_never_reach_another_person(world, late):
    r = _dispute(world, {"table": "repayments", "statement": "x"})
    assert r.status_code == 422 and "key or by its lineage" in r.text
    r = _dispute(world, {"table": "people", "key": {"person_id": "x"}, "statement": "x"})
    assert r.status_code == 422 and "cannot be disputed" in r.json()["detail"]
    r = _dispute(world, {"table": "repayments", "key": {"account_id": "A"}, "statement": "x"})
    assert r.status_code == 422 and "due_date" in r.json()["detail"]
    # another person's record is not theirs to dispute, nor to see
    r = _dispute(world, {"table": "repayments", "key": late.key, "statement": "x"}, who="other")
    assert r.status_code == 404 and "no record" in r.json()["detail"]
    mine = world.c.get("/me/disputes", headers=world.tokens["disputer"]).json()
    r = world.c.get(f"/me/disputes/{mine[0]['id']}", headers=world.tokens["other"])
    assert r.status_code == 404
    r = world.c.post(
        "/admin/disputes/999999/resolve", json={"outcome": "upheld", "note": "x"}, headers=ADMIN
    )
    assert r.status_code == 404
    listed = world.c.get("/admin/disputes", params={"status": "upheld"}, headers=ADMIN).json()
    assert listed and all(x["status"] == "upheld" for x in listed)


def test_a_freeze_refuses_new_credit_and_nothing_else_until_lifted(world):
    person, tok = world.high["person_id"], world.tokens["high"]
    for purpose in ("credit_application", "account_review"):
        world.consent("high", "LookOnly", purpose)
    r = world.c.post("/me/freeze", headers=tok)
    assert r.status_code == 200 and r.json()["frozen"] is True
    assert "credit_application" in r.json()["refused_purposes"]
    assert world.c.post("/me/freeze", headers=tok).json()["history"] == r.json()["history"]
    denied = world.lookup("LookOnly", person, "credit_application")
    assert denied.status_code == 403 and "frozen" in denied.json()["detail"]
    assert world.lookup("LookOnly", person, "account_review").status_code == 200
    # a partner without consent learns nothing, not even the freeze
    r = world.lookup("CarCo", person, "credit_application")
    assert r.status_code == 403 and "frozen" not in r.json()["detail"]
    log = world.c.get("/me/access-log", headers=tok).json()
    assert any(e["outcome"] == "denied" and "frozen" in e["reason"] for e in log)
    lifted = world.c.delete("/me/freeze", headers=tok).json()
    assert lifted["frozen"] is False and lifted["history"][-1]["lifted_at"] is not None
    assert world.lookup("LookOnly", person, "credit_application").status_code == 200


def test_human_review_of_an_adverse_decision(world):
    person, tok = world.low["person_id"], world.tokens["low"]
    world.consent("low", "CarCo", "rental_deposit_waiver")
    r = world.c.post(
        "/partner/decision",
        json={"person": person, "offer": "deposit_free_car_rental"},
        headers=world.keys["CarCo"],
    )
    assert r.json()["eligible"] is False
    log = world.c.get("/me/access-log", headers=tok).json()
    seq = next(e["seq"] for e in log if e["action"] == "decision")
    lookup_seq = next(e["seq"] for e in log if e["action"] == "lookup")
    r = world.c.post(
        "/me/reviews", json={"decision_seq": seq, "statement": "My income rose."}, headers=tok
    )
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["status"] == "requested" and review["offer"] == "deposit_free_car_rental"
    assert review["partner"] == "CarCo"
    again = world.c.post("/me/reviews", json={"decision_seq": seq, "statement": "x"}, headers=tok)
    assert again.status_code == 409
    r = world.c.post(
        "/me/reviews", json={"decision_seq": lookup_seq, "statement": "x"}, headers=tok
    )
    assert r.status_code == 422 and "not an adverse decision" in r.json()["detail"]
    r = world.c.post(
        "/me/reviews", json={"decision_seq": seq, "statement": "x"}, headers=world.tokens["high"]
    )
    assert r.status_code == 404
    assert world.c.get("/me/reviews", headers=world.tokens["high"]).json() == []
    r = world.c.post(f"/admin/reviews/{review['id']}", json={"status": "closed"}, headers=ADMIN)
    assert r.status_code == 422 and "outcome" in r.text
    r = world.c.post(f"/admin/reviews/{review['id']}", json={"status": "in_review"}, headers=ADMIN)
    assert r.json()["status"] == "in_review"
    r = world.c.post(
        f"/admin/reviews/{review['id']}",
        json={"status": "closed", "outcome": "Declined stands: the score is below 650."},
        headers=ADMIN,
    )
    assert r.status_code == 200
    mine = world.c.get("/me/reviews", headers=tok).json()
    assert [(m["status"], m["outcome"]) for m in mine] == [
        ("closed", "Declined stands: the score is below 650.")
    ]
    assert world.c.get("/admin/reviews", params={"status": "closed"}, headers=ADMIN).json()


def test_export_holds_everything_about_me_and_nothing_about_anyone_else(world, late):
    body = world.c.get("/me/export", headers=world.tokens["disputer"]).json()
    assert set(body) >= {
        "profile",
        "current_score",
        "scores",
        "consents",
        "access_log",
        "disputes",
        "reviews",
        "freezes",
        "records",
    }
    assert body["profile"]["person_id"] == late.person_id
    assert {s["person_id"] for s in body["scores"]} == {late.person_id}
    assert body["current_score"]["corrected_by_dispute"] is not None
    assert len(body["disputes"]) >= 3 and body["consents"]
    assert body["access_log"] and all("detail" in e for e in body["access_log"])
    values = [r["values"] for r in body["records"]["records"]]
    assert all(
        late.person_id in (v.get("person_id"), v.get("person_a"), v.get("person_b"))
        or "account_id" in v
        for v in values
    )
    other = world.c.get("/me/export", headers=world.tokens["other"]).json()
    assert other["profile"]["person_id"] != late.person_id
    assert not {e["seq"] for e in other["access_log"]} & {e["seq"] for e in body["access_log"]}
    assert not other["disputes"]
    low = world.c.get("/me/export", headers=world.tokens["low"]).json()
    assert low["reviews"] and low["profile"]["person_id"] == world.low["person_id"]


def test_what_if_moves_actionable_inputs_with_the_real_model(world, late):
    taken = {world.low["person_id"], world.high["person_id"], late.person_id}
    person = next(p for p in world.low_scorers if p["person_id"] not in taken)
    world.c.post(
        "/admin/people",
        json={"person_id": person["person_id"], "login": "whatif", "password": "whatif-pw"},
        headers=ADMIN,
    )
    token = world.c.post("/auth/login", json={"login": "whatif", "password": "whatif-pw"})
    tok = {"Authorization": f"Bearer {token.json()['token']}"}
    path = world.c.get("/me/benefits", headers=tok).json()["path"]
    assert path and path["changes"]
    changes = {c["feature"]: c["proposed"] for c in path["changes"]}
    r = world.c.post("/me/what-if", json={"changes": changes}, headers=tok)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score_before"] == person["score"]
    assert body["score_after"] == path["score_after"]  # the counterfactual, confirmed
    assert body["score_after"] > body["score_before"]
    assert {c["feature"] for c in body["changes"]} == set(changes)
    total = sum(body["subscores_after"].values()) - sum(body["subscores_before"].values())
    assert total == pytest.approx(body["score_after"] - body["score_before"], abs=0.2)
    r = world.c.post("/me/what-if", json={"changes": {"monthly_income": 9000}}, headers=tok)
    assert r.status_code == 422 and "'monthly_income' is not actionable" in r.json()["detail"]
    r = world.c.post("/me/what-if", json={"changes": {"shoe_size": 9}}, headers=tok)
    assert r.status_code == 422 and "unknown feature 'shoe_size'" in r.json()["detail"]
    r = world.c.post("/me/what-if", json={"changes": {}}, headers=tok)
    assert r.status_code == 422 and "changes" in r.text
