"""The one-machine network engine: a degree-capped transition matrix in scipy CSR, and
sparse matrix products for every walk.

The graph at as_of is undirected and unweighted: person v's contacts c_1..c_n get weight
1/max(n, k) each (k = ``min_contacts``), so the transition matrix P is substochastic and
no entry exceeds 1/k. Every seed-dependent feature is a non-negative combination of
entries of P^t with total weight at most 1, which is what bounds them (see
``walk_features``). Indices are int32 (up to 2^31 - 1 people and 2^30 relationships),
values float64 by default; the whole out-of-fold computation is ``max(steps, 2)`` sparse
products with one dense block of 2 x folds columns, so the index structure of P is read
once per step however many folds there are. Each product is scipy's CSR kernel writing
into one of two preallocated blocks (no copy of the matrix, no new block per step); the
product sums contacts' values unweighted, then each row is scaled and rounded to the walk's
grid (``network.config.WALK_GRID_BITS``), so in float64 the walk's every bit is the one
the relational walk computes on DuckDB or Spark, whatever order each engine sums in.
People can be renumbered so that contacts sit near each other in memory
(``locality_order``, ``network_features(order=...)``; features are mapped back to the
caller's numbering); measured at 10M people it saves less than it costs at 10 steps, so
the default is the caller's own numbering (docs/network.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

try:  # the kernel behind ``csr_matrix @ dense``, called with our own output buffer
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - a scipy that moved it: fall back to ``@``
    _csr_matvecs = None

from openbureau.network.config import (
    CONTACT_KINDS,
    DAYS_PER_MONTH,
    FEATURES,
    KINDS,
    SEED_DEPENDENT,
    WALK_GRID,
    NetworkConfig,
)

_EPOCH = np.datetime64("1970-01-01", "D")
_MAX_INDEX = np.iinfo(np.int32).max
_CHUNK = 1 << 24


@dataclass(frozen=True)
class Pairs:
    """Distinct undirected contact pairs (lo < hi) and what is known about each pair.

    A pair listed several times (one row per kind, as the contract allows) is one contact:
    counting it twice would give one person twice the weight and break the 1/k bound.
    """

    n: int
    lo: np.ndarray  # int32
    hi: np.ndarray  # int32
    kinds: np.ndarray | None = None  # uint8 bit set over KINDS
    since: np.ndarray | None = None  # int64 days since 1970-01-01, earliest row of the pair
    interactions: np.ndarray | None = None  # int64, summed over the pair's rows


def contact_pairs(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    *,
    kind: np.ndarray | None = None,
    since: np.ndarray | None = None,
    interactions: np.ndarray | None = None,
    consented: np.ndarray | None = None,
    as_of: dt.date | None = None,
) -> Pairs:
    """Check the edge arrays, keep usable edges, and merge repeated pairs.

    ``consented`` (both consents, per edge) and ``since`` with ``as_of`` drop edges that may
    not be used; the rest is refused with a ValueError naming the field: indices out of
    [0, n), a person linked to themselves, arrays of different lengths.
    """
    n = _count(n)
    src = _indices("src", src, n)
    dst = _indices("dst", dst, n)
    m = src.size
    if dst.size != m:
        raise ValueError(f"dst has {dst.size} entries but src has {m}")
    loops = np.flatnonzero(src == dst)
    if loops.size:
        raise ValueError(f"src and dst must differ: edge {int(loops[0])} links a person to itself")
    keep = np.ones(m, bool)
    if consented is not None:
        keep &= _bools("consented", consented, m)
    since_days = None
    if since is not None:
        since_days = _days("since", since, m)
        if as_of is None:
            raise ValueError("as_of is required with since: only edges since < as_of are used")
        keep &= since_days < _day(as_of)
    kind_codes = None if kind is None else _kinds(kind, m)
    inter = None if interactions is None else _interactions(interactions, m)
    if not keep.all():
        src, dst = src[keep], dst[keep]
        since_days = None if since_days is None else since_days[keep]
        kind_codes = None if kind_codes is None else kind_codes[keep]
        inter = None if inter is None else inter[keep]
    del keep

    key = np.minimum(src, dst).astype(np.int64) * n + np.maximum(src, dst)
    del src, dst
    if kind_codes is None and since_days is None and inter is None:
        key = np.unique(key)
        lo, hi = np.divmod(key, n)
        return Pairs(n, lo.astype(np.int32), hi.astype(np.int32))
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, int)
    lo, hi = np.divmod(key[first], n)
    del key
    kinds = since_out = inter_out = None
    if kind_codes is not None:
        bits = np.left_shift(np.uint8(1), kind_codes[order]).astype(np.uint8)
        kinds = np.bitwise_or.reduceat(bits, first) if first.size else bits
    if since_days is not None:
        s = since_days[order]
        since_out = np.minimum.reduceat(s, first) if first.size else s
    if inter is not None:
        x = inter[order]
        inter_out = np.add.reduceat(x, first) if first.size else x
    return Pairs(n, lo.astype(np.int32), hi.astype(np.int32), kinds, since_out, inter_out)


def pair_degree(pairs: Pairs) -> np.ndarray:
    """n_v, the number of distinct contacts of each person (int32)."""
    n = pairs.n
    return (np.bincount(pairs.lo, minlength=n) + np.bincount(pairs.hi, minlength=n)).astype(
        np.int32
    )


def contact_matrix(pairs: Pairs, dtype: type = np.float64) -> tuple[sp.csr_matrix, np.ndarray]:
    """A[v, c] = 1 for each contact c of v, and n_v, as (CSR, int32 array).

    The walk's transition matrix is P = diag(1 / max(n, k)) A; ``walk_features`` applies
    the row scale after each product, so a product sums contacts' values unweighted (exact
    on the walk's grid, see ``network.config.WALK_GRID_BITS``) and then scales once, the
    order the relational walk computes in.
    """
    n = pairs.n
    degree = pair_degree(pairs)
    rows = np.concatenate([pairs.lo, pairs.hi])
    cols = np.concatenate([pairs.hi, pairs.lo])
    data: np.ndarray = np.ones(rows.shape[0], dtype=dtype)
    matrix = sp.coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    del rows, cols, data
    if matrix.indices.dtype != np.int32 and matrix.nnz <= _MAX_INDEX:
        matrix.indices = matrix.indices.astype(np.int32)
        matrix.indptr = matrix.indptr.astype(np.int32)
    return matrix, degree


ORDERS = ("community", "rcm", "degree", "none")
# The community numbering: hops of min-hash, then rounds of 3-majority (see below).
_MIN_HASH_HOPS = 2
_MAJORITY_ROUNDS = 20
_ORDER_SEED = 20251204


def locality_order(matrix: sp.csr_matrix, method: str = "none") -> np.ndarray:
    """A numbering of people that puts contacts near each other, as ``perm``: position
    ``i`` of the new numbering holds original person ``perm[i]``. Reads only the
    structure of ``matrix`` (a symmetric CSR, e.g. ``contact_matrix``'s).

    A walk step gathers, for every contact pair, the contact's row of the walk block;
    with arbitrary person ids those reads land anywhere in memory, and at 10M people the
    step waits on memory, not arithmetic. The orders:

    - ``"community"``: people grouped by a cheap community label, busiest first within
      a group. Labels: every person starts from a fixed random hash, takes the minimum
      over themselves and their contacts ``_MIN_HASH_HOPS`` times (people with many
      contacts in common get the same minimum), then ``_MAJORITY_ROUNDS`` rounds of
      3-majority: each person looks at three random contacts' labels and takes one held
      by two of them (else keeps their own), which lets a community settle on one label.
      Cost: two gathers over the contact pairs and 60 gathers over people. Deterministic.
    - ``"rcm"``: scipy's reverse Cuthill-McKee (breadth-first, per component). On a
      small-world graph its levels are huge, so it finds little locality.
    - ``"degree"``: busiest people first (their rows, read the most, share cache).
    - ``"none"``: the identity.

    The features do not depend on the numbering beyond rounding (``network_features``
    maps them back; a test holds them equal to 1e-12).
    """
    n = matrix.shape[0]
    if method not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {method!r}")
    if method == "none" or n == 0:
        return np.arange(n, dtype=np.int32)
    degree = np.diff(matrix.indptr)
    if method == "degree":
        return np.argsort(-degree, kind="stable").astype(np.int32)
    if method == "rcm":
        return reverse_cuthill_mckee(matrix, symmetric_mode=True).astype(np.int32)
    label = _community_labels(matrix, degree)
    return np.lexsort((-degree, label)).astype(np.int32)


def _community_labels(matrix: sp.csr_matrix, degree: np.ndarray) -> np.ndarray:
    n = matrix.shape[0]
    rng = np.random.default_rng(_ORDER_SEED)
    label = rng.permutation(n).astype(np.int32)
    has = np.flatnonzero(degree > 0)
    if has.size == 0:
        return label
    start = matrix.indptr[has].astype(np.int64)
    for _ in range(_MIN_HASH_HOPS):
        nearest = np.minimum.reduceat(label[matrix.indices], start)
        label[has] = np.minimum(label[has], nearest)
    count = degree[has]
    for _ in range(_MAJORITY_ROUNDS):
        a, b, c = (
            label[matrix.indices[start + (rng.random(has.size) * count).astype(np.int64)]]
            for _ in range(3)
        )
        label[has] = np.where((a == b) | (a == c), a, np.where(b == c, b, label[has]))
    return label


def permute(matrix: sp.csr_matrix, perm: np.ndarray) -> sp.csr_matrix:
    """``Q[i, j] = matrix[perm[i], perm[j]]``: rows gathered by scipy (one pass over the
    entries), column indices renumbered in place, chunk by chunk. Rows keep their
    entries in the old column order (a CSR need not sort them; the product does not)."""
    n = matrix.shape[0]
    inverse = np.empty(n, matrix.indices.dtype)
    inverse[perm] = np.arange(n, dtype=matrix.indices.dtype)
    out = matrix[perm]
    indices = out.indices
    for s in range(0, indices.size, _CHUNK):
        part = indices[s : s + _CHUNK]
        part[:] = inverse[part]
    out.has_sorted_indices = False
    return out


def default_folds(n: int, folds: int) -> np.ndarray:
    """A fixed fold per index (a splitmix64 hash), for callers that bring no folds."""
    x = np.arange(n, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x % np.uint64(folds)).astype(np.int32)


def walk_features(
    matrix: sp.csr_matrix,
    degree: np.ndarray,
    defaulted: np.ndarray,
    borrower: np.ndarray,
    fold: np.ndarray,
    config: NetworkConfig,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """The three seed-dependent features, out of fold (NaN without consented contacts).

    Seeds: d = recorded default, b = borrower or recorded default (so d <= b). A person in
    fold f sees seeds with fold f zeroed, and the prior p_f = D_f / max(N_f, k^2) over
    the other folds' defaulters D_f and borrowers N_f: their own record reaches none of
    their features, not even through a walk that returns to them.

    Bounds, for any graph, when one person u's record flips (k = min_contacts):

    - share = (P d)(v) changes by P[v, u] <= 1/k, since every entry of P is 1/max(n, k).
    - two-hop = (P^2 d)(v) changes by (P^2)[v, u] = sum_w P[v, w] P[w, u]
      <= max_w P[w, u] * sum_w P[v, w] <= 1/k, as rows of P sum to at most 1.
      By induction (P^t)[v, u] <= 1/k for every t >= 1.
    - ratio = (e_D + m0 p)/(e_B + m0) with e_X = L(x) = sum_u w_u x_u, where
      w_u = sum_t alpha (1 - alpha)^(t-1) (P^t)[v, u] <= (1 - q)/k, q = (1 - alpha)^steps.
      d <= b gives e_D <= e_B and p <= 1, so ratio is in [0, 1]. Flipping u in (b fixed,
      or b_u flipping with it) raises the numerator by w_u + dp and the denominator by 0 or
      w_u, where dp <= 1/max(N, k^2) <= 1/k^2; the denominator is at least m0 + w_u, so the
      change is at most (w_u + m0 dp)/(m0 + w_u) <= 1/k for m0 >= 1 (the worst case
      w_u = (1 - q)/k needs dp <= (1 + (k - 1) q)/k^2, which 1/k^2 satisfies).

    Why a ratio of two walks: e_D alone grows with how central v is (more paths reach
    more of everyone), so it would score popularity; divided by the same walk from all
    borrowers it is the default rate of the people v's walks reach. On an undirected
    graph personalised PageRank is reversible, deg(v) ppr_v(u) = deg(u) ppr_u(v), so the
    walk from v that lands on defaulters is, up to those degree weights, the restart
    walk from the defaulters that lands on v: the seed-set PPR the design asks for,
    computed once per fold rather than once per person.

    ``progress(t)`` is called after each of the ``max(steps, 2)`` sparse products.
    """
    n = matrix.shape[0]
    d = _bools("defaulted", defaulted, n)
    b = _bools("borrower", borrower, n) | d
    fold = _folds(fold, n)
    nf = int(fold.max()) + 1 if n else 1
    k = config.min_contacts
    dtype = matrix.dtype
    width = 2 * nf
    block = np.zeros((n, width), dtype=dtype)
    for f in range(nf):
        out = fold != f
        block[:, f] = d & out
        block[:, nf + f] = b & out
    spare = np.empty_like(block)
    # Where each person's own out-of-fold entries sit in the flattened block.
    own_d = np.arange(n, dtype=np.int64) * width + fold
    own_b = own_d + nf
    x_d = np.empty(n, dtype)
    x_b = np.empty(n, dtype)
    e_d = np.zeros(n)
    e_b = np.zeros(n)
    share = np.zeros(n)
    two_hop = np.zeros(n)
    weights = config.weights
    scale = (1.0 / np.maximum(degree, k)).astype(dtype)[:, None]  # P = diag(scale) A
    for t in range(1, max(config.steps, 2) + 1):
        _product(matrix, block, spare)  # exact: grid values, summed
        np.multiply(spare, scale, out=spare)
        to_grid(spare)
        block, spare = spare, block
        np.take(block.ravel(), own_d, out=x_d)
        if t <= config.steps:
            np.take(block.ravel(), own_b, out=x_b)
            e_d += weights[t - 1] * x_d
            e_b += weights[t - 1] * x_b
        if t == 1:
            share[:] = x_d
        elif t == 2:
            two_hop[:] = x_d
        if progress is not None:
            progress(t)
    del block, spare
    defaults = np.bincount(fold, weights=d, minlength=nf)
    borrowers = np.bincount(fold, weights=b, minlength=nf)
    prior = (defaults.sum() - defaults) / np.maximum(borrowers.sum() - borrowers, k * k)
    m0 = float(config.prior_mass)
    ratio = (e_d + m0 * prior[fold]) / (e_b + m0)
    none = degree == 0
    out = {"network_default_share": share, "network_two_hop_exposure": two_hop}
    out["network_walk_default_ratio"] = ratio
    for name in SEED_DEPENDENT:
        out[name] = np.where(none, np.nan, np.clip(out[name], 0.0, 1.0))
    return out


def to_grid(x: np.ndarray) -> np.ndarray:
    """``x`` rounded, in place, to the nearest multiple of 1 / WALK_GRID (halves up):
    floor(x * G + 0.5) / G, the expression the relational walk evaluates too."""
    np.multiply(x, WALK_GRID, out=x)
    np.add(x, 0.5, out=x)
    np.floor(x, out=x)
    np.divide(x, WALK_GRID, out=x)
    return x


def _product(matrix: sp.csr_matrix, x: np.ndarray, out: np.ndarray) -> None:
    """out = matrix @ x for a C-contiguous (n, c) block, written into ``out``: no copy or
    conversion of the matrix, no new block per step (what ``matrix @ x`` would allocate)."""
    if _csr_matvecs is None:  # pragma: no cover
        out[...] = matrix @ x
        return
    n_row, n_col = matrix.shape
    out.fill(0)
    _csr_matvecs(
        n_row, n_col, x.shape[1], matrix.indptr, matrix.indices, matrix.data,
        x.ravel(), out.ravel(),
    )  # fmt: skip


def contact_features(
    pairs: Pairs, degree: np.ndarray, as_of: dt.date | None
) -> dict[str, np.ndarray]:
    """Counts by kind, mean months known, interactions per contact (needing their inputs)."""
    n = pairs.n
    out: dict[str, np.ndarray] = {"network_contacts": degree.astype(np.float64)}
    none = degree == 0
    safe = np.maximum(degree, 1)
    for name in CONTACT_KINDS:
        column = f"network_{name}_contacts"
        if pairs.kinds is None:
            out[column] = np.full(n, np.nan)
            continue
        has = (pairs.kinds & np.uint8(1 << KINDS.index(name))) > 0
        out[column] = _both(pairs, has.astype(np.float64))
    if pairs.since is None or as_of is None:
        out["network_tenure_months"] = np.full(n, np.nan)
    else:
        days = (_day(as_of) - pairs.since).astype(np.float64)  # whole days: exact sums
        tenure = _both(pairs, days) / safe / DAYS_PER_MONTH  # the relational order
        out["network_tenure_months"] = np.where(none, np.nan, tenure)
    if pairs.interactions is None:
        out["network_interactions_per_contact"] = np.full(n, np.nan)
    else:
        total = _both(pairs, pairs.interactions.astype(np.float64))
        out["network_interactions_per_contact"] = np.where(none, np.nan, total / safe)
    return out


def network_features(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    defaulted: np.ndarray,
    borrower: np.ndarray,
    fold: np.ndarray | None = None,
    *,
    kind: np.ndarray | None = None,
    since: np.ndarray | None = None,
    interactions: np.ndarray | None = None,
    consented: np.ndarray | None = None,
    as_of: dt.date | None = None,
    config: NetworkConfig | None = None,
    dtype: type = np.float64,
    order: str = "none",
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Every network feature of people 0..n-1 from plain arrays, in ``FEATURES`` order.

    ``src``/``dst``: one entry per relationship (int person indices, either orientation,
    repeats merged); ``defaulted``: a recorded default before as_of (the seeds; a
    model's training labels are fine when ``fold`` holds the cross-validation folds);
    ``borrower``: had credit before as_of; ``fold``: ints 0..F-1, a person's own fold's
    seeds never reach them (default: a fixed hash of the index into ``config.folds``).
    ``kind`` (codes into KINDS or their names), ``since`` (dates, or days since
    1970-01-01) with ``as_of``, ``interactions`` and ``consented`` are optional; features
    they feed are NaN without them. Everyone gets a value; NaN means unknown (no contacts).
    ``dtype`` float32 halves the matrix and the walk vectors (values then agree with
    float64 to about 1e-6); ``order`` how people are renumbered for the walks (see
    ``locality_order``; the values do not depend on it beyond rounding, about 1e-16);
    ``progress(t)`` is called after each walk step.
    """
    config = config or NetworkConfig()
    n = _count(n)
    pairs = contact_pairs(
        src, dst, n, kind=kind, since=since, interactions=interactions,
        consented=consented, as_of=as_of,
    )  # fmt: skip
    if fold is None:
        fold = default_folds(n, config.folds)
    d = _bools("defaulted", defaulted, n)
    b = _bools("borrower", borrower, n)
    fold = _folds(fold, n)
    out = contact_features(pairs, pair_degree(pairs), as_of)
    matrix, degree = contact_matrix(pairs, dtype)
    del pairs  # its per-pair attributes are done with; the walks read the matrix only
    perm = locality_order(matrix, order)
    if order != "none":
        matrix = permute(matrix, perm)
        degree = degree[perm]
    walk = walk_features(matrix, degree, d[perm], b[perm], fold[perm], config, progress)
    del matrix
    for name, values in walk.items():  # back to the caller's numbering
        out[name] = np.empty_like(values)
        out[name][perm] = values
    return {name: out[name] for name in FEATURES}


def _both(pairs: Pairs, values: np.ndarray) -> np.ndarray:
    """Per person, the sum of ``values`` over the pairs they are in."""
    n = pairs.n
    return np.bincount(pairs.lo, weights=values, minlength=n) + np.bincount(
        pairs.hi, weights=values, minlength=n
    )


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 0 <= int(n) <= _MAX_INDEX:
        raise ValueError(f"n must be in 0..{_MAX_INDEX}, got {n}")
    return int(n)


def _array(name: str, values: object) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def _indices(name: str, values: object, n: int) -> np.ndarray:
    a = _array(name, values)
    if a.size == 0:
        return a.astype(np.int32)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer person indices, got {a.dtype}")
    low, high = int(a.min()), int(a.max())
    if low < 0 or high >= n:
        raise ValueError(f"{name} must be person indices in [0, {n}), found {low}..{high}")
    return a.astype(np.int32, copy=False)


def _bools(name: str, values: object, n: int) -> np.ndarray:
    a = _array(name, values)
    if a.size != n:
        raise ValueError(f"{name} has {a.size} entries, expected {n}")
    if a.dtype == bool:
        return a
    if a.dtype.kind not in "iuf" or not np.isin(a, (0, 1)).all():
        raise TypeError(f"{name} must be booleans (or 0/1), got {a.dtype}")
    return a.astype(bool)


def _folds(values: object, n: int) -> np.ndarray:
    a = _array("fold", values)
    if a.size != n:
        raise ValueError(f"fold has {a.size} entries, expected {n}")
    if a.size and a.dtype.kind not in "iu":
        raise TypeError(f"fold must hold integers 0..F-1, got {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) > 1_000):
        raise ValueError(f"fold must hold integers in 0..1000, found {a.min()}..{a.max()}")
    return a.astype(np.intp, copy=False)


def _day(value: dt.date) -> int:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"as_of must be a date, got {type(value).__name__}")
    return (value - dt.date(1970, 1, 1)).days


def _days(name: str, values: object, m: int) -> np.ndarray:
    a = _array(name, values)
    if a.size != m:
        raise ValueError(f"{name} has {a.size} entries, expected {m} (one per edge)")
    if a.dtype.kind == "M":
        return (a.astype("datetime64[D]") - _EPOCH).astype(np.int64)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    raise TypeError(f"{name} must be dates (datetime64) or int days since 1970-01-01")


def _kinds(values: object, m: int) -> np.ndarray:
    a = _array("kind", values)
    if a.size != m:
        raise ValueError(f"kind has {a.size} entries, expected {m} (one per edge)")
    if a.dtype.kind in "UO":
        codes = np.full(a.size, -1, np.int8)
        for i, k in enumerate(KINDS):
            codes[a == k] = i
        a = codes
    elif a.dtype.kind not in "iu":
        raise TypeError(f"kind must be codes into {KINDS} or their names, got {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= len(KINDS)):
        raise ValueError(f"kind must be one of {KINDS}")
    return a.astype(np.uint8)


def _interactions(values: object, m: int) -> np.ndarray:
    a = _array("interactions", values)
    if a.size != m:
        raise ValueError(f"interactions has {a.size} entries, expected {m} (one per edge)")
    if a.size and a.dtype.kind not in "iu":
        raise TypeError(f"interactions must be integers, got {a.dtype}")
    if a.size and int(a.min()) < 0:
        raise ValueError("interactions must not be negative")
    return a.astype(np.int64)
