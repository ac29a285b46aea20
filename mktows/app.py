"""The ASGI application: SOAP endpoints per API version and their WSDLs, health and metrics.

What operators see of it (log line per call, request ids, health checks, metrics, the
throttling of failing sources) is described in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mktows import errors
from mktows.config import Settings
from mktows.console.routes import routes as console_routes
from mktows.emulator import routes as emulator
from mktows.engine import Engine
from mktows.engine.campaigns import outbox
from mktows.instance import apply_instance, load_instance
from mktows.observe.logs import REQUEST_ID
from mktows.observe.metrics import AUTH_THROTTLED, IN_FLIGHT, REGISTRY
from mktows.observe.requests import RequestIdMiddleware
from mktows.runtime import health, jobs
from mktows.runtime.call_counters import CallCounters
from mktows.runtime.call_stats import CallStats
from mktows.runtime.idempotency import FirstAnswers
from mktows.runtime.request_log import RequestLog
from mktows.soap.auth import FailureThrottle
from mktows.soap.envelope import parse_envelope
from mktows.soap.limits import BodyBudget, BodyHold, CallLimits, LimitPolicy, body_budget_bytes, policy_for
from mktows.soap.schema_model import VERSIONS
from mktows.soap.service import Answer, SoapService, answers_inline, fault_answer, record
from mktows.soap.wsdl import render_wsdl

log = logging.getLogger("mktows.app")
READY_TIMEOUT_SECONDS = 5.0

XML = "text/xml; charset=UTF-8"
# Bodies up to this size are parsed on the event loop to see whether the call can be answered
# there (a getLead is about 1 KB); larger ones go to a worker thread unparsed.
INLINE_PARSE_BYTES = 16 * 1024


async def read_body(request: Request, limit: int, hold: BodyHold, timeout: float) -> bytes:
    """The request body, read in chunks (chunked encoding included), capped at `limit` bytes and
    `timeout` seconds (0: none), its bytes reserved in the process's body budget through `hold`
    (the declared length up front, else chunk by chunk) until the caller releases them.
    Raises the fault to answer: 20012 too large or too slow, 20024 the budget is spent."""
    declared = request.headers.get("content-length")
    expected = int(declared) if declared and declared.isdigit() else None
    if expected is not None and expected > limit:
        raise errors.RequestNotUnderstood(f"The request body is larger than the limit of {limit} bytes")
    if expected:
        hold.reserve(expected)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout or None):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise errors.RequestNotUnderstood(f"The request body is larger than the limit of {limit} bytes")
                if size > hold.size:
                    hold.reserve(size - hold.size)
                chunks.append(chunk)
    except TimeoutError:
        raise errors.RequestNotUnderstood(
            f"The request body did not arrive within the limit of {timeout:g} seconds"
        ) from None
    except ClientDisconnect:  # nobody reads the answer; the call still ends (and frees its bytes)
        raise errors.RequestNotUnderstood("The client closed the connection before the body arrived") from None
    return b"".join(chunks)


def limit_policy(settings: Settings, engine: Engine) -> LimitPolicy:
    """The call limits of the settings' profile, explicit settings winning (docs/limits.md)."""
    return policy_for(
        settings.limits_profile,
        enabled=settings.limits_enabled,
        sqlite=engine.db.is_sqlite,
        daily_quota=settings.daily_quota,
        rate_calls=settings.rate_limit_calls,
        rate_seconds=settings.rate_limit_seconds,
        max_concurrency=settings.max_concurrency,
        wait_seconds=settings.concurrency_wait_seconds,
        user_max_concurrency=settings.user_max_concurrency,
        user_rate_calls=settings.user_rate_limit_calls,
        user_rate_seconds=settings.user_rate_limit_seconds,
    )


def call_limits(policy: LimitPolicy, engine: Engine) -> CallLimits:
    """The limits, with the daily quota and the rate counted in the database when either is on,
    so that they hold across every process on it; else nothing is counted there."""
    counters = None
    if policy.daily_quota or policy.rate_calls:
        counters = CallCounters(
            engine.db, daily_quota=policy.daily_quota, rate_calls=policy.rate_calls, rate_seconds=policy.rate_seconds
        )
    return CallLimits(policy, counters=counters)


