"""Requests as the middleware leaves them, for annotations: django-htmx adds ``htmx``; ``login_required`` a user.

The project uses Django's own user model (there is no AUTH_USER_MODEL setting).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """A request after django-htmx's middleware, which adds ``htmx``."""

    htmx: HtmxDetails


class UserRequest(HtmxRequest):
    """A request behind ``login_required``: its user is signed in."""

    user: User
