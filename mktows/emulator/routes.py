"""The `/_mktows/` routes of the emulator control API, JSON in and out (docs/emulator.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mktows.emulator.faults import FaultRules, RuleError, parse_rule
from mktows.emulator.middleware import EmulatorMiddleware
from mktows.emulator.recorder import Recorder, RecordError
from mktows.engine import Engine
from mktows.engine.admin.emulation import STATE_KINDS
from mktows.runtime import jobs
from mktows.runtime.clock import CLOCK
from mktows.store import snapshots

log = logging.getLogger("mktows.emulator")

PREFIX = "/_mktows"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


class Problem(Exception):
    """A request the emulator refuses: its HTTP status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(document: Any, status: int = 200) -> Response:
    return JSONResponse(document, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise Problem(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Problem(400, "the body must be a JSON object")
    return data


def _path(data: dict[str, Any]) -> str:
    path = data.get("path")
    if not isinstance(path, str) or not path:
        raise Problem(400, '"path" must name a file on the server\'s machine')
    return path


class Emulator:
    """The control API's state: fault rules, the recorder, and how to apply the instance file."""

    def __init__(self, engine: Engine, reapply_instance: Callable[[], None]) -> None:
        self.engine = engine
        self.reapply_instance = reapply_instance
        self.faults = FaultRules()
        self.recorder = Recorder()

    def routes(self) -> list[Route]:
        def route(path: str, handler: Callable[[Request], Any], methods: list[str]) -> Route:
            async def endpoint(request: Request) -> Response:
                try:
                    result: Response = await handler(request)
                    return result
                except Problem as problem:
                    return _json({"error": problem.message}, problem.status)

            return Route(PREFIX + path, endpoint, methods=methods)

        return [
            route("/reset", self.reset, ["POST"]),
            route("/state", self.state, ["GET"]),
            route("/outbox", self.outbox, ["GET", "DELETE"]),
            route("/clock", self.clock, ["GET", "POST"]),
            route("/faults", self.fault_rules, ["GET", "POST", "DELETE"]),
            route("/record", self.record, ["GET", "POST", "DELETE"]),
            route("/snapshot", self.snapshot, ["POST"]),
            route("/restore", self.restore, ["POST"]),
        ]

    # --- reset, state, outbox --------------------------------------------------------------

    async def reset(self, request: Request) -> Response:
        self._refuse_shared_job_engine("reset")

        def work() -> None:
            self.engine.reset_data()
            self.reapply_instance()

        await run_in_threadpool(work)
        CLOCK.reset()
        rules = self.faults.clear()
        log.warning("emulator: the instance was reset to its instance file")
        return _json({"reset": True, "fault_rules_removed": rules, "now": _iso(CLOCK.now())})

    async def state(self, request: Request) -> Response:
        what = request.query_params.get("what", "")
        if what not in STATE_KINDS:
            raise Problem(400, f"what= must be one of {', '.join(STATE_KINDS)}")
        limit = _limit(request)
        rows = await run_in_threadpool(self.engine.emulator_state, what, limit)
        return _json({"what": what, "count": len(rows), "items": rows})

    async def outbox(self, request: Request) -> Response:
        if request.method == "DELETE":
            removed = await run_in_threadpool(self.engine.clear_outbox)
            return _json({"removed": removed})
        rows = await run_in_threadpool(self.engine.emulator_state, "outbox", _limit(request))
        return _json({"count": len(rows), "items": rows})

    # --- the clock -------------------------------------------------------------------------

    async def clock(self, request: Request) -> Response:
        if request.method == "POST":
            self._refuse_shared_job_engine("move the clock of")
            data = await _body(request)
            if ("advance_seconds" in data) == ("set" in data):
                raise Problem(400, 'give either "advance_seconds" (a number) or "set" (an ISO 8601 time)')
            if "advance_seconds" in data:
                seconds = data["advance_seconds"]
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                    raise Problem(400, '"advance_seconds" must be a number, 0 or more (the clock only moves forward)')
                CLOCK.advance(float(seconds))
            else:
                target = _parse_time(data["set"])
                ahead = target - datetime.now(UTC)
                if ahead < CLOCK.offset:
                    raise Problem(400, f"the clock only moves forward: {data['set']} is before {_iso(CLOCK.now())}")
                CLOCK.set_offset(ahead)
            log.warning("emulator: clock moved to %s", _iso(CLOCK.now()))
        return _json(
            {"now": _iso(CLOCK.now()), "offset_seconds": CLOCK.offset.total_seconds(), "wall": _iso(datetime.now(UTC))}
        )

    def _refuse_shared_job_engine(self, action: str) -> None:
        with self.engine.db.read() as conn:
            name = jobs.engine_name(conn)
        if name != jobs.BUILTIN:
            raise Problem(
                409,
                f"cannot {action} a server whose jobs run on the {name} job engine: its worker processes"
                " keep their own clocks and queue; use the built-in job engine (one process) for emulation",
            )

    # --- faults ----------------------------------------------------------------------------

    async def fault_rules(self, request: Request) -> Response:
        if request.method == "DELETE":
            return _json({"removed": self.faults.clear()})
        if request.method == "POST":
            try:
                rule = parse_rule(await _body(request))
            except RuleError as exc:
                raise Problem(400, str(exc)) from None
            self.faults.add(rule)
            log.warning("emulator: fault rule added for %s", rule.operation)
        return _json({"rules": self.faults.describe()})

    # --- record ----------------------------------------------------------------------------

    async def record(self, request: Request) -> Response:
        if request.method == "DELETE":
            return _json(self.recorder.stop())
        if request.method == "POST":
            try:
                self.recorder.start(_path(await _body(request)))
            except RecordError as exc:
                raise Problem(400, str(exc)) from None
        return _json(self.recorder.describe())

    # --- snapshots -------------------------------------------------------------------------

    async def snapshot(self, request: Request) -> Response:
        path = _path(await _body(request))
        try:
            size = await run_in_threadpool(snapshots.save, self.engine.db, path)
        except snapshots.SnapshotError as exc:
            raise Problem(409, str(exc)) from None
        return _json({"path": path, "bytes": size})

    async def restore(self, request: Request) -> Response:
        path = _path(await _body(request))

        def work() -> None:
            snapshots.load(self.engine.db, path)
            self.engine.reload_after_restore()

        try:
            await run_in_threadpool(work)
        except snapshots.SnapshotError as exc:
            raise Problem(409, str(exc)) from None
        log.warning("emulator: the database was restored from %s", path)
        return _json({"restored": path})


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Problem(400, f"limit= must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Problem(400, '"set" must be an ISO 8601 time such as 2026-05-01T09:30:00Z')
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, f'"set": {value!r} is not an ISO 8601 time') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def install(app: Starlette, engine: Engine, reapply_instance: Callable[[], None]) -> Emulator:
    """Add the control routes to `app` and make `EmulatorMiddleware` its outermost layer."""
    emulator = Emulator(engine, reapply_instance)
    app.router.routes.extend(emulator.routes())
    build = app.build_middleware_stack

    def build_with_emulator() -> Any:
        return EmulatorMiddleware(build(), emulator.faults, emulator.recorder)

    setattr(app, "build_middleware_stack", build_with_emulator)  # noqa: B010
    app.state.emulator = emulator
    log.warning("the emulator control API is on at %s/: never on a production instance", PREFIX)
    return emulator
