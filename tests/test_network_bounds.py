"""The network engine on plain arrays: the 1/k bound on random graphs with hubs and cliques,
out-of-fold seeds, consent and as_of filtering, merged pairs, bad input refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.features import CATALOG
from openbureau.network import (
    FEATURES,
    SEED_DEPENDENT,
    NetworkConfig,
    network_features,
)

AS_OF = dt.date(2025, 1, 1)


def matrix(out: dict[str, np.ndarray], names: tuple[str, ...] = FEATURES) -> np.ndarray:
    return np.column_stack([out[name] for name in names])


def random_graph(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse random edges plus a hub linked to most people and a clique of six."""
    m = int(rng.integers(n, 3 * n))
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    hub = int(rng.integers(0, n))
    others = np.setdiff1d(rng.choice(n, size=n * 2 // 3, replace=False), [hub])
    clique = rng.choice(n, size=6, replace=False)
    ci, cj = np.triu_indices(6, 1)
    src = np.concatenate([src, np.full(others.size, hub), clique[ci]])
    dst = np.concatenate([dst, others, clique[cj]])
    keep = src != dst
    return src[keep], dst[keep]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(8, 40),
    k=st.integers(1, 6),
    steps=st.integers(1, 12),
    restart=st.floats(0.05, 0.95),
    borrower_share=st.floats(0.0, 1.0),
)
def test_flipping_one_record_moves_any_seed_feature_by_at_most_one_over_k(
    seed: int, n: int, k: int, steps: int, restart: float, borrower_share: float
) -> None:
    rng = np.random.default_rng(seed)
    src, dst = random_graph(rng, n)
    borrower = rng.random(n) < borrower_share
    defaulted = rng.random(n) < 0.3
    fold = rng.integers(0, 3, n)
    config = NetworkConfig(min_contacts=k, steps=steps, restart=restart, folds=3)
    base = matrix(network_features(src, dst, n, defaulted, borrower, fold, config=config),
                  SEED_DEPENDENT)  # fmt: skip
    known = ~np.isnan(base)
    assert ((base[known] >= 0) & (base[known] <= 1)).all()
    for u in range(n):
        flipped = defaulted.copy()
        flipped[u] = not flipped[u]
        out = network_features(src, dst, n, flipped, borrower, fold, config=config)
        moved = np.abs(matrix(out, SEED_DEPENDENT) - base)
        assert np.array_equal(np.isnan(moved), ~known)
        worst = float(np.nanmax(moved)) if known.any() else 0.0
        # two walks, each rounded to the grid: within twice the rounding bound of exact
        bound = 1.0 / k + 2 * config.rounding_bound
        assert worst <= bound, f"flipping {u} moved a feature by {worst} > 1/{k}"


def test_the_bound_is_tight_for_a_share() -> None:
    """Exactly k contacts, one of whom defaults: the share moves by exactly 1/k."""
    src, dst = np.zeros(3, int), np.array([1, 2, 3])
    fold = np.array([0, 1, 1, 1])
    none, one = np.zeros(4, bool), np.array([False, True, False, False])
    a = network_features(src, dst, 4, none, ~none, fold)
    b = network_features(src, dst, 4, one, ~none, fold)
    assert b["network_default_share"][0] - a["network_default_share"][0] == pytest.approx(1 / 3)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(8, 30))
