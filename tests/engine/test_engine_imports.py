"""importToList / getImportToListStatus in the engine (docs/campaigns.md, Imports and the campaign calls)."""

from __future__ import annotations

import json
import uuid

import pytest
from engine_helpers import all_activities, attrs, counts, create, lead
from sqlalchemy import func, insert, select

from mktows.engine.lists import imports
from mktows.engine.models import LeadKey, ListSelector
from mktows.errors import BadParameter, CampaignNotFound, LeadNotFound, ListNotFound, ParameterRequired
from mktows.store.tables import campaigns, import_jobs, jobs, lead_tokens, programs, static_lists, workspaces


def _setup(engine) -> dict[str, str]:
    """Two programs (names unique per test, so PostgreSQL runs need no cleanup) with lists and campaigns."""
    tag = uuid.uuid4().hex[:6]
    names = {"program": f"Imp {tag}", "other": f"Other {tag}", "list": "Imp List", "second": "Second List"}
    now = engine.now()
    with engine.db.write() as conn:
        ws = conn.execute(select(workspaces.c.id).where(workspaces.c.name_lower == "default")).scalar()
        if ws is None:
            ws = conn.execute(
                insert(workspaces)
                .values(name="Default", name_lower="default", created_at=now)
                .returning(workspaces.c.id)
            ).scalar_one()
        for prog in (names["program"], names["other"]):
            pid = conn.execute(
                insert(programs)
                .values(
                    name=prog,
                    name_lower=prog.lower(),
                    workspace_id=ws,
                    tokens=json.dumps([["Offer", "10%"]]),
                    created_at=now,
                    updated_at=now,
                )
                .returning(programs.c.id)
            ).scalar_one()
            for lst in (names["list"], names["second"]):
                conn.execute(insert(static_lists).values(name=lst, program_name=prog, created_at=now))
            conn.execute(
                insert(campaigns).values(
                    program_id=pid, name="Batch", name_lower="batch", kind="batch", created_at=now, updated_at=now
                )
            )
    return names


def _run(engine, chunk_rows: int | None = None) -> int:
    """Run the newest import's job to the end in this thread; its id."""
    with engine.db.read() as conn:
        import_id = conn.execute(select(func.max(import_jobs.c.id))).scalar_one()
    # the job handler (`imports.run_import`) loops like this with the wall clock; the engine
    # tests run on their own clock, so activities land inside the window they read
    while True:
        with engine.db.write() as conn:
            if not imports.process_chunk(conn, import_id, engine.now(), chunk_rows=chunk_rows or imports.CHUNK_ROWS):
                break
    return import_id


def _members(engine, program, list_name):
    return sorted(
        x.id for x in engine.page_leads(ListSelector(list_name=f"{program}.{list_name}"), batch_size=1000).leads
    )


def _tokens(engine, lead_id):
    with engine.db.read() as conn:
        raw = conn.execute(select(lead_tokens.c.tokens).where(lead_tokens.c.lead_id == lead_id)).scalar()
    return dict(json.loads(raw)) if raw else None


def _import(engine, names, header, rows, **kw):
    kw.setdefault("mode", "UPSERTLEADS")
    return engine.import_to_list(names["program"], names["list"], header, rows, **kw)


def test_upsert_creates_updates_adds_and_completes(engine):
    names = _setup(engine)
    old = create(engine, "Known@Example.com", FirstName="Old", LastName="Name")
    rows = [
        'known@example.com,Kay,"Smith, Jr.",Acme',
        'new1@example.com,Ann,Lee,"Big ""Co"""',
        "new2@example.com,Bob,,",
    ]
    status = _import(engine, names, "Email Address,First Name,last name,Company Name", rows)
    assert status == "PROCESSING"
    running = engine.import_status(names["program"], names["list"])
    assert (running.status, running.ended_at, running.estimated_rows, running.rows_imported) == (
        "PROCESSING",
        None,
        3,
        0,
    )
    assert running.started_at is not None
    with engine.db.read() as conn:
        assert conn.execute(select(jobs.c.kind).order_by(jobs.c.id.desc())).scalar() == "list.import"
    _run(engine)
    done = engine.import_status(names["program"].upper(), names["list"].lower())
    assert done.status == "COMPLETE" and done.ended_at is not None
    assert (done.estimated_rows, done.rows_imported, done.rows_failed, done.rows_ignored) == (3, 3, 0, 0)
    assert done.estimated_seconds is None and done.summary is None
    known = attrs(lead(engine, old))
    assert (known["FirstName"], known["LastName"], known["Company"]) == ("Kay", "Smith, Jr.", "Acme")
    new1 = engine.get_leads(LeadKey("EMAIL", "new1@example.com"))[0]
    assert attrs(new1)["Company"] == 'Big "Co"'
    new2 = engine.get_leads(LeadKey("EMAIL", "new2@example.com"))[0]
    assert attrs(new2)["FirstName"] == "Bob" and "LastName" not in attrs(new2)  # empty cells write nothing
    assert _members(engine, names["program"], names["list"]) == sorted([old, new1.id, new2.id])
    assert [a.type_name for a in all_activities(engine, new1.id)] == ["New Lead", "Add to List"]
    assert "Add to List" in [a.type_name for a in all_activities(engine, old)]


