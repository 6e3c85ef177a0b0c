"""The relationship graph: heavy-tailed degrees, communities that share risk, consents.

Edges are drawn for the whole population at once as int arrays (a Chung-Lu style
graph: each endpoint is picked in proportion to a heavy-tailed sociability weight,
most second endpoints inside the first one's community), then deduplicated on an
int64 pair key. They are written in parts aligned with the person chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openbureau.sim import arrow
from openbureau.sim.calendar import Calendar
from openbureau.sim.config import SimConfig
from openbureau.sim.population import STREAM_GRAPH, Population, global_rng

KINDS = ("family", "friend", "colleague", "business", "other")
_KIND_IN = np.cumsum([0.22, 0.5, 0.18, 0.04, 0.06])  # inside a community
_KIND_OUT = np.cumsum([0.03, 0.37, 0.35, 0.15, 0.10])  # across communities
_INTERACTIONS = np.array([40.0, 15.0, 10.0, 4.0, 2.0])  # mean interactions by kind
P_INSIDE = 0.8  # share of edges inside a community: homophily
P_ISOLATED = 0.1  # people nobody links to
PARETO_SHAPE = 2.2  # tail of the sociability weights: most have few contacts, some many
P_CONSENT = 0.9
EDGE_BATCH = 1 << 22  # fixed, so draws do not depend on memory settings
STUBS_PER_WEIGHT = 4.0


@dataclass
class Graph:
    """Undirected edges with person_a < person_b, sorted by (person_a, person_b)."""

    a: np.ndarray  # int32 or int64 person index
    b: np.ndarray
    kind: np.ndarray  # int8 code into KINDS
    since: np.ndarray  # int32 days
    consent_a: np.ndarray  # bool
    consent_b: np.ndarray  # bool
    interactions: np.ndarray  # int32

    def __len__(self) -> int:
        return int(self.a.size)

    def span(self, lo: int, hi: int) -> slice:
        """Edges whose person_a is in [lo, hi)."""
        return slice(*np.searchsorted(self.a, [lo, hi]).tolist())


def _sample(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)


def build_graph(pop: Population, cfg: SimConfig, cal: Calendar) -> Graph:
    """Draw ``mean_contacts / 2`` edges per person, keep unique non-self pairs.

    Endpoints are drawn in fixed-size batches into one int64 pair-key array, which is
    sorted and deduplicated in place, so 100M edges need a few GB, not tens.
    """
    n = pop.size
    rng = global_rng(cfg.seed, STREAM_GRAPH)
    weight = (1.0 - rng.random(n)) ** (-1.0 / PARETO_SHAPE)
    weight = np.minimum(weight, 200.0)
    weight[rng.random(n) < P_ISOLATED + 0.1 * pop.thin] = 0.0
    n_edges = round(n * cfg.mean_contacts / 2.0)
    idx_dtype = np.int32 if n < 2**31 - 1 else np.int64
    if n < 2 or n_edges == 0 or weight.sum() == 0:
        return _empty(idx_dtype)

    # Sampling in proportion to weight = picking a random "stub": person i holds about
    # 4 * weight_i stubs. Stubs sorted by community make within-community draws O(1).
    stub_count = np.floor(weight * STUBS_PER_WEIGHT + rng.random(n)).astype(np.int64)
    order = np.argsort(pop.community, kind="stable")
    stubs = np.repeat(order.astype(idx_dtype), stub_count[order])
    n_comm = int(pop.community_region.size)
    comm_len = np.bincount(pop.community, weights=stub_count, minlength=n_comm).astype(np.int64)
    comm_start = np.cumsum(comm_len) - comm_len
    del order, stub_count

    keys = np.empty(n_edges, np.int64)
    for s in range(0, n_edges, EDGE_BATCH):
        e = min(n_edges, s + EDGE_BATCH) - s
        a = stubs[rng.integers(0, stubs.size, e)].astype(np.int64)
        inside = rng.random(e) < P_INSIDE
        ca = pop.community[a]
        b_in = stubs[comm_start[ca] + np.floor(rng.random(e) * comm_len[ca]).astype(np.int64)]
        b = np.where(inside, b_in, stubs[rng.integers(0, stubs.size, e)]).astype(np.int64)
        key = np.minimum(a, b) * n + np.maximum(a, b)
        keys[s : s + e] = np.where(a == b, -1, key)  # self-loops sort first, then drop
    del stubs, comm_len, comm_start
    keys.sort()
    distinct = np.empty(keys.size, bool)
    distinct[0] = keys[0] >= 0
    np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
    distinct &= keys >= 0
    keys = keys[distinct]
    del distinct
    ea = np.empty(keys.size, idx_dtype)
    eb = np.empty(keys.size, idx_dtype)
    for s in range(0, keys.size, EDGE_BATCH):
        ea[s : s + EDGE_BATCH], eb[s : s + EDGE_BATCH] = np.divmod(keys[s : s + EDGE_BATCH], n)
    del keys
    return _attributes(ea, eb, pop, cal, rng)


def _attributes(
    ea: np.ndarray, eb: np.ndarray, pop: Population, cal: Calendar, rng: np.random.Generator
) -> Graph:
    """Kind, since, interactions and consents of each edge, drawn batch by batch."""
    m = ea.size
    kind = np.empty(m, np.int8)
    since = np.empty(m, np.int32)
    interactions = np.empty(m, np.int32)
    consent_a = np.empty(m, bool)
    consent_b = np.empty(m, bool)
    for s in range(0, m, EDGE_BATCH):
        sl = slice(s, min(m, s + EDGE_BATCH))
        a, b = ea[sl], eb[sl]
        e = a.size
        same = pop.community[a] == pop.community[b]
        u = rng.random(e)
        k = np.where(same, _sample(_KIND_IN, u), _sample(_KIND_OUT, u))
        kind[sl] = k
        # Most relationships were recorded before as_of; about one in eight is new since then.
        back = np.floor(rng.gamma(1.5, 500.0, e)).astype(np.int64)
        new = rng.random(e) < 0.12
        fresh = cal.as_of + 1 + np.floor(rng.random(e) * (cal.end - cal.as_of)).astype(np.int64)
        day = np.where(new, fresh, cal.as_of - 1 - back)
        joined = np.maximum(pop.first_seen[a], pop.first_seen[b]).astype(np.int64)
        since[sl] = np.minimum(np.maximum(day, joined), cal.end)
        interactions[sl] = rng.poisson(_INTERACTIONS[k] * rng.lognormal(0.0, 0.7, e))
        consent_a[sl] = rng.random(e) < P_CONSENT
        consent_b[sl] = rng.random(e) < P_CONSENT
    return Graph(ea, eb, kind, since, consent_a, consent_b, interactions)


def _empty(dtype: type) -> Graph:
    z: np.ndarray = np.zeros(0, dtype)
    return Graph(
        z, z, np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, bool),
        np.zeros(0, bool), np.zeros(0, np.int32),
    )  # fmt: skip


def contact_mean(
    graph: Graph, n: int, values: np.ndarray, before: int
) -> tuple[np.ndarray, np.ndarray]:
    """Consented contacts recorded before ``before``: their number and mean of ``values``.

    Only relationships both people consented to count, as only those may feed the network
    factor; the oracle then uses exactly the graph a model is allowed to see.
    """
    degree = np.zeros(n, np.int64)
    total = np.zeros(n)
    for s in range(0, len(graph), EDGE_BATCH):
        sl = slice(s, s + EDGE_BATCH)
        pre = (graph.since[sl] < before) & graph.consent_a[sl] & graph.consent_b[sl]
        a, b = graph.a[sl][pre], graph.b[sl][pre]
        degree += np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
        total += np.bincount(a, weights=values[b], minlength=n)
        total += np.bincount(b, weights=values[a], minlength=n)
    mean = np.divide(total, degree, out=np.zeros(n), where=degree > 0)
    return degree.astype(np.int32), mean


def relationships_table(graph: Graph, lo: int, hi: int, width: int) -> pa.Table:
    """The part of the relationships table whose person_a is in [lo, hi)."""
    s = graph.span(lo, hi)
    return arrow.table(
        "relationships",
        {
            "person_a": arrow.person_ids(graph.a[s], width),
            "person_b": arrow.person_ids(graph.b[s], width),
            "kind": arrow.enum(KINDS, graph.kind[s]),
            "since": arrow.dates(graph.since[s]),
            "consent_a": graph.consent_a[s],
            "consent_b": graph.consent_b[s],
            "interactions": graph.interactions[s].astype(np.int64),
        },
    )
