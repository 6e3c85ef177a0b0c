"""The analyst's drift page: the current score version's population (its scores and feature
snapshots, as stored in the service database) against the development sample of that
version's model, drawn by the same builder as ``openbureau monitor``.

Routes (added by ``routes.mount``): ``/analyst/monitor`` is the page shell, which fetches
``/analyst/monitor/report`` (the HTML, shown in a sandboxed frame) with the admin key in a
header; ``/analyst/monitor.json`` gives the same findings for alerting. Both check the admin
key the way ``/analyst/report`` does. Findings are cached per score version: a version's
rows never change once published, so only a new version (or another database) redraws.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from openbureau.web.lru import LRU
from openbureau.web.routes import _HEADERS, PAGES, _current_model, _page

_lock = threading.Lock()
_cache: LRU[tuple[dict[str, Any], str]] = LRU(size=4)  # findings + page per version


def _refusal(request: Request) -> Response | None:
    """403 when admin is disabled, 401 without the right key, else None."""
    from openbureau.service.security import same_secret

    settings = request.app.state.service.settings
    if not settings.admin_key:
        return JSONResponse(
            {"detail": "admin is disabled: start the service with OPENBUREAU_ADMIN_KEY set"},
            status_code=403,
            headers=_HEADERS,
        )
    if not same_secret(request.headers.get("x-admin-key"), settings.admin_key):
        return JSONResponse(
            {"detail": "send the admin key in X-Admin-Key"}, status_code=401, headers=_HEADERS
        )
    return None


def version_population(svc: Any, version: Any) -> tuple[Any, Any]:
    """The version's scores (person_id, as_of, score, pd, points_<factor>, model_id) and
    its feature snapshots as Arrow tables in the same row order (None without snapshots)."""
    import pyarrow as pa
    from sqlalchemy import select

    from openbureau.service.models import Score
    from openbureau.service.queries import FACTORS

    numeric = ["score", "pd", *(f"points_{f}" for f in FACTORS)]
    cols = [Score.person_id, Score.as_of, *(getattr(Score, n) for n in numeric), Score.features]
    with svc.sessions() as s:
        rows = s.execute(
            select(*cols).where(Score.version_id == version.id).order_by(Score.id)
        ).all()
    data: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    scores = pa.table(
        {
            "person_id": pa.array(data[0], pa.string()),
            "as_of": pa.array(data[1], pa.date32()),
            **{n: pa.array(data[2 + i], pa.float64()) for i, n in enumerate(numeric)},
            "model_id": pa.array([version.model_id] * len(rows), pa.string()),
        }
    )
    names = version.feature_columns
    snapshots = data[-1]
    if not names or any(s is None for s in snapshots):
        return scores, None
    values: list[Any] = list(zip(*snapshots, strict=True)) if snapshots else [() for _ in names]
    features = pa.table(
        {
            n: pa.array(v, pa.string() if n == "segment" else pa.float64(), from_pandas=True)
            for n, v in zip(names, values, strict=True)
        }
    )
    return scores, features


def _outcomes(version: Any, scores: Any, dev: Any, thresholds: Any) -> tuple[Any, list]:
    """Default rates by band from the version's store, when it still exists and opens."""
    import duckdb

    from openbureau.monitor.outcomes import default_rates
    from openbureau.store import Store

    if not version.store_path or not Path(version.store_path).is_dir():
        return {
            "available": False,
            "reason": "outcomes unavailable: the version was published without a store",
        }, []
    try:
        with Store(version.store_path, read_only=True) as db:
            return default_rates(db.con, scores, dev.horizon_months, thresholds)
    except (duckdb.Error, OSError, ValueError) as exc:
        return {"available": False, "reason": f"outcomes unavailable: {exc}"}, []


def findings(svc: Any, version: Any) -> tuple[dict[str, Any], str]:
    """monitor.json's content and the page for ``version``; cached per version."""
    from openbureau.monitor.drift import Development, compare
    from openbureau.monitor.page import build_page
    from openbureau.monitor.thresholds import Thresholds

    key = (version.id, svc.settings.database_url)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        dev = Development.load(Path(version.model_path or str(svc.settings.model)))
        scores, features = version_population(svc, version)
        reason = None
        if features is None:
            reason = (
                "CSI unavailable: this score version was published without feature snapshots "
                "(publish with a store or a features file)"
            )
        thresholds = Thresholds()
        outcome, flags = _outcomes(version, scores, dev, thresholds)
        result = compare(
            dev,
            scores,
            features,
            thresholds=thresholds,
            features_reason=reason,
            outcomes=outcome,
            outcome_flags=flags,
        )
        result["population"]["score_version"] = version.id
        return _cache.put(key, (result, build_page(result)))


def _compute(request: Request) -> tuple[dict[str, Any], str] | Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    svc = request.app.state.service
    found = _current_model(svc)
    if found is None:
        return JSONResponse(
            {"detail": "no published score version with its model is available"},
            status_code=503,
            headers=_HEADERS,
        )
    try:
        return findings(svc, found[0])
    except (FileNotFoundError, ValueError) as exc:  # a model folder without development.json
        return JSONResponse(
            {"detail": f"the drift page needs the model's development sample: {exc}"},
            status_code=503,
            headers=_HEADERS,
        )


def monitor_report(request: Request) -> Response:
    """The drift page of the current score version (admin key)."""
    computed = _compute(request)
    if isinstance(computed, Response):
        return computed
    result, page = computed
    headers = {**_HEADERS, "X-Model-Id": result["model_id"], "X-Monitor-Status": result["status"]}
    return HTMLResponse(page, headers=headers)


def monitor_json(request: Request) -> Response:
    """The drift findings of the current score version as JSON (admin key), for alerting."""
    computed = _compute(request)
    if isinstance(computed, Response):
        return computed
    return JSONResponse(computed[0], headers=_HEADERS)


def monitor_script(_: Request) -> Response:
    return FileResponse(PAGES / "monitor.js", media_type="text/javascript", headers=_HEADERS)


def routes() -> list[Route]:
    """The drift page's routes, for ``routes.mount``."""
    return [
        Route(
            "/analyst/monitor",
            _page("monitor.html", inline_style=True),
            methods=["GET"],
            name="web_monitor",
        ),
        Route(
            "/analyst/monitor/report", monitor_report, methods=["GET"], name="web_monitor_report"
        ),
        Route("/analyst/monitor.json", monitor_json, methods=["GET"], name="web_monitor_json"),
        Route("/web/monitor.js", monitor_script, methods=["GET"], name="web_monitor_js"),
    ]
