"""Routes of the web pages: the HTML shells, their static files, and two read-outs the pages
need that the JSON API does not give (the published model's what-if inputs, and the
analyst's report for the model in service or any registered model).

Both read-outs are plain Starlette routes beside the pages. ``/web/model.json`` is public:
it describes the model (actionable inputs, the values it was trained on, each factor's
attainable points), never a person. ``/analyst/report`` checks the admin key itself, the
same way ``/admin`` does (403 when admin is disabled, 401 for any other caller).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from openbureau.web.lru import LRU

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"
STATIC = HERE / "static"

# Scripts and styles only from this origin, nothing from a CDN; the analyst page also
# shows the report (inline CSS, PNGs as data: URLs) in a sandboxed frame.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'{inline}; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
_MODEL_ID = re.compile(r"[0-9A-Za-z_.-]{1,64}")
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(name: str, inline_style: bool = False) -> Any:
    headers = {
        **_HEADERS,
        "Content-Security-Policy": _CSP.format(inline=" 'unsafe-inline'" if inline_style else ""),
    }

    def endpoint(_: Request) -> Response:
        return FileResponse(PAGES / name, media_type="text/html", headers=headers)

    endpoint.__name__ = f"page_{name.removesuffix('.html')}"
    return endpoint


def _current_model(svc: Any) -> tuple[Any, Any] | None:
    """The current score version and its model, or None when either is missing."""
    from sqlalchemy import select

    from openbureau.service.models import CurrentVersion, ScoreVersion

    with svc.sessions() as s:
        version = s.scalar(
            select(ScoreVersion)
            .join(CurrentVersion, CurrentVersion.version_id == ScoreVersion.id)
            .where(CurrentVersion.name == "current")
        )
    if version is None:
        return None
    model_dir = version.model_path or (str(svc.settings.model) if svc.settings.model else None)
    if model_dir is None:
        return None
    try:
        model = svc.models.get(model_dir)
    except (FileNotFoundError, ValueError):
        return None
    if model.model_id_ != version.model_id:
        return None
    return version, model


def model_inputs(model: Any) -> dict[str, Any]:
    """What the what-if sliders and the radar need, from the compiled model alone.

    A slider steps through one value per bin the feature was trained on (the smallest value
    seen in the bin), so every step can move the score; features with a single bin are left
    out since no value of theirs changes anything. A factor's maximum is the most points it
    can earn in any segment, the radar's outer ring.
    """
    import math

    import numpy as np

    scorer = model.scorer_
    inputs = []
    for j, (meta, shape) in enumerate(zip(model.features_, model.shapes_, strict=True)):
        if not meta.actionable:
            continue
        values = sorted({float(v) for v in shape.low if math.isfinite(float(v))})
        gain = float(np.max(scorer.best_points[j]))
        if len(values) < 2 or gain <= 0:
            continue
        inputs.append(
            {
                "name": meta.name,
                "factor": meta.factor,
                "description": meta.description or meta.reason,
                "direction": meta.direction,
                "values": values,
                "max_points": round(gain, 1),
            }
        )
    inputs.sort(key=lambda i: -i["max_points"])
    factor_max: dict[str, float] = {f: 0.0 for f in scorer.factors}
    totals: dict[str, Any] = {}
    for j, meta in enumerate(model.features_):
        totals[meta.factor] = totals.get(meta.factor, 0) + scorer.best_points[j]
    for f, per_segment in totals.items():
        factor_max[f] = round(float(np.max(per_segment)), 1)
    return {"model_id": model.model_id_, "inputs": inputs, "factor_max": factor_max}


def model_json(request: Request) -> Response:
    """The current model's what-if inputs and factor ranges (public: no person in it)."""
    from openbureau.benefits.tiers import BANDS

    found = _current_model(request.app.state.service)
    bands = [{"low": low, "name": name} for low, name in BANDS]
    if found is None:
        return JSONResponse(
            {"model_id": None, "inputs": [], "factor_max": {}, "bands": bands},
            headers=_HEADERS,
        )
    version, model = found
    return JSONResponse(
        {**model_inputs(model), "version": version.id, "bands": bands}, headers=_HEADERS
    )


_report_lock = threading.Lock()  # matplotlib's pyplot is not thread-safe
_report_cache: LRU[str] = LRU(size=8)  # a page per (model, version): bounded, a service runs long


