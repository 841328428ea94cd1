"""Middleware of the annotate app."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url

SESSION_ENDED = "Your session has ended. Log in again, then repeat the request."
ACCOUNT_DEACTIVATED = "Your account has been deactivated, so you can no longer log in; ask a project manager."


class HtmxLoginRequiredMiddleware:
    """Answer an htmx request that needs a login with 401 instead of a redirect to the login page.

    The browser follows a redirect inside the htmx request, so htmx would
    receive the whole login page with status 200 and swap it into the work
    area as if the request had succeeded: the annotator's answers vanish and
    the page announces "Saved". A 401 is an error that the page shows next
    to the answers it keeps. Requests without htmx still get the redirect.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "htmx", False) and is_login_redirect(response):
            if _deactivated_in_session(request):
                # "Log in again" would only lead to the login form's refusal.
                refused = HttpResponse(ACCOUNT_DEACTIVATED, status=401, content_type="text/plain; charset=utf-8")
                refused["X-Account-Deactivated"] = "1"
                return refused
            return HttpResponse(SESSION_ENDED, status=401, content_type="text/plain; charset=utf-8")
        return response


def _deactivated_in_session(request: HttpRequest) -> bool:
    """Whether the session still names an account that was deactivated since it logged in.

    Django treats such a session as logged out (the account cannot
    authenticate) but keeps its user id, which tells the two cases apart.
    """
    user_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if user_id is None:
        return False
    return get_user_model()._default_manager.filter(pk=user_id, is_active=False).exists()


def is_login_redirect(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308) or not response.has_header("Location"):
        return False
    return urlsplit(response["Location"]).path == urlsplit(resolve_url(settings.LOGIN_URL)).path


class MethodNotAllowedPageMiddleware:
    """Give a page to a browser's 405, which Django sends empty.

    Pages that change something take a POST only; reloading the address
    after such a form (or following a copied link to it) showed a blank
    page. A browser request (not the API, not htmx) gets a page that says
    what happened and links back; the status and the Allow header stay.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content or getattr(request, "htmx", False):
            return response
        if request.path.startswith("/api/"):
            return response
        page = render(request, "405.html", {"allowed": response.get("Allow", "")}, status=405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page
