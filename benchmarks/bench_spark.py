"""The full scoring pipeline (features, network factor, scores and reasons) on Spark
local[1] and local[2] against the embedded DuckDB path, on the same simulated people.

Data: ``--data DIR`` holding ``sim/`` (the simulator's Parquet, what Spark reads),
``store/`` (the same rows ingested, what DuckDB reads) and ``model/``; with ``--people N``
and no such folder, they are made first (simulate, ingest, train) and kept for next time.
Each engine runs in its own process (a fresh JVM per Spark master), one after the other.
People per second = people scored / wall seconds of the job (the JVM's start is reported
apart); CPU seconds of the process tree are reported too, since on a shared machine the
wall clock also measures the neighbours.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_spark.py --people 20000 \
        --data /work/bench-spark/p20000 [--engines duckdb,local[1],local[2]] \
        [--json benchmarks/results/spark.json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

AS_OF = "2025-05-01"
TRAIN_AS_OF = "2024-12-31"


def cpu_seconds() -> float:
    """User + system CPU of this process and every process under it (JVM, Python workers)."""
    total = 0.0
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def prepare(data: Path, people: int, seed: int) -> None:
    """sim/, store/ and model/ under ``data``, each made only if missing."""
    cli = [sys.executable, "-m", "openbureau"]
    if not (data / "sim" / "_manifest.json").is_file():
        subprocess.run(
            [
                *(*cli, "simulate", "--people", str(people), "--months", "24"),
                *("--seed", str(seed), "--out", str(data / "sim"), "--overwrite"),
            ],
            check=True,
        )
    if not (data / "store").exists():
        subprocess.run(
            [*cli, "ingest", str(data / "sim"), "--store", str(data / "store")], check=True
        )
    if not (data / "model" / "artifact.json").is_file():
        subprocess.run(
            [
                *(*cli, "train", "--as-of", TRAIN_AS_OF, "--out", str(data / "model")),
                *("--store", str(data / "store"), "--seed", "1", "--overwrite"),
            ],
            check=True,
        )


def run_duckdb(data: Path, as_of: str, out: Path) -> dict[str, Any]:
    from openbureau.workflow import score_store

    c0, t0 = cpu_seconds(), time.perf_counter()
    report = score_store(data / "store", data / "model", dt.date.fromisoformat(as_of), out)
    return {
        "people": report.people,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_seconds() - c0,
        "startup_seconds": 0.0,
    }


def run_spark(
    data: Path,
    as_of: str,
    out: Path,
    master: str,
    partitions: int,
    memory: str,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    from openbureau.spark import feature_frame, score_parquet, session, spark_tables
    from openbureau.workflow.score import prepare_scoring

    c0, t0 = cpu_seconds(), time.perf_counter()
    spark = session(
        master,
        app_name="bench-spark",
        conf={
            "spark.sql.shuffle.partitions": str(partitions),
            "spark.default.parallelism": str(partitions),
            "spark.driver.memory": memory,
            **(extra or {}),
        },
    )
    spark_tables(spark, data / "sim")
    conf = spark.sparkContext.getConf()
    settings = {k: conf.get(k) for k in ("spark.driver.memory", "spark.buffer.pageSize")}
    sys.stderr.write(f"spark settings in force: {settings}\n")
    t1 = time.perf_counter()
    # under the model's policy pack (its network k), as score_parquet and the DuckDB path do
    params = prepare_scoring(data / "model")[1].feature_params()
    features = feature_frame(spark, as_of, params)  # the network walk runs here, checkpointed
    t2 = time.perf_counter()
    report = score_parquet(spark, data / "model", as_of, out, features=features)
    t3 = time.perf_counter()
    cpu = cpu_seconds() - c0
    spark.stop()
    return {
        "people": report.people,
        "seconds": t3 - t1,
        "cpu_seconds": cpu,
        "startup_seconds": t1 - t0,
        "network_walk_seconds": t2 - t1,
        "catalog_and_scoring_seconds": t3 - t2,
    }


def differences(embedded: Path, spark: Path) -> dict[str, Any]:
    """Where the engines' outputs differ, person by person: for each column that is not
    identical, how many rows differ and (for numbers) the largest absolute difference.
    Empty when scores, sub-scores, reasons and input hashes are all identical."""
    keys = [("as_of", "ascending"), ("person_id", "ascending")]
    a = pq.read_table(embedded).sort_by(keys)
    b = pq.read_table(spark).sort_by(keys)
    if a.num_rows != b.num_rows:
        return {"rows": {"duckdb": a.num_rows, "spark": b.num_rows}}
    found: dict[str, Any] = {}
    for name in a.column_names:
        x, y = a[name].combine_chunks(), b[name].combine_chunks()
        if pa.types.is_dictionary(x.type):
            x = x.cast(x.type.value_type)
        if pa.types.is_dictionary(y.type):
            y = y.cast(y.type.value_type)
        if x.type != y.type:
            found[name] = {"types": [str(x.type), str(y.type)]}
            y = y.cast(x.type)
        if x.equals(y):
            continue
        ne = pc.fill_null(pc.not_equal(x, y), True)  # a null on one side only differs too
        both_null = pc.and_(pc.is_null(x), pc.is_null(y))
        rows = pc.sum(pc.and_(ne, pc.invert(both_null))).as_py() or 0
        entry = found.setdefault(name, {})
        entry["rows"] = rows
        if pa.types.is_floating(x.type) or pa.types.is_integer(x.type):
            entry["max_abs"] = pc.max(pc.abs(pc.subtract(x, y))).as_py()
        if rows and "types" not in entry:
            i = pc.index(ne, True).as_py()
            entry["example"] = [str(x[i].as_py()), str(y[i].as_py())]
    return found


def stage_profile(log_dir: Path, top: int = 12) -> list[dict[str, Any]]:
    """The costliest stages of a Spark event log (``spark.eventLog.dir``), by executor run
    time summed over tasks: where a job's CPU goes, with the call site that started it."""
    stages: list[dict[str, Any]] = []
    for path in sorted(p for p in log_dir.rglob("*") if p.is_file()):
        for line in path.read_text().splitlines():
            if not line.startswith("{"):  # e.g. the empty 'appstatus' marker file
                continue
            event = json.loads(line)
            if event.get("Event") != "SparkListenerStageCompleted":
                continue
            info = event["Stage Info"]
            acc = {a.get("Name"): a.get("Value") for a in info.get("Accumulables", [])}
            ops: list[str] = []  # the operators the stage runs, from its RDDs' scopes
            for rdd in sorted(info.get("RDD Info", []), key=lambda r: r["RDD ID"]):
                op = json.loads(rdd["Scope"])["name"] if rdd.get("Scope") else rdd["Name"]
                if op not in ops:
                    ops.append(op)
            stages.append(
                {
                    "stage": info["Stage ID"],
                    "name": info["Stage Name"],
                    "operators": ops,
                    "tasks": info["Number of Tasks"],
                    "wall_seconds": (info["Completion Time"] - info["Submission Time"]) / 1000,
                    "run_seconds": float(acc.get("internal.metrics.executorRunTime", 0)) / 1000,
                    "cpu_seconds": float(acc.get("internal.metrics.executorCpuTime", 0)) / 1e9,
                    "shuffle_read_mb": float(
                        acc.get("internal.metrics.shuffle.read.localBytesRead", 0)
                    )
                    / 2**20,
                    "shuffle_write_mb": float(
                        acc.get("internal.metrics.shuffle.write.bytesWritten", 0)
                    )
                    / 2**20,
                    "spill_mb": float(acc.get("internal.metrics.diskBytesSpilled", 0)) / 2**20,
                }
            )
    total = sum(s["run_seconds"] for s in stages) or 1.0
    for s in stages:
        s["share"] = s["run_seconds"] / total
    summary = {"stage": "all", "count": len(stages), "run_seconds": total}
    return [*sorted(stages, key=lambda s: -s["run_seconds"])[:top], summary]


