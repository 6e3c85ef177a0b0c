"""The true 12-month default probability: five additive factor terms on the log-odds scale.

Each term is a function of that factor's latent traits only (the network term of the
person's contacts), with thresholds and saturation so a boosted model has shape to find.
The intercept is solved so the expected default rate hits the target, then labels are drawn.
"""

from __future__ import annotations

import numpy as np

from openbureau.sim.calendar import Calendar
from openbureau.sim.config import SimConfig
from openbureau.sim.network import Graph, contact_mean
from openbureau.sim.population import (
    NO_DEFAULT,
    STREAM_LABELS,
    Population,
    global_rng,
    sigmoid,
)

FACTORS = ("history", "behavior", "capacity", "identity", "network")
# Days between the start of delinquency and the end of the window: the next due date
# (up to ~46 days away), 90 days past due, and some slack.
DEFAULT_ROOM = 140
LOG_INCOME_MEAN, LOG_INCOME_SD = 7.7, 0.45


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def own_terms(pop: Population) -> dict[str, np.ndarray]:
    """The four factor terms that depend on the person alone (positive = riskier)."""
    f8 = np.float64
    disc = pop.discipline.astype(f8)
    prud = pop.prudence.astype(f8)
    # Beyond a point, better payers are not safer: spotless records all look alike.
    history = -0.55 * np.minimum(disc, 1.0) + 0.5 * _relu(-disc - 1.0) + 0.2 * pop.thin
    behavior = (
        -0.18 * prud
        + 0.7 * np.tanh(pop.gambling.astype(f8) / 0.08)
        + 3.5 * _relu(pop.cash.astype(f8) - 0.06)
        + 0.5 * _relu(0.55 - pop.regularity.astype(f8))
    )
    log_income = (np.log(pop.income.astype(f8)) - LOG_INCOME_MEAN) / LOG_INCOME_SD
    capacity = (
        -0.2 * np.clip(log_income, -3.0, 2.0)
        + 0.6 * sigmoid(-3.0 * (np.log(pop.buffer.astype(f8)) + 1.2))
        + 1.6 * _relu(pop.debt_load.astype(f8) - 0.45) * ~pop.thin
    )
    stab = pop.stability.astype(f8)
    identity = -0.2 * stab + 0.25 * _relu(-stab - 1.0)
    return {"history": history, "behavior": behavior, "capacity": capacity, "identity": identity}


def network_term(
    pop: Population, graph: Graph, base: np.ndarray, cal: Calendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Risk from consented contacts known at as_of: their mean own risk, shrunk when few."""
    degree, mean = contact_mean(graph, pop.size, base, cal.as_of)
    has = degree > 0
    z = np.zeros(pop.size)
    if has.sum() > 1:
        z[has] = (mean[has] - mean[has].mean()) / max(mean[has].std(), 1e-9)
    term = has * (0.35 * degree / (degree + 2.0) * z + 0.3 * _relu(z - 1.0))
    return term, degree, z


def solve_intercept(logit: np.ndarray, target: float) -> float:
    """The constant c with mean(sigmoid(c + logit)) == target (safeguarded Newton)."""
    lo, hi = -40.0, 40.0
    c = float(np.log(target / (1 - target)) - np.median(logit))
    for _ in range(100):
        p = sigmoid(c + logit)
        f = p.mean() - target
        if abs(f) < 1e-10:
            break
        if f > 0:
            hi = c
        else:
            lo = c
        slope = (p * (1 - p)).mean()
        step = c - f / slope if slope > 0 else (lo + hi) / 2
        c = step if lo < step < hi else (lo + hi) / 2
    return c


def assign_risk(pop: Population, graph: Graph, cfg: SimConfig, cal: Calendar) -> None:
    """Fill the factor logits, intercept, true PDs, labels and default start dates."""
    terms = own_terms(pop)
    base = np.sum(list(terms.values()), axis=0)
    network, degree, contact_z = network_term(pop, graph, base, cal)
    terms["network"] = network
    logit = base + network
    pop.intercept = solve_intercept(logit, cfg.target_default_rate)
    pop.true_pd = sigmoid(pop.intercept + logit)
    pop.logits = {k: v.astype(np.float32) for k, v in terms.items()}
    pop.degree = degree
    pop.contact_risk = contact_z.astype(np.float32)
    rng = global_rng(cfg.seed, STREAM_LABELS)
    pop.defaulted = rng.random(pop.size) < pop.true_pd
    room = max(1, cal.end - DEFAULT_ROOM - cal.as_of)
    start = cal.as_of + 1 + np.floor(rng.random(pop.size) * room).astype(np.int64)
    pop.default_start = np.where(pop.defaulted, start, NO_DEFAULT).astype(np.int32)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    label = np.asarray(label, bool)
    pos = int(label.sum())
    neg = label.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mid_rank = ends - (counts - 1) / 2.0  # average 1-based rank of each distinct value
    rank_sum = mid_rank[inverse][label].sum()
    return float((rank_sum - pos * (pos + 1) / 2.0) / (pos * neg))
