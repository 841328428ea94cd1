"""Who the client is, and what a throttled login answers (docs/security.md).

The login throttle is django-axes, configured in the security block of
config/settings.py. This module gives it the two things that are the app's
own: the client address, read with the same trust in proxies as DRF's
throttles, and the answer to a refused login, which says why in words.
"""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"


def client_ip(request: HttpRequest) -> str:
    """The client's address, believing X-Forwarded-For only as far as TAGWISE_TRUSTED_PROXIES proxies wrote it.

    Each trusted proxy appends the address it received the request from, so
    the client is the entry that many places from the right. Entries further
    left were sent by the client and could say anything: reading them would
    let a client reset its own throttle with every request. This is the rule
    of DRF's ``NUM_PROXIES``, which settings.py sets to the same number.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TAGWISE_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [address.strip() for address in forwarded.split(",")]
    return addresses[-min(proxies, len(addresses))]


class LoginForm(AuthenticationForm):
    """Django's login form, which also says when the account is deactivated.

    Django answers a deactivated account's right password with the same
    "enter a correct username and password" as a wrong one, so the person
    keeps trying and is throttled. The deactivation is named only to whoever
    gives the right password, so it tells nothing to someone guessing.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": "This account is deactivated. A manager of your project can reactivate it.",
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and self._deactivated_with_right_password():
                raise ValidationError(self.error_messages["inactive"], code="inactive") from None
            raise

    def _deactivated_with_right_password(self) -> bool:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return False
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        return bool(user is not None and not user.is_active and user.check_password(password))


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuse a login while its account or its client address is locked out; the next backend checks the password.

    ``authenticate()`` without a request is a call from code (the test
    client's ``login``, a shell), not a login over the network: there is no
    client to count, so it passes on to the password check.
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def cool_off_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    minutes = cool_off_minutes()
    return (
        f"Too many failed logins for this account or from this address. Logging in is paused for "
        f"{minutes} minutes, even with the right password. "
        "If you have forgotten your password, ask a manager of your project to reset it."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The answer to a refused login: 429 with the reason, as JSON for the API and as the login page otherwise."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": lockout_message()}, status=429)
    else:
        username = (credentials or {}).get("username") or request.POST.get("username", "")
        form = LoginForm(request, initial={"username": username})
        context = {"form": form, "locked_out": lockout_message(), "next": request.POST.get("next", "")}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = retry_after
    return response
