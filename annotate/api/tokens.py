"""API tokens: issued, listed and revoked here, for POST and DELETE /api/auth/token and the tokens page.

Tokens are django-rest-knox ``AuthToken`` rows: the database keeps a SHA-512
digest and the first 15 characters (to find the row and to name the token on
the page), never the token itself, so a token is shown once, when it is made.
Each has an expiry chosen at creation; knox's authentication refuses and
deletes an expired token. The HTML page is ``tokens_page`` in
annotate/views/importing.py. docs/api.md says how scripts use them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from annotate.api import serializers as s
from annotate.api.base import ApiView
from annotate.models import record_audit


def live_tokens(user: Any) -> QuerySet[AuthToken]:
    """The user's tokens that have not expired, newest first."""
    return AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")


@transaction.atomic
def issue_token(*, user: Any, days: int | None = None) -> tuple[AuthToken, str]:
    """Make a token for ``user`` that expires in ``days`` (TAGWISE_TOKEN_DAYS by default); return it and its text.

    The text exists only in this return value. A user keeps at most
    TAGWISE_TOKENS_PER_USER live tokens: making one more revokes the oldest,
    so a script that asks for a token on every run does not pile them up.
    """
    days = settings.TAGWISE_TOKEN_DAYS if days is None else days
    AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    token, text = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
    keep = list(live_tokens(user).values_list("digest", flat=True)[: settings.TAGWISE_TOKENS_PER_USER])
    AuthToken.objects.filter(user=user).exclude(digest__in=keep).delete()
    # The digest is the row's key and too long for the audit's object id; the
    # start of the token names it as the page does.
    record_audit(action="token.created", actor=user, after={"start": token.token_key[:8], "days": days})
    return token, text


@transaction.atomic
def revoke_tokens(*, user: Any, tokens: QuerySet[AuthToken]) -> int:
    """Revoke the given tokens of ``user`` (a token of someone else is never touched); return how many."""
    mine = tokens.filter(user=user)
    starts = sorted(token_key[:8] for token_key in mine.values_list("token_key", flat=True))
    count, _ = mine.delete()
    if count:
        record_audit(action="token.revoked", actor=user, after={"starts": starts})
    return count


class TokenView(ApiView):
    """Exchange a username and password for a new API token, or revoke the token you send."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"
    serializer_class = s.TokenRequestSerializer
    pagination_class = None

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    def get_authenticators(self) -> list[Any]:
        # Logging in needs no session and therefore no CSRF token.
        return [] if self.request and self.request.method == "POST" else super().get_authenticators()

    def get_authenticate_header(self, request: Request) -> str:
        # Wrong credentials answer 401, which must name the scheme to use next.
        return 'Token realm="api"'

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={200: s.TokenSerializer},
        auth=[],
        summary="Get a new API token",
        description="Send a username and password (and optionally `expires_in_days`); the answer is a new token "
        "and its expiry. Send it as `Authorization: Token <token>`. The token is shown only in this answer: "
        "the server keeps a digest of it. Repeated wrong passwords lock the account and the client out "
        "for a while (429), as on the login page.",
    )
    def post(self, request: Request) -> Response:
        credentials = s.TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        data = dict(credentials.validated_data)
        days = data.pop("expires_in_days", None)
        user = authenticate(request._request, **data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Unable to log in with these credentials.")
        token, text = issue_token(user=user, days=days)
        return Response({"token": text, "expiry": token.expiry})

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Revoke the API token you send",
        description="With a token, that token is revoked; from a browser session, all your tokens are.",
    )
    def delete(self, request: Request) -> Response:
        sent = request.auth if isinstance(request.auth, AuthToken) else None
        tokens = AuthToken.objects.filter(pk=sent.pk) if sent is not None else AuthToken.objects.all()
        revoke_tokens(user=request.user, tokens=tokens)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api-token"),
]
