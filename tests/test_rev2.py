"""REV2 (benchmarks/peers/rev2.py) on tiny graphs whose answer is known."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "peers" / "rev2.py"
_spec = importlib.util.spec_from_file_location("_bench_peers_rev2", _PATH)
assert _spec is not None and _spec.loader is not None
rev2_mod = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = rev2_mod
_spec.loader.exec_module(rev2_mod)
rev2 = rev2_mod.rev2
Rev2Params = rev2_mod.Rev2Params

# nodes 0-3: honest raters; 4-6: good users; 7-8: bad users; 9: the fraudulent rater
HONEST, GOOD, BAD, FRAUD = [0, 1, 2, 3], [4, 5, 6], [7, 8], 9


def market() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Honest raters rate good users +1 and bad users -1; the fraudster the reverse."""
    src, dst, score = [], [], []
    for h in HONEST:
        for g in GOOD:
            src.append(h), dst.append(g), score.append(1.0)
        for b in BAD:
            src.append(h), dst.append(b), score.append(-1.0)
    for g in GOOD:
        src.append(FRAUD), dst.append(g), score.append(-1.0)
    for b in BAD:
        src.append(FRAUD), dst.append(b), score.append(1.0)
    return np.array(src), np.array(dst), np.array(score)


def test_fraudulent_rater_has_the_lowest_fairness() -> None:
    res = rev2(*market(), n=10)
    raters = np.flatnonzero(res.out_degree > 0)
    assert set(raters) == {*HONEST, FRAUD}
    assert res.fairness[FRAUD] == np.nanmin(res.fairness)
    assert res.fairness[FRAUD] < min(res.fairness[HONEST]) - 0.2
    assert res.fraud_score()[FRAUD] == res.fraud_score().max()


def test_users_rated_negatively_by_fair_raters_have_negative_goodness() -> None:
    res = rev2(*market(), n=10)
    assert (res.goodness[BAD] < 0).all()
    assert (res.goodness[GOOD] > 0).all()
    # the fraudster's ratings count for less than the honest ones
    fraud_edges = np.flatnonzero(market()[0] == FRAUD)
    honest_edges = np.flatnonzero(market()[0] != FRAUD)
    assert res.reliability[fraud_edges].max() < res.reliability[honest_edges].min()


def test_converges_to_a_fixed_point() -> None:
    src, dst, score = market()
    res = rev2(src, dst, score, n=10, tol=1e-9, max_iter=500)
    assert res.converged and res.iterations < 500
    assert res.changes[-1] <= 1e-9
    assert res.changes[-1] < res.changes[0]
    # one more iteration from the converged values moves nothing: no stopping artefact
    again = rev2(src, dst, score, n=10, tol=1e-12, max_iter=500)
    np.testing.assert_allclose(again.fairness, res.fairness, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(again.goodness, res.goodness, atol=1e-7, equal_nan=True)


def test_ranges_and_nodes_without_evidence() -> None:
    src, dst, score = market()
    res = rev2(src, dst, score, n=12)  # nodes 10, 11 have no ratings at all
    assert np.isnan(res.fairness[[*GOOD, 10, 11]]).all()  # never rated anyone
    assert np.isnan(res.goodness[[*HONEST, 10, 11]]).all()  # never rated
    f, g = res.fairness[~np.isnan(res.fairness)], res.goodness[~np.isnan(res.goodness)]
    assert (f >= 0).all() and (f <= 1).all()
    assert (g >= -1).all() and (g <= 1).all()
    assert (res.reliability >= 0).all() and (res.reliability <= 1).all()
    assert res.fraud_score()[10] == 0.0


def test_priors_pull_sparse_nodes_towards_the_median() -> None:
    # a user rated -1 once: with a strong goodness prior, less negative than without
    src, dst, score = market()
    src, dst, score = np.r_[src, 0], np.r_[dst, 10], np.r_[score, -1.0]
    weak = rev2(src, dst, score, n=11, params=Rev2Params(beta1=0.0))
    strong = rev2(src, dst, score, n=11, params=Rev2Params(beta1=5.0))
    assert strong.goodness[10] > weak.goodness[10]


def test_behavioural_priors_are_used_when_given() -> None:
    src, dst, score = market()
    prior = np.ones(10)
    prior[FRAUD] = 0.0
    res = rev2(src, dst, score, n=10, params=Rev2Params(alpha2=3.0), user_prior=prior)
    plain = rev2(src, dst, score, n=10)
    assert res.fairness[FRAUD] < plain.fairness[FRAUD]


def test_refusals() -> None:
    src, dst, score = market()
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        rev2(src, dst, score * 10, n=10)
    with pytest.raises(ValueError, match="user_prior is needed"):
        rev2(src, dst, score, n=10, params=Rev2Params(alpha2=1.0))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        rev2(src, dst, score, n=5)
    with pytest.raises(ValueError, match="gamma"):
        Rev2Params(gamma1=0, gamma2=0, gamma3=0)
    with pytest.raises(ValueError, match=">= 0"):
        Rev2Params(alpha1=-1)
    with pytest.raises(ValueError, match="entries"):
        rev2(src, dst[:-1], score, n=10)


def test_parameter_grid_skips_settings_without_reliability() -> None:
    grid = rev2_mod.parameter_grid()
    assert len(grid) == 3 * 3 * 8
    assert all(p.gamma1 + p.gamma2 > 0 for p in grid)
