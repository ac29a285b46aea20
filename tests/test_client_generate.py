"""mktows/client/types.py is what the generator writes from the WSDL a running server serves:
when the server's schema changes, this fails until the file is regenerated with

    python -m mktows.client.generate http://127.0.0.1:8080/soap/mktows/2_9?WSDL > mktows/client/types.py
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from lxml import etree
from support.soap import WSDL_NS, XS, get

from mktows.client import generate, types

TYPES_PY = Path(generate.__file__).with_name("types.py")
REGENERATE = "regenerate it: python -m mktows.client.generate <endpoint>?WSDL > mktows/client/types.py"


def test_the_committed_types_are_what_the_served_wsdl_generates(sqlite_server):
    result = subprocess.run(
        [sys.executable, "-m", "mktows.client.generate", sqlite_server.wsdl_url("2_9")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == TYPES_PY.read_text(encoding="utf-8"), f"mktows/client/types.py is stale: {REGENERATE}"


def test_every_complex_type_and_operation_of_the_wsdl_is_in_the_types(sqlite_server):
    wsdl = etree.fromstring(get(sqlite_server.wsdl_url("2_9")).content)
    complex_types = {c.get("name") for c in wsdl.iter(f"{{{XS}}}complexType")}
    assert complex_types == set(types.TYPES)
    operations = {o.get("name") for o in wsdl.iterfind(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")}
    assert operations == set(types.OPERATIONS) and len(operations) == 23
    for cls in types.TYPES.values():
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    names = {f.name: f.metadata["xml"].name for f in dataclasses.fields(types.LeadRecord)}
    assert names == {
        "id": "Id",
        "email": "Email",
        "foreign_sys_person_id": "ForeignSysPersonId",
        "foreign_sys_type": "ForeignSysType",
        "lead_attribute_list": "leadAttributeList",
    }
    assert types.OPERATIONS["syncLead"].context_header and not types.OPERATIONS["getLead"].context_header


def test_the_generator_follows_the_schema_of_the_version_it_reads(sqlite_server):
    schema = generate.read_wsdl(get(sqlite_server.wsdl_url("3_1")).content)
    source = generate.render(schema)
    assert "Marketo SOAP API 3_1:" in source
    assert 'marketo_guid: str = field(metadata=xml("marketoGUID", "xs:string"))' in source
    assert "clone_to_program_name: str | None = field(" in source
