"""Every kind of job the server runs, listed once, and the workers that run them.

Either job engine's workers run what is registered in `runtime.job_handlers.HANDLERS`. The
modules below register their handlers with `@job_handler` when imported; taking the workers
from here (`worker_pool`, `Workers`) is what guarantees that a worker knows every kind of job.
"""

from __future__ import annotations

from mktows.delivery import deliver
from mktows.engine.campaigns import runs
from mktows.engine.lists import imports
from mktows.runtime.jobs import HANDLERS, Workers, worker_pool

JOB_PROVIDERS = (runs, imports, deliver)

__all__ = ["HANDLERS", "JOB_PROVIDERS", "Workers", "worker_pool"]
