"""Shared fixtures, and the rule that CI may not skip a test."""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL = "OPENBUREAU_REQUIRE_ALL"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test is a failure: every service a test needs must be set up."""
    if not os.environ.get(REQUIRE_ALL):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(
                f"{REQUIRE_ALL} is set and {skipped} test(s) were skipped: failing the run",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