def test_a_persons_own_record_never_reaches_their_own_features(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    src, dst = random_graph(rng, n)
    borrower, defaulted = rng.random(n) < 0.6, rng.random(n) < 0.3
    fold = rng.integers(0, 4, n)
    base = matrix(network_features(src, dst, n, defaulted, borrower, fold))
    for v in range(n):
        for d, b in ((~defaulted[v], borrower[v]), (defaulted[v], ~borrower[v])):
            dd, bb = defaulted.copy(), borrower.copy()
            dd[v], bb[v] = d, b
            own = matrix(network_features(src, dst, n, dd, bb, fold))[v]
            np.testing.assert_array_equal(own, base[v])


def test_folds_stop_the_return_walk_that_would_carry_ones_own_default() -> None:
    """0 defaulted, with contacts 1, 2, 3: without folds (P^2 d)(0) = 3 * 1/3 * 1/3 = 1/3,
    all of it 0's own default coming back; out of fold it is 0, while contacts see it."""
    src, dst = np.array([0, 0, 0]), np.array([1, 2, 3])
    defaulted = np.array([True, False, False, False])
    out = network_features(src, dst, 4, defaulted, np.ones(4, bool), np.array([0, 1, 1, 1]))
    assert out["network_two_hop_exposure"][0] == 0.0
    assert out["network_default_share"][0] == 0.0
    assert out["network_default_share"][1] == pytest.approx(1 / 3)  # one contact of max(1, 3)


def test_hand_computed_values() -> None:
    # 0 has contacts 1, 2, 3, 4 (1 defaulted, other fold): share 1/4; 5 has contacts 0, 6
    # (k = 3): share 0 and each of its two contacts counts 1/3.
    src = np.array([0, 0, 0, 0, 5, 5])
    dst = np.array([1, 2, 3, 4, 0, 6])
    defaulted = np.array([False, True, False, False, False, False, True])
    fold = np.array([0, 1, 1, 1, 1, 0, 1])
    out = network_features(src, dst, 7, defaulted, np.ones(7, bool), fold)
    assert out["network_contacts"].tolist() == [5, 1, 1, 1, 1, 2, 1]
    assert out["network_default_share"][0] == pytest.approx(1 / 5)
    assert out["network_default_share"][5] == pytest.approx(1 / 3)  # 6 defaulted, 1 of max(2, 3)
    # two steps from 5: 5 -> 0 (1/3) -> 1 (1/5)
    assert out["network_two_hop_exposure"][5] == pytest.approx(1 / 15)
    assert np.isnan(network_features(src, dst, 8, np.r_[defaulted, False], np.ones(8, bool),
                                     np.r_[fold, 0])["network_default_share"][7])  # fmt: skip


def test_the_walk_ratio_is_a_default_rate_not_popularity() -> None:
    """Two stars, one centre with twice the contacts; equal default rates give equal ratios."""
    small = [(0, i) for i in range(1, 5)]
    big = [(5, i) for i in range(6, 14)]
    src, dst = np.array([e for e, _ in small + big]), np.array([c for _, c in small + big])
    defaulted = np.zeros(14, bool)
    defaulted[[1, 6, 7]] = True  # a quarter of each star's leaves
    fold = np.array([0] + [1] * 4 + [0] + [1] * 8)
    out = network_features(src, dst, 14, defaulted, np.ones(14, bool), fold,
                           config=NetworkConfig(steps=1, prior_mass=1.0))  # fmt: skip
    share = out["network_default_share"]
    assert share[0] == share[5] == pytest.approx(0.25)
    r = out["network_walk_default_ratio"]
    assert abs(r[0] - r[5]) < 0.05 and 0 < r[0] < 1


def test_unusable_edges_change_nothing() -> None:
    rng = np.random.default_rng(5)
    n = 30
    src, dst = random_graph(rng, n)
    m = src.size
    kind, since = rng.integers(0, 5, m), np.full(m, np.datetime64("2024-06-01"))
    inter, ok = rng.integers(0, 50, m), np.ones(m, bool)
    d, b, fold = rng.random(n) < 0.3, rng.random(n) < 0.6, rng.integers(0, 5, n)

    def features(extra: int, since_extra: str, consent_extra: bool) -> np.ndarray:
        s = np.r_[src, np.arange(extra)]
        t = np.r_[dst, np.arange(1, extra + 1)]
        out = network_features(
            s, t, n, d, b, fold,
            kind=np.r_[kind, np.zeros(extra, int)],
            since=np.r_[since, np.full(extra, np.datetime64(since_extra))],
            interactions=np.r_[inter, np.full(extra, 99)],
            consented=np.r_[ok, np.full(extra, consent_extra)], as_of=AS_OF,
        )  # fmt: skip
        return matrix(out)

    base = features(0, "2024-01-01", True)
    np.testing.assert_array_equal(features(10, "2025-01-01", True), base)  # since = as_of
    np.testing.assert_array_equal(features(10, "2026-03-01", True), base)
    np.testing.assert_array_equal(features(10, "2020-01-01", False), base)  # no consent
    assert not np.array_equal(features(10, "2024-12-31", True), base, equal_nan=True)


def test_a_pair_listed_per_kind_is_one_contact() -> None:
    src, dst = np.array([0, 1, 0, 0]), np.array([1, 0, 2, 3])
    kind = np.array(["family", "colleague", "friend", "friend"])
    since = np.array(["2020-01-01", "2022-01-01", "2024-01-01", "2024-01-01"], "datetime64[D]")
    out = network_features(
        src,
        dst,
        4,
        np.zeros(4, bool),
        np.ones(4, bool),
        kind=kind,
        since=since,
        interactions=np.array([4, 6, 1, 1]),
        as_of=AS_OF,
    )
    assert out["network_contacts"].tolist() == [3, 1, 1, 1]
    assert out["network_family_contacts"].tolist() == [1, 1, 0, 0]
    assert out["network_colleague_contacts"].tolist() == [1, 1, 0, 0]
    assert out["network_friend_contacts"].tolist() == [2, 0, 1, 1]
    assert out["network_interactions_per_contact"][0] == pytest.approx(12 / 3)
    months = (np.array([1827, 366, 366]) / 30.4375).mean()  # earliest date of each pair
    assert out["network_tenure_months"][0] == pytest.approx(months)


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"src": np.array([0, 1]), "dst": np.array([0, 2])}, ValueError, "src and dst"),
        ({"dst": np.array([1, 9])}, ValueError, "dst"),
        ({"src": np.array([-1, 1])}, ValueError, "src"),
        ({"dst": np.array([1])}, ValueError, "dst"),
        ({"src": np.array([0.0, 1.0])}, TypeError, "src"),
        ({"defaulted": np.zeros(3, bool)}, ValueError, "defaulted"),
        ({"borrower": np.array([0, 2, 1, 0])}, TypeError, "borrower"),
        ({"fold": np.array([0, 1, -1, 0])}, ValueError, "fold"),
        ({"kind": np.array(["family", "enemy"])}, ValueError, "kind"),
        ({"since": np.array([1, 2])}, ValueError, "as_of"),
        ({"interactions": np.array([1, -2])}, ValueError, "interactions"),
        ({"n": 2.5}, TypeError, "n"),
    ],
)
def test_bad_input_is_refused_naming_the_field(change: dict, error: type, field: str) -> None:
    args = {"src": np.array([0, 1]), "dst": np.array([1, 2]), "n": 4,
            "defaulted": np.zeros(4, bool), "borrower": np.ones(4, bool)}  # fmt: skip
    args.update(change)
    with pytest.raises(error, match=re.escape(field)):
        network_features(**args)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"min_contacts": 0}, ValueError),
        ({"min_contacts": 2.0}, TypeError),
        ({"restart": 1.0}, ValueError),
        ({"restart": "0.1"}, TypeError),
        ({"steps": 0}, ValueError),
        ({"folds": 1}, ValueError),
        ({"prior_mass": 0.5}, ValueError),
    ],
)
def test_bad_config_is_refused(change: dict, error: type) -> None:
    field = next(iter(change))
    with pytest.raises(error, match=field):
        dataclasses.replace(NetworkConfig(), **change)


def test_reasons_are_aggregate_words_without_digits_or_ids() -> None:
    network = [s for s in CATALOG if s.factor == "network"]
    assert [s.name for s in network] == list(FEATURES)
    for s in network:
        assert not re.search(r"\d", s.reason), s.name
        assert not re.search(r"\b[A-Z]+\d|person_|P0", s.reason), s.name
        assert not s.actionable
    directions = {s.name: s.direction for s in network}
    assert all(directions[name] == "decreasing" for name in SEED_DEPENDENT)
