"""The client's generated files are what their generators write now.

mktows/client/types.py is what the generator writes from the WSDL a running server serves:
when the server's schema changes, this fails until the file is regenerated with

    python -m mktows.client.generate http://127.0.0.1:8080/soap/mktows/2_9?WSDL > mktows/client/types.py

mktows/client/aio_operations.py is operations.py made asynchronous: when an operation method
changes, this fails until the file is regenerated with

    python -m mktows.client.unasync > mktows/client/aio_operations.py && ruff format mktows/client/aio_operations.py
"""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

from lxml import etree
from support.soap import WSDL_NS, XS, get

from mktows.client import AsyncClient, Client, generate, types, unasync
from mktows.client.aio_operations import AsyncOperations
from mktows.client.operations import Operations

TYPES_PY = Path(generate.__file__).with_name("types.py")
REGENERATE = "regenerate it: python -m mktows.client.generate <endpoint>?WSDL > mktows/client/types.py"
AIO_OPERATIONS_PY = Path(unasync.__file__).with_name("aio_operations.py")


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


def test_the_committed_async_operations_are_what_unasync_generates():
    def run(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(
            [sys.executable, "-m", *args], input=stdin, capture_output=True, text=True, timeout=60, check=True
        ).stdout

    generated = run("mktows.client.unasync")
    # the path tells ruff which settings apply (the project's line length)
    formatted = run("ruff", "format", "--stdin-filename", str(AIO_OPERATIONS_PY), "-", stdin=generated)
    committed = AIO_OPERATIONS_PY.read_text(encoding="utf-8")
    assert formatted == committed, f"mktows/client/aio_operations.py is stale: regenerate it: {unasync.COMMAND}"


def test_the_async_client_has_the_operations_of_the_client_as_coroutines():
    def operations(cls: type) -> set[str]:
        return {name for name, value in vars(cls).items() if not name.startswith("_") and callable(value)}

    names = operations(Operations)
    assert names == operations(AsyncOperations) and len(names) == len(types.OPERATIONS)
    for name in sorted(names):
        sync, aio = getattr(Client, name), getattr(AsyncClient, name)
        assert (sync, aio) == (vars(Operations)[name], vars(AsyncOperations)[name]), f"{name} is overridden"
        assert inspect.signature(sync) == inspect.signature(aio), name
        assert inspect.iscoroutinefunction(aio) and not inspect.iscoroutinefunction(sync), name
        assert sync.__doc__ and aio.__doc__ == f"`Client.{name}`, awaited.", name