def one(args: argparse.Namespace) -> None:
    """Run one engine in this process and print its result as JSON (the child's job)."""
    out = Path(args.out)
    if args.engine == "duckdb":
        result = run_duckdb(Path(args.data), args.as_of, out)
    else:
        extra = dict(c.split("=", 1) for c in args.conf)
        if args.stages:
            events = Path(args.out).with_suffix(".events")
            events.mkdir(parents=True, exist_ok=True)
            extra |= {
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": events.as_uri(),
                "spark.eventLog.compress": "false",  # read back as JSON lines below
            }
        data, memory = Path(args.data), args.driver_memory
        result = run_spark(data, args.as_of, out, args.engine, args.partitions, memory, extra)
    if args.engine != "duckdb" and args.stages:
        result["stages"] = stage_profile(Path(args.out).with_suffix(".events"))
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def print_table(console: Console, results: list[dict[str, Any]], data: Path) -> None:
    table = Table(title=f"Full scoring pipeline, {results[0]['people']:,} people ({data})")
    for col in ("engine", "people/s", "job s", "CPU s", "JVM start s", "walk s", "identical"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r["engine"],
            f"{r['people_per_second']:,.0f}",
            f"{r['seconds']:.1f}",
            f"{r['cpu_seconds']:.1f}",
            f"{r['startup_seconds']:.1f}",
            f"{r.get('network_walk_seconds', float('nan')):.1f}",
            str(r.get("identical_to_duckdb", "")),
        )
    console.print(table)