def test_api_names_and_tokens_bound_to_the_campaign(engine):
    names = _setup(engine)
    header = "EMAIL,firstname,{{my.Offer}},{{ my.Second Token }}"
    _import(engine, names, header, ["t1@example.com,T1,v1,w1", "t2@example.com,T2,,w2"], campaign_name="Batch")
    _run(engine)
    t1 = engine.get_leads(LeadKey("EMAIL", "t1@example.com"))[0].id
    t2 = engine.get_leads(LeadKey("EMAIL", "t2@example.com"))[0].id
    assert _tokens(engine, t1) == {"Offer": "v1", "Second Token": "w1"}
    assert _tokens(engine, t2) == {"Second Token": "w2"}  # an empty cell leaves the program's token
    # a later import replaces the earlier values of that (campaign, lead); Program.Campaign works too
    _import(
        engine, names, "Email Address,{{my.Offer}}", ["t1@example.com,v9"], campaign_name=f"{names['program']}.Batch"
    )
    _run(engine)
    assert _tokens(engine, t1) == {"Offer": "v9"}


def test_listonly_adds_existing_leads_only(engine):
    names = _setup(engine)
    known = create(engine, "there@example.com", FirstName="Keep")
    before = counts(engine)
    _import(
        engine,
        names,
        "Email Address,First Name",
        ["THERE@example.com,Changed", "absent@example.com,X"],
        mode="LISTONLY",
    )
    _run(engine)
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.rows_imported, st.rows_failed, st.rows_ignored) == ("COMPLETE", 1, 0, 1)
    assert "1 ignored" in st.summary
    assert _members(engine, names["program"], names["list"]) == [known]
    assert attrs(lead(engine, known))["FirstName"] == "Keep"  # no lead data written
    leads_after, values_after, _ = counts(engine)
    assert (leads_after, values_after) == before[:2]


def test_clear_list_empties_first_and_drops_bound_tokens(engine):
    names = _setup(engine)
    _import(
        engine, names, "Email Address,{{my.Offer}}", ["c1@example.com,a", "c2@example.com,b"], campaign_name="Batch"
    )
    _run(engine)
    c1 = engine.get_leads(LeadKey("EMAIL", "c1@example.com"))[0].id
    c2 = engine.get_leads(LeadKey("EMAIL", "c2@example.com"))[0].id
    _import(engine, names, "Email Address", ["c3@example.com"], clear_list=True)
    _run(engine)
    c3 = engine.get_leads(LeadKey("EMAIL", "c3@example.com"))[0].id
    assert _members(engine, names["program"], names["list"]) == [c3]
    assert _tokens(engine, c1) is None and _tokens(engine, c2) is None
    assert "Remove from List" in [a.type_name for a in all_activities(engine, c1)]


def test_row_failures_are_counted_with_a_summary(engine):
    names = _setup(engine)
    rows = [
        "good@example.com,1",
        "not-an-email,2",
        ",3",
        "bad-score@example.com,abc",
        "extra@example.com,4,surplus",
        "",
        '"unterminated@example.com,5',
    ]
    _import(engine, names, "Email Address,Lead Score", rows)
    _run(engine)
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.estimated_rows, st.rows_imported, st.rows_failed, st.rows_ignored) == ("COMPLETE", 7, 1, 5, 1)
    lines = st.summary.splitlines()
    assert lines[0] == "1 rows imported, 5 failed, 1 ignored"
    assert lines[1].startswith("Row 2: Invalid email address: not-an-email")
    assert any(line.startswith("Row 3: Email Address is empty") for line in lines)
    assert any(line.startswith("Row 4:") and "abc" in line for line in lines)
    assert any(line.startswith("Row 5: 3 values for 2 columns") for line in lines)
    assert any(line.startswith("Row 7:") for line in lines)
    with pytest.raises(LeadNotFound):
        engine.get_leads(LeadKey("EMAIL", "bad-score@example.com"))


