"""Bands and benefit tiers: which score unlocks what, and why a decision went as it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SCORE_LOW, SCORE_HIGH = 350.0, 950.0

# (lowest score, name): the bands Sesame Credit publishes, 350-550-600-650-700-950.
BANDS: tuple[tuple[float, str], ...] = (
    (350.0, "poor"),
    (550.0, "fair"),
    (600.0, "good"),
    (650.0, "very good"),
    (700.0, "excellent"),
)


def band(score: float) -> str:
    """The band a score falls in (scores outside 350-950 are an error, not a band).

    >>> band(612.4), band(350), band(950)
    ('good', 'poor', 'excellent')
    """
    if not SCORE_LOW <= score <= SCORE_HIGH:
        raise ValueError(f"score {score} is outside {SCORE_LOW:g}-{SCORE_HIGH:g}")
    return [name for low, name in BANDS if score >= low][-1]


@dataclass(frozen=True)
class Offer:
    """A benefit a score can unlock; ``purpose`` is what a partner must hold consent for."""

    code: str
    title: str
    description: str
    min_score: float
    purpose: str
    partner: str | None = None  # None: offered by the bureau's partners at large


DEFAULT_OFFERS: tuple[Offer, ...] = (
    Offer(
        "instant_credit_line",
        "Instant credit line",
        "A small consumer credit line (about $800) approved instantly, without paperwork.",
        600.0,
        "credit_line",
    ),
    Offer(
        "deposit_free_car_rental",
        "Deposit-free car rental",
        "Rent a car without leaving a deposit.",
        650.0,
        "rental_deposit_waiver",
    ),
    Offer(
        "travel_document_fast_track",
        "Travel-document fast track",
        "Fewer supporting documents for a travel-document application (e.g. proof of funds).",
        700.0,
        "travel_document",
    ),
    Offer(
        "travel_document_priority",
        "Travel-document priority track",
        "Priority processing of a travel-document application, with fewer documents.",
        750.0,
        "travel_document",
    ),
)


@dataclass(frozen=True)
class Decision:
    """Whether ``score`` unlocks ``offer``, with the sentence that says why."""

    offer: str
    eligible: bool
    score: float
    threshold: float
    explanation: str


def decide(score: float, offer: Offer) -> Decision:
    """Eligible exactly when the score reaches the offer's threshold; the text says by how much.

    >>> decide(640.0, DEFAULT_OFFERS[1]).explanation
    'score 640 is 10 points below the 650 needed for Deposit-free car rental'
    """
    eligible = score >= offer.min_score
    if eligible:
        why = f"score {score:g} reaches the {offer.min_score:g} needed for {offer.title}"
    else:
        gap = offer.min_score - score
        why = (
            f"score {score:g} is {gap:.3g} points below the {offer.min_score:g} "
            f"needed for {offer.title}"
        )
    return Decision(offer.code, eligible, score, offer.min_score, why)


def next_offer(score: float, offers: Sequence[Offer]) -> Offer | None:
    """The offer with the lowest threshold still above ``score`` (None: all unlocked)."""
    above = sorted((o for o in offers if o.min_score > score), key=lambda o: o.min_score)
    return above[0] if above else None
