"""The import page (managers), the export page (reviewers) and the API tokens page (everyone).

The import page takes a file and the same options as the API. A small file is
imported in the request; a big one becomes an ImportJob whose row polls its
own progress with htmx and stops polling once the job is done or failed. The
export page builds a link to the streaming API export, which the browser
downloads with its session.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods
from knox.models import AuthToken

from annotate.access import project_for
from annotate.api.tokens import issue_token, live_tokens, revoke_tokens
from annotate.dataset.export import FORMATS as EXPORT_FORMATS
from annotate.dataset.export import SPLITS, PredictionsUnavailable, predictions_source
from annotate.dataset.importers import ImportFailed, ImportOptions, format_for_filename, import_or_queue
from annotate.models import ImportJob, Role

FORMAT_CHOICES = [
    ("", "From the file name (.jsonl, .csv, .json)"),
    ("jsonl", "JSONL"),
    ("csv", "CSV"),
    ("labelstudio", "Label Studio JSON"),
]


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    update = forms.BooleanField(required=False, label="Update items whose external id already exists")
    unticked = forms.ChoiceField(
        choices=[("unobserved", "unobserved (not answered)"), ("negative", "negative (no)")],
        initial="unobserved",
        label="Label Studio: an unticked label means",
    )
    create_annotators = forms.BooleanField(required=False, label="Create annotators the project does not know yet")

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("file")
        if upload is None:
            return data
        # The size limit was enforced from Content-Length before the body was
        # read (config.middleware.RequestSizeMiddleware).
        if not data.get("format"):
            data["format"] = format_for_filename(upload.name)
            if data["format"] is None:
                self.add_error("format", "Choose the format: the file name does not say it.")
        return data


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    form = ImportForm(request.POST or None, request.FILES or None)
    failure: ImportFailed | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = ImportOptions(
            format=data["format"],
            update=data["update"],
            unticked=data["unticked"],
            create_annotators=data["create_annotators"],
        )
        upload = data["file"]
        try:
            with upload:
                outcome = import_or_queue(
                    project=project, stream=upload, size=upload.size, options=options, actor=request.user
                )
        except ImportFailed as error:
            failure = error
        else:
            if isinstance(outcome, ImportJob):
                messages.info(request, "The file is large: it is being imported in the background (progress below).")
            else:
                messages.success(
                    request,
                    f"Imported {outcome.items_created} new and {outcome.items_updated} updated items "
                    f"with {outcome.annotations_created} annotations.",
                )
            return redirect("import", project.pk)
    context = {
        "project": project,
        "role": role,
        "form": form,
        "failure": failure,
        "jobs": project.import_jobs.select_related("created_by")[:20],
        "max_bytes": settings.TAGWISE_IMPORT_MAX_BYTES,
    }
    status = 400 if failure is not None or form.errors else 200
    return render(request, "annotate/importing/import.html", context, status=status)


@login_required
@require_GET
def import_job(request: HttpRequest, project_id: int, job_id: int) -> HttpResponse:
    """One job's row, polled by htmx while the job runs."""
    project, _ = project_for(request.user, project_id, Role.MANAGER)
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=job_id, project=project)
    return render(request, "annotate/importing/import.html#job-row", {"project": project, "job": job})


@login_required
@require_GET
def export_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    # Offer the predictions only when a model can give them; say why not otherwise.
    try:
        prediction_version, no_predictions = predictions_source()(project=project).version_id, ""
    except PredictionsUnavailable as unavailable:
        prediction_version, no_predictions = None, str(unavailable)
    context = {
        "project": project,
        "role": role,
        "prediction_version": prediction_version,
        "no_predictions": no_predictions,
        "formats": EXPORT_FORMATS,
        "splits": SPLITS,
        "labels": project.active_labels(),
        "versions": project.guideline_versions.filter(published_at__isnull=False).order_by("number"),
        "action": reverse("api-export", args=[project.pk]),
    }
    return render(request, "annotate/importing/export.html", context)


TOKEN_DAY_CHOICES = (7, 30, 90, 365)


class TokenForm(forms.Form):
    days = forms.TypedChoiceField(coerce=int, label="Expires in", initial=90)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = sorted(
            {d for d in (*TOKEN_DAY_CHOICES, settings.TAGWISE_TOKEN_DAYS) if d <= settings.TAGWISE_TOKEN_MAX_DAYS}
        )
        self.fields["days"].choices = [(d, f"{d} days") for d in choices]
        self.fields["days"].initial = settings.TAGWISE_TOKEN_DAYS


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """Create, list and revoke your API tokens. A new token is shown in full once, in the answer to its creation.

    The new token is rendered straight into that answer, never kept in the
    session or anywhere else: the database holds only its digest.
    """
    form = TokenForm(request.POST if request.POST.get("action") == "create" else None)
    new_token = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create" and form.is_valid():
            token, text = issue_token(user=request.user, days=form.cleaned_data["days"])
            new_token = {"text": text, "expiry": token.expiry}
        elif action == "revoke":
            chosen = AuthToken.objects.filter(token_key=request.POST.get("token", ""))
            if revoke_tokens(user=request.user, tokens=chosen):
                messages.success(request, "The token is revoked; scripts that used it can no longer log in.")
            return redirect("tokens")
        else:
            status = 400
    context = {"tokens": live_tokens(request.user), "new_token": new_token, "form": form}
    return render(request, "annotate/importing/tokens.html", context, status=status)


urlpatterns = [
    path("projects/<int:project_id>/import/", import_page, name="import"),
    path("projects/<int:project_id>/import/jobs/<int:job_id>/", import_job, name="import-job"),
    path("projects/<int:project_id>/export/", export_page, name="export"),
    path("account/tokens/", tokens_page, name="tokens"),
]
