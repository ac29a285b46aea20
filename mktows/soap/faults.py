"""Render any MarketoError as the vendor's SOAP 1.1 fault, shaped as Marketo's were."""

from __future__ import annotations

from mktows.errors import MarketoError
from mktows.soap.schema import TNS, escape

_SERVER_CODES = {10001, 20011}


def render_fault(error: MarketoError) -> bytes:
    faultcode = "SOAP-ENV:Server" if error.code in _SERVER_CODES else "SOAP-ENV:Client"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
        "<SOAP-ENV:Body><SOAP-ENV:Fault>"
        f"<faultcode>{faultcode}</faultcode>"
        f"<faultstring>{error.code} - {escape(error.short_message)}</faultstring>"
        f'<detail><ns1:serviceException xmlns:ns1="{TNS}">'
        "<name>mktServiceException</name>"
        f"<message>{escape(error.long_message)}</message>"
        f"<code>{error.code}</code>"
        "</ns1:serviceException></detail>"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