def create_app(settings: Settings, engine: Engine) -> Starlette:
    limits = call_limits(limit_policy(settings, engine), engine)
    body_budget = BodyBudget(body_budget_bytes(settings.max_body_bytes_in_flight, settings.max_body_bytes))
    service = SoapService(
        engine,
        limits,
        freshness_window_seconds=settings.freshness_window_seconds,
        strict_input=settings.strict_input,
        first_answers=first_answers(settings, engine),
    )
    throttle = FailureThrottle(
        after=settings.auth_throttle_failures, max_delay=settings.auth_throttle_max_delay_ms / 1000
    )
    app_metrics = CollectorRegistry(auto_describe=False)
    readiness_seen: dict[str, bool] = {}
    app_metrics.register(DatabaseCollector(engine))
    call_stats = CallStats(engine.db)
    request_log = request_log_of(settings, engine)

    async def endpoint(request: Request) -> Response:
        version = request.path_params["version"]
        if version not in VERSIONS:
            unknown = f"Unknown API version {version}; this server has {', '.join(VERSIONS)}"
            return without_body_for_head(request, PlainTextResponse(unknown, status_code=404))
        if request.method in ("GET", "HEAD"):
            return without_body_for_head(request, describe(request, version))
        started = perf_counter()
        IN_FLIGHT.inc()
        hold = BodyHold(body_budget)
        logged, logged_size = b"", 0  # what the request log keeps of the body, and its whole size
        try:
            try:  # the body is bound to a name only for the request log, so it is gone once the answer is made
                timeout = settings.body_read_timeout_seconds
                if request_log is None:
                    outcome = await answer(version, await read_body(request, settings.max_body_bytes, hold, timeout))
                else:
                    body = await read_body(request, settings.max_body_bytes, hold, timeout)
                    logged = body[: request_log.max_body_bytes]
                    logged_size = len(body)
                    outcome = await answer(version, body)
                    del body
            except errors.MarketoError as refused:
                outcome = fault_answer(refused)
        finally:
            hold.release()
            IN_FLIGHT.dec()
        client = request.client.host if request.client else None
        delay = throttled(outcome, client)
        record(outcome, version=version, client=client, seconds=perf_counter() - started, delay=delay)
        call_stats.count(
            outcome.operation,
            outcome.error.code if outcome.error is not None else 0,
            user_id=(outcome.user_id or "") if outcome.signed else "",  # never an id nobody signed for
        )
        if request_log is not None:
            request_log.add(
                request_id=REQUEST_ID.get() or "",
                version=version,
                operation=outcome.operation,
                user_id=outcome.user_id,
                client=client,
                status=outcome.status,
                fault_code=outcome.error.code if outcome.error is not None else 0,
                seconds=perf_counter() - started,
                request_body=logged,
                request_size=logged_size,
                response_body=outcome.payload,
            )
        if delay:
            await asyncio.sleep(delay)  # on the loop: a held-back answer costs no thread
        return Response(outcome.payload, status_code=outcome.status, media_type=XML)

    def throttled(outcome: Answer, client: str | None) -> float:
        """Seconds to hold back this answer: only failed authentications from a failing source."""
        if client is None:
            return 0.0
        if outcome.error is not None and outcome.error.code == errors.AuthenticationFailed.code:
            delay = throttle.failed(client)
            if delay:
                AUTH_THROTTLED.inc()
            return delay
        if outcome.signed:
            throttle.succeeded(client)
        return 0.0

    async def answer(version: str, body: bytes) -> Answer:
        """Quick calls on the event loop, the rest in worker threads so they never hold it up."""
        if len(body) > INLINE_PARSE_BYTES:
            return await run_in_threadpool(service.handle, version, body)
        try:
            request = parse_envelope(body)
        except errors.MarketoError as error:
            return fault_answer(error)
        if answers_inline(request):
            with limits.inline_slot() as free:  # on the loop a call may not wait for a slot
                if free:
                    return service.answer(version, request)
        return await run_in_threadpool(service.answer, version, request)

    async def alive(request: Request) -> Response:
        return without_body_for_head(request, PlainTextResponse("ok"))

    async def ready(request: Request) -> Response:
        try:
            checks = await asyncio.wait_for(
                run_in_threadpool(health.readiness, engine.db), timeout=READY_TIMEOUT_SECONDS
            )
        except TimeoutError:
            checks = {"database": (False, f"no answer within {READY_TIMEOUT_SECONDS:g} s")}
        is_ready = all(ok for ok, _ in checks.values())
        failing = [name for name, (ok, _) in checks.items() if not ok]
        document = {
            "status": "ready" if is_ready else "not ready",
            "failing": failing,
            "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
        }
        if is_ready != readiness_seen.get("ready", True):  # a line when it changes, not one per probe
            if is_ready:
                log.info("ready again")
            else:
                log.warning("not ready: %s", ", ".join(failing), extra={"fields": {"failing": failing}})
        readiness_seen["ready"] = is_ready
        response = Response(
            json.dumps(document, indent=1) + "\n", 200 if is_ready else 503, media_type="application/json"
        )
        return without_body_for_head(request, response)

    async def metrics(request: Request) -> Response:
        text = await run_in_threadpool(lambda: generate_latest(REGISTRY) + generate_latest(app_metrics))
        return without_body_for_head(request, Response(text, media_type=CONTENT_TYPE_LATEST))

    app = Starlette(
        routes=[
            Route("/soap/mktows/{version}", endpoint, methods=["GET", "POST"]),
            Route("/healthz", alive, methods=["GET"]),
            Route("/health", alive, methods=["GET"]),
            Route("/readyz", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *console_routes(engine),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=saving(call_stats, request_log),
    )
    app.state.limits, app.state.body_budget = limits, body_budget  # for tests and operators' tools
    app.state.call_stats = call_stats
    if settings.emulator:  # the test double's control API (docs/emulator.md); never in production
        emulator.install(app, engine, lambda: reapply_instance(settings, engine))
    app.state.request_log = request_log
    return app


def request_log_of(settings: Settings, engine: Engine) -> RequestLog | None:
    """The request log when it is on (docs/operations.md), else None."""
    if not settings.request_log:
        return None
    return RequestLog(
        engine.db,
        max_bytes=settings.request_log_max_mb * 1024 * 1024,
        max_days=settings.request_log_max_days,
        max_body_bytes=settings.request_log_max_body_kb * 1024,
    )


def first_answers(settings: Settings, engine: Engine) -> FirstAnswers | None:
    """The first answers kept for idempotent retries when their window is on (docs/limits.md)."""
    if settings.idempotency_window_seconds <= 0:
        return None
    return FirstAnswers(engine.db, settings.idempotency_window_seconds)


def reapply_instance(settings: Settings, engine: Engine) -> None:
    """Apply the settings' instance file again (the emulator's reset), when there is one."""
    if settings.instance_file:
        apply_instance(engine, load_instance(settings.instance_file))


def saving(call_stats: CallStats, request_log: RequestLog | None = None) -> Any:
    """The app's lifespan: the call statistics are saved every few seconds while it serves,
    and once more when it stops; so is the request log, every second, when it is on."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        call_stats.start()
        if request_log is not None:
            request_log.start()
        try:
            yield
        finally:
            await run_in_threadpool(call_stats.stop)
            if request_log is not None:
                await run_in_threadpool(request_log.stop)

    return lifespan


def describe(request: Request, version: str) -> Response:
    """GET on an endpoint: its WSDL with `?WSDL`, a one-line hint without."""
    if any(key.lower() == "wsdl" for key in request.query_params):
        url = str(request.url.replace(query=""))
        return Response(render_wsdl(version, url), media_type="text/xml")
    return PlainTextResponse("POST SOAP requests here; GET ?WSDL for the service description")


def without_body_for_head(request: Request, response: Response) -> Response:
    """HEAD answers as GET would, status and headers (Content-Length included), without the body."""
    if request.method != "HEAD":
        return response
    return Response(status_code=response.status_code, headers=dict(response.headers))


class DatabaseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes: jobs by state, the oldest due
    job's wait, outbox messages by status. A database that does not answer leaves them out
    (and `/readyz` says why) instead of failing the whole scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read at scrape time only: never query the database at registration

    def collect(self) -> Iterator[Metric]:
        database = self.engine.db
        try:
            job_states = jobs.state_counts(database)
            waiting = jobs.oldest_due_seconds(database)
            statuses = outbox.status_counts(database)
        except Exception as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            return
        by_state = GaugeMetricFamily("mktows_jobs", "Jobs of the instance's job engine, by state.", labels=["state"])
        for state, count in job_states.items():
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "mktows_jobs_oldest_due_seconds",
            "How long the longest-waiting due job has waited for a worker (0: none waiting).",
            value=waiting,
        )
        messages = GaugeMetricFamily(
            "mktows_outbox_messages", "Email messages in the outbox, by status.", labels=["status"]
        )
        for status in outbox.STATUSES:
            messages.add_metric([status], statuses.get(status, 0))
        for status, count in statuses.items():
            if status not in outbox.STATUSES:
                messages.add_metric([status], count)
        yield messages
