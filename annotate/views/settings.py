"""The project settings page for managers: the name, overlap, what annotators are asked, skip reasons, retraining."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from annotate.access import project_for
from annotate.models import AskMode, Project, Role
from annotate.setup.project_settings import (
    CHANGEABLE,
    DESCRIPTION_MAX_CHARS,
    NAME_MAX_CHARS,
    SKIP_REASON_MAX_CHARS,
    SKIP_REASONS_COUNT,
    ProjectSettingsError,
    change_settings,
)

# What the page changes: the project's name and every setting a manager may change.
FIELDS = ("name", *CHANGEABLE)


class SettingsForm(forms.ModelForm):
    """The limits match the API's (annotate/api/serializers.py ProjectSettingsSerializer).

    The name and the skip reasons are checked by the domain (change_settings), whose
    message the page shows beside the field, so both ways in refuse the same things.
    """

    name = forms.CharField(max_length=NAME_MAX_CHARS, label="Name")
    skip_reasons = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Skip reasons, one per line",
        help_text=(
            f"From {SKIP_REASONS_COUNT[0]} to {SKIP_REASONS_COUNT[1]} reasons of at most {SKIP_REASON_MAX_CHARS} "
            "characters, shown in this order; “Other”, in the annotator's own words, is always offered. "
            "Earlier skips keep the reason they were given."
        ),
    )

    overlap_count = forms.IntegerField(min_value=1, max_value=20, label="Annotators per overlap item")
    overlap_fraction = forms.FloatField(min_value=0, max_value=1, label="Share of items with overlap")
    retrain_every = forms.IntegerField(
        min_value=0, max_value=1_000_000, label="Retrain after this many new annotations (0: never)"
    )
    default_confidence = forms.FloatField(min_value=0.01, max_value=1, label="Default confidence")
    lease_minutes = forms.IntegerField(
        min_value=1, max_value=24 * 60, label="Minutes an item is held for its annotator"
    )
    ask_mode = forms.ChoiceField(choices=AskMode.choices, widget=forms.RadioSelect, label="Ask")
    focus_size = forms.IntegerField(min_value=1, max_value=50, label="Focus labels per item")
    exploration_share = forms.FloatField(
        min_value=0, max_value=1, label="Share of random items asked every label (exploration)"
    )
    # The model field has no length limit; without this one a long text got past the form and
    # change_settings refused it with an exception, a server error instead of a message.
    description = forms.CharField(required=False, max_length=DESCRIPTION_MAX_CHARS, widget=forms.Textarea)

    class Meta:
        model = Project
        fields = list(FIELDS)
        labels = {
            "require_all_labels": "An annotator must answer every label asked before submitting",
            "allow_focus_only": "Annotators may choose to answer only the focus labels",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["skip_reasons"] = "\n".join(self.instance.skip_reasons)

    def clean_skip_reasons(self) -> list[str]:
        return [line for line in self.cleaned_data["skip_reasons"].splitlines() if line.strip()]

    def validate_unique(self) -> None:
        # The name is unique ignoring case, which change_settings checks with the creation's rule and message.
        pass


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    form = SettingsForm(request.POST or None, instance=Project.objects.get(pk=project.pk))
    if request.method == "POST" and form.is_valid():
        wanted: dict[str, Any] = {name: form.cleaned_data[name] for name in FIELDS}
        try:
            changed = change_settings(project=project, actor=request.user, changes=wanted)
        except ProjectSettingsError as refused:
            form.add_error(refused.field if refused.field in form.fields else None, str(refused))
        else:
            if changed:
                messages.success(request, f"Saved: {', '.join(form.fields[name].label or name for name in changed)}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("project-settings", project.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "annotate/settings.html", {"project": project, "role": role, "form": form}, status=status)


urlpatterns = [
    path("projects/<int:project_id>/settings/", settings_page, name="project-settings"),
]
