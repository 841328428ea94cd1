"""Site-wide views that belong to no app: the health check, the favicon redirect and the 404 handler."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.defaults import page_not_found


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for docker-compose and load balancers: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on every page whatever the HTML links; send them to the SVG icon.

    The static URL is looked up per request because, with the manifest
    storage, it carries a content hash that exists only after collectstatic.
    """
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404 handler: JSON under /api/, so API clients never get an HTML page; the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