def test_chunks_resume_without_double_counting(engine):
    names = _setup(engine)
    rows = [f"r{i}@example.com,v{i}" for i in range(23)]
    _import(engine, names, "Email Address,{{my.Offer}}", rows, campaign_name="Batch")
    with engine.db.read() as conn:
        import_id = conn.execute(select(func.max(import_jobs.c.id))).scalar_one()
    with engine.db.write() as conn:
        assert imports.process_chunk(conn, import_id, engine.now(), chunk_rows=10) is True
    mid = engine.import_status(names["program"], names["list"])
    assert (mid.status, mid.rows_imported, mid.ended_at) == ("PROCESSING", 10, None)
    # a crash inside a chunk rolls the chunk back with its counters
    with pytest.raises(RuntimeError):
        with engine.db.write() as conn:
            imports.process_chunk(conn, import_id, engine.now(), chunk_rows=10)
            raise RuntimeError("killed")
    assert engine.import_status(names["program"], names["list"]).rows_imported == 10
    _run(engine, chunk_rows=10)
    _run(engine, chunk_rows=10)  # running a finished import again changes nothing
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.rows_imported, st.rows_failed, st.rows_ignored) == ("COMPLETE", 23, 0, 0)
    assert len(_members(engine, names["program"], names["list"])) == 23
    r22 = engine.get_leads(LeadKey("EMAIL", "r22@example.com"))[0].id
    assert _tokens(engine, r22) == {"Offer": "v22"}
    assert [a.type_name for a in all_activities(engine, r22)] == ["New Lead", "Add to List"]


def test_call_faults_change_nothing(engine):
    names = _setup(engine)
    program, lst = names["program"], names["list"]

    def call(**kw):
        args = {
            "program_name": program,
            "list_name": lst,
            "header": "Email Address",
            "rows": ["f@example.com"],
            "mode": "UPSERTLEADS",
        }
        args.update(kw)
        return engine.import_to_list(
            args.pop("program_name"), args.pop("list_name"), args.pop("header"), args.pop("rows"), **args
        )

    def count():
        with engine.db.read() as conn:
            return conn.execute(select(func.count()).select_from(import_jobs)).scalar_one()

    before = count()
    cases = [
        (dict(program_name="No Such Program"), CampaignNotFound, "No Such Program"),
        (dict(list_name="No Such List"), ListNotFound, "No Such List"),
        (dict(campaign_name="No Such Campaign"), CampaignNotFound, "No Such Campaign"),
        (dict(campaign_name=f"{names['other']}.Batch"), CampaignNotFound, ""),
        (dict(header="Email Address,{{my.Offer}}"), ParameterRequired, "{{my.Offer}}"),
        (dict(header="E-mail,Shoe Size,pants"), BadParameter, "E-mail, Shoe Size, pants"),
        (dict(header=""), BadParameter, "empty"),
        (dict(header="First Name"), BadParameter, "no Email Address column"),
        (dict(header="Email Address,Shoe Size,{{my.Offer}},{{MY.offer}}"), BadParameter, "twice"),
        (dict(header="Email Address,email"), BadParameter, "twice"),
        (dict(program_name=""), ParameterRequired, "programName"),
        (dict(list_name=" "), ParameterRequired, "listName"),
        (dict(mode="SOMETIMES"), BadParameter, "importListMode"),
    ]
    for kw, error, text in cases:
        with pytest.raises(error) as exc:
            call(**kw)
        assert text in exc.value.detail, (kw, exc.value.detail)
    assert count() == before
    # one import at a time per list; another list of the program is free
    assert call() == "PROCESSING"
    with pytest.raises(BadParameter, match="already processing"):
        call()
    assert call(list_name=names["second"]) == "PROCESSING"
    assert count() == before + 2


