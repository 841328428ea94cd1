"""Site-wide views that belong to no app: the health check, the favicon redirect, the 404 and 500 handlers."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import Resolver404, resolve
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

logger = logging.getLogger(__name__)

# The errors that mean the database cannot be reached (stopped, restarting,
# the network between), as opposed to a bug: they answer 503, not 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; nothing you saved is lost; retry in a moment."
# Seconds a client is told to wait before it tries again.
RETRY_AFTER_SECONDS = 5


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for docker-compose and load balancers: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DATABASE_UNAVAILABLE:
        # Closed so the next check opens a fresh connection: recovery needs no restart.
        connection.close()
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The answer to any request while the database is away: a 503 that says nothing was lost.

    Rendered without the request's context: the user, the session and the
    project all live in the database. htmx requests get a short fragment,
    which the page's script shows in place of nothing, keeping the form's
    answers (static/js/annotate.js); API clients get JSON.
    """
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": DATABASE_UNAVAILABLE_MESSAGE}, status=503)
    elif request.headers.get("HX-Request") == "true":
        response = HttpResponse(
            f'<div class="form-error" role="alert">{DATABASE_UNAVAILABLE_MESSAGE}</div>', status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html", {"message": DATABASE_UNAVAILABLE_MESSAGE}), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's 500 handler: a database outage raised outside a view (in a middleware) is a 503 too."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    return default_server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF failure view in the site's words: JSON under /api/, elsewhere a page (not Django's stock one)."""
    if request.path.startswith("/api/"):
        detail = "CSRF check failed: with a session send the X-CSRFToken header, or authenticate with a token."
        return JsonResponse({"detail": detail}, status=403)
    # An Origin or Referer the site does not trust is the operator's setting
    # (CSRF_TRUSTED_ORIGINS behind a proxy): reloading would not help.
    untrusted_origin = reason.startswith(("Origin checking failed", "Referer checking failed"))
    return render(request, "403_csrf.html", {"untrusted_origin": untrusted_origin}, status=403)


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on every page whatever the HTML links; send them to the SVG icon.

    The static URL is looked up per request because, with the manifest
    storage, it carries a content hash that exists only after collectstatic.
    """
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404 handler: JSON under /api/, so API clients never get an HTML page; the usual page elsewhere."""
    if request.path.startswith("/api/"):
        without_slash = request.path.rstrip("/")
        if without_slash != request.path and _resolves(without_slash):
            # The API's paths have no trailing slash; a 308 keeps the method and
            # the body, so a POST to /api/projects/ reaches /api/projects.
            query = request.META.get("QUERY_STRING", "")
            location = without_slash + (f"?{query}" if query else "")
            detail = f"The API's paths have no trailing slash: use {without_slash}."
            response = JsonResponse({"detail": detail}, status=308)
            response["Location"] = location
            return response
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True
