"""Benefit tiers, bands and the adverse-action notice, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from openbureau.benefits import DEFAULT_OFFERS, adverse_action_notice, band, decide, next_offer
from openbureau.service.purposes import PURPOSES, PurposeError, check_purpose


def test_default_tiers_mirror_the_public_examples():
    assert [(o.min_score, o.purpose) for o in DEFAULT_OFFERS] == [
        (600, "credit_line"),
        (650, "rental_deposit_waiver"),
        (700, "travel_document"),
        (750, "travel_document"),
    ]
    assert all(o.purpose in PURPOSES for o in DEFAULT_OFFERS)


@pytest.mark.parametrize("score", [599.9, 600.0, 649.9, 650.0, 750.0])
def test_decisions_turn_exactly_at_the_threshold(score):
    for offer in DEFAULT_OFFERS:
        d = decide(score, offer)
        assert d.eligible is (score >= offer.min_score)
        assert ("reaches" if d.eligible else "below") in d.explanation
    nxt = next_offer(score, DEFAULT_OFFERS)
    assert nxt is None or (nxt.min_score > score and not decide(score, nxt).eligible)


def test_bands_cover_the_scale_and_refuse_outside_it():
    assert [band(s) for s in (350, 549.9, 550, 600, 650, 700, 950)] == [
        "poor",
        "poor",
        "fair",
        "good",
        "very good",
        "excellent",
        "excellent",
    ]
    with pytest.raises(ValueError, match="outside"):
        band(951)


def test_notice_keeps_at_most_the_allowed_reasons_in_rank_order():
    reasons = [{"text": f"r{i}", "factor": "history", "points": 50 - i} for i in range(6)]
    notice = adverse_action_notice(
        score=512.0,
        scored_on=dt.date(2025, 12, 31),
        reasons=reasons,
        offer_title="X",
        threshold=600,
        max_reasons=4,
    )
    assert [k["rank"] for k in notice["key_factors"]] == [1, 2, 3, 4]
    assert notice["score_range"] == {"low": 350.0, "high": 950.0}
    assert len(notice["rights"]) == 3


def test_purposes_outside_the_vocabulary_or_the_pack_are_refused():
    check_purpose("tenancy")
    with pytest.raises(PurposeError, match="unknown purpose"):
        check_purpose("astrology")
    with pytest.raises(PurposeError, match="not permitted"):
        check_purpose("employment")

    class Pack:  # a pack that lists its own purposes overrides the default
        name = "strict"
        purposes = ("tenancy",)

    with pytest.raises(PurposeError, match="not permitted under policy strict"):
        check_purpose("credit_line", Pack())
