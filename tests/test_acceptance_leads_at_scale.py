"""End to end: a zeep client built from ?WSDL syncs 10,000 leads, pages them back
exactly, puts 500 of them on a static list, and reads their activity and changes.

Runs once per backend (the `server` fixture is parametrized over sqlite/postgresql).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from support.clients import LeadApi, attr_list, attr_map, clean_position, items, utcnow
from support.server import SEED_CUSTOM_FIELD

TOTAL = 10_000
SYNC_BATCH = 300
PAGE = 1000
LISTED = 500


@pytest.mark.slow
def test_ten_thousand_leads_round_trip(lead_api, fresh_list):
    api: LeadApi = lead_api("zeep", "2_2")
    run = uuid.uuid4().hex[:10]
    emails = [f"i2-{run}-{n:05d}@issue2.example.com" for n in range(TOTAL)]
    t0 = utcnow() - dt.timedelta(seconds=2)

    # ---- 1. sync 10,000 leads, 300 per call
    ids_by_email: dict[str, int] = {}
    for start in range(0, TOTAL, SYNC_BATCH):
        chunk = emails[start : start + SYNC_BATCH]
        res = api.call(
            "syncMultipleLeads",
            leadRecordList={
                "leadRecord": [
                    api.lead_record(
                        e, {"FirstName": f"F{start + i}", "LastName": "Issue2", SEED_CUSTOM_FIELD: f"c-{start + i}"}
                    )
                    for i, e in enumerate(chunk)
                ]
            },
            dedupEnabled=True,
        )
        statuses = items(res, "syncStatusList", "syncStatus")
        assert len(statuses) == len(chunk)
        assert [s["status"] for s in statuses] == ["CREATED"] * len(chunk), statuses[:3]
        for e, s in zip(chunk, statuses, strict=True):
            ids_by_email[e] = int(s["leadId"])
    assert len(set(ids_by_email.values())) == TOTAL

    # ---- 2. page them back by last-update window, 1000 per page, exact counts
    t1 = utcnow() + dt.timedelta(seconds=2)
    selector = api.update_selector(t0, t1)
    position = None
    returned_total = 0
    seen_ids: list[int] = []
    mine: dict[int, dict] = {}
    first_remaining = None
    previous_remaining = None
    pages = 0
    while True:
        res = api.call(
            "getMultipleLeads",
            leadSelector=selector,
            streamPosition=position,
            batchSize=PAGE,
            includeAttributes={"stringItem": ["FirstName", SEED_CUSTOM_FIELD]},
        )
        pages += 1
        page = items(res, "leadRecordList", "leadRecord")
        assert res["returnCount"] == len(page) <= PAGE
        returned_total += res["returnCount"]
        if first_remaining is None:
            first_remaining = res["returnCount"] + res["remainingCount"]
        else:
            assert res["remainingCount"] == previous_remaining - res["returnCount"], "remainingCount must fall exactly"
        previous_remaining = res["remainingCount"]
        for rec in page:
            seen_ids.append(rec["Id"])
            if rec["Email"] in ids_by_email:
                mine[rec["Id"]] = rec
        if res["remainingCount"] == 0:
            assert res.get("newStreamPosition") in ("", None)
            break
        position = res["newStreamPosition"]
        assert position and pages < 100
    assert len(seen_ids) == len(set(seen_ids)), "no lead twice across pages"
    assert returned_total == first_remaining == len(seen_ids)
    assert len(mine) == TOTAL, f"{TOTAL - len(mine)} synced leads missing from the window"
    assert set(mine) == set(ids_by_email.values())
    for _lead_id, rec in list(mine.items())[:: TOTAL // 50]:
        n = int(rec["Email"].split("-")[-1].split("@")[0])
        assert attr_map(rec) == {"FirstName": f"F{n}", SEED_CUSTOM_FIELD: f"c-{n}"}, "includeAttributes honoured"
    assert pages >= TOTAL // PAGE

    # ---- 3. 500 of them onto a static list (batches of <= 1000 keys, here 250)
    listed = [ids_by_email[e] for e in emails[:LISTED]]
    for start in range(0, LISTED, 250):
        res = api.call(
            "listOperation",
            listOperation="ADDTOLIST",
            listKey={"keyType": "MKTOLISTNAME", "keyValue": fresh_list},
            listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(i)} for i in listed[start : start + 250]]},
            strict=False,
        )
        assert res["success"] is True
        assert all(s["status"] is True for s in items(res, "statusList", "leadStatus"))
    list_sel = api.list_selector(name=fresh_list)
    members: list[int] = []
    position = None
    while True:
        res = api.call("getMultipleLeads", leadSelector=list_sel, streamPosition=position, batchSize=200)
        members.extend(r["Id"] for r in items(res, "leadRecordList", "leadRecord"))
        if res["remainingCount"] == 0:
            break
        position = res["newStreamPosition"]
    assert sorted(members) == sorted(listed)

    # ---- 4. activity of one listed lead: New Lead + Add to List
    acts = api.all_activities(listed[0])
    types = [r["activityType"] for r in acts]
    assert "New Lead" in types and "Add to List" in types
    [add] = [r for r in acts if r["activityType"] == "Add to List"]
    assert add["mktgAssetName"] == fresh_list and dict(attr_list(add))["Lead ID"] == str(listed[0])

    # ---- 5. changes of 100 of them (one key batch), paged
    sample = listed[:100]
    changes: list[dict] = []
    position = {"oldestCreatedAt": t0}
    while True:
        res = api.call(
            "getLeadChanges",
            startPosition=position,
            leadSelector=api.key_selector("IDNUM", [str(i) for i in sample]),
            batchSize=150,
        )
        page = items(res, "leadChangeRecordList", "leadChangeRecord")
        assert res["returnCount"] == len(page)
        changes.extend(page)
        if res["remainingCount"] == 0:
            break
        position = clean_position(res["newStartPosition"])
    by_type: dict[str, set[int]] = {}
    for r in changes:
        by_type.setdefault(r["activityType"], set()).add(int(r["mktPersonId"]))
    assert by_type.get("New Lead") == set(sample)
    assert by_type.get("Add to List") == set(sample)
    assert len({int(r["id"]) for r in changes}) == len(changes)


def test_parallel_clients_over_persistent_connections(server):
    """The vendor told bulk users to run up to 10 threads over keep-alive connections."""
    from concurrent.futures import ThreadPoolExecutor

    from support.clients import make_zeep_client

    threads, per_thread, batch = 8, 200, 100
    run = uuid.uuid4().hex[:8]

    def worker(n: int) -> tuple[set[int], int]:
        api = LeadApi("zeep", make_zeep_client(server.endpoint("2_2")), "2_2")
        emails = [f"par-{run}-{n}-{i:04d}@parallel.example.com" for i in range(per_thread)]
        ids: set[int] = set()
        for start in range(0, per_thread, batch):
            res = api.call(
                "syncMultipleLeads",
                leadRecordList={
                    "leadRecord": [api.lead_record(e, {"FirstName": f"T{n}"}) for e in emails[start : start + batch]]
                },
            )
            statuses = items(res, "syncStatusList", "syncStatus")
            assert [s["status"] for s in statuses] == ["CREATED"] * batch
            ids.update(int(s["leadId"]) for s in statuses)
        found = 0
        for start in range(0, per_thread, 100):
            res = api.call(
                "getMultipleLeads", leadSelector=api.key_selector("EMAIL", emails[start : start + 100]), batchSize=100
            )
            recs = items(res, "leadRecordList", "leadRecord")
            assert all(attr_map(r)["FirstName"] == f"T{n}" for r in recs)
            found += len(recs)
        return ids, found

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(worker, range(threads)))
    all_ids = set().union(*(ids for ids, _ in results))
    assert len(all_ids) == threads * per_thread, "every lead got its own id"
    assert [found for _, found in results] == [per_thread] * threads


@pytest.mark.slow
def test_data_survives_a_hard_kill_and_restart(tmp_path, mktows_start):
    """A lead acknowledged by syncLead is still there after `kill -9` and a restart."""
    from support.server import running_server
    from support.soap import call, success

    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    email = f"crash-{uuid.uuid4().hex[:8]}@crash.example.com"
    body = (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList><attribute><attrName>FirstName</attrName>"
        "<attrValue>Durable</attrValue></attribute></leadAttributeList></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    with running_server(mktows_start, db_url, tmp_path / "first") as srv:
        lead_id = success(call(srv.endpoint(), body), "syncLead").findtext("result/leadId")
        srv.kill()
        assert not srv.alive()
    with running_server(mktows_start, db_url, tmp_path / "second") as srv:
        get = f"<ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey></ns1:paramsGetLead>"
        result = success(call(srv.endpoint(), get), "getLead").find("result")
        assert result.findtext("count") == "1"
        assert result.findtext("leadRecordList/leadRecord/Id") == lead_id
        # ids keep growing after a restart (no reuse)
        body2 = body.replace(email, "x" + email)
        assert int(success(call(srv.endpoint(), body2), "syncLead").findtext("result/leadId")) > int(lead_id)
