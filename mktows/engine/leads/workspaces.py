"""Workspaces and the lead partition each one keeps its leads in.

Every workspace has one lead partition, its primary, named after it; leads created with no
target workspace live in `Default`. Only syncLead takes a target workspace (the
`MktowsContextHeader`): it must be one the instance declares.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from mktows.errors import LeadSyncFailed
from mktows.store.tables import workspaces

DEFAULT_WORKSPACE = "Default"


@dataclass(frozen=True)
class Home:
    """Where a lead lives: a workspace and its primary partition."""

    workspace: str
    partition: str


DEFAULT_HOME = Home(DEFAULT_WORKSPACE, DEFAULT_WORKSPACE)


def workspace_home(conn: Connection, name: str) -> Home:
    """The primary partition of a declared workspace (names compare ignoring case); 20106 else."""
    found = conn.execute(select(workspaces.c.name).where(workspaces.c.name_lower == name.strip().lower())).scalar()
    if found is None and name.strip().lower() == DEFAULT_WORKSPACE.lower():
        return DEFAULT_HOME  # always there, declared or not
    if found is None:
        declared = sorted(conn.execute(select(workspaces.c.name)).scalars()) or [DEFAULT_WORKSPACE]
        raise LeadSyncFailed(f"Unknown workspace {name.strip()!r}; this instance declares: {', '.join(declared)}")
    return Home(found, found)
