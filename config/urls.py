"""The site's routes; the site-wide views (health check, favicon, 404 and 500 handlers) are in config/views.py."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.views import favicon, healthz

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
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
