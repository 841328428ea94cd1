"""The site's routes; the site-wide views (health check, favicon, 404 and 500 handlers) are in config/views.py."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotate.views.accounts import PasswordResetView
from config.security import LoginForm
from config.views import favicon, healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Passwords (docs/projects.md, "People"): change your own; set one by a one-time link.
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/", include("annotate.api.urls")),
    path("api/", include("learner.api")),
    path("", include("learner.urls")),
    path("", include("annotate.urls")),
]
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
