"""zeep and suds clients built from the served `?WSDL`, as a real user would build them.

Both clients get two hooks:
* an outgoing hook that stamps a freshly signed `AuthenticationHeader` on every call
  (zeep: `Plugin.egress`; suds: `MessagePlugin.sending`), so long tests never expire;
* an incoming hook that validates every success body against the schema of the WSDL the
  server served for that endpoint (zeep: `Plugin.ingress`; suds: `MessagePlugin.received`)
  and keeps the last envelope for fault inspection.

`LeadApi` puts one small facade over both so scenario code can run through either client
and compare plain Python values (dicts / lists / str / int / datetime).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .soap import (
    SOAP_ENV,
    TEST_KEY,
    TEST_USER,
    TNS,
    SchemaValidator,
    now_timestamp,
    sign,
    validator_for,
)

# --------------------------------------------------------------------------- header stamping


def _auth_element(user: str, key: str) -> etree._Element:
    ts = now_timestamp()
    el = etree.Element(f"{{{TNS}}}AuthenticationHeader", nsmap={"ns1": TNS})
    for name, value in (("mktowsUserId", user), ("requestSignature", sign(ts, user, key)), ("requestTimestamp", ts)):
        etree.SubElement(el, name).text = value
    return el


def stamp_envelope(env: etree._Element, user: str, key: str) -> etree._Element:
    """Insert (or replace) a freshly signed AuthenticationHeader in an envelope."""
    header = env.find(f"{{{SOAP_ENV}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP_ENV}}}Header")
        env.insert(0, header)
    for old in header.findall(f"{{{TNS}}}AuthenticationHeader"):
        header.remove(old)
    header.insert(0, _auth_element(user, key))
    return env


@dataclass
class ParsedFault:
    code: int
    faultstring: str
    message: str


def fault_from_envelope(env: etree._Element) -> ParsedFault:
    fault = env.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, etree.tostring(env)[:2000]
    exc = fault.find(f"detail/{{{TNS}}}serviceException")
    assert exc is not None, etree.tostring(fault)[:2000]
    assert exc.findtext("name") == "mktServiceException"
    code = int(exc.findtext("code"))
    return ParsedFault(code, fault.findtext("faultstring") or "", exc.findtext("message") or "")


# --------------------------------------------------------------------------- zeep


def make_zeep_client(endpoint: str, user: str = TEST_USER, key: str = TEST_KEY):
    import zeep
    from zeep.plugins import Plugin
    from zeep.transports import Transport

    validator: SchemaValidator = validator_for(endpoint)

    class AuthAndValidate(Plugin):
        last_envelope: etree._Element | None = None

        def egress(self, envelope, http_headers, operation, binding_options):
            return stamp_envelope(envelope, user, key), http_headers

        def ingress(self, envelope, http_headers, operation):
            self.last_envelope = envelope
            validator.validate_envelope(envelope)
            return envelope, http_headers

    plugin = AuthAndValidate()
    transport = Transport(timeout=60, operation_timeout=300)
    client = zeep.Client(endpoint + "?WSDL", plugins=[plugin], transport=transport)
    client.mktows_plugin = plugin  # type: ignore[attr-defined]
    return client


# --------------------------------------------------------------------------- suds


def make_suds_client(endpoint: str, user: str = TEST_USER, key: str = TEST_KEY):
    import suds.client
    from suds.plugin import MessagePlugin

    validator: SchemaValidator = validator_for(endpoint)

    class AuthAndValidate(MessagePlugin):
        last_envelope: etree._Element | None = None

        def sending(self, context):
            raw = context.envelope
            env = etree.fromstring(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
            stamp_envelope(env, user, key)
            context.envelope = etree.tostring(env, xml_declaration=True, encoding="UTF-8")

        def received(self, context):
            env = etree.fromstring(context.reply)
            self.last_envelope = env
            validator.validate_envelope(env)

    plugin = AuthAndValidate()
    client = suds.client.Client(endpoint + "?WSDL", plugins=[plugin], cache=None, timeout=300)
    client.mktows_plugin = plugin  # type: ignore[attr-defined]
    return client


# --------------------------------------------------------------------------- plain values


def plain_zeep(obj: Any) -> Any:
    from zeep.helpers import serialize_object

    return _plain(serialize_object(obj, target_cls=dict))


def plain_suds(obj: Any) -> Any:
    from suds.sudsobject import Object

    if isinstance(obj, Object):
        return {k: plain_suds(v) for k, v in obj}
    if isinstance(obj, list):
        return [plain_suds(v) for v in obj]
    if isinstance(obj, str):
        return str(obj)
    return obj


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def is_nil(value: Any) -> bool:
    """None, or (zeep's rendering of an xsi:nil complex element) a dict of only Nones."""
    return value is None or (isinstance(value, dict) and all(v is None for v in value.values()))


def items(parent: dict | None, wrapper: str, item: str) -> list:
    """Items of an Array* wrapper, treating an empty/absent wrapper as []."""
    if not parent:
        return []
    w = parent.get(wrapper)
    if not w:
        return []
    v = w.get(item) if isinstance(w, dict) else None
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def attr_map(record: dict, wrapper: str = "leadAttributeList") -> dict[str, str]:
    return {a["attrName"]: a["attrValue"] for a in items(record, wrapper, "attribute")}


def attr_list(record: dict, wrapper: str = "activityAttributes") -> list[tuple[str, str]]:
    return [(a["attrName"], a["attrValue"]) for a in items(record, wrapper, "attribute")]


# --------------------------------------------------------------------------- the facade


class FaultRaised(AssertionError):
    pass


class LeadApi:
    """One facade over a zeep or suds client for one endpoint version."""

    def __init__(self, kind: str, client, version: str) -> None:
        self.kind = kind
        self.client = client
        self.version = version

    def __repr__(self) -> str:
        return f"<LeadApi {self.kind} {self.version}>"

    # -- raw calls
    def call(self, op: str, **kw) -> dict:
        kw = {k: v for k, v in kw.items() if v is not None}
        if self.kind == "zeep":
            value = plain_zeep(getattr(self.client.service, op)(**kw))
            # zeep unwraps a single-child result type (e.g. ResultMergeLeads -> MergeStatus);
            # put the wrapper back so both clients give the same `result` shape.
            only = self._zeep_single_child(op)
            return {only: value} if only else value
        return plain_suds(getattr(self.client.service, op)(**kw))

    def _zeep_single_child(self, op: str) -> str | None:
        success = self.client.get_element(f"{{{TNS}}}success{op[0].upper()}{op[1:]}")
        [(_, result_el)] = success.type.elements
        children = result_el.type.elements
        return children[0][0] if len(children) == 1 else None

    def call_or_fault(self, op: str, **kw) -> tuple[dict | None, ParsedFault | None]:
        """(result, None) on success, (None, fault) on a SOAP fault."""
        kw = {k: v for k, v in kw.items() if v is not None}
        if self.kind == "zeep":
            from zeep.exceptions import Fault as ClientFault
        else:
            from suds import WebFault as ClientFault
        try:
            return self.call(op, **kw), None
        except ClientFault:
            return None, fault_from_envelope(self.client.mktows_plugin.last_envelope)

    def fault(self, op: str, **kw) -> ParsedFault:
        """Call and require a SOAP fault; return its code/faultstring/message."""
        kw = {k: v for k, v in kw.items() if v is not None}
        if self.kind == "zeep":
            from zeep.exceptions import Fault as ZeepFault

            try:
                result = getattr(self.client.service, op)(**kw)
            except ZeepFault:
                return fault_from_envelope(self.client.mktows_plugin.last_envelope)
        else:
            from suds import WebFault

            try:
                result = getattr(self.client.service, op)(**kw)
            except WebFault:
                return fault_from_envelope(self.client.mktows_plugin.last_envelope)
        raise FaultRaised(f"{op} did not fault; result: {result!r}")

    # -- typed values
    def _type(self, name: str):
        if self.kind == "zeep":
            return self.client.get_type(f"{{{TNS}}}{name}")
        return None

    def key_selector(self, key_type: str, values: list[str]):
        if self.kind == "zeep":
            return self._type("LeadKeySelector")(keyType=key_type, keyValues={"stringItem": list(values)})
        s = self.client.factory.create("LeadKeySelector")
        s.keyType = key_type
        s.keyValues.stringItem = list(values)
        return s

    def list_selector(self, name: str | None = None, list_id: int | None = None):
        if self.kind == "zeep":
            return self._type("StaticListSelector")(staticListName=name, staticListId=list_id)
        s = self.client.factory.create("StaticListSelector")
        if name is not None:
            s.staticListName = name
        if list_id is not None:
            s.staticListId = list_id
        return s

    def update_selector(self, oldest: dt.datetime, latest: dt.datetime | None = None):
        if self.kind == "zeep":
            return self._type("LastUpdateAtSelector")(oldestUpdatedAt=oldest, latestUpdatedAt=latest)
        s = self.client.factory.create("LastUpdateAtSelector")
        s.oldestUpdatedAt = oldest
        if latest is not None:
            s.latestUpdatedAt = latest
        return s

    # -- lead helpers
    @staticmethod
    def lead_record(
        email: str | None = None,
        attrs: dict[str, str] | None = None,
        *,
        lead_id: int | None = None,
        fspi: str | None = None,
        fstype: str | None = None,
    ) -> dict:
        rec: dict[str, Any] = {}
        if lead_id is not None:
            rec["Id"] = lead_id
        if email is not None:
            rec["Email"] = email
        if fspi is not None:
            rec["ForeignSysPersonId"] = fspi
        if fstype is not None:
            rec["ForeignSysType"] = fstype
        if attrs:
            rec["leadAttributeList"] = {"attribute": [{"attrName": k, "attrValue": v} for k, v in attrs.items()]}
        return rec

    def sync_lead(self, email=None, attrs=None, *, return_lead=False, cookie=None, **keys) -> dict:
        return self.call(
            "syncLead",
            leadRecord=self.lead_record(email, attrs, **keys),
            returnLead=return_lead,
            marketoCookie=cookie,
        )

    def create_lead(self, email: str, attrs: dict[str, str] | None = None) -> int:
        res = self.sync_lead(email, attrs or {"FirstName": "Test"})
        assert res["syncStatus"]["status"] in ("CREATED", "UPDATED"), res
        return int(res["leadId"])

    def get_lead(self, key_type: str, value: str) -> dict:
        return self.call("getLead", leadKey={"keyType": key_type, "keyValue": str(value)})

    def lead_records(self, result: dict) -> list[dict]:
        return items(result, "leadRecordList", "leadRecord")

    def activities(self, key_type: str, value: str, *, include=None, exclude=None, batch_size=None, start=None) -> dict:
        flt = None
        if include is not None or exclude is not None:
            flt = {}
            if include is not None:
                flt["includeTypes"] = {"activityType": list(include)}
            if exclude is not None:
                flt["excludeTypes"] = {"activityType": list(exclude)}
        return self.call(
            "getLeadActivity",
            leadKey={"keyType": key_type, "keyValue": str(value)},
            activityFilter=flt,
            startPosition=start,
            batchSize=batch_size,
        )

    def all_activities(self, lead_id: int, *, batch_size: int = 100, **kw) -> list[dict]:
        out: list[dict] = []
        start = None
        for _ in range(1000):
            res = self.activities("IDNUM", str(lead_id), batch_size=batch_size, start=start, **kw)
            out.extend(items(res, "activityRecordList", "activityRecord"))
            if res["remainingCount"] == 0:
                return out
            start = clean_position(res["newStartPosition"])
        raise AssertionError("getLeadActivity never reached remainingCount 0")


def lead_apis(server, clients: list[tuple[str, str]]) -> dict[str, LeadApi]:
    """One LeadApi per (kind, version) of `clients`, keyed by kind, for a server of a module's own."""
    out = {}
    for kind, version in clients:
        make = make_zeep_client if kind == "zeep" else make_suds_client
        out[kind] = LeadApi(kind, make(server.endpoint(version)), version)
    return out


def clean_position(pos: dict | None) -> dict | None:
    """A StreamPosition to send back: drop None members (absent == nil for the server)."""
    if pos is None:
        return None
    return {k: v for k, v in pos.items() if v is not None}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def next_second() -> None:
    """Sleep into the next whole second of the clock (the server shares this host's clock).

    Clients send whole seconds: after this, `utcnow()` is later than every write made before
    the call, so a window that starts there holds none of them and one that ends there holds
    them all.
    """
    time.sleep(1.02 - time.time() % 1)
