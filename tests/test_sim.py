"""The population simulator: contract-valid output, determinism, and real factor signal."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbureau.contract import FACTORS, TABLES, Table, get_table
from openbureau.sim import SimulationReport, simulate

PEOPLE = 20_000
CHUNK = 8_000  # 8 blocks of 1,000 -> 3 chunks
END = dt.date(2025, 12, 31)
AS_OF = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationReport, list[int]]:
    out = tmp_path_factory.mktemp("sim") / "world"
    calls: list[int] = []
    report = simulate(out, PEOPLE, months=24, seed=7, chunk_size=CHUNK, progress=calls.append)
    return out, report, calls


@pytest.fixture(scope="module")
def con(world: tuple[Path, SimulationReport, list[int]]) -> duckdb.DuckDBPyConnection:
    out = world[0]
    c = duckdb.connect()
    for t in TABLES:
        c.execute(f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet('{out}/{t.name}/*.parquet')")
    c.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{out}/_truth/*.parquet')")
    # Labels as a model would see them: any outcome in the label window.
    c.execute(
        "CREATE TABLE lab AS SELECT p.person_id, o.person_id IS NOT NULL AS y "
        "FROM people p LEFT JOIN (SELECT DISTINCT person_id FROM outcomes) o USING (person_id)"
    )
    return c


def one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Probability a random defaulter scores above a random non-defaulter (ties count half)."""
    score, label = np.asarray(score, float), np.asarray(label, bool)
    neg = np.sort(score[~label])
    below = np.searchsorted(neg, score[label], side="left")
    ties = np.searchsorted(neg, score[label], side="right") - below
    return float((below + ties / 2).sum() / (label.sum() * neg.size))


def feature_auc(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, float, float, int]:
    """AUC of a per-person feature (``person_id, v``) against the label, and the group means."""
    r = con.execute(
        f"SELECT l.y, f.v FROM lab l JOIN ({sql}) f USING (person_id) WHERE f.v IS NOT NULL"
    ).fetchnumpy()
    y, v = np.asarray(r["y"], bool), np.asarray(r["v"], float)
    return auc(v, y), float(v[y].mean()), float(v[~y].mean()), int(y.size)


# --- the contract ---------------------------------------------------------------------------


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_every_part_has_the_contract_schema(world, table: str) -> None:
    out, report, _ = world
    parts = sorted((out / table).glob("part-*.parquet"))
    assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(3)]
    for p in parts:
        assert pq.read_schema(p).equals(get_table(table).schema), p
    assert sum(pq.read_metadata(p).num_rows for p in parts) == report.rows[table]
    assert report.rows[table] > 0


