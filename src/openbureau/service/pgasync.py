"""PostgreSQL on the event loop: the partner lookup's read and the access log's group commit.

Profiled under load, a lookup's database work cost more in Python than in PostgreSQL: a hop to
a reader thread and back (futures, wake-ups, the GIL passed between threads), SQLAlchemy's
execution machinery, then a hop to the log writer's thread and a ``call_soon_threadsafe``
back; psycopg's async API, tried next, spent most of its time in its Python wait loop and
pool. Here both run as coroutines on the server's event loop with asyncpg (its protocol is
compiled; statements are prepared once per connection and cached): the one-statement gate
read (``queries.PARTNER_GATE``, compiled from the same Core statement) and the writer that
chains and commits the waiting entries in one transaction.

Nothing changes in what is promised: the read is the same statement outside any transaction,
nothing is cached, and a request is answered only after the transaction holding its entry
has committed (``synchronous_commit`` as the server has it: on by default). The chain is
built by the same ``audit.chain_rows``; the head row is locked by the same UPDATE first, so
writers in several processes queue on it and the chain never forks.

SQLite (the embedded default) keeps the thread-based reader and ``audit.AuditWriter``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import asyncpg
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from openbureau.service import audit
from openbureau.service.queries import PARTNER_GATE, PartnerGate, gate_from_row, gate_params

_Item = tuple[dict[str, Any], "asyncio.Future[dict[str, Any]]"] | None
# a connection the server dropped or could not keep: a read may simply be tried again
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # terminated by an administrator
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
)


# the batch's rows and the new head in one statement (one round trip while the head is
# locked, one INSERT instead of one per row): the columns as arrays, unnested
_TYPES = {"seq": "int", "at": "timestamptz", "partner_id": "int", "detail": "text"}
_APPEND = (
    "WITH added AS (INSERT INTO {log} ({cols}) SELECT {values} FROM unnest({arrays}) "
    "AS batch({cols})) UPDATE {head} SET last_hash = ${last} WHERE id = 1"
).format(
    log=audit.LOG_TABLE.name,
    head=audit.SET_HEAD.table.name,  # type: ignore[attr-defined]
    cols=", ".join(audit.LOG_COLUMNS),
    values=", ".join(f"{c}::json" if c == "detail" else c for c in audit.LOG_COLUMNS),
    arrays=", ".join(
        f"${i}::{_TYPES.get(c, 'varchar')}[]" for i, c in enumerate(audit.LOG_COLUMNS, 1)
    ),
    last=len(audit.LOG_COLUMNS) + 1,
)


def _columns(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The rows as one list per column (``detail`` as the JSON text SQLAlchemy writes)."""
    return [[json.dumps(r[c]) if c == "detail" else r[c] for r in rows] for c in audit.LOG_COLUMNS]


class _Statement:
    """A Core statement as asyncpg SQL (``$n``) and the order its named values go in."""

    def __init__(self, statement: Any, **kw: Any) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect(), **kw)
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or ())
        self.fixed = {k: v for k, v in compiled.params.items() if v is not None}

    def args(self, values: dict[str, Any]) -> list[Any]:
        merged = {**self.fixed, **values}
        return [merged[name] for name in self.names]


async def _json_codec(conn: asyncpg.Connection) -> None:
    """JSON columns as Python values, written the way SQLAlchemy's JSON type writes them."""
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep(conn: asyncpg.Connection) -> None:
    """No reset when a connection goes back to the pool: asyncpg's default sends
    ``RESET ALL; CLOSE ALL; UNLISTEN *; ...`` every time (a round trip per lookup that
    doubled PostgreSQL's CPU per lookup), and these connections only ever run the one read,
    outside a transaction, leaving no session state to reset."""


