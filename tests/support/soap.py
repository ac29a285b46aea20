"""Raw SOAP helpers: signing, envelopes, posting, fault parsing and response validation.

Everything here is written from the client's point of view: the signature is recomputed with `hmac`, the fault
shape is checked against Marketo's and every success body is validated against the XML
Schema embedded in the WSDL that the server itself serves for that endpoint.

`post`, `call`, `get` and `validator_for` take a URL. A URL under the base URL of an app built
in this process (support/inprocess.py) goes to that app over httpx's ASGI transport, which
checks every response (faults included) itself; any other URL goes over the network.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import httpx
from lxml import etree

from mktows import errors

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://www.marketo.com/mktows/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"

XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>'

# The default test credentials (instance file written by tests/support/server.py).
TEST_USER = "test_user"
TEST_KEY = "test-secret-key1"
# The wire samples are signed for this user (wire-samples/README.md).
HOLDOUT_USER = "holdout_user"
HOLDOUT_KEY = "holdout-secret-key"

# The short text of each fault code: the server's one table (tests that need an exact text spell it out).
SHORT_MESSAGES = errors.SHORT_MESSAGES


# --------------------------------------------------------------------------- signing


def sign(timestamp: str, user_id: str, key: str) -> str:
    """Lower-case hex HMAC-SHA1(key, timestamp + user_id)."""
    return hmac.new(key.encode("utf-8"), (timestamp + user_id).encode("utf-8"), hashlib.sha1).hexdigest()


def now_timestamp(offset_seconds: float = 0) -> str:
    """A W3C timestamp with a numeric offset, as PHP/Ruby/Java clients send it."""
    t = datetime.now(UTC).timestamp() + offset_seconds
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def auth_header_xml(
    user: str = TEST_USER,
    key: str = TEST_KEY,
    timestamp: str | None = None,
    *,
    signature: str | None = None,
    prefix: str = "ns1",
) -> str:
    """The `tns:AuthenticationHeader` element (prefix must be bound in the envelope)."""
    ts = now_timestamp() if timestamp is None else timestamp
    sig = sign(ts, user, key) if signature is None else signature
    return (
        f"<{prefix}:AuthenticationHeader>"
        f"<mktowsUserId>{escape(user)}</mktowsUserId>"
        f"<requestSignature>{escape(sig)}</requestSignature>"
        f"<requestTimestamp>{escape(ts)}</requestTimestamp>"
        f"</{prefix}:AuthenticationHeader>"
    )


def envelope(body_xml: str, header_xml: str | None = None) -> bytes:
    """A SOAP 1.1 envelope in the vendor's own style (SOAP-ENV / ns1 prefixes).

    `header_xml=None` signs a fresh header for the default test user; pass "" for an
    envelope without any header.
    """
    if header_xml is None:
        header_xml = auth_header_xml()
    header = f"<SOAP-ENV:Header>{header_xml}</SOAP-ENV:Header>" if header_xml else ""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{TNS}" xmlns:xsi="{XSI}">'
        f"{header}<SOAP-ENV:Body>{body_xml}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    return text.encode("utf-8")


# --------------------------------------------------------------------------- validation


class SchemaValidator:
    """Validates the single child of a response Body against the schema of a served WSDL.

    The schema inside `wsdl:types` relies on namespace declarations made on
    `wsdl:definitions` (for `tns:` / `xs:` QNames in attribute values), so it is rebuilt
    under a fresh `xs:schema` root that re-declares every in-scope namespace.
    """

    def __init__(self, wsdl_bytes: bytes) -> None:
        root = etree.fromstring(wsdl_bytes)
        schemas = root.findall(f"{{{WSDL_NS}}}types/{{{XS}}}schema")
        if len(schemas) != 1:
            raise AssertionError(f"expected exactly one xs:schema in wsdl:types, found {len(schemas)}")
        src = schemas[0]
        nsmap = {k: v for k, v in src.nsmap.items()}  # includes inherited declarations
        nsmap.setdefault("xs", XS)
        nsmap.setdefault("tns", TNS)
        new_root = etree.Element(f"{{{XS}}}schema", attrib=dict(src.attrib), nsmap=nsmap)
        for child in src:
            if isinstance(child.tag, str):  # skip comments / PIs
                new_root.append(copy.deepcopy(child))
        self.schema = etree.XMLSchema(etree.ElementTree(new_root))

    def validate(self, element: etree._Element) -> None:
        doc = etree.ElementTree(copy.deepcopy(element))
        if not self.schema.validate(doc):
            errors = "\n".join(f"  line {e.line}: {e.message}" for e in self.schema.error_log)
            snippet = etree.tostring(element, encoding="unicode")[:3000]
            raise AssertionError(f"response body is not valid against the served WSDL schema:\n{errors}\n{snippet}")

    def validate_envelope(self, envelope_bytes: bytes | etree._Element) -> etree._Element:
        """Validate a success envelope; return the Body's child. Faults are not validated."""
        env = envelope_bytes if isinstance(envelope_bytes, etree._Element) else etree.fromstring(envelope_bytes)
        body = env.find(f"{{{SOAP_ENV}}}Body")
        if body is None:
            raise AssertionError("response has no SOAP 1.1 Body")
        children = [c for c in body if isinstance(c.tag, str)]
        if len(children) != 1:
            raise AssertionError(f"Body must hold exactly one element, found {len(children)}")
        if children[0].tag == f"{{{SOAP_ENV}}}Fault":
            return children[0]
        self.validate(children[0])
        return children[0]


