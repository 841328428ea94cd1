"""Middleware of the site as a whole."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from config.views import DATABASE_UNAVAILABLE, database_unavailable, healthz

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class HealthCheckMiddleware:
    """Answer /healthz before anything checks the Host header or redirects to https.

    The container's own health check calls http://127.0.0.1:8000/healthz:
    with production settings the host is not in ALLOWED_HOSTS and plain http
    is redirected, so the check would fail on a healthy server. The answer
    says only whether the process and the database are up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)


# Browser features the app never uses, switched off for its pages.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class PrivateResponsesMiddleware:
    """Keep signed-in pages, API answers and exports out of shared and browser caches.

    A page or an export seen by one user must never be served from a cache to
    another (a proxy, or the next person at a shared computer pressing Back
    after logging out). Responses that say how to cache themselves (static
    files) keep their own header.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
        if (signed_in or request.path.startswith("/api/")) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


class RequestSizeMiddleware:
    """Refuse a request body over TAGWISE_IMPORT_MAX_BYTES from its headers, before any of it is read.

    This is the one place the import limit is enforced (the import page and
    the API import both rely on it). The limit is on the whole body, so a
    multipart upload's form fields count with the file. A chunked body
    declares no length, and Django would read it as empty; it is refused with
    411 and a message instead of a confusing "no file" error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.TAGWISE_IMPORT_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not declared:
            return self.refuse(
                request,
                411,
                "The upload was sent in chunks without a Content-Length; send it with its size "
                "(curl does when given --data-binary @file or -F file=@file).",
            )
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            return self.refuse(
                request,
                413,
                f"The upload is {int(declared):,} bytes; the largest accepted is {limit:,} bytes "
                "(TAGWISE_IMPORT_MAX_BYTES). Split the file and import the parts.",
            )
        return self.get_response(request)

    @staticmethod
    def refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": message}, status=status)
        else:
            response = HttpResponse(
                render_to_string("request_refused.html", {"status": status, "message": message}, request=request),
                status=status,
            )
        return response


class DatabaseUnavailableMiddleware:
    """Answer a view's lost database connection with a clear 503, never the bare "Server Error (500)".

    A view's exception reaches ``process_exception``; one raised by another
    middleware (the session or the user read from the database) reaches the
    500 handler, which answers the same (config/views.py). The connection
    that failed is closed, so the first request after the database comes
    back opens a fresh one: recovery needs no restart (docs/operations.md).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning("The database is unavailable: %s %s answered 503 (%s)", request.method, request.path, exception)
        return database_unavailable(request)
