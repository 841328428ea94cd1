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
from django.contrib.auth import get_user_model
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
from annotate.dataset.importers import (
    ImportFailed,
    ImportOptions,
    ImportResult,
    Survey,
    discard_staged,
    format_for_filename,
    import_or_queue,
    labelstudio_username,
    stage_upload,
    staged_path,
    survey_file,
)
from annotate.models import ImportJob, Project, Role

# The export page's names of the formats.
EXPORT_FORMAT_NAMES = {
    "hf": "Hugging Face folder (zip with a dataset card)",
    "doccano": "doccano JSONL",
    "prodigy": "Prodigy JSONL (one line per annotation)",
    "labelstudio": "Label Studio JSON (tasks with each annotation)",
}
# The session keeps the tokens of the Label Studio files this user staged, so
# that a token names a file only for the person who uploaded it.
STAGED_SESSION_KEY = "staged_imports"
UNTICKED_FIELD_CHOICES = [("unobserved", "unobserved (not answered)"), ("negative", "negative (no)")]

FORMAT_CHOICES = [
    ("", "From the file name (.jsonl, .csv, .json)"),
    ("jsonl", "JSONL"),
    ("csv", "CSV"),
    ("labelstudio", "Label Studio JSON"),
    ("doccano", "doccano JSONL (text classification)"),
    ("prodigy", "Prodigy JSONL (textcat)"),
]


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    update = forms.BooleanField(required=False, label="Update items whose external id already exists")
    unticked = forms.ChoiceField(
        choices=UNTICKED_FIELD_CHOICES,
        initial="unobserved",
        label="Label Studio, doccano: a label the file does not tick means",
    )
    create_annotators = forms.BooleanField(required=False, label="Create annotators the project does not know yet")
    annotator = forms.RegexField(
        r"^[\w.@+-]{1,150}$",
        required=False,
        label="doccano, Prodigy: who answered (a username)",
        help_text="These files do not always say who answered; their answers are credited to this user.",
    )

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