# A SOAP 1.1 envelope and fault as the W3C note's schema (schemas.xmlsoap.org/soap/envelope/)
# declares them, reduced to what a response may hold: the Body's children are checked laxly
# (a Fault strictly, as it is declared here; anything else against the WSDL's own schema).
SOAP_ENVELOPE_XSD = f"""<xs:schema xmlns:xs="{XS}" xmlns:tns="{SOAP_ENV}" targetNamespace="{SOAP_ENV}">
  <xs:element name="Envelope"><xs:complexType><xs:sequence>
    <xs:element ref="tns:Header" minOccurs="0"/>
    <xs:element ref="tns:Body"/>
    <xs:any namespace="##other" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
  </xs:sequence><xs:anyAttribute namespace="##other" processContents="lax"/></xs:complexType></xs:element>
  <xs:element name="Header"><xs:complexType><xs:sequence>
    <xs:any namespace="##other" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
  </xs:sequence><xs:anyAttribute namespace="##other" processContents="lax"/></xs:complexType></xs:element>
  <xs:element name="Body"><xs:complexType><xs:sequence>
    <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
  </xs:sequence><xs:anyAttribute namespace="##any" processContents="lax"/></xs:complexType></xs:element>
  <xs:element name="Fault"><xs:complexType><xs:sequence>
    <xs:element name="faultcode" type="xs:QName"/>
    <xs:element name="faultstring" type="xs:string"/>
    <xs:element name="faultactor" type="xs:anyURI" minOccurs="0"/>
    <xs:element name="detail" minOccurs="0"><xs:complexType><xs:sequence>
      <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence><xs:anyAttribute namespace="##any" processContents="lax"/></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""

# The vendor's fault detail (the WSDL declares no fault messages, so it is spelled out here).
SERVICE_EXCEPTION_XSD = f"""<xs:schema xmlns:xs="{XS}" targetNamespace="{TNS}">
  <xs:element name="serviceException"><xs:complexType><xs:sequence>
    <xs:element name="name" type="xs:string"/>
    <xs:element name="message" type="xs:string"/>
    <xs:element name="code" type="xs:int"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""

_envelope_schema = etree.XMLSchema(etree.fromstring(SOAP_ENVELOPE_XSD))
_service_exception_schema = etree.XMLSchema(etree.fromstring(SERVICE_EXCEPTION_XSD))


def _schema_check(schema: etree.XMLSchema, element: etree._Element, what: str) -> None:
    if not schema.validate(etree.ElementTree(copy.deepcopy(element))):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
        snippet = etree.tostring(element, encoding="unicode")[:3000]
        raise AssertionError(f"{what} is not valid:\n{errors}\n{snippet}")


