"""The population's latent traits: who is creditworthy, and why, before any event is drawn.

Traits for the whole population fit in memory (a few float32 arrays); events are drawn
later, block by block, from these traits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openbureau.sim.calendar import Calendar, from_days
from openbureau.sim.config import SimConfig

# Random streams: global ones are keyed (seed, 1, stream), per-block ones (seed, 0, block,
# stream), so adding a stream or a table never shifts the draws of another.
STREAM_COMMUNITIES = 1
STREAM_TRAITS = 2
STREAM_GRAPH = 3
STREAM_LABELS = 4

NO_DEFAULT = np.iinfo(np.int32).max  # default_start of people who do not default

COUNTRIES = ("DE", "FR", "NL", "AT", "PL", "ES")
COUNTRY_WEIGHTS = (0.42, 0.2, 0.1, 0.08, 0.12, 0.08)
MEAN_COMMUNITY = 80


def global_rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, 1, stream])


def block_rng(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, 0, block, stream])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Population:
    """Latent traits and, once ``risk.assign_risk`` ran, true PDs and labels."""

    size: int
    community: np.ndarray  # int32
    community_region: np.ndarray  # int32 region code per community
    community_country: np.ndarray  # int8 country code per community
    age: np.ndarray  # float32 years at the end of the window
    thin: np.ndarray  # bool: a recent, shallow credit file
    first_seen: np.ndarray  # int32 days
    general: np.ndarray  # overall creditworthiness, shared by the factor traits
    discipline: np.ndarray  # history: how reliably the person pays
    prudence: np.ndarray  # behavior: spending prudence
    gambling: np.ndarray  # behavior: share of purchases that are gambling (0 for most)
    cash: np.ndarray  # behavior: share of purchases that are cash withdrawals
    regularity: np.ndarray  # behavior: 0..1, steadiness of spending
    capacity: np.ndarray  # capacity: latent earning and saving power
    income: np.ndarray  # capacity: monthly net income
    buffer: np.ndarray  # capacity: savings in months of income
    debt_load: np.ndarray  # capacity: 0..1, how much of available credit is drawn
    stability: np.ndarray  # identity: stability of address, work and verified facts
    activity: np.ndarray  # transaction volume multiplier (mean 1)
    logits: dict[str, np.ndarray] = field(default_factory=dict)
    intercept: float = 0.0
    true_pd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    defaulted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    default_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    degree: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    contact_risk: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def _z(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


def build_population(cfg: SimConfig, cal: Calendar) -> Population:
    """Draw communities and latent traits for every person."""
    n = cfg.people
    rng = global_rng(cfg.seed, STREAM_COMMUNITIES)
    # Communities grow with the contact count, or dense graphs would saturate them.
    n_comm = max(1, round(n / max(MEAN_COMMUNITY, 10.0 * cfg.mean_contacts)))
    weights = rng.lognormal(0.0, 0.9, n_comm)
    community = rng.choice(n_comm, size=n, p=weights / weights.sum()).astype(np.int32)
    quality = rng.standard_normal(n_comm)
    region = rng.integers(10_000, 99_999, n_comm).astype(np.int32)
    country = rng.choice(len(COUNTRIES), size=n_comm, p=COUNTRY_WEIGHTS).astype(np.int8)

    rng = global_rng(cfg.seed, STREAM_TRAITS)
    age = np.clip(18.0 + rng.gamma(2.2, 10.0, n), 18.0, 95.0)
    age_z = np.clip((age - 40.0) / 15.0, -1.5, 2.0)
    general = 0.5 * quality[community] + 0.15 * age_z + 0.85 * _z(rng, n)
    general = (general - general.mean()) / max(general.std(), 1e-9) if n > 1 else general
    discipline = 0.75 * general + 0.66 * _z(rng, n)
    prudence = 0.6 * general + 0.8 * _z(rng, n)
    gambler = rng.random(n) < sigmoid(-2.7 - 0.9 * prudence)
    gambling = gambler * sigmoid(-2.2 - 0.5 * prudence + 0.6 * _z(rng, n))
    cash = sigmoid(-2.9 - 0.6 * prudence + 0.5 * _z(rng, n))
    regularity = sigmoid(0.4 + 0.9 * prudence + 0.5 * _z(rng, n))
    capacity = 0.6 * general + 0.8 * _z(rng, n)
    income = np.exp(7.75 + 0.4 * capacity + 0.12 * _z(rng, n) - 0.25 * ((age - 48.0) / 20.0) ** 2)
    buffer = np.exp(-0.3 + 1.0 * capacity + 0.45 * _z(rng, n))
    debt_load = sigmoid(-1.0 - 0.6 * capacity - 0.5 * prudence + 0.5 * _z(rng, n))
    stability = 0.5 * general + 0.35 * age_z + 0.75 * _z(rng, n)
    activity = np.exp(0.35 * _z(rng, n) - 0.06125)

    thin = rng.random(n) < sigmoid(0.9 - 0.16 * (age - 18.0))
    as_of = cal.as_of
    thin_days = rng.integers(14, 366, n)
    est_years = 1.0 + np.minimum(age - 18.0, 35.0) * rng.uniform(0.15, 1.0, n)
    first_seen = np.where(thin, as_of - thin_days, as_of - np.floor(est_years * 365.25))
    f32 = np.float32
    return Population(
        size=n,
        community=community,
        community_region=region,
        community_country=country,
        age=age.astype(f32),
        thin=thin,
        first_seen=first_seen.astype(np.int32),
        general=general.astype(f32),
        discipline=discipline.astype(f32),
        prudence=prudence.astype(f32),
        gambling=gambling.astype(f32),
        cash=cash.astype(f32),
        regularity=regularity.astype(f32),
        capacity=capacity.astype(f32),
        income=income.astype(f32),
        buffer=buffer.astype(f32),
        debt_load=debt_load.astype(f32),
        stability=stability.astype(f32),
        activity=activity.astype(f32),
    )


def birth_years(pop: Population, cal: Calendar) -> np.ndarray:
    return (from_days(cal.end).year - np.floor(pop.age)).astype(np.int64)
