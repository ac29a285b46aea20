"""The enumerations the served WSDL lists are the values the engine accepts, for every version."""

from __future__ import annotations

import pytest
from lxml import etree

from mktows.engine.activities.types import ACTIVITY_TYPE_ENUMS
from mktows.engine.campaigns import runs as campaigns
from mktows.engine.leads import fields
from mktows.engine.leads import reads as leads
from mktows.engine.lists import imports
from mktows.engine.lists import members as lists
from mktows.engine.models import Criterion
from mktows.engine.objects import base as mobjects
from mktows.engine.objects import mobjects as dispatch
from mktows.soap.schema_model import VERSIONS
from mktows.soap.wsdl import render_wsdl

XS = "http://www.w3.org/2001/XMLSchema"

ENGINE_VOCABULARIES = {
    "LeadKeyRef": leads.KEY_TYPES,
    "ForeignSysType": fields.FOREIGN_SYS_TYPES,
    "ReqCampSourceType": tuple(campaigns.SOURCE_NAMES),
    "ListOperationType": lists.OPERATIONS,
    "ListKeyType": lists.LIST_KEY_TYPES,
    "MObjectTypeEnum": mobjects.WSDL_TYPE_NAMES,
    "SyncOperationEnum": mobjects.SYNC_OPERATIONS,
    "ComparisonEnum": mobjects.COMPARISONS,
    "ImportToListModeEnum": imports.MODES,
    "ActivityType": tuple(ACTIVITY_TYPE_ENUMS),
}


def _enumerations(version: str) -> dict[str, tuple[str, ...]]:
    root = etree.fromstring(render_wsdl(version, "http://127.0.0.1/soap/mktows/" + version))
    return {
        simple.get("name"): tuple(v.get("value") for v in simple.iter(f"{{{XS}}}enumeration"))
        for simple in root.iter(f"{{{XS}}}simpleType")
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_served_enumerations_are_the_engine_vocabularies(version: str) -> None:
    served = _enumerations(version)
    for name, engine_values in ENGINE_VOCABULARIES.items():
        assert served[name] == tuple(engine_values), f"{name} in the {version} WSDL"


def test_every_listed_comparison_is_accepted_in_any_letter_case() -> None:
    for comparison in mobjects.COMPARISONS:
        assert mobjects.comparison_of(Criterion("Name", comparison.lower(), "x")) == comparison


def test_every_listed_mobject_type_names_a_registered_type() -> None:
    for name in mobjects.WSDL_TYPE_NAMES:
        assert dispatch.TYPES[mobjects.canonical_type(name.upper())].name == mobjects.canonical_type(name)