def validate_soap_envelope(envelope_bytes: bytes) -> etree._Element:
    """Parse a response and check it against the SOAP 1.1 envelope schema; return the Envelope."""
    env = etree.fromstring(envelope_bytes)
    _schema_check(_envelope_schema, env, "the SOAP 1.1 envelope")
    return env


def validate_fault(resp: httpx.Response) -> Fault:
    """A SOAP 1.1 fault, valid against the envelope schema, whose detail is one serviceException
    valid against the vendor's shape, and which keeps every rule of `check_fault_shape`."""
    env = validate_soap_envelope(resp.content)
    children = [c for c in env.find(f"{{{SOAP_ENV}}}Body") if isinstance(c.tag, str)]
    assert [c.tag for c in children] == [f"{{{SOAP_ENV}}}Fault"], f"a 500 must be one SOAP Fault: {resp.text[:2000]}"
    detail = children[0].find("detail")
    assert detail is not None, f"the fault has no detail: {resp.text[:2000]}"
    [exc] = [c for c in detail if isinstance(c.tag, str)]
    _schema_check(_service_exception_schema, exc, "the fault's serviceException")
    return check_fault_shape(resp)


_validators: dict[str, SchemaValidator] = {}
_validators_lock = threading.Lock()


def validator_for(endpoint: str) -> SchemaValidator:
    """The validator built from `{endpoint}?WSDL` (fetched once per endpoint URL)."""
    app = in_process_app(endpoint)
    if app is not None:
        return app.validator_for(endpoint)
    with _validators_lock:
        v = _validators.get(endpoint)
        if v is None:
            r = shared_client().get(endpoint + "?WSDL", timeout=30)
            if r.status_code != 200:
                raise AssertionError(f"GET {endpoint}?WSDL -> HTTP {r.status_code}: {r.text[:500]}")
            v = SchemaValidator(r.content)
            _validators[endpoint] = v
        return v


# --------------------------------------------------------------------------- HTTP


DEFAULT_HEADERS = {"Content-Type": "text/xml; charset=UTF-8"}

# One client (its connection pool and TLS context) for every raw call over the network: a
# module-level `httpx.post` builds both anew each time, about 60 ms a call.
_shared_client: httpx.Client | None = None
_shared_client_lock = threading.Lock()


def shared_client() -> httpx.Client:
    global _shared_client
    with _shared_client_lock:
        if _shared_client is None:
            _shared_client = httpx.Client(timeout=120)
        return _shared_client


def close_shared_client() -> None:
    global _shared_client
    with _shared_client_lock:
        if _shared_client is not None:
            _shared_client.close()
            _shared_client = None


# Base URL -> app built in this process (support/inprocess.InProcessServer); registered while it runs.
_in_process: dict[str, Any] = {}


def register_in_process(base_url: str, app: Any) -> None:
    _in_process[base_url.rstrip("/")] = app


def unregister_in_process(base_url: str) -> None:
    _in_process.pop(base_url.rstrip("/"), None)


def in_process_app(url: str) -> Any:
    """The in-process app that answers `url`, or None for a URL on the network."""
    for base, app in _in_process.items():
        if url == base or url.startswith((base + "/", base + "?")):
            return app
    return None


def get(url: str, *, timeout: float = 30) -> httpx.Response:
    """GET `url` (a ?WSDL, a plain page), in process or over the network."""
    app = in_process_app(url)
    if app is not None:
        return app.request("GET", url, timeout=timeout)
    return shared_client().get(url, timeout=timeout)


def soap_action(operation: str) -> dict[str, str]:
    return {**DEFAULT_HEADERS, "SOAPAction": f'"http://www.marketo.com/mktows/{operation}"'}


