"""The scaled-out form on one PostgreSQL: two `mktows serve` processes that run no jobs, and
`mktows worker` processes on the procrastinate job engine.

- A batch campaign to 10,000 leads while the worker running it is killed (SIGKILL): the other
  worker takes the run over once the killed one's heartbeat stops; nobody gets the email
  twice, and everybody gets it except messages marked "delivery unconfirmed" (a kill while a
  round was in SMTP's hands; reported).
- A scheduled run fires once, though two workers and two API processes watch the clock.
- Any API process answers the next call of a conversation: an import started on one is
  polled on the other; a stream of pages is read from both in turn. The worker that ran the
  import counts it in its own metrics.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from support.clients import LeadApi, make_zeep_client
from support.mailchecks import address, arrived, unconfirmed, wait_for
from support.pg import temporary_database
from support.server import INSTANCE, Server, Worker, free_port, running_server, running_worker
from support.smtp import SmtpSink, smtp_sink

from mktows.config import Settings
from mktows.store.database import Database
from mktows.store.tables import campaign_runs, outbox
from mktows.testing import ServerFactory

PROGRAM = "Scale Program"
LIST = "Everyone"
SOON_LIST = "Soon"
API_ENV = {"MKTOWS_WORKERS": "0", "MKTOWS_JOB_ENGINE": "procrastinate"}
SMTP_CONNECTIONS = Settings().smtp_connections  # a kill loses at most the round in SMTP's hands


def instance(smtp_port: int) -> dict:
    email = {
        "name": "Hello",
        "from": {"name": "Scale", "email": "team@example.com"},
        "subject": "Hello {{lead.First Name:default=friend}}",
        "text": "Hi {{lead.First Name:default=friend}}",
    }
    return {
        "api_users": INSTANCE["api_users"],
        "programs": [
            {
                "name": PROGRAM,
                "lists": [LIST, SOON_LIST],
                "emails": [email],
                "campaigns": [
                    {"name": "Send All", "smart_list": [{"member_of_list": LIST}], "flow": [{"send_email": "Hello"}]},
                    {
                        "name": "Send Soon",
                        "smart_list": [{"member_of_list": SOON_LIST}],
                        "flow": [{"send_email": "Hello"}],
                    },
                ],
            }
        ],
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
    }


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


@contextlib.contextmanager
def two_api_processes(
    start: ServerFactory, db_url: str, workdir: Path, smtp_port: int
) -> Iterator[tuple[Server, Server]]:
    with contextlib.ExitStack() as stack:
        servers = tuple(
            stack.enter_context(
                running_server(start, db_url, workdir / name, instance=instance(smtp_port), env=API_ENV)
            )
            for name in ("api-a", "api-b")
        )
        yield servers  # type: ignore[misc]


def client(server: Server) -> LeadApi:
    return LeadApi("zeep", make_zeep_client(server.endpoint("2_9")), "2_9")


def import_leads(api: LeadApi, list_name: str, emails: list[str], *, poll: LeadApi | None = None) -> None:
    """importToList in parts of 5,000 rows, each polled to COMPLETE (on `poll` when given)."""
    rows = [f"{e},N{i}" for i, e in enumerate(emails)]
    for start in range(0, len(rows), 5000):
        res = api.call(
            "importToList",
            programName=PROGRAM,
            listName=list_name,
            importFileHeader="Email Address,First Name",
            importFileRows={"stringItem": rows[start : start + 5000]},
            importListMode="UPSERTLEADS",
            clearList=False,
        )
        assert res["importStatus"] in ("PROCESSING", "COMPLETE"), res
        wait_import(poll or api, list_name)


def wait_import(api: LeadApi, list_name: str) -> None:
    def complete() -> bool:
        return api.call("getImportToListStatus", programName=PROGRAM, listName=list_name)["status"] == "COMPLETE"

    wait_for(complete, 300, f"the import into {list_name}", 0.5)


def scalar(db_url: str, query) -> object:
    db = Database(db_url)
    try:
        with db.read() as conn:
            return conn.execute(query).scalar()
    finally:
        db.dispose()


def worker_of_the_run(db_url: str) -> int | None:
    """procrastinate's id of the worker holding the campaign run job."""
    found = scalar(
        db_url,
        text("SELECT worker_id FROM procrastinate_jobs WHERE task_name = 'campaign.run' AND status = 'doing'"),
    )
    return None if found is None else int(found)  # type: ignore[call-overload]


