"""Speed and memory of the feature catalog: build_features for one as_of, and a training set.

Simulates a population, ingests it into a temporary store, then times each phase in a fresh
subprocess so its peak RSS is its own. ``cold`` includes compiling the catalog with Ibis
(once per process and params); ``warm`` is a second call that reuses the compiled SQL.

    python benchmarks/bench_features.py [--people 100000] [--months 24] [--seed 0]
                                        [--json benchmarks/results/features.json]
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _prepare(people: int, months: int, seed: int, root: Path) -> dict[str, Any]:
    from openbureau.ingest import ingest
    from openbureau.sim import simulate
    from openbureau.store import Store

    started = time.perf_counter()
    report = simulate(root / "sim", people, months, seed)
    sim_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with Store(root / "store") as store:
        result = ingest([root / "sim"], store)
    manifest = json.loads((root / "sim" / "_manifest.json").read_text())
    return {
        "simulate_seconds": sim_seconds,
        "ingest_seconds": time.perf_counter() - started,
        "rows": report.total_rows,
        "accepted": result.accepted,
        "as_of": manifest["window"]["as_of"],
        "peak_rss_bytes": _peak_rss(),
    }


def _build(root: Path, as_of: dt.date) -> dict[str, Any]:
    from openbureau.features import build_features, catalog_version
    from openbureau.store import Store

    with Store(root / "store", read_only=True) as store:
        started = time.perf_counter()
        cold = build_features(store, as_of)
        cold_seconds = time.perf_counter() - started
        started = time.perf_counter()
        warm = build_features(store, as_of)
        warm_seconds = time.perf_counter() - started
    assert warm.num_rows == cold.num_rows
    return {
        "rows": cold.num_rows,
        "features": cold.num_columns - 3,
        "cold_seconds": cold_seconds,
        "warm_seconds": warm_seconds,
        "thin_share": cold["segment"].to_pylist().count("thin") / max(cold.num_rows, 1),
        "catalog_version": catalog_version(),
        "peak_rss_bytes": _peak_rss(),
    }


def _train(root: Path, dates: list[dt.date]) -> dict[str, Any]:
    from openbureau.features import training_set
    from openbureau.store import Store

    with Store(root / "store", read_only=True) as store:
        started = time.perf_counter()
        ts = training_set(store, dates)
        seconds = time.perf_counter() - started
    labels = ts["label"].to_numpy()
    return {
        "rows": ts.num_rows,
        "dates": [d.isoformat() for d in dates],
        "cold_seconds": seconds,
        "label_rate": float(labels.mean()) if labels.size else 0.0,
        "peak_rss_bytes": _peak_rss(),
    }


def _run(phase: str, root: Path, *extra: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--root", str(root), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _months_before(d: dt.date, n: int) -> dt.date:
    total = d.year * 12 + d.month - 1 - n
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def _table(people: int, r: dict[str, Any]) -> Table:
    t = Table(title=f"openbureau.features — {people:,} people, {r['months']} months")
    for col in ("phase", "rows", "seconds", "people/s", "peak RSS", "note"):
        t.add_column(col, justify="right" if col not in ("phase", "note") else "left")
    gib = 2**30
    p, b, tr = r["prepare"], r["build_features"], r["training_set"]
    t.add_row("simulate", f"{p['rows']:,}", f"{p['simulate_seconds']:.1f}",
              f"{people / p['simulate_seconds']:,.0f}", "", "contract rows written")  # fmt: skip
    t.add_row("ingest", f"{p['accepted']:,}", f"{p['ingest_seconds']:.1f}",
              f"{people / p['ingest_seconds']:,.0f}", f"{p['peak_rss_bytes'] / gib:.2f} GiB",
              "simulate + ingest process")  # fmt: skip
    t.add_row("build_features (cold)", f"{b['rows']:,}", f"{b['cold_seconds']:.2f}",
              f"{b['rows'] / b['cold_seconds']:,.0f}", "", "includes Ibis compile")  # fmt: skip
    t.add_row("build_features (warm)", f"{b['rows']:,}", f"{b['warm_seconds']:.2f}",
              f"{b['rows'] / b['warm_seconds']:,.0f}", f"{b['peak_rss_bytes'] / gib:.2f} GiB",
              f"{b['features']} features, as_of {r['as_of']}")  # fmt: skip
    t.add_row("training_set", f"{tr['rows']:,}", f"{tr['cold_seconds']:.2f}",
              f"{tr['rows'] / tr['cold_seconds']:,.0f}", f"{tr['peak_rss_bytes'] / gib:.2f} GiB",
              f"{len(tr['dates'])} as_of dates, label rate {tr['label_rate']:.2%}")  # fmt: skip
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--tmp", help="directory for the temporary simulation and store")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dates", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        dates = [dt.date.fromisoformat(d) for d in (args.dates or "").split(",") if d]
        result = {
            "prepare": lambda: _prepare(args.people, args.months, args.seed, args.root),
            "build": lambda: _build(args.root, dates[0]),
            "train": lambda: _train(args.root, dates),
        }[args.phase]()
        print(json.dumps(result))
        return 0

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)
    result: dict[str, Any] = {"people": args.people, "months": args.months, "seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="bench-features-", dir=args.tmp) as tmp:
        root = Path(tmp)
        size = ["--people", str(args.people), "--months", str(args.months)]
        with console.status(f"simulating and ingesting {args.people:,} people"):
            result["prepare"] = _run("prepare", root, *size, "--seed", str(args.seed))
        as_of = dt.date.fromisoformat(result["prepare"]["as_of"])
        result["as_of"] = as_of.isoformat()
        with console.status("build_features"):
            result["build_features"] = _run("build", root, "--dates", as_of.isoformat())
        dates = f"{_months_before(as_of, 6).isoformat()},{as_of.isoformat()}"
        with console.status("training_set"):
            result["training_set"] = _run("train", root, "--dates", dates)
    console.print(_table(args.people, result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "features",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "results": [result],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
