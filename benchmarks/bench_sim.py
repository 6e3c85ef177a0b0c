"""Speed and memory of the population simulator at several population sizes.

Each size runs in a fresh subprocess, so its peak RSS is its own and nothing is cached
between sizes. Output goes to a temporary directory that is removed afterwards.

    python benchmarks/bench_sim.py [--sizes 10000,100000,1000000] [--months 24]
                                   [--json benchmarks/results/sim.json]
"""

from __future__ import annotations

import argparse
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


def _child(people: int, months: int, seed: int, out: Path) -> None:
    """Run one simulation and print its measurements as one JSON line."""
    from openbureau.sim import simulate

    started = time.perf_counter()
    report = simulate(out, people, months, seed)
    seconds = time.perf_counter() - started
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    files = [p for p in out.rglob("*.parquet") if p.is_file()]
    print(
        json.dumps(
            {
                "people": people,
                "months": months,
                "seed": seed,
                "seconds": seconds,
                "rows": dict(report.rows),
                "total_rows": report.total_rows,
                "peak_rss_bytes": peak_kib * 1024,
                "output_bytes": sum(p.stat().st_size for p in files),
                "files": len(files),
                "default_rate": report.default_rate,
                "thin_file_share": report.thin_file_share,
                "oracle_auc": report.oracle_auc,
            }
        )
    )


def run_size(people: int, months: int, seed: int, tmp_root: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-sim-", dir=tmp_root) as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, __file__, "--child", str(people), "--months", str(months)]
        cmd += ["--seed", str(seed), "--out", str(out)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"simulation of {people:,} people failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall  # includes interpreter start-up and imports
    result["people_per_second"] = people / result["seconds"]
    result["rows_per_second"] = result["total_rows"] / result["seconds"]
    return result


def _table(results: list[dict[str, Any]]) -> Table:
    t = Table(title="openbureau.sim — simulate() per population size")
    for col in ("people", "months", "seconds", "people/s", "rows", "rows/s", "peak RSS",
                "output", "default", "thin", "oracle AUC"):  # fmt: skip
        t.add_column(col, justify="right")
    for r in results:
        t.add_row(
            f"{r['people']:,}",
            str(r["months"]),
            f"{r['seconds']:.1f}",
            f"{r['people_per_second']:,.0f}",
            f"{r['total_rows']:,}",
            f"{r['rows_per_second'] / 1e6:.2f} M",
            f"{r['peak_rss_bytes'] / 2**30:.2f} GiB",
            f"{r['output_bytes'] / 2**30:.2f} GiB",
            f"{r['default_rate']:.2%}",
            f"{r['thin_file_share']:.1%}",
            f"{r['oracle_auc']:.3f}",
        )
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated people")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--tmp", help="directory for the temporary simulation output")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child, args.months, args.seed, args.out)
        return 0

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # keep the table whole in logs
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = []
    for people in sizes:
        with console.status(f"simulating {people:,} people x {args.months} months"):
            results.append(run_size(people, args.months, args.seed, args.tmp))
    console.print(_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "sim",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "results": results,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