def _published_scores(svc: Any, version_id: int, folder: Path) -> Path:
    """The version's published scores as a Parquet file in ``folder`` (what PSI needs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sqlalchemy import select

    from openbureau.service.models import Score
    from openbureau.service.queries import FACTORS

    columns = [Score.score, *(getattr(Score, f"points_{f}") for f in FACTORS)]
    with svc.sessions() as s:
        rows = s.execute(select(*columns).where(Score.version_id == version_id)).all()
    table = pa.table(
        {
            name: pa.array([r[i] for r in rows], pa.float64())
            for i, name in enumerate(["score", *(f"points_{f}" for f in FACTORS)])
        }
    )
    path = folder / "scores.parquet"
    pq.write_table(table, path)
    return path


def _render_report(svc: Any, model_id: str, model_dir: str, version_id: int | None) -> str:
    """``monitor.report`` for a model folder; with ``version_id`` the version's published
    scores are the scored population (PSI against development). Cached: it takes seconds."""
    from openbureau.monitor.report import build_report

    key = (model_id, model_dir, version_id, svc.settings.database_url)
    with _report_lock:
        cached = _report_cache.get(key)
        if cached is not None:
            return cached
        with tempfile.TemporaryDirectory() as tmp:
            scores = None if version_id is None else _published_scores(svc, version_id, Path(tmp))
            page, _ = build_report(Path(model_dir), scores)
        return _report_cache.put(key, page)


def _error(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=_HEADERS)


def _registered(svc: Any, model_id: str) -> Any:
    """The registered model (or a RegistryError), read in a short session."""
    from openbureau import registry

    with svc.sessions() as s:
        return registry.get_model(s, model_id)


def analyst_report(request: Request) -> Response:
    """The model report for the bureau (admin key) only: of the model in service, or with
    ``?model=ID`` of any registered model (a model not in service has no published scores,
    so its report shows development and hold-out figures without PSI)."""
    from openbureau import registry
    from openbureau.service.security import same_secret

    svc = request.app.state.service
    if not svc.settings.admin_key:
        return _error(403, "admin is disabled: start the service with OPENBUREAU_ADMIN_KEY set")
    if not same_secret(request.headers.get("x-admin-key"), svc.settings.admin_key):
        return _error(401, "send the admin key in X-Admin-Key")
    wanted = request.query_params.get("model")
    found = _current_model(svc)
    state = None
    if wanted:
        if not _MODEL_ID.fullmatch(wanted):
            return _error(422, f"model must be a registered model id, got {wanted[:80]!r}")
        try:
            row = _registered(svc, wanted)
        except registry.RegistryError as exc:
            return _error(404, str(exc))
        model_id, model_dir, state = row.model_id, row.artifact_path, row.state
        in_service = found is not None and found[0].model_id == row.model_id
        version_id = found[0].id if found is not None and in_service else None
    else:
        if found is None:
            return _error(503, "no published score version with its model is available")
        version, model = found
        model_id, version_id = model.model_id_, version.id
        model_dir = version.model_path or str(svc.settings.model)
        with contextlib.suppress(registry.RegistryError):  # a model never registered
            state = _registered(svc, model_id).state
    try:
        page = _render_report(svc, model_id, model_dir, version_id)
    except FileNotFoundError as exc:  # a model folder moved, or without its evaluation files
        return _error(503, f"the model report needs the model's folder and evaluation files: {exc}")
    headers = {**_HEADERS, "X-Model-Id": model_id, "X-In-Service": str(version_id is not None)}
    if state is not None:
        headers["X-Model-State"] = state
    return HTMLResponse(page, headers=headers)


def mount(app: FastAPI) -> None:
    """Add the pages to the service app (called once at the end of ``create_app``)."""
    from openbureau.web import monitor  # imports this module: only once it is loaded

    app.router.routes.extend(
        [
            Route("/", _page("signin.html"), methods=["GET"], name="web_signin"),
            Route("/me", _page("me.html"), methods=["GET"], name="web_me"),
            Route("/partner", _page("partner.html"), methods=["GET"], name="web_partner"),
            Route(
                "/analyst",
                _page("analyst.html", inline_style=True),
                methods=["GET"],
                name="web_analyst",
            ),
            Route("/web/model.json", model_json, methods=["GET"], name="web_model"),
            Route("/analyst/report", analyst_report, methods=["GET"], name="web_report"),
            *monitor.routes(),  # the drift page
            Mount("/web/static", app=StaticFiles(directory=STATIC), name="web_static"),
        ]
    )