class AsyncPostgres:
    """The lookup's reads and log appends for one server process, on its event loop.

    Built without I/O; the pool and the writer start on first use in the running loop (one
    loop per server process; a new loop, as a second test client makes, starts fresh ones).
    """

    def __init__(self, engine: Engine, pool_size: int = 8, max_batch: int = 512) -> None:
        url = engine.url.set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.pool_size = pool_size
        self.max_batch = max_batch
        self._gate = _Statement(PARTNER_GATE)
        self._lock = _Statement(audit.LOCK_HEAD)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Future[asyncpg.Pool] | None = None
        self._queue: asyncio.Queue[_Item] | None = None
        self._writer: asyncio.Task[None] | None = None

    # -- the loop's resources ---------------------------------------------------------------
    def _here(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop: nothing of the old one works
            self._loop, self._pool, self._opening = loop, None, None
            self._queue, self._writer = None, None
        return loop

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is not None and self._loop is asyncio.get_running_loop():
            return self._pool
        self._here()
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._opening)

    async def _open(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, init=_json_codec, reset=_keep
        )
        self._pool = pool
        return pool

    async def aclose(self) -> None:
        """Finish the queued appends, close the writer's connection and the pool."""
        if self._writer is not None and self._queue is not None and not self._writer.done():
            self._queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await self._writer
        if self._pool is not None and self._loop is asyncio.get_running_loop():
            await self._pool.close()
        self._loop = self._pool = self._opening = self._queue = self._writer = None

    # -- the gate read ----------------------------------------------------------------------
    async def gate(self, key_hash: str, person_id: str, purpose: str) -> PartnerGate | None:
        """``queries.partner_gate`` on a pooled connection (no transaction: one statement);
        after a connection the server dropped, every pooled one is replaced and the read
        tried again."""
        args = self._gate.args(gate_params(key_hash, person_id, purpose))
        pool = await self._connections()
        for attempt in (1, 2):
            try:
                row = await pool.fetchrow(self._gate.sql, *args)
                return None if row is None else gate_from_row(row)
            except _CONNECTION_LOST:
                if attempt == 2:
                    raise
                await pool.expire_connections()
        raise AssertionError("unreachable")

    # -- the access log ---------------------------------------------------------------------
    async def append_async(self, timeout: float = 60.0, **entry: Any) -> dict[str, Any]:
        """Queue one entry for the writer; return its row once its transaction committed."""
        loop = self._here()
        if self._queue is None or self._writer is None or self._writer.done():
            self._queue = self._queue or asyncio.Queue()
            self._writer = loop.create_task(self._write(self._queue), name="openbureau-audit")
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._queue.put_nowait((entry, done))
        async with asyncio.timeout(timeout):
            return await done

    async def _write(self, queue: asyncio.Queue[_Item]) -> None:
        """Group commit: everything that queued while the last transaction ran is chained
        and committed in the next one (no timer: a lone entry goes at once)."""
        conn: asyncpg.Connection | None = None
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                batch, stop = [item], False
                while len(batch) < self.max_batch and not queue.empty():
                    more = queue.get_nowait()
                    if more is None:
                        stop = True
                        break
                    batch.append(more)
                outcome: list[dict[str, Any]] | BaseException
                try:
                    conn, outcome = await self._append(conn, [e for e, _ in batch])
                except Exception as exc:  # each waiter learns its entry was not written
                    outcome, conn = exc, await _discard(conn)
                for i, (_, fut) in enumerate(batch):
                    if fut.done():  # timed out or cancelled meanwhile
                        continue
                    if isinstance(outcome, BaseException):
                        fut.set_exception(outcome)
                    else:
                        fut.set_result(outcome[i])
                if stop:
                    return
        finally:
            await _discard(conn)

    async def _append(
        self, conn: asyncpg.Connection | None, entries: list[dict[str, Any]]
    ) -> tuple[asyncpg.Connection, list[dict[str, Any]]]:
        """Commit ``entries`` on ``conn`` (or a new connection). A connection found dead
        before the rows were sent (the server restarted, an idle connection was dropped) is
        replaced once: nothing of that transaction can have committed. A failure after they
        were sent is not retried, since the commit may have happened."""
        for attempt in (1, 2):
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(self.dsn)
                await _json_codec(conn)
            try:
                return conn, await self._commit(conn, entries)
            except _NotSent as exc:
                conn = await _discard(conn)
                if attempt == 2:
                    raise exc.__cause__ from None  # type: ignore[misc]
        raise AssertionError("unreachable")

    async def _commit(
        self, conn: asyncpg.Connection, entries: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Lock the head (learning the last hash), chain, insert the rows and move the head,
        commit: what ``audit.append_rows`` does, in one transaction and three round trips
        while the head is locked (the lock, the rows, the commit)."""
        sent = False
        try:
            async with conn.transaction():
                found = await conn.fetchrow(self._lock.sql, *self._lock.args({"n": len(entries)}))
                assert found is not None, "the access-log head row is missing"
                rows = audit.chain_rows(entries, found[0], found[1])
                sent = True
                await conn.execute(_APPEND, *_columns(rows), rows[-1]["hash"])
        except _CONNECTION_LOST as exc:
            if not sent:
                raise _NotSent from exc
            raise
        return rows


class _NotSent(Exception):
    """The transaction failed before any row was sent: safe to try again."""


async def _discard(conn: asyncpg.Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close(timeout=5)
