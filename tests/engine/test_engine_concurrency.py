"""Concurrent writers: SQLite serialises them (one writer), PostgreSQL runs them; none fail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from engine_helpers import counts

from mktows.engine.models import LeadInput


def test_parallel_syncs_all_apply(engine):
    def work(n: int) -> list[str]:
        out = engine.sync_leads(
            [LeadInput(email=f"w{n}-{i}@example.com", attributes=[("City", str(n))]) for i in range(20)]
        )
        return [o.status for o in out]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(16)))
    assert all(r == ["CREATED"] * 20 for r in results)
    assert counts(engine) == (320, 320, 320)