def post(
    endpoint: str,
    xml_bytes: bytes,
    headers: dict[str, str] | None = None,
    *,
    client: httpx.Client | None = None,
    validate: bool = True,
    timeout: float = 120,
) -> httpx.Response:
    """POST raw bytes; validate every 200 response body against the served schema (in process:
    every response, faults included)."""
    hdrs = DEFAULT_HEADERS if headers is None else headers
    app = in_process_app(endpoint)
    if app is not None:
        return app.request("POST", endpoint, content=xml_bytes, headers=hdrs, timeout=timeout, validate=validate)
    resp = (client or shared_client()).post(endpoint, content=xml_bytes, headers=hdrs, timeout=timeout)
    if validate and resp.status_code == 200:
        validator_for(endpoint).validate_envelope(resp.content)
    return resp


def call(endpoint: str, body_xml: str, *, header_xml: str | None = None, **kw) -> httpx.Response:
    """Sign (unless `header_xml` given), wrap, post."""
    return post(endpoint, envelope(body_xml, header_xml), **kw)


def body_child(resp: httpx.Response) -> etree._Element:
    env = etree.fromstring(resp.content)
    body = env.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None, resp.text[:2000]
    return [c for c in body if isinstance(c.tag, str)][0]


def success(resp: httpx.Response, operation: str) -> etree._Element:
    """Assert a success response for `operation`; return the `success{Op}` element."""
    assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text[:3000]}"
    assert resp.headers.get("content-type", "").replace(" ", "").lower().startswith("text/xml"), resp.headers
    assert resp.content.startswith(XML_DECL), resp.content[:100]
    el = body_child(resp)
    expected = f"{{{TNS}}}success{operation[0].upper()}{operation[1:]}"
    assert el.tag == expected, f"expected {expected}, got {el.tag}: {resp.text[:2000]}"
    return el


@dataclass
class Fault:
    code: int
    faultstring: str
    message: str
    faultcode: str


def parse_fault(resp: httpx.Response) -> tuple[int, str, str]:
    f = check_fault_shape(resp)
    return f.code, f.faultstring, f.message


def check_fault_shape(resp: httpx.Response, *, allowed_status: tuple[int, ...] = (500,)) -> Fault:
    """Every rule of Marketo's fault shape; returns the parsed parts."""
    assert resp.status_code in allowed_status, f"HTTP {resp.status_code} (want {allowed_status}): {resp.text[:2000]}"
    ctype = resp.headers.get("content-type", "")
    assert ctype.replace(" ", "").lower() == "text/xml;charset=utf-8", f"Content-Type {ctype!r}"
    assert resp.content.startswith(XML_DECL), f"body does not start with the XML declaration: {resp.content[:200]!r}"
    env = etree.fromstring(resp.content)
    assert env.tag == f"{{{SOAP_ENV}}}Envelope", env.tag
    fault = env.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, f"not a SOAP fault: {resp.text[:2000]}"
    faultcode = (fault.findtext("faultcode") or "").strip()
    assert faultcode, "faultcode missing"
    faultstring = fault.findtext("faultstring")
    assert faultstring is not None, "faultstring missing"
    exc = fault.find(f"detail/{{{TNS}}}serviceException")
    assert exc is not None, f"detail/tns:serviceException missing: {resp.text[:2000]}"
    assert exc.findtext("name") == "mktServiceException"
    code_text = exc.findtext("code")
    assert code_text is not None and code_text.strip().isdigit(), f"code: {code_text!r}"
    code = int(code_text)
    message = exc.findtext("message") or ""
    assert message.endswith(f" ({code})"), f"message {message!r} must end with ' ({code})'"
    short = SHORT_MESSAGES.get(code)
    assert short is not None, f"unknown Marketo code {code}"
    assert faultstring == f"{code} - {short}", f"faultstring {faultstring!r}"
    return Fault(code, faultstring, message, faultcode)


def assert_fault(resp: httpx.Response, *codes: int, **kw) -> Fault:
    f = check_fault_shape(resp, **kw)
    if codes:
        assert f.code in codes, f"fault code {f.code} ({f.message!r}), expected one of {codes}"
    return f


# --------------------------------------------------------------------------- small XML readers


def text(el: etree._Element, path: str) -> str | None:
    return el.findtext(path)


def is_nil(el: etree._Element | None) -> bool:
    return el is not None and el.get(f"{{{XSI}}}nil") in ("true", "1")
