"""Several integrations writing at once, through two server processes over one database:
every call succeeds, and each email, foreign id and cookie ends on exactly one lead."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from lxml import etree
from support.pg import backends, database_url
from support.server import Server, running_server
from support.soap import call, success

WRITERS = 10
CALLS_PER_WRITER = 6
RECORDS_PER_CALL = 50


@pytest.fixture(scope="module", params=backends())
def two_servers(request, tmp_path_factory, mktows_session_start) -> Iterator[list[Server]]:
    with contextlib.ExitStack() as stack:
        workdir: Path = tmp_path_factory.mktemp(f"writers-{request.param}")
        db_url = database_url(request.param, workdir, stack, "mktows_cw")
        servers = [
            stack.enter_context(running_server(mktows_session_start, db_url, workdir / f"p{i}")) for i in range(2)
        ]
        yield servers


def _record(email: str, first_name: str, crm_id: str | None = None) -> str:
    keys = f"<Email>{email}</Email>"
    if crm_id:
        keys += f"<ForeignSysPersonId>{crm_id}</ForeignSysPersonId><ForeignSysType>SFDC</ForeignSysType>"
    attrs = f"<attribute><attrName>FirstName</attrName><attrValue>{first_name}</attrValue></attribute>"
    return f"<leadRecord>{keys}<leadAttributeList>{attrs}</leadAttributeList></leadRecord>"


def _sync_multiple(records: list[str]) -> str:
    return (
        f"<ns1:paramsSyncMultipleLeads><leadRecordList>{''.join(records)}</leadRecordList>"
        "<dedupEnabled>true</dedupEnabled></ns1:paramsSyncMultipleLeads>"
    )


def _sync_with_cookie(email: str, cookie: str) -> str:
    return (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email></leadRecord><returnLead>false</returnLead>"
        f"<marketoCookie>{escape(cookie)}</marketoCookie></ns1:paramsSyncLead>"
    )


def _leads_with(endpoint: str, key_type: str, value: str) -> list[etree._Element]:
    body = (
        f"<ns1:paramsGetLead><leadKey><keyType>{key_type}</keyType><keyValue>{escape(value)}</keyValue></leadKey>"
        "</ns1:paramsGetLead>"
    )
    return success(call(endpoint, body), "getLead").findall(".//leadRecord")


@pytest.mark.slow
def test_overlapping_writers_leave_one_lead_per_email_foreign_id_and_cookie(two_servers):
    tag = uuid.uuid4().hex[:8]
    emails = [f"cw-{tag}-{i}@mktows-test.example.com" for i in range(100)]
    crm = {f"crm-{tag}-{j}": f"cw-{tag}-crm{j}@mktows-test.example.com" for j in range(40)}
    cookie = f"id:561-HYG-937&token:_mch-example.com-{tag}"
    endpoints = [s.endpoint("2_9") for s in two_servers]

    def writer(n: int) -> list[int]:
        rng = random.Random(n)
        statuses = []
        with httpx.Client(timeout=120) as client:
            for c in range(CALLS_PER_WRITER):
                endpoint = endpoints[(n + c) % 2]
                records = [_record(e, f"W{n}C{c}") for e in rng.sample(emails, RECORDS_PER_CALL - 10)]
                records += [
                    _record(email, f"W{n}C{c}", crm_id) for crm_id, email in rng.sample(sorted(crm.items()), 10)
                ]
                rng.shuffle(records)
                statuses.append(call(endpoint, _sync_multiple(records), client=client).status_code)
                own = f"cw-{tag}-cookie{n}-{c}@mktows-test.example.com"
                statuses.append(call(endpoint, _sync_with_cookie(own, cookie), client=client).status_code)
        return statuses

    with ThreadPoolExecutor(WRITERS) as pool:
        results = [code for codes in pool.map(writer, range(WRITERS)) for code in codes]
    assert results == [200] * (WRITERS * CALLS_PER_WRITER * 2), "every call succeeded"

    for email in emails:
        assert len(_leads_with(endpoints[0], "EMAIL", email)) == 1, email
    for crm_id, email in crm.items():
        [lead] = _leads_with(endpoints[1], "EMAIL", email)
        assert lead.findtext("ForeignSysPersonId") == crm_id
    assert len(_leads_with(endpoints[0], "COOKIE", cookie)) == 1
