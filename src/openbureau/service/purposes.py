"""The purposes a partner may name when it looks a person up, and which are lawful.

A purpose is part of every consent and every lookup: consent for one purpose never covers
another. Policy packs do not (yet) list purposes, so the vocabulary lives here; a pack that
gains a ``purposes`` attribute (names of permitted purposes) overrides ``PERMITTED``.
"""

from __future__ import annotations

from typing import Any

# name -> what it covers. Each is a use the person asked for (FCRA §1681b(a)(2)-(3)).
PURPOSES: dict[str, str] = {
    "credit_application": "Deciding on an application for credit the person made.",
    "credit_line": "Opening or reviewing a credit line the person asked for.",
    "account_review": "Reviewing an account the person already holds with the partner.",
    "rental_deposit_waiver": "Waiving the deposit on a rental (car, bike, equipment).",
    "tenancy": "Deciding on the person's application to rent a home.",
    "travel_document": "Fast-tracking a travel-document application the person filed.",
    "marketing": "Choosing whom to send offers to (prescreening).",
    "employment": "Deciding whether to hire or promote the person.",
}

# Marketing and employment are never lawful here: a score used to pick targets or workers is
# a score used against people who did not ask for anything.
PERMITTED: frozenset[str] = frozenset(PURPOSES) - {"marketing", "employment"}


class PurposeError(ValueError):
    """A purpose that is unknown, or that the policy pack does not permit."""


def permitted_purposes(pack: Any = None) -> frozenset[str]:
    """The pack's own list when it has one, else ``PERMITTED``."""
    listed = getattr(pack, "purposes", None)
    if listed:
        names = [p if isinstance(p, str) else getattr(p, "name", str(p)) for p in listed]
        return frozenset(names)
    return PERMITTED


def check_purpose(purpose: str, pack: Any = None) -> None:
    """Raise ``PurposeError`` saying what is wrong with ``purpose`` under ``pack``."""
    allowed = permitted_purposes(pack)
    if purpose not in PURPOSES and purpose not in allowed:
        raise PurposeError(
            f"unknown purpose {purpose!r}; purposes are: {', '.join(sorted(PURPOSES))}"
        )
    if purpose not in allowed:
        name = getattr(pack, "name", "default")
        raise PurposeError(
            f"purpose {purpose!r} is not permitted under policy {name}; permitted: "
            f"{', '.join(sorted(allowed))}"
        )


# Purposes that open new credit: a freeze refuses these (a thief's application is one of
# them) and nothing else, so the person's landlord or existing lender is not cut off.
NEW_CREDIT: frozenset[str] = frozenset({"credit_application", "credit_line"})


def new_credit_purposes(pack: Any = None) -> frozenset[str]:
    """The pack's ``new_credit_purposes`` when it has them, else ``NEW_CREDIT``."""
    listed = getattr(pack, "new_credit_purposes", None)
    return frozenset(listed) if listed else NEW_CREDIT
