"""The project settings page for managers: overlap, what annotators are asked, retraining, leases."""

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
from annotate.setup.project_settings import CHANGEABLE, DESCRIPTION_MAX_CHARS, change_settings


class SettingsForm(forms.ModelForm):
    """The limits match the API's (annotate/api/serializers.py ProjectSettingsSerializer)."""

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
        fields = list(CHANGEABLE)
        labels = {
            "require_all_labels": "An annotator must answer every label asked before submitting",
            "allow_focus_only": "Annotators may choose to answer only the focus labels",
        }


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    form = SettingsForm(request.POST or None, instance=Project.objects.get(pk=project.pk))
    if request.method == "POST" and form.is_valid():
        wanted: dict[str, Any] = {name: form.cleaned_data[name] for name in CHANGEABLE}
        changed = change_settings(project=project, actor=request.user, changes=wanted)
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
