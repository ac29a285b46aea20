"""Signing in to the web console of an in-process server, as a browser's form would."""

from __future__ import annotations

import re

import httpx

from .inprocess import InProcessServer

ADMIN, PASSWORD = "ops", "correct horse battery"


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the page's (first) form."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def signed_in(srv: InProcessServer, landing: str = "/console/leads") -> httpx.Client:
    """A client signed in as ADMIN (whom the test made), sent on to `landing`."""
    browser = srv.browser()
    form = browser.get("/console/login")
    resp = browser.post(
        "/console/login", data={"name": ADMIN, "password": PASSWORD, "csrf": csrf_of(form), "next": landing}
    )
    assert resp.status_code == 303 and resp.headers["location"] == landing
    return browser
