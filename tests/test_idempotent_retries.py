"""Idempotent retries: with `MKTOWS_IDEMPOTENCY_WINDOW_SECONDS` on, a repeated importToList
(same API user, same body, signed anew) is answered with the first call's answer and runs
once, concurrent duplicates included, on each backend; past the window, or with the setting
off, it runs again."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from support.pg import backends, database_url
from support.server import INSTANCE, Server, running_server
from support.soap import auth_header_xml, envelope, post, soap_action

from mktows.store.database import Database
from mktows.store.tables import import_jobs, static_lists
from mktows.testing import ServerFactory

PROGRAM = "Retry Program"
LISTS = [f"Retry List {i}" for i in range(8)]
WINDOW = 3
INSTANCE_WITH_LISTS = {**INSTANCE, "programs": [*INSTANCE["programs"], {"name": PROGRAM, "lists": LISTS}]}


def _import_body(list_name: str, email: str) -> str:
    return (
        f"<ns1:paramsImportToList><programName>{PROGRAM}</programName>"
        "<importFileHeader>Email Address,First Name</importFileHeader>"
        f"<importFileRows><stringItem>{email},Ada</stringItem></importFileRows>"
        f"<importListMode>UPSERTLEADS</importListMode><listName>{list_name}</listName>"
        "</ns1:paramsImportToList>"
    )


def _send(srv: Server, body: str) -> httpx.Response:
    """Signed anew each time: only the AuthenticationHeader differs between repeats."""
    return post(srv.endpoint("2_9"), envelope(body, auth_header_xml()), soap_action("importToList"))


def _imports(srv: Server, list_name: str) -> int:
    database = Database(srv.db_url)
    try:
        with database.read() as conn:
            q = (
                select(func.count())
                .select_from(import_jobs.join(static_lists, static_lists.c.id == import_jobs.c.list_id))
                .where(static_lists.c.name == list_name)
            )
            return int(conn.execute(q).scalar_one())
    finally:
        database.dispose()


def _done(srv: Server, list_name: str, timeout: float = 20) -> None:
    database = Database(srv.db_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with database.read() as conn:
                q = (
                    select(import_jobs.c.status)
                    .select_from(import_jobs.join(static_lists, static_lists.c.id == import_jobs.c.list_id))
                    .where(static_lists.c.name == list_name)
                )
                if all(s != "PROCESSING" for s in conn.execute(q).scalars()):
                    return
            time.sleep(0.1)
        raise AssertionError(f"the import into {list_name} did not finish")
    finally:
        database.dispose()


@contextlib.contextmanager
def _server(start: ServerFactory, backend: str, workdir, env: dict[str, str]) -> Iterator[Server]:
    with contextlib.ExitStack() as stack:
        url = database_url(backend, workdir, stack, "mktows_idem")
        yield stack.enter_context(running_server(start, url, workdir, instance=INSTANCE_WITH_LISTS, env=env))


@pytest.fixture(scope="module", params=backends())
def on(request, tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    env = {"MKTOWS_IDEMPOTENCY_WINDOW_SECONDS": str(WINDOW)}
    with _server(mktows_session_start, request.param, tmp_path_factory.mktemp(f"idem-{request.param}"), env) as srv:
        yield srv


@pytest.fixture(scope="module", params=backends())
def off(request, tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    with _server(mktows_session_start, request.param, tmp_path_factory.mktemp(f"noidem-{request.param}"), {}) as srv:
        yield srv


def test_a_repeat_within_the_window_gets_the_first_answer_and_runs_once(on: Server) -> None:
    body = _import_body(LISTS[0], "retry-0@example.com")
    first = _send(on, body)
    assert first.status_code == 200, first.text
    time.sleep(1.1)  # another timestamp, so another signature
    second = _send(on, body)
    assert second.status_code == 200 and second.content == first.content
    assert _imports(on, LISTS[0]) == 1
    assert '"replayed": true' in on.output()


def test_concurrent_duplicates_run_once(on: Server) -> None:
    body = _import_body(LISTS[1], "retry-1@example.com")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _send(on, body), range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers if a.status_code != 200]
    assert len({a.content for a in answers}) == 1
    assert _imports(on, LISTS[1]) == 1


def test_another_body_or_the_window_past_runs_again(on: Server) -> None:
    body = _import_body(LISTS[2], "retry-2@example.com")
    assert _send(on, body).status_code == 200
    _done(on, LISTS[2])
    other = _send(on, _import_body(LISTS[2], "retry-2b@example.com"))  # not the same body: runs
    assert other.status_code == 200
    assert _imports(on, LISTS[2]) == 2
    _done(on, LISTS[2])
    time.sleep(WINDOW + 0.5)
    assert _send(on, body).status_code == 200
    assert _imports(on, LISTS[2]) == 3


def test_a_fault_is_not_kept(on: Server) -> None:
    """A call that faults leaves nothing behind: its retry runs (and faults) again."""
    body = _import_body("No Such List", "retry-3@example.com")
    assert _send(on, body).status_code == 500
    assert _send(on, body).status_code == 500


def test_off_by_default_a_repeat_runs_again(off: Server) -> None:
    body = _import_body(LISTS[0], "retry-off@example.com")
    assert _send(off, body).status_code == 200
    _done(off, LISTS[0])
    assert _send(off, body).status_code == 200
    assert _imports(off, LISTS[0]) == 2
