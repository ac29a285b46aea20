"""Thin translators between decoded SOAP parameters and the engine, one module per group."""

from mktows.soap.operations import activities, campaigns, imports, leads, lists, metadata  # noqa: F401
from mktows.soap.operations.registry import HANDLERS, Call

__all__ = ["HANDLERS", "Call"]
