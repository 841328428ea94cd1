"""What every REST endpoint under /api/ builds on: authentication, parsing, the schema class, pagination and errors.

``ProjectView`` is the base of every project resource (resources.py, transfer.py,
agreement.py and learner/api.py): it checks the caller's role with
``annotate.access.project_for``, so a non-member gets 404 (DRF maps Http404) and
a member whose role is too low gets 403. Objects are always looked up inside the
project, so an id from another project is 404 too. Throttling is per view, by
``throttle_scope`` ("auth", "expensive"; rates in config/settings.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from knox.auth import TokenAuthentication
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotate.access import project_for
from annotate.api import serializers as s
from annotate.models import Project, Role
from annotate.text import is_whole_number, visible


class TagwiseSchema(AutoSchema):
    """Documents the error answers every endpoint can give, so the schema lists every status the API sends."""

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        # Ids are positive and fit in 64 bits; saying so lets clients (and
        # schemathesis) tell a malformed id from one that does not exist.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"].update(minimum=1, maximum=s.MAX_ID)
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "404"]
        if getattr(self.view, "throttle_scope", None):
            codes.append("429")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(s.ErrorSerializer, code, direction=direction)
        return responses


class OldestFirst(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        # DRF quietly falls back to the default for a bad page_size; a client
        # that asked for something else should hear that it was not understood.
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if len(values) > 1 or not is_whole_number(values[0]) or not 1 <= int(values[0]) <= self.max_page_size:
            raise serializers.ValidationError(
                {self.page_size_query_param: f"Must be one integer from 1 to {self.max_page_size}."}
            )
        return int(values[0])

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class NewestFirst(OldestFirst):
    ordering = "-id"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class IgnoreFormatNegotiation(DefaultContentNegotiation):
    """Import and export use ``format`` for the file format, which DRF would read as its renderer override."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class ApiView(generics.GenericAPIView):
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate
    # header. Tokens are knox's: hashed at rest, with an expiry (api/tokens.py).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    # Request bodies are JSON (the import takes a file instead), so a field's
    # type in the schema is the type the API accepts.
    parser_classes = [JSONParser]
    schema = TagwiseSchema()
    pagination_class = OldestFirst

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Path ids beyond what the database stores cannot exist; answer 404
        # instead of letting the database driver overflow.
        if any(isinstance(value, int) and value > s.MAX_ID for value in kwargs.values()):
            raise Http404
        super().initial(request, *args, **kwargs)


class ProjectView(ApiView):
    """A view under /api/projects/{project_id}/ that needs at least ``minimum_role`` in the project."""

    minimum_role: str = Role.ANNOTATOR

    def project(self, minimum: str | None = None) -> tuple[Project, str]:
        return project_for(self.request.user, self.kwargs["project_id"], minimum or self.minimum_role)

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        project, role = self.project()
        return self.scoped(project, role)

    def scoped(self, project: Project, role: str) -> QuerySet[Any]:
        raise NotImplementedError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every message made visible (annotate.text.visible).

    An error that repeats a sent value ("“x” is not a valid choice") must
    not let a U+202E in it reverse what the client reads.
    """
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = _visible_strings(response.data)
    return response


def _visible_strings(data: Any) -> Any:
    if isinstance(data, ErrorDetail):
        return ErrorDetail(visible(data), code=data.code)
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, list):
        return [_visible_strings(entry) for entry in data]
    if isinstance(data, dict):
        return {visible(str(key)): _visible_strings(value) for key, value in data.items()}
    return data
