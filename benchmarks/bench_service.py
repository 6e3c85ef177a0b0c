"""Service throughput: consented partner lookups against `openbureau serve` on PostgreSQL.

Builds a small demo population (simulate, ingest, train, score), creates a fresh PostgreSQL
database, starts `openbureau serve` with it (publishing the scores), signs people in, grants
a partner consent, then drives `POST /partner/lookup` with wrk (a Lua script rotating over
the consented people) for a bounded time, and `GET /health` of the same server the same way
as the bare baseline. Reports requests/s, p50/p99 latency and errors, checks the access
log's hash chain afterwards, prints a Rich table and writes JSON.

    python benchmarks/bench_service.py [--seconds 15] [--connections 16] [--workers 1]
        [--pg postgresql://postgres@127.0.0.1:5432] [--json benchmarks/results/service.json]
        [--population DIR] [--hold]

Every lookup reads its partner, consent, freeze, current score and disputes in one statement
and waits until its hash-chained access-log entry is committed (group commit) before it
answers. Rate limiting is turned off for the run (OPENBUREAU_LOOKUPS_PER_MINUTE=0).

The machine is shared, so besides requests/s (which moves with everyone else's load) each run
reports the server's CPU time per request (all its processes, user + system), a figure other
load barely moves. ``--population DIR`` keeps the demo population there and reuses it;
``--hold`` leaves the server up after the runs (for a profiler) until Ctrl-C (run it outside
``flock /work/bench/timing.lock``, or it keeps everyone else's timing runs waiting).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import httpx
import psutil
from rich.console import Console
from rich.table import Table

ADMIN_KEY = "bench-admin-key"
PURPOSE = "tenancy"
SCORE_AS_OF = dt.date(2025, 12, 31)
LUA = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%s"
request = function()
  i = i + 1
  return wrk.format(nil, "/partner/lookup", nil, bodies[(i %% #bodies) + 1])
end
"""


