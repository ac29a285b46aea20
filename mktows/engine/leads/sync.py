"""syncLead / syncMultipleLeads (docs/leads.md): plan in memory, then write in bulk.

A batch is resolved against leads preloaded with three IN queries (ids, foreign ids,
emails), applied to in-memory states (so later records see leads created or changed by
earlier ones), then flushed with a handful of executemany statements, activities included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.activities.types import CHANGE_DATA_VALUE, NEW_LEAD
from mktows.engine.leads.fields import Field, FieldRegistry, normalize_value
from mktows.engine.leads.merge import merge_into
from mktows.engine.leads.reads import LEAD_COLUMNS, load_leads
from mktows.engine.leads.workspaces import DEFAULT_HOME, Home, workspace_home
from mktows.engine.models import LeadInput, SyncOutcome
from mktows.engine.timestamps import storable_ids
from mktows.errors import (
    BadParameter,
    LeadDetailRequired,
    LeadKeyRequired,
    LeadNotFound,
    LeadSyncFailed,
    MarketoError,
    ParameterRequired,
    UnknownLeadField,
)
from mktows.store.queries import bulk_insert, chunks, in_values, insert_returning_ids, serialize_lead_writes
from mktows.store.tables import cookies, lead_values, leads

Mode = Literal["single", "multi"]


@dataclass(eq=False)
class LeadState:
    """A lead as the batch sees it; `id` is None until a created lead is inserted."""

    id: int | None
    cols: dict[str, Any]
    values: dict[str, str]
    updated_at: datetime
    created: bool = False
    fresh: bool = False  # being created by the current record: no Change Data Value for it
    touched: bool = False
    changed_values: set[str] = field(default_factory=set)
    events: list[tuple[int, str, Any]] = field(default_factory=list)  # (seq, "new"|"cdv"|"row", data)


@dataclass(frozen=True)
class ChangeCause:
    """Why values change when it is not the SOAP API, e.g. a campaign flow step or a console
    user: the Change Data Value reason, the campaign, and attributes put before `Lead ID`."""

    reason: str
    campaign: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


class RecordError(Exception):
    """A per-record failure: FAILED in syncMultipleLeads, a fault in syncLead."""

    def __init__(self, error: MarketoError) -> None:
        super().__init__(error.detail)
        self.error = error


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


class SyncBatch:
    """One sync call inside one write transaction."""

    def __init__(
        self,
        conn: Connection,
        registry: FieldRegistry,
        now: datetime,
        home: Home = DEFAULT_HOME,
        cause: ChangeCause | None = None,
    ) -> None:
        self.conn = conn
        self.registry = registry
        self.now = now
        self.home = home  # where created leads live
        self.cause = cause  # of every change not given its own (None: the SOAP API)
        serialize_lead_writes(conn)  # before anything is read: see every earlier sync's leads
        self.states: dict[int, LeadState] = {}
        self.new_states: list[LeadState] = []
        self.by_email: dict[str, LeadState] = {}
        self.by_fspi: dict[str, list[LeadState]] = {}
        self._seq = 0

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    # --- loading ------------------------------------------------------------------------
    def check_fields(self, records: list[LeadInput], op: str) -> None:
        names = [n for r in records for n, _ in r.attributes]
        unknown = self.registry.unknown(names)
        if unknown:
            raise UnknownLeadField(f"{op} operation failed: unknown fields for import: {', '.join(unknown)}")

    def preload(self, records: list[LeadInput]) -> None:
        ids = storable_ids(sorted({r.id for r in records if r.id is not None}))
        fspis = sorted({s for r in records if (s := _clean(r.foreign_sys_person_id))})
        emails = sorted({e.lower() for r in records if (e := self.key_email(r))})
        found: list[int] = []
        for part in chunks(ids):
            found += self.conn.execute(select(leads.c.id).where(in_values(leads.c.id, part))).scalars().all()
        for part in chunks(fspis):
            found += (
                self.conn.execute(select(leads.c.id).where(in_values(leads.c.foreign_sys_person_id, part)))
                .scalars()
                .all()
            )
        for part in chunks(emails):
            found += self.conn.execute(select(leads.c.id).where(in_values(leads.c.email_lower, part))).scalars().all()
        self.load(sorted(set(found)))

    def load(self, ids: list[int]) -> None:
        ids = [i for i in ids if i not in self.states]
        loaded: list[LeadState] = []
        for part in chunks(ids):
            for row in self.conn.execute(select(leads).where(in_values(leads.c.id, part))):
                st = LeadState(
                    id=row.id, cols={c: getattr(row, c) for c in LEAD_COLUMNS}, values={}, updated_at=row.updated_at
                )
                self.states[row.id] = st
                loaded.append(st)
            for lead_id, name, value in self.conn.execute(
                select(lead_values.c.lead_id, lead_values.c.name, lead_values.c.value).where(
                    in_values(lead_values.c.lead_id, part)
                )
            ):
                self.states[lead_id].values[name] = value
        # most recently updated first wins the email / foreign-id indexes
        for st in sorted(loaded, key=lambda s: (s.updated_at, s.id or 0)):
            self._index(st)

    def _index(self, st: LeadState) -> None:
        email = st.cols.get("email")
        if email:
            self.by_email[email.lower()] = st
        fspi = st.cols.get("foreign_sys_person_id")
        if fspi:
            lst = self.by_fspi.setdefault(fspi, [])
            if st in lst:
                lst.remove(st)
            lst.append(st)

    # --- matching -----------------------------------------------------------------------
    def key_email(self, record: LeadInput) -> str | None:
        email = _clean(record.email)
        if email:
            return email
        for name, value in record.attributes:
            if name.strip().lower() == "email" and _clean(value):
                return _clean(value)
        return None

    def match_fspi(self, fspi: str, fst: str | None) -> LeadState | None:
        for st in reversed(self.by_fspi.get(fspi, [])):
            if st.cols.get("foreign_sys_person_id") != fspi:
                continue
            if fst and st.cols.get("foreign_sys_type") and st.cols["foreign_sys_type"].upper() != fst.upper():
                continue
            return st
        return None

    def resolve(
        self, record: LeadInput, mode: Mode, dedup: bool, cookie_state: LeadState | None
    ) -> tuple[LeadState, str]:
        """The target state and how it was matched (id, fspi, cookie, email, new).

        A foreign id is a unique key of its own: one that matches nobody creates a lead, so two
        CRM contacts that share an email stay two leads. Email de-duplication applies only
        when neither Id nor a foreign id is given; `cookie_state` only when no key is given.
        """
        if record.id is not None:
            st = self.states.get(record.id)
            if st is None:
                raise RecordError(LeadNotFound(f"No lead found with IDNUM = {record.id}"))
            return st, "id"
        fspi = _clean(record.foreign_sys_person_id)
        email = self.key_email(record)
        if fspi:
            st = self.match_fspi(fspi, _clean(record.foreign_sys_type))
            return (st, "fspi") if st is not None else (self._new_state(), "new")
        if cookie_state is not None:
            return cookie_state, "cookie"
        if email and (dedup or mode == "single"):
            st = self.by_email.get(email.lower())
            if st is not None:
                return st, "email"
        if not email and mode == "multi":
            raise RecordError(LeadKeyRequired("Lead key required: Id, Email or ForeignSysPersonId"))
        return self._new_state(), "new"

    def _new_state(self) -> LeadState:
        st = LeadState(
            id=None,
            cols={c: None for c in LEAD_COLUMNS}
            | {"anonymous": False, "workspace": self.home.workspace, "partition": self.home.partition},
            values={},
            updated_at=self.now,
            created=True,
            fresh=True,
            touched=True,
        )
        st.events.append((self._tick(), "new", None))
        return st

    # --- applying -----------------------------------------------------------------------
    def prepare(self, record: LeadInput, how: str, mode: Mode) -> list[tuple[Field, str | None]]:
        """Validated (field, stored value or None to clear) pairs; raises RecordError on bad values."""
        changes: dict[str, tuple[Field, str | None]] = {}

        def put(f: Field, raw: Any) -> None:
            text = None if raw is None else str(raw)
            if text is None or text.strip() == "":
                changes[f.name] = (f, None)
                return
            try:
                changes[f.name] = (f, normalize_value(f, text))
            except ValueError as exc:
                raise RecordError(BadParameter(str(exc))) from None

        reg = self.registry
        fspi = _clean(record.foreign_sys_person_id)
        email_key = _clean(record.email)
        if fspi:
            put(reg.get("ForeignSysPersonId"), fspi)  # type: ignore[arg-type]
            if _clean(record.foreign_sys_type):
                put(reg.get("ForeignSysType"), _clean(record.foreign_sys_type).upper())  # type: ignore[union-attr, arg-type]
        if email_key and (how == "new" or (mode == "single" and how in ("id", "fspi", "cookie"))):
            put(reg.get("Email"), email_key)  # type: ignore[arg-type]
        for name, value in record.attributes:
            f = reg.get(name)
            if f is None or f.read_only:
                continue
            put(f, value)
        return list(changes.values())

    def apply(self, st: LeadState, changes: list[tuple[Field, str | None]], cause: ChangeCause | None = None) -> None:
        for f, new in changes:
            if f.column:
                old = st.cols.get(f.column)
                if (old or None) == new:
                    continue
                st.cols[f.column] = new
                if f.column in ("email", "foreign_sys_person_id"):
                    self._index(st)
            else:
                old = st.values.get(f.name)
                if old == new:
                    continue
                if new is None:
                    st.values.pop(f.name, None)
                else:
                    st.values[f.name] = new
                st.changed_values.add(f.name)
            st.touched = True
            if not st.fresh:
                st.events.append((self._tick(), "cdv", (f, old, new, cause or self.cause)))
        if st.created and st not in self.new_states:
            self.new_states.append(st)
            self._index(st)
        st.fresh = False

    def log(self, st: LeadState, row: ActivityRow) -> None:
        """Queue another activity of a loaded lead, written by `flush` in order with its changes."""
        st.events.append((self._tick(), "row", row))

    def check_foreign_type(self, record: LeadInput) -> None:
        """ForeignSysType must accompany ForeignSysPersonId, as element or attribute."""
        fspi, fst = _clean(record.foreign_sys_person_id), _clean(record.foreign_sys_type)
        for name, value in record.attributes:
            key = name.strip().lower()
            if key == "foreignsyspersonid":
                fspi = fspi or _clean(value)
            elif key == "foreignsystype":
                fst = fst or _clean(value)
        if fspi and not fst:
            raise RecordError(ParameterRequired(f"ForeignSysType is required with ForeignSysPersonId {fspi}"))

    def sync_one(
        self, record: LeadInput, mode: Mode, dedup: bool, cookie_state: LeadState | None = None
    ) -> tuple[LeadState, str]:
        self.check_foreign_type(record)
        st, how = self.resolve(record, mode, dedup, cookie_state)
        changes = self.prepare(record, how, mode)
        self.apply(st, changes)
        return st, ("CREATED" if how == "new" else "UPDATED")

    # --- writing ------------------------------------------------------------------------
    def flush(self) -> None:
        conn, now = self.conn, self.now
        if self.new_states:
            rows = [self._lead_row(st) | {"created_at": now} for st in self.new_states]
            ids = insert_returning_ids(conn, leads, rows)
            for st, new_id in zip(self.new_states, ids, strict=True):
                st.id = int(new_id)
                self.states[st.id] = st
        existing = [st for st in self.states.values() if st.touched and not st.created]
        if existing:
            params = [self._lead_row(st) | {"b_id": st.id} for st in existing]
            stmt = (
                update(leads)
                .where(leads.c.id == bindparam("b_id"))
                .values({c: bindparam(c) for c in (*LEAD_COLUMNS, "email_lower", "updated_at")})
            )
            conn.execute(stmt, params)
            pairs = [{"b_lead": st.id, "b_name": n} for st in existing for n in st.changed_values]
            if pairs:
                conn.execute(
                    delete(lead_values).where(
                        and_(lead_values.c.lead_id == bindparam("b_lead"), lead_values.c.name == bindparam("b_name"))
                    ),
                    pairs,
                )
        inserts = [
            {"lead_id": st.id, "name": n, "value": st.values[n]}
            for st in self.states.values()
            if st.touched
            for n in (st.values if st.created else st.changed_values)
            if n in st.values
        ]
        bulk_insert(conn, lead_values, inserts)
        write_activities(conn, self._activity_rows())

    def _lead_row(self, st: LeadState) -> dict[str, Any]:
        email = st.cols.get("email")
        return {c: st.cols.get(c) for c in LEAD_COLUMNS} | {
            "email_lower": email.lower() if email else None,
            "updated_at": self.now,
        }

    def _activity_rows(self) -> list[ActivityRow]:
        out: list[tuple[int, ActivityRow]] = []
        for st in self.states.values():
            assert st.id is not None
            lead_id = str(st.id)
            for seq, kind, data in st.events:
                if kind == "new":
                    attrs = [
                        ("Source Type", "Web service API"),
                        ("Source Info", "Web service API"),
                        ("Created Date", self.now.date().isoformat()),
                        ("Lead ID", lead_id),
                    ]
                    row = ActivityRow(st.id, self.now, NEW_LEAD, "", attrs)
                elif kind == "row":
                    row = data
                else:
                    f, old, new, cause = data
                    attrs = [
                        ("Attribute Name", f.display_name),
                        ("Old Value", old or ""),
                        ("New Value", new or ""),
                        ("Reason", cause.reason if cause else "SOAP API"),
                        *(cause.attributes if cause else ()),
                        ("Lead ID", lead_id),
                    ]
                    campaign = cause.campaign if cause else None
                    row = ActivityRow(st.id, self.now, CHANGE_DATA_VALUE, f.display_name, attrs, campaign)
                out.append((seq, row))
            st.events = []
        out.sort(key=lambda p: p[0])
        return [r for _, r in out]


def sync_lead(
    conn: Connection,
    registry: FieldRegistry,
    record: LeadInput,
    now: datetime,
    *,
    return_lead: bool,
    cookie: str | None,
    move_cookie: bool,
    workspace: str | None,
    cause: ChangeCause | None = None,
) -> SyncOutcome:
    """syncLead: upsert one lead by Id > foreign id > email, then join the cookie to it.

    Only a call with no key lets the cookie choose the lead: its owner, or a new anonymous
    lead that owns it, as a Munchkin visit would make.
    """
    if record is None:
        raise LeadDetailRequired("leadRecord is required")
    home = workspace_home(conn, workspace) if workspace else None
    cookie = _clean(cookie)
    batch = SyncBatch(conn, registry, now, home or DEFAULT_HOME, cause)
    batch.check_fields([record], "syncLead")
    has_key = bool(record.id is not None or _clean(record.foreign_sys_person_id) or batch.key_email(record))
    if not has_key and cookie is None:
        raise LeadKeyRequired("Lead key required: Id, Email, ForeignSysPersonId or a cookie")
    batch.preload([record])
    owner: LeadState | None = None
    if cookie is not None:
        owner_id = conn.execute(select(cookies.c.lead_id).where(cookies.c.cookie == cookie)).scalar()
        if owner_id is not None:
            batch.load([owner_id])
            owner = batch.states[owner_id]
    try:
        state, status = batch.sync_one(record, "single", True, None if has_key else owner)
    except RecordError as exc:
        raise exc.error from None
    if home is not None:
        found_by_email = has_key and record.id is None and not _clean(record.foreign_sys_person_id)
        _check_home(state, home, found_by_email)
    if has_key and state.cols.get("anonymous"):
        state.cols["anonymous"] = False
        state.touched = True
    elif not has_key and status == "CREATED":
        state.cols["anonymous"] = True
    batch.flush()
    assert state.id is not None
    if cookie is not None:
        _join_cookie(conn, cookie, owner, state.id, move_cookie=move_cookie, now=now)
    lead = load_leads(conn, registry, [state.id])[0] if return_lead else None
    return SyncOutcome(lead_id=state.id, status=status, lead=lead)  # type: ignore[arg-type]


def _join_cookie(
    conn: Connection, cookie: str, owner: LeadState | None, lead_id: int, *, move_cookie: bool, now: datetime
) -> None:
    """Tie the cookie to the synced lead: a new cookie is simply recorded; an anonymous owner is
    merged into the lead (its activities and memberships move, it is gone); a cookie of another
    known lead moves only when the caller asks for it."""
    if owner is None:
        conn.execute(insert(cookies).values(cookie=cookie, lead_id=lead_id, created_at=now))
    elif owner.id != lead_id:
        if owner.cols.get("anonymous"):
            merge_into(conn, lead_id, [owner.id], now)  # type: ignore[list-item]
        elif move_cookie:
            conn.execute(update(cookies).where(cookies.c.cookie == cookie).values(lead_id=lead_id))


def _check_home(state: LeadState, home: Home, found_by_email: bool) -> None:
    """A lead named by id, foreign id or cookie must live in the header's workspace; one found
    by email is updated wherever it lives (a new lead is created there)."""
    if not found_by_email and state.cols.get("partition") != home.partition:
        raise LeadSyncFailed(
            f"Lead {state.id} lives in partition {state.cols.get('partition')!r} "
            f"(workspace {state.cols.get('workspace')!r}), not in {home.partition!r} of the target "
            f"workspace {home.workspace!r}"
        )


def sync_leads(
    conn: Connection, registry: FieldRegistry, records: list[LeadInput], now: datetime, *, dedup: bool
) -> list[SyncOutcome]:
    """syncMultipleLeads: per-record outcomes; an unknown field name fails the whole call."""
    batch = SyncBatch(conn, registry, now)
    batch.check_fields(records, "syncMultipleLeads")
    batch.preload(records)
    results: list[tuple[LeadState | None, str, str | None, int]] = []
    for record in records:
        try:
            state, status = batch.sync_one(record, "multi", dedup)
            results.append((state, status, None, 0))
        except RecordError as exc:
            results.append((None, "FAILED", exc.error.detail, record.id or 0))
    batch.flush()
    return [
        SyncOutcome(lead_id=(st.id if st is not None else fallback) or 0, status=status, error=err)  # type: ignore[arg-type]
        for st, status, err, fallback in results
    ]


def track_cookie(conn: Connection, cookie: str, now: datetime) -> int:
    """The lead a Munchkin cookie belongs to, creating an anonymous lead for a new cookie."""
    serialize_lead_writes(conn)
    found = conn.execute(select(cookies.c.lead_id).where(cookies.c.cookie == cookie)).scalar()
    if found is not None:
        return int(found)
    lead_id = conn.execute(
        insert(leads)
        .values(
            anonymous=True,
            workspace=DEFAULT_HOME.workspace,
            partition=DEFAULT_HOME.partition,
            created_at=now,
            updated_at=now,
        )
        .returning(leads.c.id)
    ).scalar_one()
    conn.execute(insert(cookies).values(cookie=cookie, lead_id=lead_id, created_at=now))
    return int(lead_id)
