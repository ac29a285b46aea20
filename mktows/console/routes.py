"""The console's and the landing page's routes, for `mktows.app` to mount."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mktows.console import (
    auth_pages,
    campaign_pages,
    chart_pages,
    lead_pages,
    list_pages,
    outbox_pages,
    program_pages,
    request_pages,
)
from mktows.console.api_user_pages import add_api_user, api_user_list, rotate_api_key, set_api_user_enabled
from mktows.console.landing import landing
from mktows.console.web import PREFIX, Page, signed_in
from mktows.engine import Engine

STATIC = Path(__file__).with_name("static")


def routes(engine: Engine) -> list[BaseRoute]:
    def page(path: str, handler: Page, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(PREFIX + path, signed_in(engine, handler), methods=list(methods))

    async def login(request: Request) -> Response:
        return await auth_pages.login(request, engine)

    async def home(request: Request) -> Response:
        return await landing(request, engine)

    return [
        Route("/", home, methods=["GET"]),
        Route(PREFIX + "/login", login, methods=["GET", "POST"]),
        Mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="console-static"),
        page("/logout", auth_pages.logout, ("POST",)),
        page("", lead_pages.lead_list),
        page("/leads", lead_pages.lead_list),
        page("/leads/{lead_id}", lead_pages.lead_page),
        page("/leads/{lead_id}/field", lead_pages.edit_field, ("POST",)),
        page("/lists", list_pages.list_list),
        page("/lists/{list_id}", list_pages.list_page),
        page("/imports", list_pages.import_list),
        page("/imports/{import_id}", list_pages.import_page),
        page("/outbox", outbox_pages.message_list),
        page("/outbox.json", outbox_pages.message_list_json),
        page("/outbox/{outbox_id}.json", outbox_pages.message_json),
        page("/outbox/{outbox_id}", outbox_pages.message_page),
        page("/outbox/{outbox_id}/html", outbox_pages.message_html),
        page("/outbox/{outbox_id}/delete", outbox_pages.delete_message, ("POST",)),
        page("/outbox/{outbox_id}/release", outbox_pages.release_message, ("POST",)),
        page("/charts", chart_pages.chart_page),
        page("/programs", program_pages.program_list),
        page("/programs/{program_id}", program_pages.program_page),
        page("/programs/{program_id}/tokens", program_pages.save_tokens, ("POST",)),
        page("/emails/{email_id}", program_pages.email_page),
        page("/emails/{email_id}/preview", program_pages.email_preview_html),
        page("/campaigns", campaign_pages.campaign_list),
        page("/campaigns/{campaign_id}", campaign_pages.campaign_page),
        page("/campaigns/{campaign_id}/request", campaign_pages.request_for_lead, ("POST",)),
        page("/campaigns/{campaign_id}/schedule", campaign_pages.schedule_run, ("POST",)),
        page("/users", api_user_list),
        page("/users/add", add_api_user, ("POST",)),
        page("/users/rotate", rotate_api_key, ("POST",)),
        page("/users/enabled", set_api_user_enabled, ("POST",)),
        page("/requests", request_pages.request_list),
        page("/requests/{entry_id}", request_pages.request_page),
        page("/requests/{entry_id}/resend", request_pages.resend_request, ("POST",)),
    ]