def build_population(root: Path, people: int) -> dict[str, Path]:
    from openbureau.ingest import ingest
    from openbureau.sim import simulate
    from openbureau.store import Store
    from openbureau.workflow import score_store, train_from_store

    simulate(root / "sim", people=people, months=24, seed=7)
    with Store(root / "store") as store:
        ingest([root / "sim"], store)
    train_from_store(
        root / "store",
        dt.date(2024, 12, 31),
        root / "model",
        seed=1,
        model_params={"n_estimators": 80, "calibration_cv": 2},
    )
    score_store(root / "store", root / "model", SCORE_AS_OF, root / "scores.parquet")
    return {"store": root / "store", "model": root / "model", "scores": root / "scores.parquet"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up")


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(
    url: str, seconds: int, connections: int, threads: int, script: Path | None
) -> dict[str, Any]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": total,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(lat["50"]),
        "p90_ms": _ms(lat["90"]),
        "p99_ms": _ms(lat["99"]),
        "errors": (int(non2xx.group(1)) if non2xx else 0)
        + (sum(int(x) for x in sock.groups()) if sock else 0),
        "raw": out,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its children (the server's workers)."""
    root = psutil.Process(pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def postgres_seconds(dbname: str) -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL backends serving ``dbname`` and of the WAL writer
    (which flushes their commits), by pid: read from the process titles."""
    found: dict[int, float] = {}
    for p in psutil.process_iter(["cmdline"]):
        title = " ".join(p.info["cmdline"] or ())
        if not title.startswith("postgres:"):
            continue
        if f" {dbname} " in title or title.endswith("walwriter"):
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                found[p.pid] = t.user + t.system
    return found


def children_seconds() -> float:
    """CPU seconds of this process's waited-for children (wrk, once it has exited)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measured(
    pid: int,
    dbname: str,
    url: str,
    seconds: int,
    connections: int,
    threads: int,
    script: Path | None,
) -> dict[str, Any]:
    """One wrk run, with the CPU milliseconds per request of the server (all its processes),
    PostgreSQL (the database's backends and the WAL writer) and wrk itself over it."""
    server0, pg0, wrk0 = cpu_seconds(pid), postgres_seconds(dbname), children_seconds()
    r = run_wrk(url, seconds, connections, threads, script)
    server1, pg1, wrk1 = cpu_seconds(pid), postgres_seconds(dbname), children_seconds()
    n = max(r["requests"], 1)
    r["server_cpu_ms_per_request"] = (server1 - server0) * 1e3 / n
    # a backend that started during the run counts from zero
    r["postgres_cpu_ms_per_request"] = sum(t - pg0.get(k, 0.0) for k, t in pg1.items()) * 1e3 / n
    r["wrk_cpu_ms_per_request"] = (wrk1 - wrk0) * 1e3 / n
    return r


def population(args: argparse.Namespace, work: Path, out: Console) -> dict[str, Path]:
    """The demo population: built in ``work``, or reused from ``--population``."""
    root = args.population or work / "population"
    files = {"store": root / "store", "model": root / "model", "scores": root / "scores.parquet"}
    if args.population is not None and files["scores"].exists():
        from openbureau.workflow import score_store

        # scored again: the features (so the input hashes publish checks) follow the code
        score_store(files["store"], files["model"], SCORE_AS_OF, files["scores"])
        out.print(f"reusing the demo population in {root} (scored again)")
        return files
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    build_population(root, args.people)
    out.print(f"demo population of {args.people:,} built in {time.perf_counter() - t0:.0f}s")
    return files


def set_up(url: str, scores: Path, consented: int) -> tuple[str, list[str]]:
    """A partner key and ``consented`` people who signed in and consented to it."""
    import pyarrow.parquet as pq

    admin_h = {"X-Admin-Key": ADMIN_KEY}
    with httpx.Client(base_url=url, timeout=60) as c:
        key = c.post("/admin/partners", json={"name": "BenchCo"}, headers=admin_h)
        api_key = key.json()["api_key"]
        people = pq.read_table(scores, columns=["person_id"]).column(0).to_pylist()
        chosen = people[:consented]
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
        for i, pid in enumerate(chosen):
            login, pw = f"bench{i}", f"bench-password-{i}"
            r = c.post(
                "/admin/people",
                json={"person_id": pid, "login": login, "password": pw},
                headers=admin_h,
            )
            r.raise_for_status()
            tok = c.post("/auth/login", json={"login": login, "password": pw}).json()["token"]
            c.post(
                "/me/consents",
                json={"partner": "BenchCo", "purpose": PURPOSE, "expires_at": expires},
                headers={"Authorization": f"Bearer {tok}"},
            ).raise_for_status()
        probe = c.post(
            "/partner/lookup",
            json={"person": chosen[0], "purpose": PURPOSE},
            headers={"X-API-Key": api_key},
        )
        assert probe.status_code == 200, probe.text
    return api_key, chosen


def report(
    args: argparse.Namespace,
    out: Console,
    lookup: dict[str, Any],
    health: dict[str, Any],
    chain: dict[str, Any],
    load_before: float,
) -> dict[str, Any]:
    """Print the table and the verdict; the run's record for the JSON file."""
    ratio = lookup["requests_per_s"] / health["requests_per_s"]
    table = Table(title=f"openbureau serve on PostgreSQL, {args.workers} worker(s), "
                  f"wrk {args.connections} connections, {args.seconds}s each")  # fmt: skip
    cols = ("endpoint", "requests/s", "p50 ms", "p90 ms", "p99 ms", "errors", "requests",
            "CPU ms/req: server", "PostgreSQL", "wrk")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="right" if col != "endpoint" else "left")
    for name, r in (("POST /partner/lookup (consented)", lookup), ("GET /health (bare)", health)):
        table.add_row(
            name,
            f"{r['requests_per_s']:,.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p90_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            str(r["errors"]),
            f"{r['requests']:,}",
            f"{r['server_cpu_ms_per_request']:.3f}",
            f"{r['postgres_cpu_ms_per_request']:.3f}",
            f"{r['wrk_cpu_ms_per_request']:.3f}",
        )
    out.print(table)
    target = lookup["requests_per_s"] >= 1500 and lookup["p99_ms"] <= 25 and lookup["errors"] == 0
    out.print(
        f"lookup / bare = {ratio:.2f}; access log after the run: "
        f"{'intact' if chain['ok'] else 'BROKEN'}, {chain['entries']:,} entries; "
        f"target (>= 1,500 req/s, p99 <= 25 ms, 0 errors): {'met' if target else 'NOT met'}; "
        f"load average {load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after, on "
        f"{os.cpu_count()} CPUs"
    )
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": os.getloadavg()[0],
        },
        "database": "postgresql",
        "workers": args.workers,
        "connections": args.connections,
        "seconds": args.seconds,
        "people": args.people,
        "consented_people": args.consented,
        "lookup": {k: v for k, v in lookup.items() if k != "raw"},
        "health": {k: v for k, v in health.items() if k != "raw"},
        "lookup_to_bare_ratio": ratio,
        "access_log": {"ok": chain["ok"], "entries": chain["entries"]},
        "target_met": target,
    }
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument(
        "--connections",
        type=int,
        default=16,
        help="wrk connections; at 1,500/s, 32 in flight already means 21 ms mean latency",
    )
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--people", type=int, default=2000, help="demo population")
    ap.add_argument("--consented", type=int, default=50, help="people the lookups rotate over")
    ap.add_argument("--population", type=Path, default=None, help="build once here, then reuse")
    ap.add_argument("--hold", action="store_true", help="keep serving after the runs")
    ap.add_argument(
        "--pg", default=os.environ.get("OPENBUREAU_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
    )
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results/service.json"))
    args = ap.parse_args()
    out = Console(width=150)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="openbureau-bench-service-"))
    dbname = f"openbureau_bench_{uuid.uuid4().hex[:8]}"
    proc: subprocess.Popen[bytes] | None = None
    chain: dict[str, Any] | None = None
    exe = Path(sys.executable).parent / "openbureau"
    admin = psycopg.connect(args.pg + "/postgres", autocommit=True)
    try:
        data = population(args, work, out)
        admin.execute(f'CREATE DATABASE "{dbname}"')
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "OPENBUREAU_ADMIN_KEY": ADMIN_KEY,
            "OPENBUREAU_LOOKUPS_PER_MINUTE": "0",
            "OPENBUREAU_LOG_LEVEL": "warning",
        }
        cmd = [
            str(exe), "serve", "--database-url", f"{args.pg}/{dbname}",
            "--store", str(data["store"]), "--model", str(data["model"]),
            "--scores", str(data["scores"]), "--port", str(port),
            "--workers", str(args.workers),
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        wait_up(url, proc)
        api_key, chosen = set_up(url, data["scores"], args.consented)
        bodies = ", ".join(
            "'" + json.dumps({"person": p, "purpose": PURPOSE, "threshold": 600}) + "'"
            for p in chosen
        )
        script = work / "lookup.lua"
        script.write_text(LUA % (bodies, api_key))
        load_before = os.getloadavg()[0]
        run_wrk(url + "/health", 3, args.connections, args.threads, None)  # warm up
        run_wrk(url, 3, args.connections, args.threads, script)
        health = measured(proc.pid, dbname, url + "/health", args.seconds, args.connections,
                          args.threads, None)  # fmt: skip
        lookup = measured(proc.pid, dbname, url, args.seconds, args.connections, args.threads,
                          script)  # fmt: skip
        with httpx.Client(base_url=url, timeout=120) as c:
            chain = c.get("/admin/audit/verify", headers={"X-Admin-Key": ADMIN_KEY}).json()
        result = report(args, out, lookup, health, chain, load_before)
        if args.hold:
            out.print(f"serving at {url} (pid {proc.pid}, database {dbname}); wrk script "
                      f"{script}; Ctrl-C to stop")  # fmt: skip
            with contextlib.suppress(KeyboardInterrupt):
                proc.wait()  # until the server is stopped (kill its pid) or Ctrl-C
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        if chain is not None:  # and once more with the server stopped, as an auditor would
            cli = subprocess.run(
                [str(exe), "audit", "verify", "--database-url", f"{args.pg}/{dbname}", "--json"],
                capture_output=True,
                text=True,
            )
            chain["cli"] = json.loads(cli.stdout) if cli.returncode in (0, 1) else cli.stderr
            out.print(f"openbureau audit verify after the run: {chain['cli']}")
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(work, ignore_errors=True)
    assert chain is not None
    cli_ok = isinstance(chain["cli"], dict) and bool(chain["cli"].get("ok"))
    result["access_log"]["cli_verify_ok"] = cli_ok
    args.json.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(args.json.read_text()) if args.json.exists() else []
    runs = [r for r in runs if not (r.get("workers") == args.workers and
                                    r.get("connections") == args.connections)]  # fmt: skip
    runs.append(result)
    args.json.write_text(json.dumps(runs, indent=2) + "\n")
    out.print(f"wrote {args.json}")
    if not chain["ok"] or not cli_ok:
        raise SystemExit("the access log's hash chain is broken after the run")


if __name__ == "__main__":
    main()
