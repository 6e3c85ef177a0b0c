"""People, verified facts, address history and employment: the identity factor's inputs.

All follow the stability trait: stable people verify more facts, move rarely and keep
jobs longer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.block import (
    EMPLOYED,
    EMPLOYMENT,
    HOUSING,
    RENT,
    RETIRED,
    S_ADDRESS,
    S_JOBS,
    S_PEOPLE,
    S_VERIFY,
    SELF_EMPLOYED,
    STUDENT,
    UNEMPLOYED,
    Block,
    expand,
)
from openbureau.sim.calendar import from_days
from openbureau.sim.population import COUNTRIES, sigmoid

VERIFY_KINDS = ("phone", "email", "national_id", "passport", "bank_account", "address")
_VERIFY_BASE = np.array([2.2, 1.6, 0.6, -0.8, 1.0, 0.0])
VERIFY_STATUS = ("verified", "failed", "revoked")
SECTORS = tuple("ABCDEFGHIJKLMNOPQRS")
_SECTOR_P = np.array([2, 1, 12, 1, 1, 7, 13, 5, 4, 4, 3, 1, 6, 5, 7, 7, 11, 2, 3], float)
YEAR = 365.25


def people_table(block: Block) -> pa.Table:
    rng = block.rng(S_PEOPLE)
    n = block.n
    end_year = from_days(block.cal.end).year
    birth = end_year - np.floor(block.trait("age")).astype(np.int64)
    country = block.pop.community_country[block.get("community")]
    moved = rng.random(n) < 0.05
    country = np.where(moved, rng.integers(0, len(COUNTRIES), n), country)
    return arrow.table(
        "people",
        {
            "person_id": block.ids,
            "birth_year": pa.array(birth, pa.int64(), mask=rng.random(n) < 0.02),
            "country": arrow.enum(COUNTRIES, country),
            "first_seen": arrow.dates(block.first_seen),
        },
    )


def verifications_table(block: Block) -> pa.Table:
    rng = block.rng(S_VERIFY)
    cal, n = block.cal, block.n
    stab = block.trait("stability")
    attempt = rng.random((n, len(VERIFY_KINDS))) < sigmoid(_VERIFY_BASE + 1.0 * stab[:, None])
    person, kind = np.nonzero(attempt)
    m = person.size
    s = stab[person]
    first = block.first_seen[person] + np.floor(rng.gamma(1.0, 90.0, m)).astype(np.int64)
    ok = rng.random(m) < sigmoid(2.0 + 1.2 * s)
    revoked = ok & (rng.random(m) < sigmoid(-4.0 - s))
    status = np.where(ok, np.where(revoked, 2, 0), 1)
    # A failed check is often retried later, and usually passes then.
    retry = ~ok & (rng.random(m) < 0.6)
    again = first + 1 + np.floor(rng.gamma(1.0, 30.0, m)).astype(np.int64)
    again_status = np.where(rng.random(m) < sigmoid(1.5 + s), 0, 1)
    person = np.concatenate([person, person[retry]])
    kind = np.concatenate([kind, kind[retry]])
    day = np.concatenate([first, again[retry]])
    status = np.concatenate([status, again_status[retry]])
    keep = day <= cal.end
    order = np.flatnonzero(keep)
    order = order[np.lexsort((day[order], kind[order], person[order]))]
    return arrow.table(
        "identity_verifications",
        {
            "person_id": block.person_ids(person[order]),
            "kind": arrow.enum(VERIFY_KINDS, kind[order]),
            "verified_at": arrow.dates(day[order]),
            "status": arrow.enum(VERIFY_STATUS, status[order]),
        },
    )


def _spells(
    rng: np.random.Generator, count: np.ndarray, mean_years: np.ndarray, end: int, shape: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Back-to-back spells ending at ``end``: (person, position 0 = current, since, until)."""
    person, pos = expand(count)
    years = rng.gamma(shape, mean_years[person] / shape)
    length = np.maximum(np.floor(years * YEAR).astype(np.int64), 60)
    back = np.cumsum(length)
    starts = np.cumsum(count) - count
    before = np.concatenate([[0], back])[starts[person]]  # total length of earlier persons
    since = end - (back - before)
    until = np.where(pos == 0, -1, since + length)
    return person, pos, since, until


def addresses_table(block: Block) -> pa.Table:
    rng = block.rng(S_ADDRESS)
    cal = block.cal
    stab, age = block.trait("stability"), block.trait("age")
    mean_years = 4.0 * np.exp(0.55 * stab)
    adult_years = np.clip(age - 18.0, 0.5, 40.0)
    count = 1 + np.minimum(rng.poisson(adult_years / mean_years), 8)
    person, pos, since, until = _spells(rng, count, mean_years, cal.end, 2.5)
    adult = cal.end - np.floor((age[person] - 18.0) * YEAR).astype(np.int64)
    keep = (pos == 0) | (since >= adult)
    person, pos, since, until = person[keep], pos[keep], since[keep], until[keep]
    m = person.size
    home = block.pop.community_region[block.get("community")][person]
    region = np.where((pos == 0) | (rng.random(m) < 0.65), home, rng.integers(10_000, 99_999, m))
    housing = np.where(pos == 0, block.housing[person], np.where(rng.random(m) < 0.8, RENT, 2))
    order = np.lexsort((since, person))
    return arrow.table(
        "addresses",
        {
            "person_id": block.person_ids(person[order]),
            "since": arrow.dates(since[order]),
            "until": arrow.dates(np.maximum(until[order], 0), until[order] < 0),
            "region": pa.array(region[order].astype(str), pa.string(), mask=rng.random(m) < 0.01),
            "housing": arrow.enum(HOUSING, housing[order]),
        },
    )


def employment_table(block: Block) -> pa.Table:
    rng = block.rng(S_JOBS)
    cal, n = block.cal, block.n
    stab, age = block.trait("stability"), block.trait("age")
    status = block.status
    tenure = 4.5 * np.exp(0.5 * stab)
    tenure = np.select(
        [status == STUDENT, status == RETIRED, status == UNEMPLOYED],
        [np.full(n, 1.5), np.full(n, 6.0), np.full(n, 0.6)],
        tenure,
    )
    count = 1 + np.minimum(
        rng.poisson(0.7 * np.exp(-0.5 * stab) * np.clip(age - 20, 0, 20) / 10), 4
    )
    person, pos, since, until = _spells(rng, count, tenure, cal.end, 2.0)
    m = person.size
    gap = np.floor(rng.random(m) * 120).astype(np.int64)
    until = np.where(pos == 0, -1, np.maximum(until - gap, since))
    past = np.where(rng.random(m) < sigmoid(-2.5 - 0.5 * stab[person]), UNEMPLOYED, EMPLOYED)
    past = np.where((rng.random(m) < 0.1) & (past == EMPLOYED), SELF_EMPLOYED, past)
    spell_status = np.where(pos == 0, status[person], past)
    works = (spell_status == EMPLOYED) | (spell_status == SELF_EMPLOYED)
    sector = rng.choice(len(SECTORS), size=m, p=_SECTOR_P / _SECTOR_P.sum())
    order = np.lexsort((since, person))
    return arrow.table(
        "employment",
        {
            "person_id": block.person_ids(person[order]),
            "since": arrow.dates(since[order]),
            "until": arrow.dates(np.maximum(until[order], 0), until[order] < 0),
            "status": arrow.enum(EMPLOYMENT, spell_status[order]),
            "sector": pa.array(np.asarray(SECTORS)[sector[order]], pa.string(), mask=~works[order]),
        },
    )
