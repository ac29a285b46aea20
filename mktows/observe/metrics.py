"""Prometheus metrics, in one registry of our own so a test or a second app in the same
process starts from the same names (values are process-wide, like the counters they count).

Gauges read from the database (jobs by state, outbox by status) are collected at scrape time
by a collector the app registers (`app.py`); everything counted as it happens lives here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

CALLS = Counter(
    "mktows_calls",
    "SOAP calls answered, by operation, API version and outcome (ok or fault).",
    ["operation", "version", "outcome"],
    registry=REGISTRY,
)
FAULTS = Counter(
    "mktows_faults",
    "SOAP faults answered, by operation and Marketo error code.",
    ["operation", "code"],
    registry=REGISTRY,
)
CALL_SECONDS = Histogram(
    "mktows_call_duration_seconds",
    "Time to answer a SOAP call, from the body read to the answer rendered, by operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge("mktows_calls_in_flight", "SOAP calls being answered now.", registry=REGISTRY)
BODY_BYTES_IN_FLIGHT = Gauge(
    "mktows_request_body_bytes_in_flight",
    "Bytes of request bodies held in memory now (bounded by MKTOWS_MAX_BODY_BYTES_IN_FLIGHT).",
    registry=REGISTRY,
)
LIMIT_HITS = Counter(
    "mktows_limit_hits",
    "Calls refused or delayed by a call limit, by limit (daily_quota, rate, concurrency, user_rate,"
    " user_concurrency, body_memory) and what happened (refused or waited).",
    ["limit", "action"],
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "mktows_auth_failures",
    "Failed authentications, by reason (missing_header, unknown_user, missing_signature, missing_timestamp,"
    " bad_signature, retired_key, bad_timestamp, expired, disabled).",
    ["reason"],
    registry=REGISTRY,
)
AUTH_THROTTLED = Counter(
    "mktows_auth_throttled",
    "Answers delayed because their source failed authentication repeatedly.",
    registry=REGISTRY,
)
IGNORED_INPUT = Counter(
    "mktows_ignored_input",
    "Parts of requests the server ignored as Marketo did, by kind (unknown_element, miscased_element,"
    " duplicate_element, dropped_key) and operation.",
    ["kind", "operation"],
    registry=REGISTRY,
)
JOB_EVENTS = Counter(
    "mktows_job_events",
    "Job lifecycle events, by job kind and event (done, failed, retried).",
    ["kind", "event"],
    registry=REGISTRY,
)
SMTP_FAILURES = Counter(
    "mktows_smtp_failures",
    "Messages an SMTP server refused or could not take, by whether they will be retried.",
    ["retry"],
    registry=REGISTRY,
)
