"""Readiness: can this process serve calls now? Each check answers (ok, what it found).

Alive (`/healthz`) needs nothing; ready (`/readyz`) needs the database to answer, its schema
at the migrations' head (a server started against a database an older or newer mktows
migrated would misread it), and, when this process runs job workers, those workers running.
"""

from __future__ import annotations

from functools import lru_cache

from mktows.runtime import jobs
from mktows.store.database import Database, head_revision

Check = tuple[bool, str]


@lru_cache(maxsize=1)
def schema_head() -> str | None:
    """The newest migration this code knows (read once: it cannot change while running)."""
    return head_revision()


def database_check(database: Database) -> tuple[Check, Check]:
    """(the database answers, its schema is at head): one query does both."""
    try:
        current = database.revision()
    except Exception as exc:
        words = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
        return (False, f"no answer: {words[:300]}"), (False, "not checked")
    head = schema_head()
    if current != head:
        return (True, "answers"), (False, f"schema at {current or 'nothing'}, this server needs {head}")
    return (True, "answers"), (True, f"at {head}")


def workers_check(database: Database) -> Check | None:
    """None when this process runs no job workers (then there is nothing to check)."""
    alive = jobs.workers_alive(database)
    if alive is None:
        return None
    return (True, "running") if alive else (False, "a job worker thread has stopped")


def readiness(database: Database) -> dict[str, Check]:
    """Every check by name, in the order they are reported."""
    answers, schema = database_check(database)
    checks = {"database": answers, "schema": schema}
    workers = workers_check(database)
    if workers is not None:
        checks["workers"] = workers
    return checks
