"""The pytest plugin of mktows (registered as `mktows` through the `pytest11` entry point):
a fresh mktows server per test, to run integration code against (docs/testing.md).

    def test_sync(mktows_server):
        run_my_integration(**mktows_server.env)
        assert mktows_server.state.leads(email="ada@example.com")

Fixtures: `mktows_server` (one per test) and `mktows_session_server` (one per session, or per
pytest-xdist worker), both a `MktowsInstance`. The instance file comes from, first to last:
`@pytest.mark.mktows(instance=PATH_OR_DICT)` (function fixture only), `--mktows-instance`,
the `mktows_instance` ini option; else one API user. `--mktows-slow-start` (ini
`mktows_fast = false`) runs the migrations for every server instead of copying a template.

This module is loaded by every pytest run of an environment where mktows is installed, so it
imports the server (mktows.testing.double) only when a fixture first needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mktows.testing.double import InstanceSource, MktowsInstance

__all__ = ["mktows_server", "mktows_session_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mktows", "mktows test double")
    group.addoption(
        "--mktows-instance",
        dest="mktows_instance",
        default=None,
        help="instance file (YAML) the mktows_server fixtures are seeded from",
    )
    group.addoption(
        "--mktows-slow-start",
        dest="mktows_slow_start",
        action="store_true",
        default=False,
        help="run the migrations for each mktows server instead of copying a migrated template",
    )
    parser.addini("mktows_instance", "instance file (YAML) the mktows_server fixtures are seeded from", default="")
    parser.addini(
        "mktows_fast", "copy a migrated template for each mktows server (default true)", type="bool", default=True
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mktows(instance=PATH_OR_DICT, env=None, fast=None): how the mktows_server fixture builds its server",
    )


def _instance_option(config: pytest.Config) -> tuple[InstanceSource, Path]:
    """The instance file named on the command line or in the ini file, and what a relative
    path is relative to (the working directory for the command line, the ini file's directory)."""
    given = config.getoption("mktows_instance")
    if given:
        return given, Path.cwd()
    from_ini = str(config.getini("mktows_instance") or "")
    if from_ini:
        return from_ini, config.inipath.parent if config.inipath else config.rootpath
    return None, config.rootpath


def _fast(config: pytest.Config) -> bool:
    return not config.getoption("mktows_slow_start") and bool(config.getini("mktows_fast"))


@pytest.fixture
def mktows_server(request: pytest.FixtureRequest) -> Iterator[MktowsInstance]:
    """A fresh mktows server for this test, on a free port of 127.0.0.1 (a `MktowsInstance`)."""
    from mktows.testing.double import start_server

    instance, base = _instance_option(request.config)
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("mktows")
    if marker is not None:
        if "instance" in marker.kwargs:
            instance, base = marker.kwargs["instance"], request.path.parent
        options = {k: v for k, v in marker.kwargs.items() if k in ("env", "fast") and v is not None}
    options.setdefault("fast", _fast(request.config))
    with start_server(instance, base=base, **options) as server:
        yield server


@pytest.fixture(scope="session")
def mktows_session_server(request: pytest.FixtureRequest) -> Iterator[MktowsInstance]:
    """One mktows server for the whole session (per pytest-xdist worker): quicker than one per
    test, but the tests share its state."""
    from mktows.testing.double import start_server

    instance, base = _instance_option(request.config)
    with start_server(instance, base=base, fast=_fast(request.config)) as server:
        yield server