def test_status_faults(engine):
    names = _setup(engine)
    with pytest.raises(ParameterRequired):
        engine.import_status(names["program"], None)
    with pytest.raises(ParameterRequired):
        engine.import_status(None, names["list"])
    with pytest.raises(ListNotFound):
        engine.import_status(names["program"], "No Such List")
    with pytest.raises(ListNotFound):
        engine.import_status("No Such Program", names["list"])
    with pytest.raises(BadParameter) as exc:
        engine.import_status(names["program"].lower(), names["list"])
    assert exc.value.long_message == f"No import found for list {names['program']}.{names['list']} (20110)"


def test_the_job_handler_runs_the_import_to_the_end(engine):
    names = _setup(engine)
    _import(engine, names, "Email Address", [f"h{i}@example.com" for i in range(3)])
    with engine.db.read() as conn:
        import_id = conn.execute(select(func.max(import_jobs.c.id))).scalar_one()
    imports.run_import(engine.db, {"import_id": import_id})
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.rows_imported) == ("COMPLETE", 3)
    imports.run_import(engine.db, {"import_id": import_id})  # again: a no-op
    assert engine.import_status(names["program"], names["list"]).rows_imported == 3


def test_columns_that_name_no_field_are_ignored_and_reported(engine):
    names = _setup(engine)
    header = "Email,First,Last Name,Favourite Colour,,Favourite Colour,COMPANY"
    rows = ["ign1@example.com,Ann,Lee,Teal,x,Puce,s1", "ign2@example.com,Bob,,Mauve,,,"]
    _import(engine, names, header, rows)
    running = engine.import_status(names["program"], names["list"])
    expected = [
        'Ignored column "First": it names no lead field',
        'Ignored column "Favourite Colour": it names no lead field',
        "Ignored column 5: it has no name",
        'Ignored column "Favourite Colour": it names no lead field',
    ]
    assert (running.status, running.summary.splitlines()) == ("PROCESSING", expected)
    _run(engine)
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.rows_imported, st.rows_failed, st.rows_ignored) == ("COMPLETE", 2, 0, 0)
    assert st.summary.splitlines() == expected
    ann = attrs(engine.get_leads(LeadKey("EMAIL", "ign1@example.com"))[0])
    assert (ann["LastName"], ann["Company"]) == ("Lee", "s1") and "FirstName" not in ann
    bob = attrs(engine.get_leads(LeadKey("EMAIL", "ign2@example.com"))[0])
    written = set(ann.values()) | set(bob.values())
    assert not written & {"Ann", "Bob", "Teal", "Puce", "Mauve", "x"}


def test_ignored_columns_lead_the_summary_once_across_chunks(engine, caplog):
    names = _setup(engine)
    unknown = [f"Extra {i}" for i in range(imports.MAX_WARNING_LINES + 3)]
    header = ",".join(["Email Address", *unknown])
    rows = [f"chunk{i}@example.com," + ",".join("v" for _ in unknown) for i in range(5)]
    rows.append("not-an-email," + ",".join("v" for _ in unknown))
    _import(engine, names, header, rows)
    with caplog.at_level("WARNING", logger="mktows.engine.imports"):
        _run(engine, chunk_rows=2)
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.rows_imported, st.rows_failed) == ("COMPLETE", 5, 1)
    lines = st.summary.splitlines()
    assert lines[0] == "5 rows imported, 1 failed, 0 ignored"
    warnings = lines[1 : 1 + imports.MAX_WARNING_LINES]
    assert warnings[0] == 'Ignored column "Extra 0": it names no lead field'
    assert warnings[-1] == "Ignored 4 more columns that name no lead field"
    assert lines[1 + imports.MAX_WARNING_LINES :] == ["Row 6: Invalid email address: not-an-email"]
    [record] = [r for r in caplog.records if r.name == "mktows.engine.imports"]
    assert f"{names['program']}.{names['list']}" in record.getMessage()
    assert all(f'"{name}"' in record.getMessage() for name in unknown)


def test_listonly_ignores_unknown_columns_too(engine):
    names = _setup(engine)
    known = create(engine, "lo@example.com", FirstName="Keep")
    _import(engine, names, "email address,Shoe Size", ["lo@example.com,44"], mode="LISTONLY")
    _run(engine)
    st = engine.import_status(names["program"], names["list"])
    assert (st.status, st.rows_imported) == ("COMPLETE", 1)
    assert st.summary == 'Ignored column "Shoe Size": it names no lead field'
    assert _members(engine, names["program"], names["list"]) == [known]
