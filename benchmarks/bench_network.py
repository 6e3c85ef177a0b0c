"""Speed and memory of the network engine at bureau scale: 10M people, 100M relationships.

Simulating 10M full people with ``openbureau.sim`` takes about an hour, and only the graph
matters here, so the graph is drawn directly: a Chung-Lu graph (each endpoint picked in
proportion to a Pareto(2.2) sociability weight, capped at 200 times the minimum, like the
simulator's) with random kinds, dates, interaction counts, consents, recorded defaults and
borrowers, streamed in batches into int32 arrays. It then times each phase of
``openbureau.network.sparse`` (merging pairs, the CSR matrix, contact features, the
out-of-fold walks) and, as a peer, one walk step as a DuckDB join + group-by against one
scipy sparse product on the same edges. Peak RSS is sampled with psutil.

People can be renumbered for locality before the walks (``--order``, see
``openbureau.network.sparse.locality_order``); ``--community SIZE`` draws a graph with
communities (most contacts inside one's own community, ids random), where a numbering can
find locality that a Chung-Lu graph does not have. Per walk step, wall and CPU seconds are
recorded (the machine is shared; CPU seconds are the steadier measure).

    python benchmarks/bench_network.py [--people 10000000] [--edges 100000000]
        [--usable 1.0] [--dtype float64] [--order none] [--community 0] [--skip-duckdb]
        [--json benchmarks/results/network.json]
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
    ORDERS,
    _product,
    contact_features,
    contact_matrix,
    contact_pairs,
    default_folds,
    locality_order,
    pair_degree,
    permute,
    walk_features,
)

AS_OF = dt.date(2025, 1, 1)
BATCH = 1 << 22
PARETO_SHAPE = 2.2
P_INSIDE = 0.8  # with --community: share of edges inside a community, as the simulator


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
    n: int,
    m: int,
    seed: int,
    usable: float,
    advance: Callable[[int], None],
    community: int = 0,
) -> dict[str, np.ndarray]:
    """``m`` edge draws between ``n`` people, heavy-tailed degrees, with edge attributes;
    a share ``usable`` of them is consented and dated before as_of.

    ``community`` > 0 gives people random communities of about that size and draws the
    second endpoint of a share ``P_INSIDE`` of the edges inside the first one's community
    (the simulator's homophily); ids stay random, as a bureau's would be."""
    rng = np.random.default_rng(seed)
    weight = np.minimum((1.0 - rng.random(n)) ** (-1.0 / PARETO_SHAPE), 200.0)
    count = np.floor(weight * 4.0 + rng.random(n)).astype(np.int64)
    n_comm = max(1, n // community) if community else 1
    group = rng.integers(0, n_comm, n).astype(np.int32) if community else np.zeros(n, np.int32)
    order = np.argsort(group, kind="stable").astype(np.int32)
    stubs = np.repeat(order, count[order])
    comm_len = np.bincount(group, weights=count, minlength=n_comm).astype(np.int64)
    comm_start = np.cumsum(comm_len) - comm_len
    del weight, count, order
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
        if community:
            ca = group[a]
            near = stubs[comm_start[ca] + (rng.random(e) * comm_len[ca]).astype(np.int64)]
            b = np.where(rng.random(e) < P_INSIDE, near, b)
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
    started, cpu = time.perf_counter(), time.process_time()
    yield
    results[name] = {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "rss_bytes": rss.sample(),
    }


def spmv_peer(
    matrix: Any, results: dict[str, Any], rss: PeakRss, threads: int, duckdb_too: bool = True
) -> None:
    """One walk step three ways: scipy P @ x (one vector), the engine's product with the
    walk's block of 10 vectors (into a preallocated block), and DuckDB's join of the
    directed edges to x with a group-by sum (the relational engine's step). Wall and CPU
    seconds, best of three (the machine is shared: CPU seconds are the steadier)."""
    n = matrix.shape[0]
    x = np.random.default_rng(1).random(n).astype(matrix.dtype)
    results["spmv_scipy_1_vector"] = _best(lambda: matrix @ x, rss)
    results["spmv_scipy_10_vectors"] = _block_step(matrix, rss)
    if not duckdb_too:
        return
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


def _block_step(matrix: Any, rss: PeakRss) -> dict[str, float]:
    block = np.random.default_rng(2).random((matrix.shape[0], 10)).astype(matrix.dtype)
    out = np.empty_like(block)
    return _best(lambda: _product(matrix, block, out), rss)


def _best(f: Callable[[], object], rss: PeakRss, repeat: int = 3) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        f()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        "seconds": min(w for w, _ in times),
        "cpu_seconds": min(c for _, c in times),
        "rss_bytes": rss.sample(),
    }


def run(
    people: int,
    edges: int,
    usable: float,
    dtype: str,
    seed: int,
    console: Console,
    order: str = "none",
    community: int = 0,
    skip_duckdb: bool = False,
) -> dict[str, Any]:
    config = NetworkConfig()
    rss = PeakRss()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"drawing {edges:,} relationships", total=edges)
        with timed(results, "draw_graph", rss):
            g = chung_lu(people, edges, seed, usable, lambda e: bar.advance(task, e), community)
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
        with timed(results, "contact_features", rss):
            contact_features(pairs, pair_degree(pairs), AS_OF)
        with timed(results, "csr_matrix", rss):
            matrix, degree = contact_matrix(pairs, np.dtype(dtype).type)
            del pairs
        with timed(results, "locality_order", rss):
            perm = locality_order(matrix, order)
            if order != "none":
                matrix = permute(matrix, perm)
                degree = degree[perm]
        steps = max(config.steps, 2)
        task = bar.add_task(f"walks ({2 * config.folds} vectors)", total=steps)
        clock = [time.perf_counter(), time.process_time()]
        step_seconds: list[tuple[float, float]] = []

        def stepped(t: int) -> None:
            now = [time.perf_counter(), time.process_time()]
            step_seconds.append((now[0] - clock[0], now[1] - clock[1]))
            clock[:] = now
            bar.update(task, completed=t)

        with timed(results, "walk_features", rss):
            walk = walk_features(
                matrix, degree, defaulted[perm], borrower[perm], fold[perm], config, stepped
            )
            for name, values in walk.items():  # back to the original numbering
                walk[name] = np.empty_like(values)
                walk[name][perm] = values
        results["walk_features"]["step_wall_seconds"] = [w for w, _ in step_seconds]
        results["walk_features"]["step_cpu_seconds"] = [c for _, c in step_seconds]
        results["engine_total"] = {
            "seconds": time.perf_counter() - engine_started,
            "rss_bytes": rss.sample(),
        }
        bar.add_task("one step: scipy" + ("" if skip_duckdb else " vs DuckDB"), total=None)
        spmv_peer(matrix, results, rss, threads=os.cpu_count() or 1, duckdb_too=not skip_duckdb)
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
        "order": order,
        "community": community,
        "step_wall_seconds_median": float(np.median(results["walk_features"]["step_wall_seconds"])),
        "step_cpu_seconds_median": float(np.median(results["walk_features"]["step_cpu_seconds"])),
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
    parser.add_argument("--order", choices=ORDERS, default="none", help="renumbering")
    parser.add_argument(
        "--community", type=int, default=0, help="community size (0: no communities)"
    )
    parser.add_argument("--skip-duckdb", action="store_true", help="no DuckDB step")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/network.json"))
    args = parser.parse_args()
    console = Console()
    report = run(
        args.people, args.edges, args.usable, args.dtype, args.seed, console,
        args.order, args.community, args.skip_duckdb,
    )  # fmt: skip

    table = Table(
        title=f"network engine: {report['people']:,} people, "
        f"{report['contact_pairs']:,} consented pairs ({report['dtype']})"
    )
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    table.add_column("CPU seconds", justify="right")
    table.add_column("RSS after (GiB)", justify="right")
    for name, r in report["phases"].items():
        cpu = f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else ""
        table.add_row(name, f"{r['seconds']:.2f}", cpu, f"{r['rss_bytes'] / 2**30:.2f}")
    console.print(table)
    peak, total = report["peak_rss_bytes"] / 2**30, report["total_seconds"]
    console.print(f"peak RSS {peak:.2f} GiB, total {total:.0f} s")
    console.print(
        f"order {report['order']}: median walk step {report['step_wall_seconds_median']:.2f} s"
        f" wall, {report['step_cpu_seconds_median']:.2f} s CPU"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
