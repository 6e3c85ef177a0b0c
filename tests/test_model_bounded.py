"""The network factor's safeguards hold on the fitted model, not just in intent."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pyarrow as pa
import pytest

from openbureau.model import FactorAdditiveClassifier, FeatureMeta, load, save

CAP, K = 30.0, 3
METAS = [
    FeatureMeta("late", "history", "Late payments", "decreasing", True),
    FeatureMeta("income", "capacity", "Low income", "increasing", True),
    FeatureMeta("network_contacts", "network", "Few consented contacts", "none", False),
    FeatureMeta(
        "network_default_share", "network", "Defaults among your contacts", "decreasing", False
    ),
]


def population(n: int = 8000, seed: int = 3) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """A strong contact-default signal, so the bounds must shrink what the booster learned."""
    rng = np.random.default_rng(seed)
    late = rng.poisson(0.5, n).astype(float)
    income = rng.lognormal(8, 0.4, n)
    contacts = rng.poisson(4, n)
    risk = rng.beta(1, 6, n)
    defaulted = rng.binomial(contacts, risk)
    share = np.where(contacts > 0, defaulted / np.maximum(contacts, 1), np.nan)
    logit = -3.2 + 0.8 * late - 0.6 * (np.log(income) - 8) / 0.4 + 7.0 * np.nan_to_num(share)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    table = pa.table(
        {
            "late": late,
            "income": income,
            "network_contacts": contacts.astype(float),
            "network_default_share": share,
        }
    )
    return table, y, contacts


@pytest.fixture(scope="module")
def fitted():
    table, y, contacts = population()
    model = FactorAdditiveClassifier(
        METAS,
        n_estimators=150,
        num_threads=1,
        network_cap=CAP,
        network_min_contacts=K,
        network_exposures=["network_default_share"],
    ).fit(table, y)
    return model, table, contacts


def with_share(table: pa.Table, share: np.ndarray) -> pa.Table:
    i = table.column_names.index("network_default_share")
    return table.set_column(i, "network_default_share", pa.array(share))


def test_the_bounds_bind_on_a_strong_network_signal(fitted):
    model, _, _ = fitted
    report = model.network_bound_
    assert report["one_contact_points_before"][0] > CAP / K  # the booster alone breaks it
    assert report["one_contact_shrink"][0] < 1.0


def test_the_network_sub_score_spans_at_most_the_cap(fitted):
    model, table, contacts = fitted
    j = [m.name for m in model.features_].index("network_default_share")
    grid = np.linspace(0, 1, 101)
    eligible = contacts >= K
    rows = table.filter(pa.array(eligible)).slice(0, 200)
    subs = []
    for v in grid:
        res = model.score_breakdown(with_share(rows, np.full(rows.num_rows, v)))
        subs.append(res.subscores[:, res.factors.index("network")])
    spread = np.ptp(np.array(subs), axis=0)
    assert spread.max() <= CAP + 1e-9
    assert spread.max() > 0  # the factor still does something
    assert j >= 0


def test_one_contact_moves_a_score_by_at_most_cap_over_k(fitted):
    model, table, contacts = fitted
    share = table.column("network_default_share").to_numpy(zero_copy_only=False)
    n = np.maximum(contacts, 1)
    base = model.predict_score(table)
    moved = 0.0
    for step in (+1, -1):  # one more, or one fewer, contact with a recorded default
        flipped = np.clip(share + step / n, 0, 1)
        delta = np.abs(model.predict_score(with_share(table, flipped)) - base)
        ok = contacts >= K
        assert delta[ok].max() <= CAP / K + 1e-9
        moved = max(moved, delta[ok].max())
        assert np.all(delta[~ok] == 0)  # few contacts: the neutral sub-score, whatever they do
    assert moved > 1.0  # the check is not vacuous


def test_few_contacts_get_the_neutral_sub_score_and_no_network_reason(fitted):
    model, table, contacts = fitted
    res = model.score_breakdown(table)
    net = res.factors.index("network")
    few = contacts < K
    seg = res.segment[few]
    assert np.allclose(res.subscores[few, net], np.round(model.scorer_.neutral_points[seg], 1))
    members = set(model.network_gate_.members)
    assert not np.isin(res.reason_index[few], list(members)).any()
    # neutral is the average of people with enough contacts: never the worst
    assert np.all(model.scorer_.neutral_points > 0)
    assert abs(res.subscores[~few, net].mean() - res.subscores[few, net].mean()) < CAP / 4


def test_the_safeguards_survive_an_artifact_round_trip(fitted, tmp_path):
    model, table, _ = fitted
    back = load(save(model, tmp_path / "m", catalog_version="v1"))
    assert np.array_equal(back.predict_score(table), model.predict_score(table))
    card = (tmp_path / "m" / "model_card.md").read_text()
    assert f"one contact's recorded default moves a score by at most {CAP / K:.1f}" in card
    assert "Network factor safeguards" in card


def test_bad_bound_parameters_are_refused():
    table, y, _ = population(300)
    with pytest.raises(ValueError, match="network_cap"):
        FactorAdditiveClassifier(METAS, network_cap=0).fit(table, y)
    with pytest.raises(ValueError, match="network_min_contacts"):
        FactorAdditiveClassifier(METAS, network_min_contacts=0).fit(table, y)
    with pytest.raises(TypeError, match="network_exposures"):
        FactorAdditiveClassifier(METAS, network_exposures="network_default_share").fit(table, y)
    with pytest.raises(ValueError, match="not network features"):
        FactorAdditiveClassifier(METAS, n_estimators=5, network_exposures=["late"]).fit(table, y)


def test_the_published_factor_maximum_respects_the_cap(fitted):
    model, _, _ = fitted
    assert model.factor_ranges()["network"].max() <= CAP + 1e-9


def test_network_reasons_are_aggregate_with_no_value_or_digits(fitted):
    from openbureau.explain import explain

    model, table, contacts = fitted
    rows = table.filter(pa.array(contacts >= K)).slice(0, 300)
    network = [r for e in explain(model, rows) for r in e.reasons if r.factor == "network"]
    assert network  # the check is not vacuous: network reasons do appear
    assert all(r.value is None for r in network)
    assert not any(ch.isdigit() for r in network for ch in r.text)
