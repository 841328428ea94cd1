"""The core REST API under /api/: tokens, projects, labels, guidelines, members, items,
annotations, resolutions, audit events, import and export.

Every project resource checks the caller's role with ``annotate.access.project_for``:
a non-member gets 404 (DRF maps Http404), a member whose role is too low gets 403.
Objects are always looked up inside the project, so an id from another project is
404 too. Views parse, check, call a function in annotate/, and serialize.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.defaults import page_not_found
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import APIException, AuthenticationFailed, NotFound, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from annotate.access import project_for, role_allows
from annotate.api import serializers as s
from annotate.curation.review import ResolutionError, StaleResolutionError, set_resolution
from annotate.dataset import export as exporting
from annotate.dataset import importers
from annotate.models import (
    Annotation,
    AuditEvent,
    GuidelineVersion,
    ImportJob,
    Item,
    Judgment,
    Label,
    Membership,
    Project,
    Resolution,
    Role,
    record_audit,
)
from annotate.setup.members import MembershipError, change_role
from annotate.work.queue import build_cold_start_queue

# ---------------------------------------------------------------------------
# Shared pieces: schema, pagination, negotiation, the project-scoped base view
# ---------------------------------------------------------------------------


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
        if len(values) > 1 or not values[0].isdigit() or not 1 <= int(values[0]) <= self.max_page_size:
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
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
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


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------


class ProjectList(ApiView, generics.ListAPIView):
    """The projects you are a member of."""

    serializer_class = s.ProjectSerializer
    queryset = Project.objects.none()

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return Project.objects.for_user(self.request.user)


class ProjectDetail(ProjectView):
    serializer_class = s.ProjectSerializer
    pagination_class = None

    @extend_schema(responses=s.ProjectSerializer, summary="Read a project")
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        return Response(s.ProjectSerializer(project, context={"request": request}).data)

    @extend_schema(
        request=s.ProjectSettingsSerializer, responses=s.ProjectSerializer, summary="Change project settings (managers)"
    )
    def patch(self, request: Request, project_id: int) -> Response:
        project, _ = self.project(Role.MANAGER)
        form = s.ProjectSettingsSerializer(project, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        changed = {k: v for k, v in form.validated_data.items() if getattr(project, k) != v}
        if changed:
            with transaction.atomic():
                before = {k: getattr(project, k) for k in changed}
                form.save()
                record_audit(
                    action="project.settings",
                    actor=request.user,
                    project=project,
                    obj=project,
                    before=before,
                    after=changed,
                )
        return Response(s.ProjectSerializer(project, context={"request": request}).data)


# ---------------------------------------------------------------------------
# Labels, guideline versions, members
# ---------------------------------------------------------------------------


class LabelScope(ProjectView):
    """Every label of the project, retired and merged ones included (see ``is_active``)."""

    serializer_class = s.LabelSerializer
    queryset = Label.objects.all()

    def scoped(self, project: Project, role: str) -> QuerySet[Label]:
        return (
            project.labels.select_related("introduced_in", "retired_in")
            .prefetch_related("implies", "excludes")
            .order_by("id")
        )


class LabelList(LabelScope, generics.ListAPIView):
    pass


class LabelDetail(LabelScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "label_id"


class GuidelineScope(ProjectView):
    """Published guideline versions; reviewers and managers also see the draft."""

    serializer_class = s.GuidelineVersionSerializer
    queryset = GuidelineVersion.objects.all()

    def scoped(self, project: Project, role: str) -> QuerySet[GuidelineVersion]:
        versions = project.guideline_versions.select_related("author")
        if not role_allows(role, Role.REVIEWER):
            versions = versions.filter(published_at__isnull=False)
        return versions


class GuidelineList(GuidelineScope, generics.ListAPIView):
    pass


class GuidelineDetail(GuidelineScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "version_id"


class MemberScope(ProjectView):
    """The project's members and their roles (managers)."""

    serializer_class = s.MemberSerializer
    queryset = Membership.objects.all()
    minimum_role = Role.MANAGER

    def scoped(self, project: Project, role: str) -> QuerySet[Membership]:
        return project.memberships.select_related("user")


class MemberList(MemberScope, generics.ListAPIView):
    pass


