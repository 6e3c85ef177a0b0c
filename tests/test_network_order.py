"""Renumbering people for locality changes how fast the walks run, never what they give:
features under every numbering equal the identity numbering's (to the bit in float64,
where the walk's grid makes every sum exact; to 1e-6 in float32), in the caller's
numbering; the orders are permutations that keep the graph; the community order puts most
contacts close together."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.network import FEATURES, NetworkConfig, network_features
from openbureau.network.sparse import (
    ORDERS,
    _product,
    contact_matrix,
    contact_pairs,
    locality_order,
    permute,
)

AS_OF = dt.date(2025, 1, 1)


def community_graph(
    rng: np.random.Generator, n: int, size: int, inside: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """About 4 contacts a person, most inside communities of ``size``, ids shuffled;
    some people have no contact at all (other components of one)."""
    m = 2 * n
    community = rng.integers(0, max(1, n // size), n)
    members = [np.flatnonzero(community == c) for c in range(community.max() + 1)]
    src = rng.integers(0, n, m)
    own = [members[community[s]] for s in src]
    near = np.array([o[rng.integers(0, o.size)] for o in own])
    dst = np.where(rng.random(m) < inside, near, rng.integers(0, n, m))
    keep = src != dst
    return src[keep], dst[keep]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 300),
    k=st.integers(1, 6),
    steps=st.integers(1, 12),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_every_numbering_gives_the_same_features(
    seed: int, n: int, k: int, steps: int, dtype: type
) -> None:
    rng = np.random.default_rng(seed)
    src, dst = community_graph(rng, n, size=int(rng.integers(2, 40)))
    m = src.size
    args = dict(
        src=src, dst=dst, n=n,
        defaulted=rng.random(n) < 0.2, borrower=rng.random(n) < 0.7,
        fold=rng.integers(0, 5, n),
        kind=rng.integers(0, 5, m), since=rng.integers(19000, 20200, m),
        interactions=rng.integers(0, 50, m), consented=rng.random(m) < 0.9, as_of=AS_OF,
        config=NetworkConfig(min_contacts=k, steps=steps), dtype=dtype,
    )  # fmt: skip
    base = network_features(**args, order="none")
    for order in ORDERS:
        out = network_features(**args, order=order)
        assert list(out) == list(FEATURES)
        for name in FEATURES:
            if dtype is np.float64:  # another numbering sums in another order: same bits
                np.testing.assert_array_equal(out[name], base[name])
            else:
                np.testing.assert_allclose(out[name], base[name], rtol=0, atol=1e-6)
            assert np.array_equal(np.isnan(out[name]), np.isnan(base[name]))


def test_every_order_is_a_permutation_and_permute_renumbers_the_matrix() -> None:
    rng = np.random.default_rng(3)
    n = 600
    src, dst = community_graph(rng, n, size=30)
    matrix, _ = contact_matrix(contact_pairs(src, dst, n))
    dense = matrix.toarray()
    for order in ORDERS:
        perm = locality_order(matrix, order)
        assert perm.dtype == np.int32
        assert np.array_equal(np.sort(perm), np.arange(n))
        moved = permute(matrix, perm)
        assert moved.indices.dtype == np.int32
        assert np.array_equal(moved.toarray(), dense[perm][:, perm])
    assert np.array_equal(locality_order(matrix, "community"), locality_order(matrix, "community"))


@pytest.mark.parametrize(("order", "local"), [("community", 0.25), ("none", None)])
def test_the_community_order_puts_many_contacts_close_together(
    order: str, local: float | None
) -> None:
    """The point of renumbering: with shuffled ids the two ends of a pair are anywhere
    (about 1 % of pairs within 100 places of each other among 20,000 people with about four
    contacts each; measured 35-36 % with the community order over five seeds, RCM 6 %).
    """
    rng = np.random.default_rng(5)
    n = 20_000
    src, dst = community_graph(rng, n, size=100, inside=0.8)
    matrix, _ = contact_matrix(contact_pairs(src, dst, n))
    moved = permute(matrix, locality_order(matrix, order))
    rows = np.repeat(np.arange(n), np.diff(moved.indptr))
    close = float(np.mean(np.abs(rows - moved.indices) < 100))
    if local is None:
        assert close < 0.03
    else:
        assert close > local


def test_the_product_writes_into_the_given_block() -> None:
    rng = np.random.default_rng(1)
    n = 500
    src, dst = community_graph(rng, n, size=20)
    matrix, _ = contact_matrix(contact_pairs(src, dst, n))
    x = rng.random((n, 10))
    out = np.full_like(x, np.nan)
    before = out.ctypes.data
    _product(matrix, x, out)
    assert out.ctypes.data == before
    np.testing.assert_allclose(out, matrix @ x, rtol=0, atol=1e-15)


def test_an_unknown_order_is_refused() -> None:
    matrix, _ = contact_matrix(contact_pairs(np.array([0]), np.array([1]), 2))
    with pytest.raises(ValueError, match="order"):
        locality_order(matrix, "random")
