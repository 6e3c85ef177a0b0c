"""Speed and memory of the network engine at bureau scale: 10M people, 100M relationships.

Simulating 10M full people with ``openbureau.sim`` takes about an hour, and only the graph
matters here, so the graph is drawn directly: a Chung-Lu graph (each endpoint picked in
proportion to a Pareto(2.2) sociability weight, capped at 200 times the minimum, like the
simulator's) with random kinds, dates, interaction counts, consents, recorded defaults and
borrowers, streamed in batches into int32 arrays. It then times each phase of
``openbureau.network.sparse`` (merging pairs, the CSR matrix, contact features, the
out-of-fold walks) and, as a peer, one walk step as a DuckDB join + group-by against one
scipy sparse product on the same edges. Peak RSS is sampled with psutil.

    python benchmarks/bench_network.py [--people 10000000] [--edges 100000000]
        [--usable 1.0] [--dtype float64] [--json benchmarks/results/network.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import duckdb
import numpy as np
import psutil
import pyarrow as pa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from openbureau.network import NetworkConfig
from openbureau.network.sparse import (
    contact_features,
    contact_pairs,
    default_folds,
    transition_matrix,
    walk_features,
)

AS_OF = dt.date(2025, 1, 1)
BATCH = 1 << 22
PARETO_SHAPE = 2.2


class PeakRss:
    """The largest RSS seen by a background sampler (psutil), and the current one."""

    def __init__(self, every: float = 0.05) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.sample()

    def sample(self) -> int:
        rss = self.process.memory_info().rss
        self.peak = max(self.peak, rss)
        return rss

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def chung_lu(
    n: int, m: int, seed: int, usable: float, advance: Callable[[int], None]
) -> dict[str, np.ndarray]:
    """``m`` edge draws between ``n`` people, heavy-tailed degrees, with edge attributes;
    a share ``usable`` of them is consented and dated before as_of."""
    rng = np.random.default_rng(seed)
    weight = np.minimum((1.0 - rng.random(n)) ** (-1.0 / PARETO_SHAPE), 200.0)
    count = np.floor(weight * 4.0 + rng.random(n)).astype(np.int64)
    stubs = np.repeat(np.arange(n, dtype=np.int32), count)
    del weight, count
    src = np.empty(m, np.int32)
    dst = np.empty(m, np.int32)
    kind = np.empty(m, np.int8)
    since = np.empty(m, np.int32)
    interactions = np.empty(m, np.int32)
    consented = np.empty(m, bool)
    as_of = (AS_OF - dt.date(1970, 1, 1)).days
    for s in range(0, m, BATCH):
        e = min(m, s + BATCH) - s
        a = stubs[rng.integers(0, stubs.size, e)]
        b = stubs[rng.integers(0, stubs.size, e)]
        b = np.where(a == b, (b + 1) % n, b)  # no self-loops
        src[s : s + e], dst[s : s + e] = a, b
        kind[s : s + e] = rng.integers(0, 5, e)
        ok = rng.random(e) < usable
        late = ~ok & (rng.random(e) < 0.5)  # unusable: dated after as_of or not consented
        since[s : s + e] = as_of - 1 - rng.integers(0, 3000, e) + late * 3000
        interactions[s : s + e] = rng.poisson(12.0, e)
        consented[s : s + e] = ok | late
        advance(e)
    return {
        "src": src,
        "dst": dst,
        "kind": kind,
        "since": since,
        "interactions": interactions,
        "consented": consented,
    }


@contextmanager
def timed(results: dict[str, Any], name: str, rss: PeakRss) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[name] = {"seconds": time.perf_counter() - started, "rss_bytes": rss.sample()}


def spmv_peer(matrix: Any, results: dict[str, Any], rss: PeakRss, threads: int) -> None:
    """One walk step three ways: scipy P @ x (one vector), P @ X (10 vectors), and DuckDB's
    join of the directed edges to x with a group-by sum (the relational engine's step)."""
    n = matrix.shape[0]
    x = np.random.default_rng(1).random(n).astype(matrix.dtype)
    best = min(_seconds(lambda: matrix @ x) for _ in range(3))
    results["spmv_scipy_1_vector"] = {"seconds": best, "rss_bytes": rss.sample()}
    block = np.random.default_rng(2).random((n, 10)).astype(matrix.dtype)
    started = time.perf_counter()
    matrix @ block
    seconds = time.perf_counter() - started
    results["spmv_scipy_10_vectors"] = {"seconds": seconds, "rss_bytes": rss.sample()}
    del block
    y = matrix @ x
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(matrix.indptr))
    edges = pa.table({"v": rows, "c": matrix.indices, "w": matrix.data})
    vec = pa.table({"c": np.arange(n, dtype=np.int32), "x": x})
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.register("edges", edges)
    con.register("vec", vec)
    sql = "SELECT e.v, sum(e.w * x.x) AS y FROM edges e JOIN vec x ON e.c = x.c GROUP BY e.v"
    started = time.perf_counter()
    out = con.sql(sql).to_arrow_table()
    seconds = time.perf_counter() - started
    got = np.zeros(n)
    got[out["v"].to_numpy()] = out["y"].to_numpy()
    results["spmv_duckdb_join_group_by"] = {
        "seconds": seconds,
        "rss_bytes": rss.sample(),
        "max_abs_difference_vs_scipy": float(np.abs(got - y).max()),
    }
    con.close()