class MemberDetail(MemberScope):
    pagination_class = None

    def get_object(self) -> Membership:
        membership = self.get_queryset().filter(user_id=self.kwargs["user_id"]).first()
        if membership is None:
            raise Http404
        return membership

    @extend_schema(responses=s.MemberSerializer, summary="Read a member (managers)")
    def get(self, request: Request, project_id: int, user_id: int) -> Response:
        return Response(s.MemberSerializer(self.get_object()).data)

    @extend_schema(
        request=s.RoleChangeSerializer,
        responses={200: s.MemberSerializer, 409: s.ErrorSerializer},
        summary="Change a member's role (managers)",
        description="Writes a `member.role` audit event. A project always keeps at least one manager: "
        "demoting the last one answers 409.",
    )
    def patch(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = self.get_object()
        form = s.RoleChangeSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        if "role" not in form.validated_data:
            # A PATCH that names no field changes nothing.
            return Response(s.MemberSerializer(membership).data)
        try:
            membership = change_role(membership=membership, role=form.validated_data["role"], actor=request.user)
        except MembershipError as error:
            raise Conflict(str(error)) from None
        return Response(s.MemberSerializer(membership).data)


# ---------------------------------------------------------------------------
# Items, annotations, resolutions, audit
# ---------------------------------------------------------------------------


class ItemScope(ProjectView):
    serializer_class = s.ItemSerializer
    queryset = Item.objects.all()
    minimum_role = Role.REVIEWER

    def scoped(self, project: Project, role: str) -> QuerySet[Item]:
        return project.items.all()


@extend_schema_view(
    get=extend_schema(summary="List items (reviewers and managers)", parameters=[s.ItemFilterSerializer]),
    post=extend_schema(
        summary="Create an item (managers)",
        description="The item is put in the annotation queue. An external id that exists already answers 409.",
        responses={201: s.ItemSerializer, 409: s.ErrorSerializer},
    ),
)
class ItemList(ItemScope, generics.ListCreateAPIView):
    def scoped(self, project: Project, role: str) -> QuerySet[Item]:
        items = project.items.all()
        if self.request.method == "GET":
            query = s.ItemFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            if "external_id" in query.validated_data:
                items = items.filter(external_id=query.validated_data["external_id"])
        return items

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request.method == "POST" and not getattr(self, "swagger_fake_view", False):
            context["project"] = self.project(Role.MANAGER)[0]
        return context

    def perform_create(self, serializer: s.ItemSerializer) -> None:
        project = serializer.context["project"]
        external_id = serializer.validated_data["external_id"]
        try:
            with transaction.atomic():
                serializer.save(project=project)
                build_cold_start_queue(project=project)
        except IntegrityError:
            raise Conflict(f"An item with external id {external_id!r} already exists in the project.") from None


@extend_schema_view(get=extend_schema(summary="Read an item (reviewers and managers)"))
class ItemDetail(ItemScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "item_id"


class AnnotationScope(ProjectView):
    serializer_class = s.AnnotationSerializer
    queryset = Annotation.objects.all()

    def scoped(self, project: Project, role: str) -> QuerySet[Annotation]:
        annotations = Annotation.objects.filter(item__project=project).select_related(
            "item", "annotator", "guideline_version"
        )
        annotations = annotations.prefetch_related(
            Prefetch(
                "judgments", queryset=Judgment.objects.select_related("label").order_by("label__order", "label_id")
            )
        )
        if not role_allows(role, Role.REVIEWER):
            annotations = annotations.filter(annotator=self.request.user)
        return annotations


@extend_schema_view(
    get=extend_schema(
        summary="List annotations with their judgments",
        description="An annotator sees only their own annotations; reviewers and managers see all. "
        "A label without a judgment is unobserved.",
        parameters=[s.AnnotationFilterSerializer],
    )
)
class AnnotationList(AnnotationScope, generics.ListAPIView):
    def scoped(self, project: Project, role: str) -> QuerySet[Annotation]:
        annotations = super().scoped(project, role)
        query = s.AnnotationFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        if "item" in query.validated_data:
            annotations = annotations.filter(item_id=query.validated_data["item"])
        if "annotator" in query.validated_data:
            annotations = annotations.filter(annotator__username=query.validated_data["annotator"])
        return annotations


@extend_schema_view(get=extend_schema(summary="Read an annotation with its judgments"))
class AnnotationDetail(AnnotationScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "annotation_id"


class ResolutionScope(ProjectView):
    serializer_class = s.ResolutionSerializer
    queryset = Resolution.objects.all()
    minimum_role = Role.REVIEWER

    def scoped(self, project: Project, role: str) -> QuerySet[Resolution]:
        return Resolution.objects.filter(item__project=project).select_related("label", "reviewer")


class ResolutionList(ResolutionScope, generics.ListAPIView):
    @extend_schema(summary="List resolutions (reviewers and managers)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        request=s.ResolutionInputSerializer,
        responses={
            200: s.ResolutionSerializer,
            201: s.ResolutionSerializer,
            409: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description="`expected` is not the entry's state any more: `detail` says who decided what, "
                "`current` is the resolution now (null when it was undone).",
            ),
        },
        summary="Set the resolution of an (item, label) (reviewers and managers)",
        description="Creates the resolution (201) or replaces it (200), and writes a `resolution.set` audit event. "
        "An item or label that is not in the project answers 404. Send the `state` you last read as `expected` "
        "to be refused (409) instead of overwriting a decision made meanwhile; leave `note` out to keep the "
        "existing note.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        form = s.ResolutionInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        item = project.items.filter(pk=data["item"]).first()
        label = project.labels.filter(pk=data["label"]).first()
        if item is None or label is None:
            raise NotFound("No such item in this project." if item is None else "No such label in this project.")
        existed = Resolution.objects.filter(item=item, label=label).exists()
        try:
            resolution = set_resolution(
                item=item,
                label=label,
                value=int(data["value"]),
                note=data.get("note"),
                reviewer=request.user,
                expected=data.get("expected"),
            )
        except StaleResolutionError as stale:
            current = s.ResolutionSerializer(stale.current).data if stale.current else None
            return Response({"detail": str(stale), "current": current}, status=status.HTTP_409_CONFLICT)
        except ResolutionError as error:
            raise serializers.ValidationError({"detail": str(error)}) from None
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.ResolutionSerializer(resolution).data, status=code)


@extend_schema_view(get=extend_schema(summary="Read a resolution (reviewers and managers)"))
class ResolutionDetail(ResolutionScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "resolution_id"


@extend_schema_view(get=extend_schema(summary="List audit events, newest first (managers)"))
class AuditList(ProjectView, generics.ListAPIView):
    serializer_class = s.AuditEventSerializer
    queryset = AuditEvent.objects.all()
    minimum_role = Role.MANAGER
    pagination_class = NewestFirst

    def scoped(self, project: Project, role: str) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.filter(project=project).select_related("actor")


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------


class PayloadTooLarge(Exception):
    pass


class RawUpload(BaseParser):
    """The raw-body import types, left unread: ImportView reads the stream itself, in chunks.

    Without a parser for them, the CSRF check of a session request (it reads
    ``request.POST``, which makes DRF parse the body) answered 415.
    """

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> dict[str, Any]:
        return {}


class ImportView(ProjectView):
    """Bulk import, all or nothing."""

    minimum_role = Role.MANAGER
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "expensive"
    parser_classes = [MultiPartParser, RawUpload]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatNegotiation
    pagination_class = None
    serializer_class = s.ImportUploadSerializer

    @extend_schema(
        summary="Import items and annotations (managers)",
        description=(
            "Send the file as the multipart field `file`, or as the raw request body. Options are query "
            "parameters. The whole file is checked first: any bad row answers 400 with the errors and writes "
            "nothing. Files above the background threshold answer 202 with an import job to poll. "
            "Formats: docs/api.md."
        ),
        parameters=[s.ImportOptionsSerializer],
        request={
            "multipart/form-data": s.ImportUploadSerializer,
            "application/x-ndjson": OpenApiTypes.BINARY,
            "text/csv": OpenApiTypes.BINARY,
            "application/json": OpenApiTypes.BINARY,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={
            201: s.ImportResultSerializer,
            202: s.ImportJobSerializer,
            400: OpenApiResponse(s.ImportErrorsSerializer, description="The file has errors; nothing was written."),
            413: OpenApiResponse(s.ErrorSerializer, description="The file is larger than TAGWISE_IMPORT_MAX_BYTES."),
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        query = s.ImportOptionsSerializer(data=request.query_params)
        if not query.is_valid():
            return self._bad_request(
                "The import options are invalid.",
                [
                    importers.RowError(line=0, field=name, message=" ".join(map(str, messages)))
                    for name, messages in query.errors.items()
                ],
            )
        try:
            upload, name, size = self._payload(request)
        except PayloadTooLarge:
            limit = settings.TAGWISE_IMPORT_MAX_BYTES
            return Response({"detail": f"The file is larger than {limit:,} bytes."}, status=413)
        except (serializers.ValidationError, ParseError) as error:
            detail = error.detail[0] if isinstance(error.detail, list) else error.detail
            return self._bad_request(str(detail), [])
        with upload:
            file_format = query.validated_data.get("format") or importers.format_for_filename(name)
            if file_format is None:
                return self._bad_request("Give format=jsonl, csv or labelstudio.", [])
            options = importers.ImportOptions(
                format=file_format,
                update=query.validated_data["update"],
                unticked=query.validated_data["unticked"],
                create_annotators=query.validated_data["create_annotators"],
                annotator_map=query.validated_data.get("annotator_map") or {},
            )
            try:
                outcome = importers.import_or_queue(
                    project=project, stream=upload, size=size, options=options, actor=request.user
                )
            except importers.ImportFailed as failure:
                return self._bad_request("The file has errors; nothing was imported.", failure.errors, failure.total)
        if isinstance(outcome, ImportJob):
            data = s.ImportJobSerializer(outcome, context={"request": request}).data
            return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})
        return Response(s.ImportResultSerializer(outcome.as_dict()).data, status=status.HTTP_201_CREATED)

    def _bad_request(self, detail: str, errors: list[importers.RowError], total: int | None = None) -> Response:
        """Every 400 of the import has one shape: a message and the list of errors (maybe empty)."""
        body = {
            "detail": detail,
            "error_count": len(errors) if total is None else total,
            "errors": [vars(error) for error in errors],
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    def _payload(self, request: Request) -> tuple[IO[bytes], str, int]:
        """The uploaded file (seekable), its name and size; raise PayloadTooLarge over the limit."""
        limit = settings.TAGWISE_IMPORT_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise PayloadTooLarge
        if request.content_type.startswith("multipart/form-data"):
            upload = request.FILES.get("file")
            if upload is None:
                raise serializers.ValidationError("Send the file as the multipart field 'file'.")
            if upload.size > limit:
                raise PayloadTooLarge
            return upload, upload.name or "", upload.size
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - handed to the caller, who closes it
        size = 0
        stream = request.stream
        while stream is not None and (chunk := stream.read(1 << 20)):
            size += len(chunk)
            if size > limit:
                spool.close()
                raise PayloadTooLarge
            spool.write(chunk)
        if size == 0:
            spool.close()
            raise serializers.ValidationError("The request has no file: send it as the body or the field 'file'.")
        spool.seek(0)
        return spool, "", size


class ImportJobScope(ProjectView):
    serializer_class = s.ImportJobSerializer
    queryset = ImportJob.objects.all()
    minimum_role = Role.MANAGER

    def scoped(self, project: Project, role: str) -> QuerySet[ImportJob]:
        return project.import_jobs.all()


@extend_schema_view(get=extend_schema(summary="List import jobs, newest first (managers)"))
class ImportJobList(ImportJobScope, generics.ListAPIView):
    pagination_class = NewestFirst


@extend_schema_view(get=extend_schema(summary="An import job's progress and errors (managers)"))
class ImportJobDetail(ImportJobScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "job_id"


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


class ExportView(ProjectView):
    """The curated dataset as a streamed file."""

    minimum_role = Role.REVIEWER
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "expensive"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatNegotiation
    pagination_class = None
    serializer_class = s.ExportQuerySerializer

    @extend_schema(
        summary="Export the dataset (reviewers and managers)",
        description=(
            "One row per item with the consensus value of every exported label: the resolution, else the "
            "confidence-weighted mean of the observed answers, else null (JSONL, Parquet) or an empty cell "
            "(CSV). Streamed; every export writes an `export` audit event when the stream ends. With "
            "`predictions=true` each row also has the latest ready model version's probabilities "
            "(`prediction`, or `pred:<label>` columns in CSV), `predicted_labels` and `prediction_model_version`; "
            "without a ready model the answer is 409, before anything is streamed."
        ),
        parameters=[s.ExportQuerySerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            409: OpenApiResponse(
                s.ErrorSerializer, description="predictions=true, but the project has no ready model version."
            ),
            404: OpenApiResponse(
                s.ErrorSerializer, description="No such project, or a label or guideline version that is not in it."
            ),
        },
    )
    def get(self, request: Request, project_id: int) -> StreamingHttpResponse:
        project, _ = self.project()
        query = s.ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        version = data.get("guideline_version")
        if version is not None and not project.guideline_versions.filter(number=version).exists():
            # Like a label that is not in the project: an empty file would look like an answer.
            raise NotFound(f"This project has no published guideline version {version}.")
        labels = tuple(name.strip() for name in data.get("labels", "").split(",") if name.strip())
        try:
            options = exporting.ExportOptions(
                format=data["format"],
                resolved_only=data["resolved_only"],
                min_agreement=data.get("min_agreement"),
                guideline_version=data.get("guideline_version"),
                annotated_after=data.get("annotated_after"),
                labels=labels,
                split=data.get("split"),
                test_size=data["test_size"],
                seed=data["seed"],
                include_judgments=data["include_judgments"],
                predictions=data["predictions"],
            )
        except exporting.ExportError as error:
            raise serializers.ValidationError({"detail": str(error)}) from None
        try:
            stream = exporting.export_stream(project=project, options=options, actor=request.user)
        except exporting.ExportError as error:
            # The only error left is a label name that is not in the project.
            raise NotFound(str(error)) from None
        except exporting.PredictionsUnavailable as error:
            # The request is valid; the project's state cannot answer it yet. The
            # learner's prediction endpoints answer the same 409 without a model.
            raise Conflict(f"predictions=true: {error}") from None
        response = StreamingHttpResponse(stream, content_type=exporting.CONTENT_TYPES[options.format])
        response["Content-Disposition"] = f'attachment; filename="{exporting.filename(project, options)}"'
        return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404 handler: JSON under /api/, so API clients never get an HTML page; the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api-token"),
    path("projects", ProjectList.as_view(), name="api-projects"),
    path("projects/<int:project_id>", ProjectDetail.as_view(), name="api-project"),
    path("projects/<int:project_id>/labels", LabelList.as_view(), name="api-labels"),
    path("projects/<int:project_id>/labels/<int:label_id>", LabelDetail.as_view(), name="api-label"),
    path("projects/<int:project_id>/guidelines", GuidelineList.as_view(), name="api-guidelines"),
    path("projects/<int:project_id>/guidelines/<int:version_id>", GuidelineDetail.as_view(), name="api-guideline"),
    path("projects/<int:project_id>/members", MemberList.as_view(), name="api-members"),
    path("projects/<int:project_id>/members/<int:user_id>", MemberDetail.as_view(), name="api-member"),
    path("projects/<int:project_id>/items", ItemList.as_view(), name="api-items"),
    path("projects/<int:project_id>/items/<int:item_id>", ItemDetail.as_view(), name="api-item"),
    path("projects/<int:project_id>/annotations", AnnotationList.as_view(), name="api-annotations"),
    path(
        "projects/<int:project_id>/annotations/<int:annotation_id>", AnnotationDetail.as_view(), name="api-annotation"
    ),
    path("projects/<int:project_id>/resolutions", ResolutionList.as_view(), name="api-resolutions"),
    path(
        "projects/<int:project_id>/resolutions/<int:resolution_id>", ResolutionDetail.as_view(), name="api-resolution"
    ),
    path("projects/<int:project_id>/audit", AuditList.as_view(), name="api-audit"),
    path("projects/<int:project_id>/import", ImportView.as_view(), name="api-import"),
    path("projects/<int:project_id>/imports", ImportJobList.as_view(), name="api-import-jobs"),
    path("projects/<int:project_id>/imports/<int:job_id>", ImportJobDetail.as_view(), name="api-import-job"),
    path("projects/<int:project_id>/export", ExportView.as_view(), name="api-export"),
]
