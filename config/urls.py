from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for docker-compose and load balancers: the process answers and the database is reachable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on every page whatever the HTML links; send them to the SVG icon.

    The static URL is looked up per request because, with the manifest
    storage, it carries a content hash that exists only after collectstatic.
    """
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/", include("annotate.api.urls")),
    path("api/", include("learner.api")),
    path("", include("learner.urls")),
    path("", include("annotate.urls")),
]
handler404 = "annotate.api.core.not_found"