def _seconds(f: Callable[[], object]) -> float:
    started = time.perf_counter()
    f()
    return time.perf_counter() - started


def run(
    people: int, edges: int, usable: float, dtype: str, seed: int, console: Console
) -> dict[str, Any]:
    config = NetworkConfig()
    rss = PeakRss()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"drawing {edges:,} relationships", total=edges)
        with timed(results, "draw_graph", rss):
            g = chung_lu(people, edges, seed, usable, lambda e: bar.advance(task, e))
        rng = np.random.default_rng(seed + 1)
        borrower = rng.random(people) < 0.7
        defaulted = borrower & (rng.random(people) < 0.06)
        fold = default_folds(people, config.folds)

        engine_started = time.perf_counter()
        with timed(results, "merge_pairs", rss):
            pairs = contact_pairs(
                g.pop("src"), g.pop("dst"), people, kind=g.pop("kind"),
                since=g.pop("since"), interactions=g.pop("interactions"),
                consented=g.pop("consented"), as_of=AS_OF,
            )  # fmt: skip
        with timed(results, "csr_matrix", rss):
            matrix, degree = transition_matrix(pairs, config.min_contacts, np.dtype(dtype).type)
        with timed(results, "contact_features", rss):
            contact_features(pairs, degree, AS_OF)
        steps = max(config.steps, 2)
        task = bar.add_task(f"walks ({2 * config.folds} vectors)", total=steps)
        with timed(results, "walk_features", rss):
            walk = walk_features(
                matrix, degree, defaulted, borrower, fold, config,
                lambda t: bar.update(task, completed=t),
            )  # fmt: skip
        results["engine_total"] = {
            "seconds": time.perf_counter() - engine_started,
            "rss_bytes": rss.sample(),
        }
        del pairs
        bar.add_task("one step: scipy vs DuckDB", total=None)
        spmv_peer(matrix, results, rss, threads=os.cpu_count() or 1)
    rss.stop()
    ratio = walk["network_walk_default_ratio"]
    return {
        "people": people,
        "relationships": edges,
        "usable_share": usable,
        "contact_pairs": int(matrix.nnz // 2),
        "mean_contacts": float(degree.mean()),
        "max_contacts": int(degree.max()),
        "dtype": dtype,
        "config": config.__dict__,
        "phases": results,
        "total_seconds": time.perf_counter() - started,
        "peak_rss_bytes": rss.peak,
        "ratio_mean": float(np.nanmean(ratio)),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_bytes": psutil.virtual_memory().total,
            "python": platform.python_version(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--edges", type=int, default=100_000_000)
    parser.add_argument("--usable", type=float, default=1.0, help="share usable at as_of")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/network.json"))
    args = parser.parse_args()
    console = Console()
    report = run(args.people, args.edges, args.usable, args.dtype, args.seed, console)

    table = Table(
        title=f"network engine: {report['people']:,} people, "
        f"{report['contact_pairs']:,} consented pairs ({report['dtype']})"
    )
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    table.add_column("RSS after (GiB)", justify="right")
    for name, r in report["phases"].items():
        table.add_row(name, f"{r['seconds']:.2f}", f"{r['rss_bytes'] / 2**30:.2f}")
    console.print(table)
    peak, total = report["peak_rss_bytes"] / 2**30, report["total_seconds"]
    console.print(f"peak RSS {peak:.2f} GiB, total {total:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
