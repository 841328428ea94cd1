"""POST and DELETE /api/auth/token: exchange a username and password for an API token, or revoke it.

The HTML page that shows and rotates a token is ``tokens_page`` in
annotate/views/importing.py; both read and write DRF's ``Token`` table.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from annotate.api import serializers as s
from annotate.api.base import ApiView


class TokenView(ApiView):
    """Exchange a username and password for an API token, or revoke your token."""

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
        summary="Get your API token",
        description="Send a username and password; the answer is your token (created on first use). "
        "Send it as `Authorization: Token <token>`.",
    )
    def post(self, request: Request) -> Response:
        credentials = s.TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request._request, **credentials.validated_data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Unable to log in with these credentials.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None}, summary="Revoke your API token")
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api-token"),
]
