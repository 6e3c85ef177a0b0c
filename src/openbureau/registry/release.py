"""Reading a release report (``release.json`` from ``openbureau release``) for a promotion.

The gate writes the report; the registry only trusts what it can check: the file parses,
says ``passed``, agrees with its own checks, and names the candidate and champion. Its
sha256 goes into the promotion's event, so the log names the exact report relied on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openbureau.registry.errors import RegistryError

RELEASE_FILE = "release.json"


@dataclass(frozen=True)
class ReleaseReport:
    path: Path
    sha256: str
    passed: bool
    candidate_id: str
    candidate_path: str
    champion_id: str | None
    checks: list[dict[str, Any]]
    scores: Path | None
    as_of: dt.date

    def failing(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c.get("passed") is not True]

    def failures_text(self) -> str:
        """``name (why); name (why)`` for every failing check."""
        return "; ".join(
            f"{c['name']} ({c.get('why') or 'no reason given'})" for c in self.failing()
        )


def _model_ref(data: dict[str, Any], key: str, where: Path) -> dict[str, str]:
    ref = data.get(key)
    if not isinstance(ref, dict) or not isinstance(ref.get("model_id"), str) or not ref["model_id"]:
        raise RegistryError(f"{where}: field {key!r} must be an object with a model_id string")
    return ref


def _scores_path(report: Path, scores: str) -> Path:
    """Where the report's scores file is: absolute as written; a relative one beside the
    report, else from the working folder, else by its name in the report's folder (a
    report folder that was moved)."""
    given = Path(scores)
    if given.is_absolute():
        return given
    for option in (report.parent / given, given, report.parent / given.name):
        if option.is_file():
            return option.resolve()
    return report.parent / given


def load_release(path: Path | str) -> ReleaseReport:
    """Parse and check a release report; a folder means its ``release.json``."""
    if not isinstance(path, str | Path):
        raise TypeError(f"release report must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        path = path / RELEASE_FILE
    if not path.is_file():
        raise RegistryError(f"release report {path} does not exist", status=400)
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"release report {path} is not JSON: {exc}", status=400) from None
    if not isinstance(data, dict):
        raise RegistryError(f"release report {path} must hold a JSON object", status=400)
    for key in ("passed", "candidate", "champion", "checks", "as_of"):
        if key not in data:
            raise RegistryError(f"release report {path} lacks field {key!r}", status=400)
    if not isinstance(data["passed"], bool):
        raise RegistryError(f"{path}: field 'passed' must be true or false", status=400)
    candidate = _model_ref(data, "candidate", path)
    champion = None if data["champion"] is None else _model_ref(data, "champion", path)
    checks = data["checks"]
    if not isinstance(checks, list) or not all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("passed"), bool)
        for c in checks
    ):
        raise RegistryError(
            f"{path}: field 'checks' must be a list of objects with a name and passed", status=400
        )
    try:
        as_of = dt.date.fromisoformat(str(data["as_of"]))
    except ValueError:
        raise RegistryError(
            f"{path}: field 'as_of' must be a YYYY-MM-DD date, got {data['as_of']!r}", status=400
        ) from None
    scores = data.get("scores")
    if scores is not None and not isinstance(scores, str):
        raise RegistryError(f"{path}: field 'scores' must be a path string or null", status=400)
    scores_path = _scores_path(path, scores) if scores else None
    report = ReleaseReport(
        path=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(),
        passed=data["passed"],
        candidate_id=candidate["model_id"],
        candidate_path=str(candidate.get("path", "")),
        champion_id=None if champion is None else champion["model_id"],
        checks=checks,
        scores=scores_path,
        as_of=as_of,
    )
    if report.passed and report.failing():
        raise RegistryError(
            f"release report {path} says it passed but these checks failed: "
            f"{report.failures_text()}"
        )
    return report
