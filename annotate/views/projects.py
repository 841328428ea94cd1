"""The project list, a project's overview, and a project's life: create, clone, archive, delete."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from annotate.access import project_for
from annotate.models import Annotation, Project, Role
from annotate.setup import projects
from annotate.setup.project_settings import DESCRIPTION_MAX_CHARS, OVERLAP_COUNT, RETRAIN_EVERY
from annotate.setup.projects import CREATE_REFUSED, ProjectError, may_create_projects


@login_required
def home(request: HttpRequest) -> HttpResponse:
    found = Project.objects.for_user(request.user).annotate(item_count=Count("items", distinct=True))
    rows, archived = [], []
    for project in found:
        role = project.role_of(request.user)
        if not project.is_archived:
            rows.append((project, role))
        elif role != Role.ANNOTATOR:
            # Archived projects are hidden from annotators, who have nothing left to do there.
            archived.append((project, role))
    context = {"rows": rows, "archived": archived, "may_create": may_create_projects(request.user)}
    return render(request, "annotate/home.html", context)


@login_required
def project_overview(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    mine = Annotation.objects.filter(item__project=project, annotator=request.user)
    context = {
        "project": project,
        "role": role,
        "item_count": project.items.count(),
        "label_count": project.active_labels().count(),
        "my_count": mine.filter(skipped=False).count(),
        "guideline": project.current_guideline(),
        "may_clone": role == Role.MANAGER and may_create_projects(request.user),
    }
    return render(request, "annotate/project.html", context)


class NewProjectForm(forms.Form):
    name = forms.CharField(max_length=projects.NAME_MAX_CHARS)
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )
    labels = forms.CharField(
        required=False,
        max_length=projects.LABEL_CONFIG_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        label="Labels",
        help_text="One per line, optionally “name: description”; or paste a Label Studio labelling config "
        "and its <Choice> values become the labels.",
    )
    guideline = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="First guideline (Markdown, optional)",
        help_text="Published as version 1. You can also write it later.",
    )
    overlap_count = forms.IntegerField(
        min_value=OVERLAP_COUNT[0], max_value=OVERLAP_COUNT[1], initial=2, label="Annotators per overlap item"
    )
    overlap_fraction = forms.FloatField(min_value=0, max_value=1, initial=0.2, label="Share of items with overlap")
    retrain_every = forms.IntegerField(
        min_value=RETRAIN_EVERY[0],
        max_value=RETRAIN_EVERY[1],
        initial=50,
        label="Retrain after this many new annotations (0: never)",
    )
    require_all_labels = forms.BooleanField(
        required=False, label="An annotator must answer every label asked before submitting"
    )

    def clean_labels(self) -> list[projects.LabelSpec]:
        try:
            return projects.parse_labels(self.cleaned_data["labels"])
        except ProjectError as error:
            raise forms.ValidationError(str(error)) from None


SETTINGS_FIELDS = ("overlap_count", "overlap_fraction", "retrain_every", "require_all_labels")


def _refuse_unless_creator(request: HttpRequest) -> None:
    if not may_create_projects(request.user):
        raise PermissionDenied(CREATE_REFUSED)


def _show_error(form: forms.Form, error: ProjectError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    _refuse_unless_creator(request)
    form = NewProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = projects.create_project(
                creator=request.user,
                name=data["name"],
                description=data["description"],
                labels=data["labels"],
                guideline=data["guideline"],
                settings={name: data[name] for name in SETTINGS_FIELDS},
            )
        except ProjectError as error:
            _show_error(form, error)
        else:
            messages.success(request, f"Created {project.name}. Next: import items and add people.")
            return redirect("project", project.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "annotate/projects/new.html", {"form": form}, status=status)


class CloneForm(forms.Form):
    name = forms.CharField(max_length=projects.NAME_MAX_CHARS, label="Name of the new project")


@login_required
@require_http_methods(["GET", "POST"])
def project_clone(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    _refuse_unless_creator(request)
    form = CloneForm(request.POST or None, initial={"name": projects.copy_name(project)})
    if request.method == "POST" and form.is_valid():
        try:
            clone = projects.clone_project(source=project, creator=request.user, name=form.cleaned_data["name"])
        except ProjectError as error:
            _show_error(form, error)
        else:
            messages.success(
                request, f"Created {clone.name} from the settings, labels and guideline of {project.name}."
            )
            return redirect("project", clone.pk)
    status = 400 if request.method == "POST" else 200
    context: dict[str, Any] = {"project": project, "role": role, "form": form}
    return render(request, "annotate/projects/clone.html", context, status=status)


@login_required
@require_POST
def project_archive(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _role = project_for(request.user, project_id, Role.MANAGER)
    if request.POST.get("archived") == "0":
        projects.unarchive_project(project=project, actor=request.user)
        messages.success(request, f"{project.name} is open again: the queue hands out items and takes answers.")
    else:
        projects.archive_project(project=project, actor=request.user)
        messages.success(request, f"{project.name} is archived: read-only and hidden from its annotators.")
    return redirect("project", project.pk)


class DeleteForm(forms.Form):
    confirmation = forms.CharField(max_length=projects.NAME_MAX_CHARS + 10, label="Type the project's name")


@login_required
@require_http_methods(["GET", "POST"])
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            projects.delete_project(project=project, actor=request.user, confirmation=form.cleaned_data["confirmation"])
        except ProjectError as error:
            _show_error(form, error)
        else:
            messages.success(request, f"Deleted {project.name} and everything in it.")
            return redirect("home")
    status = 400 if request.method == "POST" else 200
    context = {"project": project, "role": role, "form": form, "summary": projects.delete_summary(project)}
    return render(request, "annotate/projects/delete.html", context, status=status)


urlpatterns = [
    path("", home, name="home"),
    path("projects/new/", project_new, name="project-new"),
    path("projects/<int:project_id>/", project_overview, name="project"),
    path("projects/<int:project_id>/clone/", project_clone, name="project-clone"),
    path("projects/<int:project_id>/archive/", project_archive, name="project-archive"),
    path("projects/<int:project_id>/delete/", project_delete, name="project-delete"),
]
