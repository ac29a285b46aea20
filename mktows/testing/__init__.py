"""The pytest plugin of mktows (registered as `mktows` through the `pytest11` entry point):
a fresh mktows server per test, to run integration code against (docs/testing.md).

    def test_sync(mktows_server):
        run_my_integration(**mktows_server.env)
        assert mktows_server.state.leads(email="ada@example.com")

Fixtures: `mktows_server` (one per test) and `mktows_session_server` (one per session, or per
pytest-xdist worker), both a `MktowsInstance`; `mktows_start` and `mktows_session_start`
start servers with options of the test's choosing (settings, a database URL, a process of
their own). The instance file comes from, first to last: `@pytest.mark.mktows(instance=...)`
(function fixture only) or the factory's argument, `--mktows-instance`, the `mktows_instance`
ini option; else one API user. `--mktows-slow-start` (ini
`mktows_fast = false`) runs the migrations for every server instead of copying a template.

This module is loaded by every pytest run of an environment where mktows is installed, so it
imports the server (mktows.testing.double) only when a fixture first needs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mktows.testing.double import InstanceSource, MktowsInstance

__all__ = ["ServerFactory", "mktows_server", "mktows_session_server", "mktows_session_start", "mktows_start"]

# What the `mktows` marker may set, as start_server's keyword arguments.
MARKER_OPTIONS = ("instance", "env", "fast", "process", "database_url")
_UNSET: Any = object()


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
        "mktows(instance=PATH_OR_DICT, env=None, fast=None, process=None, database_url=None):"
        " how the mktows_server fixture builds its server",
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


class ServerFactory:
    """Starts mktows servers with `start_server`'s options, seeded by default from the instance
    file the session names (`--mktows-instance`, the ini option).

    `factory(**options)` returns a running server, stopped when the fixture ends;
    `with factory.running(**options) as server:` stops it when the block ends (a test that
    restarts a server on the same database, or a module-scoped fixture)."""

    def __init__(self, config: pytest.Config, stack: contextlib.ExitStack) -> None:
        self._config = config
        self._stack = stack

    def __call__(self, instance: Any = _UNSET, **options: Any) -> MktowsInstance:
        return self._stack.enter_context(self.running(instance, **options))

    def running(self, instance: Any = _UNSET, **options: Any) -> contextlib.AbstractContextManager[MktowsInstance]:
        from mktows.testing.double import start_server

        if instance is _UNSET:
            instance, default_base = _instance_option(self._config)
            options.setdefault("base", default_base)
        options.setdefault("fast", _fast(self._config))
        return start_server(instance, **options)

    def stub(self, recording: str | Path) -> str:
        """A server answering the calls of `recording` (made by /_mktows/record) with their
        recorded answers, as `mktows stub` does; returns its base URL."""
        from mktows.testing.double import start_stub

        return self._stack.enter_context(start_stub(recording))


@pytest.fixture
def mktows_start(request: pytest.FixtureRequest) -> Iterator[ServerFactory]:
    """`mktows_start(instance=..., env=..., process=..., database_url=...)`: start servers in
    this test, each stopped at its end (a `ServerFactory`)."""
    with contextlib.ExitStack() as stack:
        yield ServerFactory(request.config, stack)


@pytest.fixture(scope="session")
def mktows_session_start(request: pytest.FixtureRequest) -> Iterator[ServerFactory]:
    """As `mktows_start`, for servers that live until the session ends (or the `with` block of
    `running`)."""
    with contextlib.ExitStack() as stack:
        yield ServerFactory(request.config, stack)


@pytest.fixture
def mktows_server(request: pytest.FixtureRequest, mktows_start: ServerFactory) -> MktowsInstance:
    """A fresh mktows server for this test, on a free port of 127.0.0.1 (a `MktowsInstance`)."""
    marker = request.node.get_closest_marker("mktows")
    if marker is None:
        return mktows_start()
    unknown = sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
    if unknown or marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid}: mktows marker: unknown option {', '.join(unknown) or 'given by position'}"
            f" (it takes {', '.join(MARKER_OPTIONS)} by name)"
        )
    options = {k: v for k, v in marker.kwargs.items() if v is not None}
    if "instance" in options:
        return mktows_start(options.pop("instance"), base=request.path.parent, **options)
    return mktows_start(**options)


@pytest.fixture(scope="session")
def mktows_session_server(mktows_session_start: ServerFactory) -> MktowsInstance:
    """One mktows server for the whole session (per pytest-xdist worker): quicker than one per
    test, but the tests share its state."""
    return mktows_session_start()