def _violations(table: Table) -> list[tuple[str, str]]:
    """(rule, SQL condition of a bad row) for every rule the contract declares on ``table``."""
    rules: list[tuple[str, str]] = []
    for f in table.fields:
        c = f.name
        if f.required:
            rules.append((f"{c} required", f"{c} IS NULL"))
        if f.enum:
            values = ", ".join(f"'{v}'" for v in f.enum)
            rules.append((f"{c} enum", f"{c} NOT IN ({values})"))
        if f.minimum is not None:
            rules.append((f"{c} minimum", f"{c} < {f.minimum}"))
        if f.maximum is not None:
            rules.append((f"{c} maximum", f"{c} > {f.maximum}"))
        if f.not_in_future:
            now = "current_date" if f.kind == "date" else "current_timestamp::TIMESTAMP"
            rules.append((f"{c} not in future", f"{c} > {now}"))
        if f.kind in ("date", "timestamp"):
            rules.append((f"{c} within the window", f"{c}::DATE > DATE '{END}'"))
        if f.references:
            rt, rc = f.references.split(".")
            rules.append((f"{c} references {f.references}", f"{c} NOT IN (SELECT {rc} FROM {rt})"))
    for check in table.checks:
        rules.append((check.name, f"NOT coalesce(({check.sql}), true)"))
    return rules


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_every_row_passes_the_contract_rules(con, table: str) -> None:
    t = get_table(table)
    bad = {
        rule: n
        for rule, cond in _violations(t)
        if (n := one(con, f"SELECT count(*) FROM {table} WHERE {cond}"))
    }
    assert bad == {}
    key = ", ".join(t.key)
    dupes = one(
        con, f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes == 0


def test_relationship_pairs_are_unique_whatever_the_kind_or_order(con) -> None:
    pairs = "SELECT least(person_a, person_b) a, greatest(person_a, person_b) b FROM relationships"
    assert one(con, f"SELECT count(*) FROM ({pairs})") == one(
        con, f"SELECT count(*) FROM (SELECT DISTINCT * FROM ({pairs}))"
    )


# --- determinism ----------------------------------------------------------------------------


def _read_all(out: Path) -> dict[str, pa.Table]:
    return {name: pq.read_table(out / name) for name in [t.name for t in TABLES] + ["_truth"]}


def test_same_seed_same_tables_whatever_the_chunk_size(tmp_path: Path) -> None:
    a = _read_all(simulate(tmp_path / "a", 2_500, months=18, seed=3, chunk_size=1_000).out)
    b = _read_all(simulate(tmp_path / "b", 2_500, months=18, seed=3, chunk_size=50_000).out)
    c = _read_all(simulate(tmp_path / "c", 2_500, months=18, seed=4, chunk_size=1_000).out)
    assert len(list((tmp_path / "a" / "people").iterdir())) == 3
    assert len(list((tmp_path / "b" / "people").iterdir())) == 1
    for name in a:
        assert a[name].equals(b[name]), name
    differ = [name for name in a if not a[name].equals(c[name])]
    assert differ == list(a)


def test_refuses_to_mix_with_an_earlier_run_unless_told(tmp_path: Path) -> None:
    simulate(tmp_path, 1_500, months=18, chunk_size=1_000)
    with pytest.raises(FileExistsError, match="already holds a simulation"):
        simulate(tmp_path, 1_000, months=18)
    (tmp_path / "notes.txt").write_text("keep me")
    report = simulate(tmp_path, 1_000, months=18, overwrite=True)
    assert len(list((tmp_path / "accounts").glob("part-*.parquet"))) == 1
    assert pq.read_table(tmp_path / "people").num_rows == report.people == 1_000
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_single_person_is_a_valid_population(tmp_path: Path) -> None:
    report = simulate(tmp_path, 1, months=8, label_months=6, end=dt.date(2025, 6, 15))
    assert report.rows["people"] == 1 and report.rows["relationships"] == 0
    assert np.isnan(report.oracle_auc)  # no AUC without both classes
    manifest = json.loads((tmp_path / "_manifest.json").read_text())
    assert manifest["oracle_auc"] is None
    assert manifest["window"]["as_of"] == "2024-12-15"
    for t in TABLES:
        table = pq.read_table(tmp_path / t.name)
        assert table.schema.equals(t.schema)


# --- the report, manifest and truth ---------------------------------------------------------


def test_report_manifest_and_progress(world) -> None:
    out, report, calls = world
    assert calls == [8_000, 16_000, 20_000]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["seed"] == report.seed == 7
    assert manifest["parameters"]["people"] == PEOPLE
    assert manifest["window"] == {"start": "2024-01-01", "as_of": str(AS_OF), "end": str(END)}
    assert manifest["rows"] == dict(report.rows)
    assert set(report.rows) == {t.name for t in TABLES}
    assert manifest["default_rate"] == pytest.approx(report.default_rate)
    assert manifest["oracle_auc"] == pytest.approx(report.oracle_auc)
    text = str(report)
    assert f"{PEOPLE:,} people" in text and "oracle AUC" in text and "transactions" in text
    with pytest.raises(AttributeError):
        report.people = 1  # type: ignore[misc]


def test_truth_matches_the_observable_labels(con, world) -> None:
    report = world[1]
    assert one(con, "SELECT count(*) FROM truth") == PEOPLE
    assert (
        one(
            con,
            "SELECT count(*) FROM truth t JOIN lab l USING (person_id) WHERE t.defaulted <> l.y",
        )
        == 0
    )
    assert one(con, "SELECT avg(defaulted::INT) FROM truth") == pytest.approx(report.default_rate)
    assert one(con, "SELECT count(DISTINCT as_of) FROM truth") == 1
    assert one(con, "SELECT min(as_of) FROM truth") == AS_OF
    # The oracle ranks defaulters well but not perfectly, as real scores do.
    assert 0.75 < report.oracle_auc < 0.93
    y = con.execute("SELECT true_pd, defaulted FROM truth").fetchnumpy()
    assert auc(y["true_pd"], y["defaulted"]) == pytest.approx(report.oracle_auc, abs=1e-9)


def test_default_rate_and_thin_files_are_realistic(con, world) -> None:
    report = world[1]
    assert 0.045 < report.default_rate < 0.08
    assert 0.15 < report.thin_file_share < 0.25
    # Seen from the tables: a file opened in the last year with at most one credit account.
    observed = one(
        con,
        f"""SELECT avg((p.first_seen >= DATE '{AS_OF}' - INTERVAL 12 MONTH
                        AND coalesce(a.n, 0) <= 1)::INT)
            FROM people p LEFT JOIN (
              SELECT person_id, count(*) n FROM accounts WHERE opened < DATE '{AS_OF}' GROUP BY 1
            ) a USING (person_id)""",
    )
    assert 0.15 < observed < 0.25
    no_credit = one(
        con,
        f"""SELECT avg((a.person_id IS NULL)::INT) FROM truth t LEFT JOIN
            (SELECT DISTINCT person_id FROM accounts WHERE opened < DATE '{AS_OF}') a
            USING (person_id) WHERE t.thin_file""",
    )
    assert 0.3 < no_credit < 0.8


def test_defaults_happen_in_the_label_window_and_show_in_the_accounts(con) -> None:
    window = f"event_date > DATE '{AS_OF}' AND event_date <= DATE '{END}'"
    assert one(con, f"SELECT count(*) FROM outcomes WHERE NOT ({window})") == 0
    kinds = dict(con.execute("SELECT kind, count(*) FROM outcomes GROUP BY 1").fetchall())
    assert kinds["default_90dpd"] > 5 * (kinds.get("charge_off", 0) + kinds.get("bankruptcy", 0))
    # The defaulted account belongs to the person and was 90 days past due on the event date.
    orphans = one(
        con,
        """SELECT count(*) FROM outcomes o WHERE o.kind = 'default_90dpd' AND NOT EXISTS (
             SELECT 1 FROM accounts a JOIN repayments r USING (account_id)
             WHERE a.account_id = o.account_id AND a.person_id = o.person_id
               AND r.due_date = o.event_date - 90 AND r.paid_date IS NULL)""",
    )
    assert orphans == 0
    # Nothing is paid on a defaulted account from the first missed instalment on.
    paid_after = one(
        con,
        """SELECT count(*) FROM outcomes o JOIN repayments r USING (account_id)
           WHERE o.kind = 'default_90dpd' AND r.due_date >= o.event_date - 90
             AND r.paid_date IS NOT NULL""",
    )
    assert paid_after == 0


# --- every factor drives default, seen from the observable tables --------------------------

LATE = "(paid_date IS NULL OR paid_date > due_date)"
BEFORE = f"DATE '{AS_OF}'"


def test_history_late_payments_before_as_of_predict_default(con) -> None:
    repay, d, n, _ = feature_auc(
        con,
        f"""SELECT a.person_id, avg({LATE}::INT) v FROM repayments r JOIN accounts a
            USING (account_id) WHERE due_date < {BEFORE} GROUP BY 1""",
    )
    assert repay > 0.65 and d > 1.5 * n
    bills, d, n, _ = feature_auc(
        con,
        f"SELECT person_id, avg({LATE}::INT) v FROM bills WHERE due_date < {BEFORE} GROUP BY 1",
    )
    assert bills > 0.65 and d > 1.5 * n


def test_behavior_spending_patterns_predict_default(con) -> None:
    debit = f"FROM transactions WHERE ts < {BEFORE} AND direction = 'debit'"
    cash, d, n, _ = feature_auc(
        con,
        f"SELECT person_id, avg((merchant_category = 'cash_withdrawal')::INT) v {debit} GROUP BY 1",
    )
    assert cash > 0.58 and d > n
    _, d, n, _ = feature_auc(
        con, f"SELECT person_id, avg((merchant_category = 'gambling')::INT) v {debit} GROUP BY 1"
    )
    assert d > 2 * n
    volatility, d, n, _ = feature_auc(
        con,
        f"""SELECT person_id, stddev(s) / avg(s) v FROM (
              SELECT person_id, date_trunc('month', ts) m, sum(amount) s {debit} GROUP BY 1, 2)
            GROUP BY 1""",
    )
    assert volatility > 0.53 and d > n


def test_capacity_savings_and_income_protect_from_default(con) -> None:
    income = f"""SELECT person_id, avg(monthly_income) inc FROM incomes
                 WHERE as_of < {BEFORE} AND source <> 'self_declared' GROUP BY 1"""
    buffer, d, n, _ = feature_auc(
        con,
        f"""SELECT b.person_id, avg(b.balance) / any_value(i.inc) v
            FROM balances b JOIN ({income}) i USING (person_id)
            WHERE b.account_kind IN ('current', 'savings') AND b.as_of < {BEFORE} GROUP BY 1""",
    )
    assert buffer < 0.4 and d < n
    inc, d, n, _ = feature_auc(
        con, income.replace("avg(monthly_income) inc", "avg(monthly_income) v")
    )
    assert inc < 0.4 and d < n
    util, d, n, _ = feature_auc(
        con,
        f"""SELECT a.person_id, avg(r.balance / a.credit_limit) v FROM repayments r
            JOIN accounts a USING (account_id)
            WHERE a.credit_limit IS NOT NULL AND r.due_date < {BEFORE} GROUP BY 1""",
    )
    assert util > 0.6 and d > n


def test_identity_stability_protects_from_default(con) -> None:
    verified, d, n, _ = feature_auc(
        con,
        f"""SELECT p.person_id, count(DISTINCT v.kind) v FROM people p
            LEFT JOIN identity_verifications v ON v.person_id = p.person_id
              AND v.status = 'verified' AND v.verified_at < {BEFORE} GROUP BY 1""",
    )
    assert verified < 0.42 and d < n
    moves, d, n, _ = feature_auc(
        con,
        f"""SELECT p.person_id, count(a.since) v FROM people p LEFT JOIN addresses a
              ON a.person_id = p.person_id AND a.since < {BEFORE}
              AND a.since >= {BEFORE} - INTERVAL 5 YEAR GROUP BY 1""",
    )
    assert moves > 0.55 and d > n
    tenure, d, n, _ = feature_auc(
        con,
        f"""SELECT person_id, max({BEFORE} - since) v FROM employment
            WHERE since < {BEFORE} AND (until IS NULL OR until >= {BEFORE}) GROUP BY 1""",
    )
    assert tenure < 0.45 and d < n


CONTACTS = f"""SELECT person_a p, person_b q FROM relationships
               WHERE consent_a AND consent_b AND since < {BEFORE}
               UNION ALL SELECT person_b, person_a FROM relationships
               WHERE consent_a AND consent_b AND since < {BEFORE}"""


def test_network_contacts_history_predicts_default(con) -> None:
    late_before = f"""SELECT person_id, avg({LATE}::INT) late FROM bills
                      WHERE due_date < {BEFORE} GROUP BY 1"""
    contacts_late, d, n, _ = feature_auc(
        con,
        f"""SELECT c.p person_id, avg(b.late) v FROM ({CONTACTS}) c
            JOIN ({late_before}) b ON b.person_id = c.q GROUP BY 1""",
    )
    assert contacts_late > 0.55 and d > n
    contacts_default, d, n, _ = feature_auc(
        con,
        f"""SELECT c.p person_id, avg(l.y::INT) v FROM ({CONTACTS}) c
            JOIN lab l ON l.person_id = c.q GROUP BY 1""",
    )
    assert contacts_default > 0.53 and d > n


def test_network_adds_signal_beyond_the_persons_own_traits(con) -> None:
    """Given a person's own four-factor risk, contacts' defaults still raise the odds."""
    r = con.execute(
        f"""SELECT t.defaulted y,
                   t.logit_history + t.logit_behavior + t.logit_capacity + t.logit_identity own,
                   coalesce(c.share, 0) share, c.share IS NOT NULL has
            FROM truth t LEFT JOIN (
              SELECT x.p person_id, avg(l.y::INT) share FROM ({CONTACTS}) x
              JOIN lab l ON l.person_id = x.q GROUP BY 1) c USING (person_id)"""
    ).fetchnumpy()
    x = np.column_stack([np.ones(r["y"].size), r["own"], r["share"], r["has"]]).astype(float)
    y = np.asarray(r["y"], float)
    w = np.zeros(x.shape[1])
    for _ in range(25):  # logistic regression by Newton's method
        p = 1 / (1 + np.exp(-x @ w))
        hess = (x * (p * (1 - p))[:, None]).T @ x
        w -= np.linalg.solve(hess, x.T @ (p - y))
    se = np.sqrt(np.diag(np.linalg.inv(hess)))
    assert w[1] > 0 and w[2] / se[2] > 3


def test_homophily_contacts_of_defaulters_default_more(con, world) -> None:
    rate = world[1].default_rate
    among_contacts = one(
        con,
        """SELECT avg(l2.y::INT) FROM (SELECT person_a p, person_b q FROM relationships
             UNION ALL SELECT person_b, person_a FROM relationships) e
           JOIN lab l1 ON l1.person_id = e.p JOIN lab l2 ON l2.person_id = e.q WHERE l1.y""",
    )
    assert among_contacts > 1.3 * rate
    inside = one(
        con,
        """SELECT avg((ta.community = tb.community)::INT) FROM relationships r
           JOIN truth ta ON ta.person_id = r.person_a JOIN truth tb ON tb.person_id = r.person_b""",
    )
    assert inside > 0.6


def test_degrees_are_heavy_tailed_and_consent_is_mostly_given(con) -> None:
    deg = con.execute(
        """SELECT coalesce(d.n, 0) n FROM people p LEFT JOIN (
             SELECT p, count(*) n FROM (SELECT person_a p FROM relationships
                                        UNION ALL SELECT person_b FROM relationships) GROUP BY 1
           ) d ON d.p = p.person_id"""
    ).fetchnumpy()["n"]
    assert 0.03 < (deg == 0).mean() < 0.3
    assert np.median(deg) <= deg.mean() and deg.max() > 6 * deg.mean()
    both = one(con, "SELECT avg((consent_a AND consent_b)::INT) FROM relationships")
    assert 0.6 < both < 0.95


@pytest.mark.parametrize("factor", FACTORS)
def test_each_true_factor_term_varies_and_raises_the_pd(con, factor: str) -> None:
    r = con.execute(f"SELECT logit_{factor} f, true_pd, defaulted FROM truth").fetchnumpy()
    f, pd_ = np.asarray(r["f"], float), np.asarray(r["true_pd"], float)
    assert f.std() > 0.15
    low, high = f < np.quantile(f, 0.2), f > np.quantile(f, 0.8)
    assert pd_[high].mean() > 1.5 * pd_[low].mean()
    assert np.corrcoef(f, np.log(pd_ / (1 - pd_)))[0, 1] > 0.2
    assert auc(f, r["defaulted"]) > 0.58


# --- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"people": 0}, ValueError, r"people must be >= 1, got 0"),
        ({"people": 2.5}, TypeError, r"people must be an int, got float"),
        ({"people": True}, TypeError, r"people must be an int, got bool"),
        (
            {"months": 12, "label_months": 12},
            ValueError,
            r"months must be greater than label_months",
        ),
        ({"months": 601}, ValueError, r"months must be <= 600, got 601"),
        ({"label_months": 3}, ValueError, r"label_months must be >= 6, got 3"),
        ({"seed": -1}, ValueError, r"seed must be >= 0, got -1"),
        ({"chunk_size": 0}, ValueError, r"chunk_size must be >= 1, got 0"),
        ({"end": "2025-12-31"}, TypeError, r"end must be a datetime.date, got str"),
        ({"end": dt.datetime(2025, 1, 1)}, TypeError, r"end must be a datetime.date, got datetime"),
        (
            {"end": dt.date.today() + dt.timedelta(days=1)},
            ValueError,
            r"end must not be in the future",
        ),
        ({"progress": 3}, TypeError, r"progress must be callable or None, got int"),
        ({"txn_per_month": 0}, ValueError, r"txn_per_month must be in \(0.0, 100.0\], got 0"),
        ({"target_default_rate": 0.7}, ValueError, r"target_default_rate must be in"),
        ({"out": 5}, TypeError, r"out must be a path"),
    ],
)
def test_bad_arguments_are_refused_precisely(tmp_path: Path, kwargs, error, message) -> None:
    args = {"out": tmp_path / "x", "people": 10, **kwargs}
    with pytest.raises(error, match=message):
        simulate(**args)
    assert not (tmp_path / "x").exists()