def print_stages(console: Console, engine: str, stages: list[dict[str, Any]]) -> None:
    *top, total = stages
    table = Table(title=f"{engine}: costliest of {total['count']} stages")
    for col in ("stage", "operators", "tasks", "wall s", "task s", "CPU s", "share", "shuffle MB"):
        table.add_column(col, justify="left" if col == "operators" else "right")
    for s in top:
        table.add_row(
            str(s["stage"]),
            ", ".join(s["operators"])[:70],
            str(s["tasks"]),
            f"{s['wall_seconds']:.1f}",
            f"{s['run_seconds']:.1f}",
            f"{s['cpu_seconds']:.1f}",
            f"{s['share']:.0%}",
            f"{s['shuffle_read_mb']:.0f} in / {s['shuffle_write_mb']:.0f} out",
        )
    console.print(table)


def save(
    args: argparse.Namespace,
    data: Path,
    load_before: tuple[float, float, float],
    results: list[dict[str, Any]],
) -> None:
    """Write (or replace) this population's record in the JSON file."""
    record = {
        "people": results[0]["people"],
        "data": str(data),
        "as_of": args.as_of,
        "shuffle_partitions": args.partitions,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(args.json.read_text())["runs"] if args.json.is_file() else []
    runs = [r for r in runs if r["people"] != record["people"]] + [record]
    args.json.write_text(json.dumps({"runs": runs}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--data", type=Path, help="folder with sim/, store/, model/")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--engines", default="duckdb,local[1],local[2]")
    parser.add_argument("--partitions", type=int, default=4, help="shuffle partitions")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/spark.json"))
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark setting"
    )
    parser.add_argument(
        "--stages", action="store_true", help="Spark event log: report the costliest stages"
    )
    parser.add_argument("--keep-outputs", type=Path, help="keep each engine's scores here")
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # child process: one engine
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        one(args)
        return
    data = args.data or Path(f"/work/bench-spark/p{args.people}")
    prepare(data, args.people, args.seed)
    console = Console()
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        if args.keep_outputs:
            args.keep_outputs.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep_outputs)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-spark-"))
        outs: dict[str, Path] = {}
        for engine in args.engines.split(","):
            out = Path(tmp) / (engine.replace("[", "_").replace("]", "") + ".out")
            outs[engine] = out
            command = [sys.executable, __file__, "--engine", engine, "--out", str(out)]
            command += ["--data", str(data), "--as-of", args.as_of]
            command += ["--partitions", str(args.partitions), "--driver-memory", args.driver_memory]
            command += [f"--conf={c}" for c in args.conf] + (["--stages"] if args.stages else [])
            console.print(f"running {engine} on {data} ...")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            log = Path(tmp).parent / f"bench-spark-{engine}.log"
            log.write_text(done.stderr)
            lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if done.returncode or not lines:
                raise SystemExit(f"{engine} failed (exit {done.returncode}); its log: {log}")
            result = {"engine": engine, **json.loads(lines[-1][7:])}
            result["people_per_second"] = result["people"] / result["seconds"]
            if "duckdb" in outs and engine != "duckdb":
                diff = differences(outs["duckdb"], out)
                result["identical_to_duckdb"] = not diff
                result["differences"] = diff
                if diff:
                    console.print(f"[yellow]{engine} differs from duckdb:[/yellow] {diff}")
            results.append(result)
            if result.get("stages"):
                print_stages(console, engine, result["stages"])
            save(args, data, load_before, results)  # a killed run keeps what it measured
    print_table(console, results, data)
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
