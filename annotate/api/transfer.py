"""Bulk import and streamed export under /api/projects/{project_id}/: the import endpoint, its jobs, the export.

Both use ``format`` for the file format (``IgnoreFormatNegotiation``) and the
"expensive" throttle scope. The formats and options are described in docs/api.md.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any
from urllib.parse import quote

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from annotate.api import serializers as s
from annotate.api.base import Conflict, IgnoreFormatNegotiation, NewestFirst, ProjectView
from annotate.dataset import export as exporting
from annotate.dataset import importers
from annotate.models import ImportJob, Project, Role

# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------


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
            411: OpenApiResponse(s.ErrorSerializer, description="A chunked body without a Content-Length."),
            413: OpenApiResponse(
                s.ErrorSerializer, description="The body is larger than TAGWISE_IMPORT_MAX_BYTES (from Content-Length)."
            ),
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
        except (serializers.ValidationError, ParseError) as error:
            detail = error.detail[0] if isinstance(error.detail, list) else error.detail
            return self._bad_request(str(detail), [])
        with upload:
            file_format = query.validated_data.get("format") or importers.format_for_filename(name)
            if file_format is None:
                formats = ", ".join(importers.FORMATS)
                return self._bad_request(f"Give the format: one of {formats}.", [])
            options = importers.ImportOptions(
                format=file_format,
                update=query.validated_data["update"],
                unticked=query.validated_data["unticked"],
                create_annotators=query.validated_data["create_annotators"],
                annotator_map=query.validated_data.get("annotator_map") or {},
                text_key=query.validated_data.get("text_key", ""),
                choices_control=query.validated_data.get("choices_control", ""),
                annotator=query.validated_data.get("annotator", ""),
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
        """The uploaded file (seekable), its name and size.

        The body's size was checked against TAGWISE_IMPORT_MAX_BYTES from its
        Content-Length before the view ran (config.middleware.RequestSizeMiddleware),
        and Django reads no further than that length.
        """
        if request.content_type.startswith("multipart/form-data"):
            upload = request.FILES.get("file")
            if upload is None:
                raise serializers.ValidationError("Send the file as the multipart field 'file'.")
            return upload, upload.name or "", upload.size
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - handed to the caller, who closes it
        size = 0
        stream = request.stream
        while stream is not None and (chunk := stream.read(1 << 20)):
            size += len(chunk)
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
            "without a ready model the answer is 409, before anything is streamed. `format=hf` is a zip with a "
            "dataset card; `doccano`, `prodigy` and `labelstudio` are those tools' formats (docs/formats.md)."
        ),
        parameters=[s.ExportQuerySerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.BINARY,
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
                escape_formulas=data["escape_formulas"],
            )
        except exporting.ExportError as error:
            raise serializers.ValidationError({"detail": str(error)}) from None
        try:
            stream = exporting.export_stream(project=project, options=options, actor=request.user)
        except exporting.NotInProject as error:
            raise NotFound(str(error)) from None
        except exporting.SplitError as error:
            raise serializers.ValidationError({"split": [str(error)]}) from None
        except exporting.PredictionsUnavailable as error:
            # The request is valid; the project's state cannot answer it yet. The
            # learner's prediction endpoints answer the same 409 without a model.
            raise Conflict(f"predictions=true: {error}") from None
        response = StreamingHttpResponse(stream, content_type=exporting.CONTENT_TYPES[options.format])
        response["Content-Disposition"] = attachment(
            exporting.filename(project, options), fallback=exporting.filename(project, options, ascii_only=True)
        )
        return response


def attachment(name: str, *, fallback: str) -> str:
    """A Content-Disposition for a download named ``name`` (RFC 6266).

    ``fallback`` is the ASCII name every client reads; a name beyond ASCII
    comes too as ``filename*`` in UTF-8 (RFC 5987), which browsers prefer.
    The fallback holds only letters, digits, "_", "-" and ".", so it needs no quoting.
    """
    if name == fallback:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


urlpatterns = [
    path("projects/<int:project_id>/import", ImportView.as_view(), name="api-import"),
    path("projects/<int:project_id>/imports", ImportJobList.as_view(), name="api-import-jobs"),
    path("projects/<int:project_id>/imports/<int:job_id>", ImportJobDetail.as_view(), name="api-import-job"),
    path("projects/<int:project_id>/export", ExportView.as_view(), name="api-export"),
]
