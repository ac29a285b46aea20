"""Every flow step a campaign can run, one module each (see `base.py` for what a step holds).

Each module below registers its steps in `STEPS` when imported. `PROVIDERS` is the one list
of them; its order is the order in which messages list the steps (`ORDER`).
"""

from __future__ import annotations

from mktows.engine.campaigns.steps import (
    change_data_value,
    change_program_status,
    change_score,
    interesting_moment,
    lists,
    remove_from_flow,
    request_campaign,
    send_email,
    wait,
)
from mktows.engine.campaigns.steps.base import STEPS, FlowStep

PROVIDERS = (
    send_email,
    change_data_value,
    change_score,
    lists,
    change_program_status,
    interesting_moment,
    wait,
    request_campaign,
    remove_from_flow,
)

# provider by provider, each module's steps in the order it registers them
ORDER = tuple(name for module in PROVIDERS for name, step in STEPS.items() if type(step).__module__ == module.__name__)
if sorted(ORDER) != sorted(STEPS):
    raise RuntimeError(f"flow steps registered outside the list of providers: {sorted(set(STEPS) - set(ORDER))}")

__all__ = ["ORDER", "PROVIDERS", "STEPS", "FlowStep"]