class LabelStudioForm(forms.Form):
    """The second step of a Label Studio import: the text key, the choices control and who is who."""

    staged = forms.CharField(widget=forms.HiddenInput)
    text_key = forms.ChoiceField(label="The data key that holds the text")
    choices_control = forms.ChoiceField(required=False, label="The choices control whose ticks are the labels")
    unticked = forms.ChoiceField(choices=UNTICKED_FIELD_CHOICES, label="An unticked label means")
    update = forms.BooleanField(required=False, label="Update items whose external id already exists")
    create_annotators = forms.BooleanField(
        required=False, label="Create the users left on automatic that the project does not know yet"
    )

    def __init__(self, *args: Any, found: Survey, members: list[str], existing: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.found = found
        self.fields["text_key"].choices = [
            (key, f"{key} (text in {count} of {found.tasks} tasks)") for key, count in found.text_keys.items()
        ]
        self.fields["text_key"].initial = found.default_text_key()
        self.fields["choices_control"].choices = [
            (name, f"{name} ({count} results)") for name, count in found.choices_controls.items()
        ]
        for index, user in enumerate(found.users):
            if "@" in user.key:
                automatic = f"automatic: the user with email {user.key}"
            else:
                username = labelstudio_username(user.key)
                automatic = f"automatic: {username}" + (" (exists)" if username in existing else " (new)")
            self.fields[f"user_{index}"] = forms.ChoiceField(
                choices=[("", automatic), *((name, name) for name in members)],
                required=False,
                label=f"{user.name}, {user.annotations} annotation{'s' if user.annotations != 1 else ''}",
            )

    def user_fields(self) -> list[forms.BoundField]:
        return [self[f"user_{index}"] for index in range(len(self.found.users))]

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        chosen = {user.key: data.get(f"user_{index}") for index, user in enumerate(self.found.users)}
        return ImportOptions(
            format="labelstudio",
            update=data["update"],
            unticked=data["unticked"],
            create_annotators=data["create_annotators"],
            annotator_map={key: name for key, name in chosen.items() if name},
            text_key=data["text_key"],
            choices_control=data.get("choices_control") or "",
        )


def _labelstudio_form(request: HttpRequest, project: Project, token: str, **kwargs: Any) -> LabelStudioForm | None:
    """The second step's form for a staged file, or None when the token is not this user's or its file is gone."""
    path = staged_path(token)
    if path is None or token not in request.session.get(STAGED_SESSION_KEY, []):
        return None
    with path.open("rb") as stream:
        found = survey_file(stream) or Survey()
    members = sorted(project.memberships.values_list("user__username", flat=True))
    existing = set(
        get_user_model()
        .objects.filter(username__in=[labelstudio_username(user.key) for user in found.users])
        .values_list("username", flat=True)
    )
    return LabelStudioForm(found=found, members=members, existing=existing, **kwargs)


# How the page words ``ImportResult.notes``: key, then one and several.
NOTE_WORDS = (
    ("predictions", "prediction not imported", "predictions not imported"),
    ("drafts", "draft not imported", "drafts not imported"),
    ("results_ignored", "result of another control ignored", "results of other controls ignored"),
    ("cancelled", "cancelled annotation imported as a skip", "cancelled annotations imported as skips"),
    ("ground_truth", "ground-truth annotation imported as usual", "ground-truth annotations imported as usual"),
)


def describe_result(result: ImportResult) -> str:
    """The import's counts in a sentence, with what the file held beside the answers (``ImportResult.notes``)."""
    text = (
        f"Imported {result.items_created} new and {result.items_updated} updated items "
        f"with {result.annotations_created} annotations."
    )
    notes = result.notes
    parts = [f"{notes[key]} {one if notes[key] == 1 else many}" for key, one, many in NOTE_WORDS if notes.get(key)]
    return f"{text} {'; '.join(parts)}." if parts else text


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    form = ImportForm(request.POST or None, request.FILES or None)
    labelstudio_form: LabelStudioForm | None = None
    failure: ImportFailed | None = None
    outcome: ImportResult | ImportJob | None = None
    if request.method == "POST" and "staged" in request.POST:
        # The second step of a Label Studio import.
        form = ImportForm()
        token = request.POST["staged"]
        labelstudio_form = _labelstudio_form(request, project, token, data=request.POST)
        path = staged_path(token)
        if labelstudio_form is None or path is None:
            messages.error(request, "That upload is no longer waiting; upload the file again.")
            return redirect("import", project.pk)
        if labelstudio_form.is_valid():
            try:
                with path.open("rb") as stream:
                    outcome = import_or_queue(
                        project=project,
                        stream=stream,
                        size=path.stat().st_size,
                        options=labelstudio_form.options(),
                        actor=request.user,
                    )
            except ImportFailed as error:
                failure = error
            else:
                discard_staged(token)
                request.session[STAGED_SESSION_KEY] = [
                    kept for kept in request.session.get(STAGED_SESSION_KEY, []) if kept != token
                ]
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        if data["format"] == "labelstudio":
            # A Label Studio file waits for the second step: which data key holds
            # the text, which choices control, and which annotator each user is.
            with upload:
                token = stage_upload(upload)
            request.session[STAGED_SESSION_KEY] = [*request.session.get(STAGED_SESSION_KEY, [])[-9:], token]
            initial = {
                "staged": token,
                "unticked": data["unticked"],
                "update": data["update"],
                "create_annotators": data["create_annotators"],
            }
            labelstudio_form = _labelstudio_form(request, project, token, initial=initial)
        else:
            options = ImportOptions(
                format=data["format"],
                update=data["update"],
                unticked=data["unticked"],
                create_annotators=data["create_annotators"],
                annotator=data.get("annotator") or "",
            )
            try:
                with upload:
                    outcome = import_or_queue(
                        project=project, stream=upload, size=upload.size, options=options, actor=request.user
                    )
            except ImportFailed as error:
                failure = error
    if isinstance(outcome, ImportJob):
        messages.info(request, "The file is large: it is being imported in the background (progress below).")
        return redirect("import", project.pk)
    if outcome is not None:
        messages.success(request, describe_result(outcome))
        return redirect("import", project.pk)
    context = {
        "project": project,
        "role": role,
        "form": form,
        "labelstudio_form": labelstudio_form,
        "failure": failure,
        "jobs": project.import_jobs.select_related("created_by")[:20],
        "max_bytes": settings.TAGWISE_IMPORT_MAX_BYTES,
    }
    bad = failure is not None or form.errors or (labelstudio_form is not None and labelstudio_form.errors)
    return render(request, "annotate/importing/import.html", context, status=400 if bad else 200)


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
        "formats": [(name, EXPORT_FORMAT_NAMES.get(name, name.upper())) for name in EXPORT_FORMATS],
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