@pytest.mark.slow
def test_a_campaign_survives_the_kill_of_the_worker_running_it(sink, tmp_path, mktows_start):
    total = 10_000
    tag = uuid.uuid4().hex[:8]
    emails = [f"scale-{tag}-{i:05d}@scale.example.com" for i in range(total)]
    recipients = set(emails)
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(temporary_database("mktows_scale"))
        first_api, second_api = stack.enter_context(two_api_processes(mktows_start, db_url, tmp_path, sink.port))
        first = stack.enter_context(running_worker(db_url))
        assert first.engine == "procrastinate"
        import_leads(client(first_api), LIST, emails[:5000])
        import_leads(client(second_api), LIST, emails[5000:])
        t0 = time.monotonic()
        assert client(second_api).call("scheduleCampaign", programName=PROGRAM, campaignName="Send All")["success"]

        def report(what: str) -> str:
            return (
                f"{what}; {len(arrived(sink, recipients))} arrived, {len(unconfirmed(db_url))} unconfirmed\n"
                f"--- first worker ---\n{first.output()[-3000:]}\n--- second worker ---\n{second.output()[-3000:]}"
            )

        second: Worker = stack.enter_context(running_worker(db_url))
        # under way and held by a worker at one same moment: between two chunks the run's job
        # is briefly back in the queue, held by nobody
        try:
            wait_for(
                lambda: len(arrived(sink, recipients)) >= 500 and worker_of_the_run(db_url) is not None,
                300,
                "the run to be under way in a worker",
                0.05,
            )
        except AssertionError as exc:
            raise AssertionError(report(str(exc))) from None
        before_kill = len(arrived(sink, recipients))
        rate = before_kill / (time.monotonic() - t0)
        first.kill()  # the only worker when the run started: it holds the run
        assert before_kill < total, "the run finished before the kill; nothing was interrupted"
        t1 = time.monotonic()
        try:
            wait_for(
                lambda: len(arrived(sink, recipients)) + len(unconfirmed(db_url)) >= total,
                600,
                f"{total} messages sent or marked unconfirmed",
            )
        except AssertionError as exc:
            raise AssertionError(report(str(exc))) from None
        after = time.monotonic() - t1
        time.sleep(3)  # anything late would be a duplicate
        got = [address(m) for m in arrived(sink, recipients)]
        lost = recipients - set(got)
        marked = unconfirmed(db_url)
        assert len(got) == len(set(got)), f"{len(got) - len(set(got))} duplicate messages"
        assert lost <= marked, "somebody was skipped without a word"
        assert len(lost) <= SMTP_CONNECTIONS, f"{len(lost)} messages lost to one kill"
        assert scalar(db_url, select(func.count()).select_from(outbox).where(outbox.c.run_id.is_not(None))) == total
        assert scalar(db_url, select(campaign_runs.c.status)) == "done"
        assert "stalled worker runs again" in second.output(), report("the second worker never took the run over")
        print(
            f"\n[scale-out] 10k run: {before_kill} before SIGKILL of its worker at {rate:.0f}/s; "
            f"{total - before_kill} after in {after:.1f}s; {len(lost)} delivery unconfirmed"
        )


def test_a_scheduled_run_fires_once_across_workers_and_api_processes(sink, tmp_path, mktows_start):
    tag = uuid.uuid4().hex[:8]
    emails = [f"soon-{tag}-{i}@scale.example.com" for i in range(20)]
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(temporary_database("mktows_scale"))
        first_api, second_api = stack.enter_context(two_api_processes(mktows_start, db_url, tmp_path, sink.port))
        for _ in range(2):
            stack.enter_context(running_worker(db_url))
        import_leads(client(first_api), SOON_LIST, emails)
        run_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=4)
        res = client(second_api).call(
            "scheduleCampaign", programName=PROGRAM, campaignName="Send Soon", campaignRunAt=run_at
        )
        assert res["success"]
        assert arrived(sink, set(emails)) == []  # not before its time
        wait_for(lambda: len(arrived(sink, set(emails))) >= len(emails), 60, "the scheduled run's messages")
        time.sleep(3)  # a second firing would show now
        got = sorted(address(m) for m in arrived(sink, set(emails)))
        assert got == sorted(emails)
        assert scalar(db_url, select(func.count()).select_from(campaign_runs)) == 1
        fired = scalar(db_url, select(func.min(outbox.c.created_at)))
        assert fired is not None and fired.replace(tzinfo=dt.UTC) >= run_at


def test_any_api_process_answers_the_next_call_of_a_conversation(sink, tmp_path, mktows_start):
    """An import started on one process is polled on the other; a stream of pages is read from
    both in turn, each page's position taken to the other process."""
    tag = uuid.uuid4().hex[:8]
    emails = [f"turns-{tag}-{i:03d}@scale.example.com" for i in range(250)]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(temporary_database("mktows_scale"))
        apis = [
            client(server)
            for server in stack.enter_context(two_api_processes(mktows_start, db_url, tmp_path, sink.port))
        ]
        metrics_port = free_port()
        stack.enter_context(running_worker(db_url, env={"MKTOWS_WORKER_METRICS_PORT": str(metrics_port)}))
        import_leads(apis[0], LIST, emails, poll=apis[1])
        # the worker's own metrics: the import job it ran
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert 'mktows_job_events_total{event="done",kind="list.import"} 1.0' in metrics
        seen: list[str] = []
        position = None
        for turn in range(100):
            api = apis[turn % 2]
            page = api.call(
                "getMultipleLeads",
                leadSelector=api.update_selector(since),
                streamPosition=position,
                batchSize=60,
            )
            seen += [record["Email"] for record in api.lead_records(page)]
            if not page["remainingCount"]:
                break
            position = page["newStreamPosition"]
        assert turn == 4  # five pages, read from both processes in turn
        assert sorted(seen) == sorted(emails)
